"""A few synthetic rows of the TPC-H tables (the columns of samples.tpch), inserted into the source
tables outside the pipeline before each update."""

import datetime as dt
from pathlib import Path

COLUMNS = {
    "region": ("r_regionkey", "r_name", "r_comment"),
    "nation": ("n_nationkey", "n_name", "n_regionkey", "n_comment"),
    "customer": ("c_custkey", "c_name", "c_address", "c_nationkey", "c_phone", "c_acctbal", "c_mktsegment",
                 "c_comment"),
    "supplier": ("s_suppkey", "s_name", "s_address", "s_nationkey", "s_phone", "s_acctbal", "s_comment"),
    "part": ("p_partkey", "p_name", "p_mfgr", "p_brand", "p_type", "p_size", "p_container", "p_retailprice",
             "p_comment"),
    "partsupp": ("ps_partkey", "ps_suppkey", "ps_availqty", "ps_supplycost", "ps_comment"),
    "orders": ("o_orderkey", "o_custkey", "o_orderstatus", "o_totalprice", "o_orderdate", "o_orderpriority",
               "o_clerk", "o_shippriority", "o_comment"),
    "lineitem": ("l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity", "l_extendedprice",
                 "l_discount", "l_tax", "l_returnflag", "l_linestatus", "l_shipdate", "l_commitdate",
                 "l_receiptdate", "l_shipinstruct", "l_shipmode", "l_comment"),
}
MONEY = {"c_acctbal", "s_acctbal", "p_retailprice", "ps_supplycost", "o_totalprice", "l_quantity",
         "l_extendedprice", "l_discount", "l_tax"}
D = dt.date

ROWS = {
    1: {
        "region": [(0, "AFRICA", "r0"), (1, "AMERICA", "r1"), (3, "EUROPE", "r3")],
        "nation": [(0, "ALGERIA", 0, "n0"), (1, "ARGENTINA", 1, "n1"), (7, "GERMANY", 3, "n7"),
                   (6, "FRANCE", 3, "n6"), (24, "ATLANTIS", 9, "no such region")],
        "customer": [(1, "Customer#1", "Main St 1", 1, "11-111", 711.56, "BUILDING", "c1"),
                     (2, "Customer#2", "Side St 2", 7, "17-222", 121.65, "AUTOMOBILE", "c2"),
                     (3, "Customer#3", "Hill Rd 3", 24, "34-333", 7498.12, "AUTOMOBILE", "c3")],
        "supplier": [(1, "Supplier#1", "Dock 1", 6, "16-100", 5755.94, "s1"),
                     (2, "Supplier#2", "Dock 2", 0, "10-200", 4032.68, "s2")],
        "part": [(1, "goldenrod lace", "Manufacturer#1", "Brand#13", "PROMO BURNISHED COPPER", 7, "JUMBO PKG", 901.00,
                  "p1"),
                 (2, "blush thistle", "Manufacturer#1", "Brand#13", "LARGE BRUSHED BRASS", 1, "LG CASE", 902.00, "p2")],
        "partsupp": [(1, 1, 3325, 771.64, "ps11"), (1, 2, 8076, 993.49, "ps12"), (2, 2, 3956, 337.09, "ps22")],
        "orders": [(1, 1, "O", 173665.47, D(1996, 1, 2), "5-LOW", "Clerk#951", 0, "o1"),
                   (2, 2, "O", 46929.18, D(1996, 12, 1), "1-URGENT", "Clerk#880", 0, "o2")],
        "lineitem": [(1, 1, 1, 1, 17.00, 21168.23, 0.04, 0.02, "N", "O", D(1996, 3, 13), D(1996, 2, 12),
                      D(1996, 3, 22), "DELIVER IN PERSON", "TRUCK", "l11"),
                     (1, 2, 2, 2, 36.00, 45983.16, 0.09, 0.06, "N", "O", D(1996, 4, 12), D(1996, 2, 28),
                      D(1996, 4, 20), "TAKE BACK RETURN", "MAIL", "l12"),
                     (2, 1, 2, 1, 38.00, 44694.46, 0.00, 0.05, "N", "O", D(1997, 1, 28), D(1997, 1, 14),
                      D(1997, 2, 2), "TAKE BACK RETURN", "RAIL", "l21")],
    },
    2: {
        "region": [],
        "nation": [],
        "customer": [(4, "Customer#4", "Lake Rd 4", 99, "99-444", 2866.83, "MACHINERY", "unknown nation")],
        "supplier": [],
        "part": [],
        "partsupp": [],
        "orders": [(3, 4, "F", 193846.25, D(1993, 10, 14), "5-LOW", "Clerk#955", 0, "o3")],
        "lineitem": [(3, 2, 1, 1, 45.00, 54058.05, 0.06, 0.00, "R", "F", D(1994, 2, 2), D(1994, 1, 4),
                      D(1994, 2, 23), "NONE", "AIR", "no partsupp row for (2, 1)"),
                     (3, 1, 2, 2, 49.00, 46796.47, 0.10, 0.00, "R", "F", D(1993, 11, 9), D(1993, 12, 20),
                      D(1993, 11, 24), "TAKE BACK RETURN", "RAIL", "l32")],
    },
}


def table(name: str, batches: int) -> list[dict]:
    return [dict(zip(COLUMNS[name], r, strict=True)) for b in range(1, batches + 1) for r in ROWS[b][name]]


def _literal(column: str, value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if column in MONEY:
        return f"CAST({value:.2f} AS DECIMAL(18,2))"
    return str(value)


def statements(batch: int) -> list[str]:
    out = []
    for name, rows in ROWS[batch].items():
        if rows:
            values = ", ".join("(" + ", ".join(_literal(c, v) for c, v in zip(COLUMNS[name], r, strict=True)) + ")"
                               for r in rows)
            out.append(f"INSERT INTO tpch.{name} VALUES {values}")
    return out


def write_batch(batch: int, landing: Path) -> None:
    """Nothing lands as files: the sources are tables (see statements)."""
