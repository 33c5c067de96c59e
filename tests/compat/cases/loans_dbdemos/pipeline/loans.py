# Databricks notebook source
# Loans: new transactions (JSON), a reference table of accounting treatments (Delta) and historical loans
# (CSV) -> cleaned and quarantined transactions -> balances per location, cost center and country.

import dlt
from pyspark.sql import functions as F

LANDING = "/Volumes/main/dbdemos_dlt_loan/raw_data"


@dlt.table(comment="New loan transactions, ingested incrementally from the landing volume")
def raw_txs():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.inferColumnTypes", "true")
        .load(f"{LANDING}/raw_transactions")
    )


# COMMAND ----------

@dlt.table(comment="Accounting treatment codes and their names")
def ref_accounting_treatment():
    return spark.read.format("delta").load(f"{LANDING}/ref_accounting_treatment")


# COMMAND ----------

@dlt.table(comment="Loans exported from the legacy system")
def raw_historical_loans():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "csv")
        .option("cloudFiles.inferColumnTypes", "true")
        .load(f"{LANDING}/historical_loans")
    )


# COMMAND ----------

@dlt.view(comment="New transactions with the name of their accounting treatment")
def new_txs():
    txs = spark.readStream.table("raw_txs").alias("txs")
    ref = spark.read.table("ref_accounting_treatment").alias("ref")
    return txs.join(
        ref, F.col("txs.accounting_treatment_id") == F.col("ref.id"), "inner"
    ).selectExpr("txs.*", "ref.accounting_treatment as accounting_treatment")


# COMMAND ----------

@dlt.table(comment="New transactions that pass the checks; a missing cost center stops the update")
@dlt.expect("Payments should be this year", "(next_payment_date > date('2020-12-31'))")
@dlt.expect_or_drop("Balance should be positive", "(balance > 0 AND arrears_balance > 0)")
@dlt.expect_or_fail("Cost center must be specified", "(cost_center_code IS NOT NULL)")
def cleaned_new_txs():
    return spark.readStream.table("new_txs")


# COMMAND ----------

# The same checks inverted: what the cleaned table drops lands here for a person to look at.
@dlt.table(comment="Transactions held back for review")
@dlt.expect("Payments should be this year", "(next_payment_date <= date('2020-12-31'))")
@dlt.expect_or_drop("Balance should be positive", "(balance <= 0 OR arrears_balance <= 0)")
def quarantine_bad_txs():
    return spark.readStream.table("new_txs")


# COMMAND ----------

@dlt.table(comment="Historical loans with the name of their accounting treatment")
@dlt.expect("Grade should be valid", "(grade in ('A', 'B', 'C', 'D', 'E', 'F', 'G'))")
@dlt.expect_or_drop("Recoveries shoud be int", "(CAST(recoveries as INT) IS NOT NULL)")
def historical_txs():
    history = spark.readStream.table("raw_historical_loans").alias("l")
    ref = spark.read.table("ref_accounting_treatment").alias("ref")
    return history.join(
        ref, F.col("l.accounting_treatment_id") == F.col("ref.id"), "inner"
    ).selectExpr("l.*", "ref.accounting_treatment as accounting_treatment")


# COMMAND ----------

@dlt.table(
    comment="Balances per location, historical and new loans together",
    cluster_by=["location_code"],
)
def total_loan_balances():
    return (
        spark.read.table("historical_txs")
        .groupBy("addr_state")
        .agg(F.sum("revol_bal").alias("bal"))
        .withColumnRenamed("addr_state", "location_code")
        .union(
            spark.read.table("cleaned_new_txs")
            .groupBy("country_code")
            .agg(F.sum("balance").alias("bal"))
            .withColumnRenamed("country_code", "location_code")
        )
    )


@dlt.table(comment="New loan balances per cost center")
def new_loan_balances_by_cost_center():
    return (
        spark.read.table("cleaned_new_txs")
        .groupBy("cost_center_code")
        .agg(F.sum("balance").alias("sum_balance"))
    )


@dlt.table(comment="New loan counts per country")
def new_loan_balances_by_country():
    return (
        spark.read.table("cleaned_new_txs")
        .groupBy("country_code")
        .agg(F.sum("count").alias("sum_count"))
    )
