"""Bronze: every landed record as received, with where and when it came in and which registered
schema wrote it. What cannot be decoded goes to the dead-letter table with its bytes and reason."""

import dlt

from palindrom.ingest import bronze
from palindrom.kafka.source import enabled as kafka_enabled

GROUP = "palindrom.events"
LANDING = bronze.landing_path(spark, "events")
KAFKA = kafka_enabled(spark)

dlt.create_streaming_table("events_app_bronze_actions", comment="App actions as received, with ingest metadata.")


@dlt.append_flow(target="events_app_bronze_actions", name="events_app_bronze_actions_from_files")
def actions_from_files():
    return bronze.accepted(bronze.landed_files(spark, LANDING, GROUP, "app_event"))


if KAFKA:
    # On Databricks the app also sends its actions to Kafka; they join the same bronze table.
    @dlt.append_flow(target="events_app_bronze_actions", name="events_app_bronze_actions_from_kafka")
    def actions_from_kafka():
        return bronze.accepted(bronze.kafka_messages(spark, GROUP, "app_event"))


@dlt.table(comment="Media uploads as received, with ingest metadata.")
def events_app_bronze_uploads():
    return bronze.accepted(bronze.landed_files(spark, LANDING, GROUP, "media_upload"))


@dlt.table(comment="Records that could not be decoded: raw bytes, source position, records held, reason.")
def events_app_bronze_dead_letter():
    # One flow for every source: two streams appending to one local table at once would race.
    dead = bronze.dead_letters(bronze.landed_files(spark, LANDING, GROUP, "app_event"), "app_event").union(
        bronze.dead_letters(bronze.landed_files(spark, LANDING, GROUP, "media_upload"), "media_upload"))
    if KAFKA:
        dead = dead.union(bronze.dead_letters(bronze.kafka_messages(spark, GROUP, "app_event"), "app_event"))
    return dead
