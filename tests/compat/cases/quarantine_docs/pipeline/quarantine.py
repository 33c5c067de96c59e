# Quarantine pattern: tag every trip that breaks a rule instead of dropping it, then split the tagged table.

import dlt
from pyspark.sql.functions import count, expr
from pyspark.sql.functions import sum as sum_

rules = {
    "valid_pickup_zip": "(pickup_zip IS NOT NULL)",
    "valid_dropoff_zip": "(dropoff_zip IS NOT NULL)",
}
quarantine_rules = "NOT({})".format(" AND ".join(rules.values()))


@dlt.view
def raw_trips_data():
    return spark.readStream.table("samples.nyctaxi.trips")


@dlt.table(
    temporary=True,
    partition_cols=["is_quarantined"],
)
@dlt.expect_all(rules)
def trips_data_quarantine():
    return dlt.readStream("raw_trips_data").withColumn("is_quarantined", expr(quarantine_rules))


@dlt.view
def valid_trips_data():
    return dlt.read("trips_data_quarantine").filter("is_quarantined=false")


@dlt.view
def invalid_trips_data():
    return dlt.read("trips_data_quarantine").filter("is_quarantined=true")


# Consumers of the two views (the pattern's views are not published themselves).

@dlt.table(comment="Valid trips: count and fares per pickup zip")
def fares_by_pickup_zip():
    return (
        dlt.read("valid_trips_data")
        .groupBy("pickup_zip")
        .agg(count("*").alias("trips"), sum_("fare_amount").alias("total_fare"))
    )


@dlt.table(comment="Trips held back for review")
def quarantined_trips():
    return dlt.read("invalid_trips_data").select(
        "tpep_pickup_datetime", "trip_distance", "fare_amount", "pickup_zip", "dropoff_zip"
    )
