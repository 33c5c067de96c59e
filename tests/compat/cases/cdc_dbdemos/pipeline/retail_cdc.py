# Databricks notebook source
# Customer change events (one JSON record per change, as a Debezium-like tool writes them) materialized as
# the current customers table and as its full history.

import dlt
from pyspark.sql.functions import col, expr

# COMMAND ----------

@dlt.create_table(name="customers_cdc",
                  comment="Customer change events as they land, read incrementally by Auto Loader")
def customers_cdc():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.inferColumnTypes", "true")
        .load("/Volumes/main/dbdemos_dlt_cdc/raw_data/customers"))


# COMMAND ----------

@dlt.create_table(name="customers_cdc_clean",
                  comment="Change events that parsed completely, carry an id and a known operation")
@dlt.expect_or_drop("no_rescued_data", "_rescued_data IS NULL")
@dlt.expect_or_drop("valid_id", "id IS NOT NULL")
@dlt.expect_or_drop("valid_operation", "operation IN ('APPEND', 'DELETE', 'UPDATE')")
def customers_cdc_clean():
    return dlt.read_stream("customers_cdc") \
        .select("address", "email", "id", "firstname", "lastname", "operation", "operation_date", "_rescued_data")


# COMMAND ----------

dlt.create_target_table(name="customers", comment="Current customers, one row per id")

dlt.apply_changes(
    target="customers",
    source="customers_cdc_clean",
    keys=["id"],
    sequence_by=col("operation_date"),
    ignore_null_updates=False,
    apply_as_deletes=expr("operation = 'DELETE'"),
    except_column_list=["operation", "operation_date", "_rescued_data"])

# COMMAND ----------

dlt.create_target_table(name="SCD2_customers", comment="Every version of every customer (SCD type 2)")

dlt.apply_changes(
    target="SCD2_customers",
    source="customers_cdc_clean",
    keys=["id"],
    sequence_by=col("operation_date"),
    ignore_null_updates=False,
    apply_as_deletes=expr("operation = 'DELETE'"),
    except_column_list=["operation", "operation_date", "_rescued_data"],
    stored_as_scd_type="2")
