import dlt
from pyspark.sql.functions import col
from pyspark.sql.functions import sum as sum_

# A sample transformation: edit it, or add more files under transformations/.


@dlt.table
def sample_zones_my_project():
    # Total fares per pickup zip code, from the sample trips table.
    return (
        spark.read.table("sample_trips_my_project")
        .groupBy(col("pickup_zip"))
        .agg(sum_("fare_amount").alias("total_fare"))
    )
