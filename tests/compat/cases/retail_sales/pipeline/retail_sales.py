# Databricks notebook source
# Retail sales: customers (CSV) and sales orders (JSON) -> cleaned orders -> sales per day in two cities.

import dlt
from pyspark.sql.functions import explode, from_unixtime
from pyspark.sql.functions import sum as sum_


@dlt.create_view(comment="Customers buying finished products, from the retail-org sample files.")
def customers():
    return spark.read.csv("/databricks-datasets/retail-org/customers/customers.csv", header=True)


# COMMAND ----------

# "myCompanyPipeline.quality" is a namespaced table property describing the table's layer.
@dlt.create_table(
    comment="Sales orders as landed, from the retail-org sample files.",
    table_properties={"myCompanyPipeline.quality": "bronze", "pipelines.autoOptimize.managed": "true"},
)
def sales_orders_raw():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.inferColumnTypes", "true")
        .load("/databricks-datasets/retail-org/sales_orders/")
    )


# COMMAND ----------

@dlt.create_table(
    comment="Sales orders with an order number, their customer's details, partitioned by order date.",
    partition_cols=["order_date"],
    table_properties={"myCompanyPipeline.quality": "silver", "pipelines.autoOptimize.managed": "true"},
)
@dlt.expect_or_drop("valid order_number", "order_number IS NOT NULL")
def sales_orders_cleaned():
    df = dlt.read_stream("sales_orders_raw").join(dlt.read("customers"), ["customer_id", "customer_name"], "left")
    df = df.withColumn("order_datetime", from_unixtime(df.order_datetime).cast("TIMESTAMP"))
    df = df.withColumn("order_date", df.order_datetime.cast("DATE"))
    return df.select("customer_id", "customer_name", "number_of_line_items", "order_datetime", "order_date",
                     "order_number", "ordered_products", "state", "city", "lon", "lat", "units_purchased",
                     "loyalty_segment")


# COMMAND ----------

def city_sales(city):
    df = dlt.read_stream("sales_orders_cleaned").where(f"city == '{city}'")
    df = df.select(df.city, df.order_date, df.customer_id, df.customer_name,
                   explode(df.ordered_products).alias("ordered_products_explode"))
    return df.groupBy(df.order_date, df.city, df.customer_id, df.customer_name,
                      df.ordered_products_explode.curr.alias("currency")) \
        .agg(sum_(df.ordered_products_explode.price).alias("sales"),
             sum_(df.ordered_products_explode.qty).alias("quantity"))


@dlt.create_table(comment="Sales per day, customer and currency in Los Angeles",
                  table_properties={"myCompanyPipeline.quality": "gold"})
def sales_order_in_la():
    return city_sales("Los Angeles")


@dlt.create_table(comment="Sales per day, customer and currency in Chicago",
                  table_properties={"myCompanyPipeline.quality": "gold"})
def sales_order_in_chicago():
    return city_sales("Chicago")
