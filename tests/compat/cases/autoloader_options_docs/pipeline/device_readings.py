# Device readings: Auto Loader with schema hints and the file metadata column, one rule set used twice.

import dlt
from pyspark.sql import Window
from pyspark.sql.functions import col, row_number

reading_rules = {
    "valid_device": "device_id IS NOT NULL",
    "valid_reading": "reading >= 0",
    "parsed": "_rescued_data IS NULL",
}


@dlt.table(comment="Readings as landed, with the file each came from")
@dlt.expect_all(reading_rules)
def device_readings_raw():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.inferColumnTypes", "true")
        .option("cloudFiles.schemaHints", "reading DOUBLE, tags MAP<STRING, STRING>")
        .load("/Volumes/main/iot/landing/readings")
        .select("*", "_metadata.file_name")
    )


@dlt.table(comment="Readings that pass every rule")
@dlt.expect_all_or_drop(reading_rules)
def device_readings_clean():
    return dlt.read_stream("device_readings_raw").select(
        "device_id", "reading", "tags", "recorded_at", "file_name", "_rescued_data"
    )


@dlt.table(comment="The latest valid reading of each device")
def device_latest_reading():
    latest_first = Window.partitionBy("device_id").orderBy(col("recorded_at").desc())
    return (
        dlt.read("device_readings_clean")
        .withColumn("rank", row_number().over(latest_first))
        .where("rank = 1")
        .select("device_id", "reading", "recorded_at")
    )
