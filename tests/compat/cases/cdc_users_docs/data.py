"""Synthetic rows of the documented `users` change feed (userId, name, city, operation, sequenceNum), written as
new Parquet files of the external table cdc_data.users (the case's setup creates it over this folder)."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ["userId", "name", "city", "operation", "sequenceNum"]
SCHEMA = pa.schema([("userId", pa.int32()), ("name", pa.string()), ("city", pa.string()),
                    ("operation", pa.string()), ("sequenceNum", pa.int32())])

BATCHES = {
    1: [
        (201, "Ines", "Lisbon", "INSERT", 1),
        (202, "Tomas", "Porto", "INSERT", 1),
        (203, "Marta", "Braga", "INSERT", 2),
        (204, "Rui", "Faro", "INSERT", 2),
        (201, None, None, "DELETE", 6),
        (203, "Marta", "Coimbra", "UPDATE", 6),
        (203, "Marta", "Aveiro", "UPDATE", 5),  # arrives after the newer event of the same key
        (201, "Ines", "Evora", "UPDATE", 5),  # older than the delete
        (204, None, "Lagos", "UPDATE", 3),  # a partial update: no name
    ],
    2: [
        (205, "Sofia", "Sintra", "INSERT", 8),
        (202, "Tomas", "Guimaraes", "UPDATE", 9),
        (203, "Marta", "Viseu", "UPDATE", 4),  # late: older than two events the targets already hold
        (201, "Ines", "Tomar", "UPDATE", 7),  # after the delete: the user comes back
        (204, None, None, "DELETE", 10),
        (None, None, None, "TRUNCATE", 11),
        (206, "Joao", "Leiria", "INSERT", 12),
    ],
}


def rows(batches: int) -> list[dict]:
    return [dict(zip(COLUMNS, r, strict=True)) for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "cdc_data" / "users"
    folder.mkdir(parents=True, exist_ok=True)
    records = [dict(zip(COLUMNS, r, strict=True)) for r in BATCHES[batch]]
    pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), folder / f"part-{batch:05d}.parquet")
