from databricks.sdk.runtime import spark
from pyspark.sql import DataFrame


def get_taxis() -> DataFrame:
    return spark.read.table("samples.nyctaxi.trips")
