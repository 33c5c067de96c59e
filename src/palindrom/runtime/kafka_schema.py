"""Spark's Kafka source columns (Structured Streaming + Kafka integration guide), for the Kafka
source of the pipelines and for the test plugin's mocks of a topic. Types only: pipeline code
imports this on Databricks serverless."""

from __future__ import annotations

from pyspark.sql import types as T

KAFKA_SOURCE_SCHEMA = T.StructType([
    T.StructField("key", T.BinaryType()), T.StructField("value", T.BinaryType()),
    T.StructField("topic", T.StringType()), T.StructField("partition", T.IntegerType()),
    T.StructField("offset", T.LongType()), T.StructField("timestamp", T.TimestampType()),
    T.StructField("timestampType", T.IntegerType()),
    T.StructField("headers", T.ArrayType(T.StructType([T.StructField("key", T.StringType()),
                                                       T.StructField("value", T.BinaryType())])))])
