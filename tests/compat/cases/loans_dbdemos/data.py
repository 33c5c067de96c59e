"""Synthetic loan data in the dbdemos generator's layouts: transactions as JSON lines, historical loans as CSV
files with a header line, and the accounting treatment reference table as a Delta table (Parquet data file and a
first _delta_log commit, written here without Spark)."""

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TREATMENTS = [(0, "held_to_maturity"), (1, "available_for_sale"), (2, "amortised_cost"), (3, "loans_and_recs"),
              (4, "held_for_hedge"), (5, "fv_designated")]


def _tx(tx_id, treatment, balance, arrears, cost_center, country, count, status="active"):
    return {"id": tx_id, "accounting_treatment_id": treatment, "arrears_balance": arrears, "balance": balance,
            "base_rate": "ZERO", "cost_center_code": cost_center, "country_code": country, "count": count,
            "next_payment_date": "2026-12-15 09:30:00", "purpose": "interest", "status": status,
            "type": "current"}


TRANSACTIONS = {
    1: [
        _tx(1, 0, 120, 30, "GB", "GB", 4),
        _tx(2, 1, 75, 10, "FR", "FR", 2),
        _tx(3, 2, -20, 15, "GB", "DE", 1),  # negative balance: quarantined
        _tx(4, 3, 210, 0, "DE", "DE", 7),  # no arrears: quarantined
        _tx(5, 5, 55, 5, "FR", "GB", 3),
    ],
    2: [
        _tx(6, 4, 300, 40, "GB", "FR", 5),
        _tx(7, 7, 90, 9, "DE", "DE", 1),  # treatment 7 is not in the reference table: joined away
        _tx(8, 1, -5, 2, "FR", "FR", 6, status="cancelled"),  # quarantined
        _tx(9, 0, 45, 12, "DE", "GB", 2),
    ],
}

LOAN_COLUMNS = ["id", "member_id", "accounting_treatment_id", "addr_state", "revol_bal", "grade", "recoveries",
                "loan_amnt"]
LOANS = {
    1: [
        (101, 9001, 0, "CA", 1500, "A", 0.0, 5000),
        (102, 9002, 2, "NY", 2750, "C", 12.5, 12000),
        (103, 9003, 2, "CA", 800, "Z", 0.0, 3000),  # grade warned, kept
        (104, 9004, 1, "TX", 4100, "B", None, 8000),  # no recoveries: dropped
    ],
    2: [
        (105, 9005, 3, "NY", 950, "D", 3.0, 4000),
        (106, 9006, 6, "TX", 700, "A", 0.0, 2500),  # treatment 6 has no reference row: joined away
        (107, 9007, 5, "WA", 2200, "E", 1.5, 9000),
    ],
}

_DELTA_SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "accounting_treatment", "type": "string", "nullable": True, "metadata": {}}]}
_CREATED_MS = 1764547200000


def transactions(batches: int) -> list[dict]:
    return [t for b in range(1, batches + 1) for t in TRANSACTIONS[b]]


def loans(batches: int) -> list[dict]:
    return [dict(zip(LOAN_COLUMNS, r, strict=True)) for b in range(1, batches + 1) for r in LOANS[b]]


def _write_reference(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data_file = folder / "part-00000-reference.snappy.parquet"
    table = pa.table({"id": pa.array([t[0] for t in TREATMENTS], pa.int64()),
                      "accounting_treatment": pa.array([t[1] for t in TREATMENTS], pa.string())})
    pq.write_table(table, data_file)
    log = folder / "_delta_log"
    log.mkdir(exist_ok=True)
    actions = [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
        {"metaData": {"id": "5f0c6a9e-0000-4000-8000-000000000001", "format": {"provider": "parquet", "options": {}},
                      "schemaString": json.dumps(_DELTA_SCHEMA), "partitionColumns": [], "configuration": {},
                      "createdTime": _CREATED_MS}},
        {"add": {"path": data_file.name, "partitionValues": {}, "size": data_file.stat().st_size,
                 "modificationTime": _CREATED_MS, "dataChange": True}},
    ]
    (log / "00000000000000000000.json").write_text("".join(json.dumps(a) + "\n" for a in actions))


def write_batch(batch: int, landing: Path) -> None:
    if batch == 1:
        _write_reference(landing / "ref_accounting_treatment")
    tx_file = landing / "raw_transactions" / f"part-{batch:05d}.json"
    tx_file.parent.mkdir(parents=True, exist_ok=True)
    tx_file.write_text("".join(json.dumps(t) + "\n" for t in TRANSACTIONS[batch]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOAN_COLUMNS)
    writer.writerows(["" if v is None else v for v in row] for row in LOANS[batch])
    loan_file = landing / "historical_loans" / f"part-{batch:05d}.csv"
    loan_file.parent.mkdir(parents=True, exist_ok=True)
    loan_file.write_text(out.getvalue())
