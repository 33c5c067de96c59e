"""Bronze: every landed record as received, decoded once with its registered schema, with where and
when it came in. What cannot be decoded stays in bronze with its bytes and reason, and the
dead-letter table collects it from there."""

import dlt

from palindrom.ingest import bronze
from palindrom.kafka.source import enabled as kafka_enabled

GROUP = "palindrom.events"
LANDING = bronze.landing_path(spark, "events")
KAFKA = kafka_enabled(spark)

dlt.create_streaming_table("events_app_bronze_actions", comment="App actions as received, with ingest metadata.")


@dlt.append_flow(target="events_app_bronze_actions", name="events_app_bronze_actions_from_files")
def actions_from_files():
    return bronze.landed(spark, LANDING, GROUP, "app_event")


if KAFKA:
    # On Databricks the app also sends its actions to Kafka; they join the same bronze table.
    @dlt.append_flow(target="events_app_bronze_actions", name="events_app_bronze_actions_from_kafka")
    def actions_from_kafka():
        return bronze.kafka_messages(spark, GROUP, "app_event")


@dlt.table(comment="Media uploads as received, with ingest metadata.")
def events_app_bronze_uploads():
    return bronze.landed(spark, LANDING, GROUP, "media_upload")


dlt.create_streaming_table("events_app_bronze_dead_letter",
                           comment="Records that could not be decoded: raw bytes, source position, records held, "
                                   "reason.")


@dlt.append_flow(target="events_app_bronze_dead_letter", name="events_app_bronze_dead_letter_actions")
def dead_actions():
    return bronze.dead_letters(dlt.read_stream("events_app_bronze_actions"), "app_event")


@dlt.append_flow(target="events_app_bronze_dead_letter", name="events_app_bronze_dead_letter_uploads")
def dead_uploads():
    return bronze.dead_letters(dlt.read_stream("events_app_bronze_uploads"), "media_upload")
