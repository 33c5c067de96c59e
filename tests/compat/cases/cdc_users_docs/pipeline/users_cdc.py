# A change data feed of users (INSERT / UPDATE / DELETE / TRUNCATE events, ordered by sequenceNum) applied
# as current-state tables and as history tables.

import dlt
from pyspark.sql.functions import col, expr


@dlt.view
def users():
    return spark.readStream.table("cdc_data.users")


@dlt.view(comment="The users feed without table-wide truncates, which only SCD type 1 targets accept.")
def user_changes():
    return dlt.read_stream("users").where("operation != 'TRUNCATE'")


dlt.create_streaming_table("users_current")

dlt.apply_changes(
    target="users_current",
    source="users",
    keys=["userId"],
    sequence_by=col("sequenceNum"),
    apply_as_deletes=expr("operation = 'DELETE'"),
    apply_as_truncates=expr("operation = 'TRUNCATE'"),
    except_column_list=["operation", "sequenceNum"],
    stored_as_scd_type=1,
)

dlt.create_streaming_table("users_history")

dlt.apply_changes(
    target="users_history",
    source="user_changes",
    keys=["userId"],
    sequence_by=col("sequenceNum"),
    apply_as_deletes=expr("operation = 'DELETE'"),
    except_column_list=["operation", "sequenceNum"],
    stored_as_scd_type="2",
)

dlt.create_streaming_table("users_name_history")

dlt.apply_changes(
    target="users_name_history",
    source="user_changes",
    keys=["userId"],
    sequence_by=col("sequenceNum"),
    apply_as_deletes=expr("operation = 'DELETE'"),
    except_column_list=["operation", "sequenceNum"],
    stored_as_scd_type="2",
    track_history_except_column_list=["city"],
)

dlt.create_streaming_table("users_current_partial_updates")

dlt.apply_changes(
    target="users_current_partial_updates",
    source="user_changes",
    keys=["userId"],
    sequence_by=col("sequenceNum"),
    ignore_null_updates=True,
    apply_as_deletes=expr("operation = 'DELETE'"),
    except_column_list=["operation", "sequenceNum"],
)
