"""Bronze ingestion plumbing the pipeline files call: landed Avro files and Kafka messages, decoded
once with the registry's schemas into one shape. Bronze keeps every record as received: a record
that could not be decoded is a row too, with its bytes, so the dead-letter table and silver both
read bronze and nothing is decoded twice.

Every bronze row has the reader schema's fields plus:

=====================  ===================================================================
source_file            the landed file (null for Kafka)
source_position        the record's 0-based index in its file
kafka_topic/partition/offset   the message's position (null for files)
ingested_at            when the pipeline read it
writer_schema_id       the writer schema's registry globalId (Kafka: the id its framing carries)
writer_schema_version  the writer schema's registry version
rescued_data           JSON of writer fields the reader schema lacks, else null
decode_error           why the bytes could not be decoded (null for decoded records)
raw_value              the bytes that could not be decoded (null for decoded records)
records                how many records a row stands for (1; a damaged part's count, when known)
=====================  ===================================================================
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.autoloader import file_decoders
from palindrom.autoloader.options import DECODER, DECODER_SPEC
from palindrom.avro import wire
from palindrom.ingest import containers, payloads
from palindrom.kafka import source as kafka
from palindrom.registry import pipeline

LANDING_KEY = "palindrom.{pipeline}.landing_path"
METADATA = ["source_file", "source_position", "kafka_topic", "kafka_partition", "kafka_offset", "ingested_at",
            "writer_schema_id", "writer_schema_version"]
FILE_COLUMNS = T.StructType([T.StructField("path", T.StringType()), T.StructField("content", T.BinaryType())])


def _null(kind: str) -> Column:
    return F.lit(None).cast(kind)


def landed(spark: SparkSession, landing: str, group: str, artifact: str) -> DataFrame:
    """Auto Loader over ``<landing>/<artifact>/`` (Avro container files read as bytes), decoded: one
    row per record, or per part of a file that could not be decoded."""
    configuration = pipeline.configuration(spark)
    registry_source, settings, environment, schemas = pipeline.source(configuration)
    reader = registry_source.latest(group, artifact)
    decoder = containers.ContainerDecoder(group, artifact, reader.content, tuple(sorted(settings.items())),
                                          environment, schemas)
    files = (spark.readStream.format("cloudFiles").option("cloudFiles.format", "binaryFile")
             .option("pathGlobFilter", "*.avro"))
    folder = f"{landing.rstrip('/')}/{artifact}"
    if spark.conf.get(file_decoders.LOCAL_SOURCE, None) == "true":
        # This package's Auto Loader decodes each file where it reads its bytes (one Python worker).
        decoded = files.option(DECODER, f"{containers.__name__}:{type(decoder).__name__}").option(
            DECODER_SPEC, decoder.spec()).load(folder)
    else:  # Databricks' Auto Loader hands the bytes on; a mapInArrow worker decodes them
        decoded = decoder.decode(files.load(folder).select("path", "content"), FILE_COLUMNS)
    return decoded.select(
        f"{containers.PAYLOAD}.*", F.col("path").alias("source_file"),
        F.col(containers.POSITION).alias("source_position"), _null("string").alias("kafka_topic"),
        _null("int").alias("kafka_partition"), _null("long").alias("kafka_offset"),
        F.current_timestamp().alias("ingested_at"), F.col(containers.WRITER_ID).alias("writer_schema_id"),
        F.col(containers.WRITER_VERSION).alias("writer_schema_version"),
        F.col(containers.RESCUED).alias("rescued_data"), F.col(containers.ERROR).alias("decode_error"),
        F.col(containers.RAW).alias("raw_value"), F.col(containers.RECORDS).alias("records"))


def kafka_decoder(configuration: dict[str, str], group: str, artifact: str) -> payloads.PayloadDecoder:
    """A decoder of the environment's wire format whose reader schema is the registry's latest version."""
    registry_source, settings, environment, schemas = pipeline.source(configuration)
    reader = registry_source.latest(group, artifact)
    fmt = configuration.get(kafka.PREFIX + "wire_format", "apicurio3")
    if fmt not in wire.WIRE_FORMATS:
        raise ValueError(f"{kafka.PREFIX}wire_format must be one of {', '.join(wire.WIRE_FORMATS)}; got '{fmt}'.")
    return payloads.PayloadDecoder(fmt, reader.content, tuple(sorted(settings.items())), environment, schemas,
                                   group=group, artifact=artifact)


def kafka_messages(spark: SparkSession, group: str, artifact: str) -> DataFrame:
    """The environment's Kafka topic (``palindrom.kafka.*``), decoded into the same shape."""
    configuration = kafka.configuration(spark)
    decoded = kafka_decoder(configuration, group, artifact).decode(kafka.read_raw(spark, configuration),
                                                                   kafka.KAFKA_COLUMNS)
    failed = F.col(payloads.ERROR).isNotNull()
    return decoded.select(
        f"{payloads.PAYLOAD}.*", _null("string").alias("source_file"), _null("long").alias("source_position"),
        F.col("topic").alias("kafka_topic"), F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"), F.current_timestamp().alias("ingested_at"),
        F.col(payloads.SCHEMA_ID).alias("writer_schema_id"),
        F.col(payloads.SCHEMA_VERSION).alias("writer_schema_version"), _null("string").alias("rescued_data"),
        F.col(payloads.ERROR).alias("decode_error"), F.when(failed, F.col("value")).alias("raw_value"),
        F.lit(1).cast("long").alias("records"))


def decoded(bronze: DataFrame) -> DataFrame:
    """The records bronze could decode: the reader schema's fields and the ingest metadata."""
    return bronze.where(F.col("decode_error").isNull()).drop("decode_error", "raw_value", "records")


def dead_letters(bronze: DataFrame, artifact: str) -> DataFrame:
    """What bronze could not decode: raw bytes, position, records held and the reason."""
    return bronze.where(F.col("decode_error").isNotNull()).select(
        F.lit(artifact).alias("artifact"), *METADATA, "records", "raw_value", F.col("decode_error").alias("reason"))


def landing_path(spark: SparkSession, pipeline_name: str) -> str:
    key = LANDING_KEY.format(pipeline=pipeline_name)
    value = spark.conf.get(key, None)
    if not value:
        raise ValueError(f"{key} is not set: add it to conf/<env>.yml (and the bundle's pipeline resource).")
    return value
