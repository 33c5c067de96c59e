# Million Song Dataset subset: tab-separated files without a header -> prepared songs -> busiest artists.

from pyspark import pipelines as dp
from pyspark.sql.functions import desc, expr
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

SONGS_FOLDER = "/databricks-datasets/songs/data-001/"

# The files carry no header: these twenty columns, in this order.
song_columns = StructType(
    [
        StructField("artist_id", StringType(), True),
        StructField("artist_lat", DoubleType(), True),
        StructField("artist_long", DoubleType(), True),
        StructField("artist_location", StringType(), True),
        StructField("artist_name", StringType(), True),
        StructField("duration", DoubleType(), True),
        StructField("end_of_fade_in", DoubleType(), True),
        StructField("key", IntegerType(), True),
        StructField("key_confidence", DoubleType(), True),
        StructField("loudness", DoubleType(), True),
        StructField("release", StringType(), True),
        StructField("song_hotnes", DoubleType(), True),
        StructField("song_id", StringType(), True),
        StructField("start_of_fade_out", DoubleType(), True),
        StructField("tempo", DoubleType(), True),
        StructField("time_signature", DoubleType(), True),
        StructField("time_signature_confidence", DoubleType(), True),
        StructField("title", StringType(), True),
        StructField("year", IntegerType(), True),
        StructField("partial_sequence", IntegerType(), True),
    ]
)


@dp.table(comment="Songs as landed: features and metadata of contemporary music tracks.")
def songs_raw():
    return (
        spark.readStream.format("cloudFiles")
        .schema(song_columns)
        .option("cloudFiles.format", "csv")
        .option("sep", "\t")
        .load(SONGS_FOLDER)
    )


@dp.materialized_view(comment="Songs with the columns analysts use, quality tracked.")
@dp.expect("valid_artist_name", "artist_name IS NOT NULL")
@dp.expect("valid_title", "song_title IS NOT NULL")
@dp.expect("valid_duration", "duration > 0")
def songs_prepared():
    return (
        spark.read.table("songs_raw")
        .withColumnRenamed("title", "song_title")
        .select("artist_id", "artist_name", "duration", "release", "tempo", "time_signature", "song_title", "year")
    )


@dp.materialized_view(comment="Songs released per artist and year, busiest first.")
def top_artists_by_year():
    return (
        spark.read.table("songs_prepared")
        .filter(expr("year > 0"))
        .groupBy("artist_name", "year")
        .count()
        .withColumnRenamed("count", "total_number_of_songs")
        .sort(desc("total_number_of_songs"), desc("year"))
    )
