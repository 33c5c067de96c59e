# Databricks notebook source
# Historical snapshots: one Parquet folder per hour ("YYYY-MM-DD HH") under a root folder, applied in order.
# On Databricks `dbutils` is a notebook global; the import below gives the same object in a Python file.

from datetime import datetime, timedelta

import dlt
from databricks.sdk.runtime import dbutils

HOUR_FORMAT = "%Y-%m-%d %H"


def folder_exists(path):
    try:
        return dbutils.fs.ls(path) is not None
    except Exception:
        return False


snapshot_root = spark.conf.get("snapshot_path")
hours = [datetime.strptime(entry.name.strip('/"'), HOUR_FORMAT) for entry in dbutils.fs.ls(snapshot_root)]
first_hour = min(hours).strftime(HOUR_FORMAT)


def next_snapshot_and_version(latest_hour):
    if latest_hour is None:
        return spark.read.format("parquet").load(f"{snapshot_root}/{first_hour}"), first_hour
    following = (datetime.strptime(latest_hour, HOUR_FORMAT) + timedelta(hours=1)).strftime(HOUR_FORMAT)
    path = f"{snapshot_root}/{following}"
    if folder_exists(path):
        return spark.read.format("parquet").load(path), following
    return None


dlt.create_streaming_table(
    name="orders_hourly_history",
    comment="Order status history rebuilt from hourly full snapshots",
    table_properties={"quality": "gold"},
)

dlt.apply_changes_from_snapshot(
    target="orders_hourly_history",
    source=next_snapshot_and_version,
    keys=["order_id"],
    stored_as_scd_type=2,
    track_history_column_list=["order_status"],
)
