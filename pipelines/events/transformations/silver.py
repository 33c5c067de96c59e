"""Silver: typed by the registry's reader schema (bronze already is), normalised and deduplicated,
guarded by the rules in expectations/.

Normalisation: ids trimmed (blank ids become null), event ids lower case, event types and
platforms as canonical lower-case names, dates of the UTC day (timestamps are instants).

Silver reads bronze's decoded records (bronze decoded each landed file once).

Deduplication: on event_id, within a watermark of 7 days of *ingest* time. A producer's retry lands
within days of the original, in another file or another run; the stream keeps every event_id it
saw for 7 days of ingest time (state in the checkpoint) and drops later copies. The watermark is on
ingest time, not device time, so a device clock years ahead (a defect the rules quarantine) cannot
move it, and events that happened long ago but arrive now are not late. A copy re-sent more than
7 days after the original is not caught.
"""

import dlt
from pyspark.sql import Column
from pyspark.sql import functions as F

from palindrom.ingest import bronze
from palindrom.quality.guard import guarded_table

DEDUP_WATERMARK = "7 days"


def trimmed_id(name: str) -> Column:
    """Trimmed; blank becomes null (a missing id, which the rules catch)."""
    value = F.trim(F.col(name))
    return F.when(value == "", None).otherwise(value).alias(name)


def utc_date(name: str) -> Column:
    """The UTC calendar day of a timestamp, whatever the session time zone."""
    return F.date_from_unix_date(F.floor(F.unix_millis(F.col(name)) / 86_400_000).cast("int"))


def deduplicated(frame):
    return frame.withWatermark("ingested_at", DEDUP_WATERMARK).dropDuplicatesWithinWatermark(["event_id"])


@guarded_table("events_app_silver_actions", comment="App actions: typed, normalised, one row per event_id.")
def events_app_silver_actions():
    actions = bronze.decoded(dlt.read_stream("events_app_bronze_actions")).select(
        F.lower(trimmed_id("event_id")).alias("event_id"),
        F.lower("event_type").alias("event_type"),
        trimmed_id("user_id"),
        trimmed_id("session_id"),
        F.col("occurred_at"),
        utc_date("occurred_at").alias("event_date"),
        F.col("duration_ms").cast("long").alias("duration_ms"),
        F.lower("platform").alias("platform"),
        F.col("properties"),
        F.col("app_version"),
        F.col("writer_schema_version"),
        F.col("source_file"),
        F.col("ingested_at"),
    )
    return deduplicated(actions)


@guarded_table("events_app_silver_uploads", comment="Media uploads: typed, normalised, one row per event_id.")
def events_app_silver_uploads():
    uploads = bronze.decoded(dlt.read_stream("events_app_bronze_uploads")).select(
        F.lower(trimmed_id("event_id")).alias("event_id"),
        trimmed_id("media_id"),
        trimmed_id("user_id"),
        F.lower("media_type").alias("media_type"),
        F.lower(F.trim("mime_type")).alias("mime_type"),
        F.col("size_bytes"),
        F.col("duration_ms"),
        F.col("width"),
        F.col("height"),
        F.col("uploaded_at"),
        utc_date("uploaded_at").alias("upload_date"),
        F.col("writer_schema_version"),
        F.col("source_file"),
        F.col("ingested_at"),
    )
    return deduplicated(uploads)
