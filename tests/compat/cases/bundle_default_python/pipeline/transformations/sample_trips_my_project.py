import dlt
from pyspark.sql.functions import col
from utilities import utils

# A sample transformation: edit it, or add more files under transformations/.


@dlt.table
def sample_trips_my_project():
    return spark.read.table("samples.nyctaxi.trips").withColumn(
        "trip_distance_km", utils.distance_km(col("trip_distance"))
    )
