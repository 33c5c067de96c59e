# Databricks notebook source
# The earlier template's pipeline notebook: the bundle's source folder on sys.path, then its package.

import sys

import dlt

sys.path.append(spark.conf.get("bundle.sourcePath", "."))
from my_project import main
from pyspark.sql.functions import expr

# COMMAND ----------


@dlt.view
def taxi_raw():
    return main.get_taxis()


@dlt.table
def filtered_taxis():
    return dlt.read("taxi_raw").filter(expr("fare_amount < 30"))
