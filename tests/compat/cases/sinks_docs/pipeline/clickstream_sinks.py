# Clickstream to two external destinations: a Delta table outside the pipeline and a Kafka topic.

import dlt
from pyspark.sql.functions import expr

CLICKS = "/databricks-datasets/wikipedia-datasets/data-001/clickstream/raw-uncompressed-json/"


@dlt.table(comment="Clickstream records as landed", table_properties={"quality": "bronze"})
def clickstream_raw():
    return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(CLICKS)


@dlt.table(comment="Clicks with typed ids and counts", table_properties={"quality": "silver"})
@dlt.expect("valid_current_page_title", "current_page_title IS NOT NULL")
@dlt.expect_or_fail("valid_count", "click_count > 0")
def clickstream_clean():
    return (
        dlt.read_stream("clickstream_raw")
        .withColumn("current_page_id", expr("CAST(curr_id AS INT)"))
        .withColumn("click_count", expr("CAST(n AS INT)"))
        .withColumn("previous_page_id", expr("CAST(prev_id AS INT)"))
        .withColumnRenamed("curr_title", "current_page_title")
        .withColumnRenamed("prev_title", "previous_page_title")
        .select("current_page_id", "current_page_title", "click_count", "previous_page_id", "previous_page_title")
    )


@dlt.table(comment="Pages that send readers to the Apache Spark article")
def spark_referrers():
    return (
        dlt.read_stream("clickstream_clean")
        .filter(expr("current_page_title == 'Apache_Spark'"))
        .withColumnRenamed("previous_page_title", "referrer")
        .select("current_page_id", "referrer", "current_page_title", "click_count")
    )


dlt.create_sink(
    name="referrers_delta_sink",
    format="delta",
    options={"tableName": "main.clickstream_exports.spark_referrers"},
)


@dlt.append_flow(name="referrers_to_delta", target="referrers_delta_sink")
def referrers_to_delta():
    return spark.readStream.table("spark_referrers").selectExpr(
        "current_page_id", "referrer", "current_page_title", "click_count"
    )


dlt.create_sink(
    name="referrers_kafka_sink",
    format="kafka",
    options={
        "kafka.bootstrap.servers": spark.conf.get("kafka_bootstrap_servers"),
        "topic": "spark_referrers",
    },
)


@dlt.append_flow(name="referrers_to_kafka", target="referrers_kafka_sink")
def referrers_to_kafka():
    return spark.readStream.table("spark_referrers").selectExpr(
        "CAST(current_page_id AS STRING) AS key", "to_json(struct(*)) AS value"
    )
