"""Bronze ingestion plumbing the pipeline files call: landed Avro files and Kafka messages, decoded
with the registry's schemas into one shape, split into accepted rows and dead letters.

Every decoded stream has the reader schema's fields plus the ingest metadata:

=====================  ===================================================================
source_file            the landed file (null for Kafka)
source_position        the record's 0-based index in its file
kafka_topic/partition/offset   the message's position (null for files)
ingested_at            when the pipeline read it
writer_schema_id       the writer schema's registry globalId (Kafka: the id its framing carries)
writer_schema_version  the writer schema's registry version
rescued_data           JSON of writer fields the reader schema lacks, else null
=====================  ===================================================================

Dead letters keep ``raw_value`` (the bytes that could not be decoded), the same position and
writer columns, ``records`` (how many records the bytes hold, when known) and ``reason``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.avro import containers, payloads
from palindrom.kafka import source as kafka
from palindrom.registry import pipeline

LANDING_KEY = "palindrom.{pipeline}.landing_path"
METADATA = ["source_file", "source_position", "kafka_topic", "kafka_partition", "kafka_offset", "ingested_at",
            "writer_schema_id", "writer_schema_version"]
FILE_COLUMNS = T.StructType([T.StructField("path", T.StringType()), T.StructField("content", T.BinaryType())])
DEAD_LETTER = ["artifact", *METADATA, "records", "raw_value", "reason"]


def _null(kind: str) -> Column:
    return F.lit(None).cast(kind)


def landed_files(spark: SparkSession, landing: str, group: str, artifact: str) -> DataFrame:
    """Auto Loader over ``<landing>/<artifact>/`` (Avro container files read as bytes), decoded:
    one row per record, or per undecodable part with ``decode_error`` set."""
    configuration = pipeline.configuration(spark)
    registry_source, settings, environment, schemas = pipeline.source(configuration)
    reader = registry_source.latest(group, artifact)
    decoder = containers.ContainerDecoder(group, artifact, reader.content, tuple(sorted(settings.items())),
                                          environment, schemas)
    files = (spark.readStream.format("cloudFiles").option("cloudFiles.format", "binaryFile")
             .option("pathGlobFilter", "*.avro").load(f"{landing.rstrip('/')}/{artifact}")
             .select("path", "content"))
    decoded = decoder.decode(files, FILE_COLUMNS)
    return decoded.select(
        F.col(containers.PAYLOAD), F.col("path").alias("source_file"),
        F.col(containers.POSITION).alias("source_position"), _null("string").alias("kafka_topic"),
        _null("int").alias("kafka_partition"), _null("long").alias("kafka_offset"),
        F.current_timestamp().alias("ingested_at"), F.col(containers.WRITER_ID).alias("writer_schema_id"),
        F.col(containers.WRITER_VERSION).alias("writer_schema_version"),
        F.col(containers.RESCUED).alias("rescued_data"), F.col(containers.RECORDS).alias("records"),
        F.col(containers.RAW).alias("raw_value"), F.col(containers.ERROR).alias("decode_error"))


def kafka_messages(spark: SparkSession, group: str, artifact: str) -> DataFrame:
    """The environment's Kafka topic (``palindrom.kafka.*``), decoded into the same shape."""
    decoded = kafka.read_kafka(spark, kafka.configuration(spark), group, artifact)
    return decoded.select(
        F.col(payloads.PAYLOAD), _null("string").alias("source_file"), _null("long").alias("source_position"),
        F.col("topic").alias("kafka_topic"), F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"), F.current_timestamp().alias("ingested_at"),
        F.col(payloads.SCHEMA_ID).alias("writer_schema_id"),
        F.col(payloads.SCHEMA_VERSION).alias("writer_schema_version"), _null("string").alias("rescued_data"),
        F.lit(1).cast("long").alias("records"), F.col("value").alias("raw_value"),
        F.col(payloads.ERROR).alias("decode_error"))


def accepted(decoded: DataFrame) -> DataFrame:
    """The records as received: the reader schema's fields, then the ingest metadata."""
    return decoded.where(F.col("decode_error").isNull()).select(
        f"{containers.PAYLOAD}.*", *METADATA, "rescued_data")


def dead_letters(decoded: DataFrame, artifact: str) -> DataFrame:
    return decoded.where(F.col("decode_error").isNotNull()).select(
        F.lit(artifact).alias("artifact"), *METADATA, "records", "raw_value", F.col("decode_error").alias("reason"))


def received(spark: SparkSession, landing: str, group: str, artifact: str, with_kafka: bool) -> DataFrame:
    """The accepted records of the landed files and, where the environment has one, the Kafka topic.

    For silver's deduplication. On Spark Connect (local runs) a watermark or a deduplication over a
    dataset of the same pipeline is analysed when the flow is defined, before that dataset exists,
    and fails (TABLE_OR_VIEW_NOT_FOUND); over the sources themselves it is planned normally. So
    silver decodes the sources with the same decoder as bronze instead of reading the bronze table:
    the same records, which ``tests/test_events.py`` checks.
    """
    records = accepted(landed_files(spark, landing, group, artifact))
    if with_kafka:
        records = records.union(accepted(kafka_messages(spark, group, artifact)))  # same columns, same order
    return records


def landing_path(spark: SparkSession, pipeline_name: str) -> str:
    key = LANDING_KEY.format(pipeline=pipeline_name)
    value = spark.conf.get(key, None)
    if not value:
        raise ValueError(f"{key} is not set: add it to conf/<env>.yml (and the bundle's pipeline resource).")
    return value
