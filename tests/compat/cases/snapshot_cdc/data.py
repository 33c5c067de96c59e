"""Synthetic order snapshots: the external table's current snapshot (replaced by batch 2) and hourly snapshot
folders ("YYYY-MM-DD HH", two per batch)."""

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ["order_id", "customer_id", "product_id", "order_status", "amount"]
SCHEMA = pa.schema([("order_id", pa.int32()), ("customer_id", pa.int32()), ("product_id", pa.int32()),
                    ("order_status", pa.string()), ("amount", pa.float64())])

TABLE_SNAPSHOTS = {
    1: [(1, 10, 100, "placed", 25.5), (2, 11, 101, "placed", 40.0), (3, 12, 100, "shipped", 12.25)],
    2: [(1, 10, 100, "shipped", 25.5), (3, 12, 100, "shipped", 12.25), (4, 13, 102, "placed", 99.99)],
}

HOURLY = {
    1: {
        "2026-12-01 08": [(1, 10, 100, "placed", 25.5), (2, 11, 101, "placed", 40.0)],
        "2026-12-01 09": [(1, 10, 100, "placed", 27.5),  # amount only: not tracked, updated in place
                          (2, 11, 101, "shipped", 40.0), (3, 12, 102, "placed", 8.0)],
    },
    2: {
        "2026-12-01 10": [(1, 10, 100, "shipped", 27.5), (3, 12, 102, "placed", 8.0)],  # order 2 gone
        "2026-12-01 11": [(1, 10, 100, "delivered", 27.5), (3, 12, 102, "cancelled", 8.0),
                          (2, 11, 101, "shipped", 40.0)],  # order 2 back
    },
}


def _write(rows: list[tuple], folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([dict(zip(COLUMNS, r, strict=True)) for r in rows], schema=SCHEMA)
    pq.write_table(table, folder / name)


def as_dicts(rows: list[tuple]) -> list[dict]:
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def write_batch(batch: int, landing: Path) -> None:
    table_folder = landing / "orders_snapshot"
    if table_folder.exists():
        shutil.rmtree(table_folder)  # a snapshot replaces the previous one
    _write(TABLE_SNAPSHOTS[batch], table_folder, f"snapshot-{batch}.parquet")
    for hour, rows in HOURLY[batch].items():
        _write(rows, landing / "hourly_orders" / hour, "part-00000.parquet")
