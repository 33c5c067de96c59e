"""Gold: daily activity per user, hourly event-type counts, upload statistics per media type, and
the per-user training features. Computed from silver (deduplicated events that passed the rules;
warned rows such as unknown event types included)."""

import dlt
from pyspark.sql import Window
from pyspark.sql import functions as F

EVENT_TYPES = ["app_open", "screen_view", "play", "pause", "share", "like", "upload", "app_close", "search",
               "unknown"]


def count_where(condition):
    return F.count(F.when(condition, True))


@dlt.table(comment="Per user and UTC day: events by type, sessions, first and last seen, play time.")
def events_app_gold_user_daily_activity():
    actions = dlt.read("events_app_silver_actions")
    by_type = [count_where(F.col("event_type") == t).alias(f"{t}_events") for t in EVENT_TYPES]
    return actions.groupBy("user_id", F.col("event_date").alias("activity_date")).agg(
        F.count("*").alias("events"),
        *by_type,
        F.countDistinct("session_id").alias("sessions"),
        F.min("occurred_at").alias("first_seen_at"),
        F.max("occurred_at").alias("last_seen_at"),
        F.coalesce(F.sum(F.when(F.col("event_type") == "play", F.col("duration_ms"))), F.lit(0)).alias("play_ms"),
    )


@dlt.table(comment="Events and distinct users per UTC hour and event type.")
def events_app_gold_event_type_hourly():
    actions = dlt.read("events_app_silver_actions")
    hour = F.timestamp_millis(F.floor(F.unix_millis("occurred_at") / 3_600_000) * 3_600_000)
    return actions.groupBy(hour.alias("event_hour"), "event_type").agg(
        F.count("*").alias("events"), F.countDistinct("user_id").alias("users"))


@dlt.table(comment="Uploads per UTC day and media type: count, uploaders, bytes, duration.")
def events_app_gold_media_upload_stats():
    uploads = dlt.read("events_app_silver_uploads")
    return (uploads.groupBy("upload_date", "media_type")
            .agg(F.count("*").alias("uploads"), F.countDistinct("user_id").alias("uploaders"),
                 F.sum("size_bytes").alias("total_bytes"), F.max("size_bytes").alias("max_bytes"),
                 F.coalesce(F.sum("duration_ms"), F.lit(0)).alias("total_duration_ms"))
            .withColumn("avg_bytes", F.col("total_bytes") / F.col("uploads")))


@dlt.table(comment="Training features per user and active day, over the 7 and 30 days up to it.")
def events_app_gold_user_features():
    daily = dlt.read("events_app_gold_user_daily_activity").withColumn(
        "day", F.unix_date("activity_date"))
    user = Window.partitionBy("user_id").orderBy("day")
    last_7, last_30 = user.rangeBetween(-6, 0), user.rangeBetween(-29, 0)
    return daily.select(
        "user_id",
        F.col("activity_date").alias("feature_date"),
        F.sum("events").over(last_7).alias("events_7d"),
        F.sum("events").over(last_30).alias("events_30d"),
        F.sum("sessions").over(last_7).alias("sessions_7d"),
        F.sum("sessions").over(last_30).alias("sessions_30d"),
        F.count("*").over(last_7).alias("active_days_7d"),
        F.count("*").over(last_30).alias("active_days_30d"),
        F.sum("play_events").over(last_7).alias("plays_7d"),
        F.sum("play_events").over(last_30).alias("plays_30d"),
        F.sum("play_ms").over(last_30).alias("play_ms_30d"),
        F.sum("upload_events").over(last_30).alias("uploads_30d"),
        (F.col("day") - F.min("day").over(user.rowsBetween(Window.unboundedPreceding, 0))).alias(
            "days_since_first_seen"),
    )
