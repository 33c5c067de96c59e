import dlt

tpch_tables = [
    "customer",
    "lineitem",
    "orders",
    "nation",
    "part",
    "partsupp",
    "region",
    "supplier"
]

def define_raw_table(table):

    @dlt.table(name=f"raw_{table}")
    def raw_table():
        return spark.read.table(f"samples.tpch.{table}")


for table in tpch_tables:
    define_raw_table(table)
