# Orders from several regional landing folders appended into one streaming table, plus a one-time backfill
# of the orders exported from the old system.

import dlt
from pyspark.sql.functions import count, lit
from pyspark.sql.functions import sum as sum_

ORDERS_ROOT = "/Volumes/main/retail/landing/orders"

dlt.create_streaming_table(
    "raw_orders",
    comment="Orders from every region, as they land",
    expect_all_or_drop={"valid_order_id": "order_id IS NOT NULL", "positive_amount": "amount > 0"},
)


def regional_orders(region):
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.inferColumnTypes", "true")
        .load(f"{ORDERS_ROOT}/{region}")
        .withColumn("source_region", lit(region))
    )


for region_name in ["us", "eu"]:
    @dlt.append_flow(target="raw_orders", name=f"raw_orders_{region_name}")
    def region_flow(region=region_name):
        return regional_orders(region)


# A region added later: a new flow, no full refresh of raw_orders needed.
@dlt.append_flow(target="raw_orders")
def raw_orders_apac():
    return regional_orders("apac")


@dlt.append_flow(target="raw_orders", name="orders_backfill", once=True)
def orders_backfill():
    return spark.read.format("json").load(f"{ORDERS_ROOT}/backfill/")


@dlt.table(comment="Orders and revenue per source region")
def orders_by_region():
    return (
        dlt.read("raw_orders")
        .groupBy("source_region")
        .agg(count("*").alias("orders"), sum_("amount").alias("revenue"))
    )
