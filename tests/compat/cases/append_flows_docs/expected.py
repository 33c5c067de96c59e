"""raw_orders and its totals computed in plain Python: every regional file's orders (re-sent ones too), the
backfill files present at the first update only, then the table's drop expectations."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("append_flows_docs_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _valid(order: dict) -> bool:
    return order["order_id"] is not None and order["amount"] > 0


def expected(batches: int) -> dict[str, list[dict]]:
    rows = []
    for b in range(1, batches + 1):
        for region in data.REGIONS:
            rows += [{**o, "source_region": region} for o in data.BATCHES[b].get(region, [])]
    rows += [{**o, "source_region": None} for o in data.BATCHES[1]["backfill"]]  # the once flow's only run
    rows = [r for r in rows if _valid(r)]
    totals: dict = {}
    for r in rows:
        n, revenue = totals.get(r["source_region"], (0, 0.0))
        totals[r["source_region"]] = (n + 1, revenue + r["amount"])
    return {
        "raw_orders": rows,
        "orders_by_region": [{"source_region": region, "orders": n, "revenue": revenue}
                             for region, (n, revenue) in totals.items()],
    }
