# Databricks notebook source
# Periodic snapshots: each update reads the whole orders table as it is now and applies the difference.

import dlt

source_catalog = spark.conf.get("snapshot_source_catalog")
source_database = spark.conf.get("snapshot_source_database")
orders_table = f"{source_catalog}.{source_database}.orders_snapshot"


@dlt.view(comment="The orders table as of this update")
def orders_now():
    return spark.read.table(orders_table)


dlt.create_streaming_table(name="orders_current")

dlt.apply_changes_from_snapshot(
    target="orders_current",
    source="orders_now",
    keys=["order_id"],
    stored_as_scd_type=1,
)

dlt.create_streaming_table(name="orders_periodic_history")

dlt.apply_changes_from_snapshot(
    target="orders_periodic_history",
    source=orders_table,
    keys=["order_id"],
    stored_as_scd_type=2,
)
