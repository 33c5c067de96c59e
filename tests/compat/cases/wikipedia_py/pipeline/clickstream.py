# Databricks notebook source
# Wikipedia clickstream, February 2015 (English): raw JSON -> cleaned clicks -> two rankings.
# Columns of the source are described at https://meta.wikimedia.org/wiki/Research:Wikipedia_clickstream

import dlt
from pyspark.sql.functions import desc, expr
from pyspark.sql.functions import sum as sum_

CLICKSTREAM_FILE = "/databricks-datasets/wikipedia-datasets/data-001/clickstream/raw-uncompressed-json/2015_2_clickstream.json"


@dlt.create_table(
    comment="Clickstream records exactly as published, one JSON object a line.",
    table_properties={"quality": "bronze"},
)
def clickstream_raw():
    return spark.read.option("inferSchema", "true").json(CLICKSTREAM_FILE)


# COMMAND ----------

@dlt.table(
    comment="Clicks with typed counts and readable column names.",
    table_properties={"quality": "silver"},
)
@dlt.expect("valid_current_page", "current_page_id IS NOT NULL AND current_page_title IS NOT NULL")
@dlt.expect_or_fail("valid_count", "click_count > 0")
def clickstream_clean():
    return (
        dlt.read("clickstream_raw")
        .withColumn("current_page_id", expr("CAST(curr_id AS INT)"))
        .withColumn("click_count", expr("CAST(n AS INT)"))
        .withColumn("previous_page_id", expr("CAST(prev_id AS INT)"))
        .withColumnRenamed("curr_title", "current_page_title")
        .withColumnRenamed("prev_title", "previous_page_title")
        .select("current_page_id", "current_page_title", "click_count", "previous_page_id", "previous_page_title")
    )


# COMMAND ----------

@dlt.table(
    comment="The ten pages sending the most readers to the Apache Spark article.",
    table_properties={"quality": "gold"},
)
def top_spark_referrers():
    return (
        dlt.read("clickstream_clean")
        .filter(expr("current_page_title == 'Apache_Spark'"))
        .withColumnRenamed("previous_page_title", "referrer")
        .sort(desc("click_count"))
        .select("referrer", "click_count")
        .limit(10)
    )


@dlt.table(
    comment="The fifty most visited pages, by clicks received.",
    table_properties={"quality": "gold"},
)
def top_pages():
    return (
        dlt.read("clickstream_clean")
        .groupBy("current_page_title")
        .agg(sum_("click_count").alias("total_clicks"))
        .sort(desc("total_clicks"))
        .limit(50)
    )
