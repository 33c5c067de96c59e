"""subscribers = every streamed sign-up so far, plus the backfill table as it was at the first update
(an INSERT INTO ONCE flow runs once; https://docs.databricks.com/aws/en/ldp/developer/ldp-sql-ref-create-flow)."""

import datetime as dt
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("flows_backfill_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _rows(rows) -> list[dict]:
    return [{"user_id": u, "name": n, "signup_date": dt.date.fromisoformat(d)} for u, n, d in rows]


def expected(batches: int) -> dict[str, list[dict]]:
    streamed = [r for b in range(1, batches + 1) for r in data.SIGNUPS[b]]
    return {"subscribers": _rows(streamed) + _rows(data.BACKFILL[1])}
