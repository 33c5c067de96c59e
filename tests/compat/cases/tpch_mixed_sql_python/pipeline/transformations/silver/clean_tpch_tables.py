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

def define_clean_table(table):

    @dlt.table(name=f"clean_{table}")
    def clean_table():
        return spark.read.table(f"raw_{table}")


for table in tpch_tables:
    define_clean_table(table)
