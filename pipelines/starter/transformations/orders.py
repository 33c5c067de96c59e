"""Starter pipeline: orders landed as JSON lines -> cleaned orders -> revenue per day."""

import dlt
from pyspark.sql import functions as F

from palindrom.quality.guard import guarded_table


@dlt.table(comment="Orders as landed, with the source file and ingest time.")
def starter_orders_bronze():
    landing = spark.conf.get("palindrom.starter.landing_path")
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.schemaHints", "amount double, quantity int")
        .load(landing)
        .withColumn("source_file", F.col("_metadata.file_path"))
        .withColumn("ingested_at", F.current_timestamp())
    )


@guarded_table("starter_orders_silver", comment="Typed, validated orders (rules: expectations/).")
def starter_orders_silver():
    return dlt.read_stream("starter_orders_bronze").select(
        F.trim("order_id").alias("order_id"),
        F.trim("customer_id").alias("customer_id"),
        F.col("amount"),
        F.col("quantity"),
        # A value that is not a timestamp becomes NULL (and is dropped by valid_ordered_at, bronze
        # keeps it as landed) instead of failing every update with CAST_INVALID_INPUT.
        F.try_to_timestamp("ordered_at").alias("ordered_at"),
    )


@dlt.table(comment="Revenue and order count per day.")
def starter_revenue_daily_gold():
    return (
        dlt.read("starter_orders_silver")
        .groupBy(F.to_date("ordered_at").alias("order_date"))
        .agg(F.count("*").alias("orders"), F.round(F.sum("amount"), 2).alias("revenue"))
    )
