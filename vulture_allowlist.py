"""Names vulture reports that are used from outside Python's view (`make lint` runs vulture with this file).

Decorated DLT functions (@dlt.*, @dp.*, @guarded_table) and DLT fixture pipelines are skipped by the
configuration in pyproject.toml ([tool.vulture]); what remains here is called by a framework or read as data.
"""
# ruff: noqa: B018
# mypy: ignore-errors
_ = object()

# Spark's Python data source API calls these on the `cloudFiles` source (pyspark.sql.datasource).
_.streamReader
_.prepareForTriggerAvailableNow
_.initialOffset
_.getDefaultReadLimit
_.latestOffset
_.reportLatestOffset
_.partitions
_.commit
# pyspark.pipelines' GraphElementRegistry interface, implemented by the runtime's registry.
_.register_flow
_.register_auto_cdc_flow
# The `dlt` module's Databricks API, called by pipeline code (old names included).
_.apply_changes
_.apply_changes_from_snapshot
_.create_target_table
_.create_table
_.create_view
_.on_event_hook
_.create_streaming_live_table
# dbutils as Databricks spells it, called by pipeline code (widgets, secrets, fs).
_.getAll
_.combobox
_.dropdown
_.multiselect
_.removeAll
_.getBytes
_.modificationTime
_.ls
_.mkdirs
_.rm
_.cp
_.mv
_.fs
# Dispatched by name: the compatibility check per Avro type (getattr(self, f"_{type}")).
_._record
_._enum
# Set on objects whose owners read them: a protobuf Any's field, fastavro's writer block size.
_.type_url
_.sync_interval
# http.server.BaseHTTPRequestHandler hooks in the test fakes.
_.do_GET
_.do_POST
_.do_PUT
_.log_message
_.close_connection
_.protocol_version
# A signal handler's signature (signal.signal passes signum and frame).
_.signum
# Fields of records read from YAML and registry answers, kept as data.
_.description
_.owner
_.expression
# Reported to the runtime's owners (issue 13 merge note): no reader in the code today.
_.DEAD_LETTER
_.started_here
# The pipeline UI's Jinja templates and its /api/live JSON (vars of FlowLive) read these fields.
_.validate_only
_.row_count
_.sample_columns
_.batch_id
_.num_input_rows
_.input_rows_per_second
_.processed_rows_per_second
_.trigger_execution_ms
_.rows_total
_.refresh_selection
_.full_refresh_text
# tests/faults/test_crash.py: a fixture requested by name (request.getfixturevalue) by the cases that need it.
_.clean_update
# tests/conftest.py: pytest and pytest-xdist hooks, called by name.
_.pytest_collection_modifyitems
_.pytest_xdist_make_scheduler
