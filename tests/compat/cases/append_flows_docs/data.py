"""Synthetic orders as JSON lines: one folder per region, and a backfill folder of old orders."""

import json
from pathlib import Path


def _order(order_id, customer, amount):
    return {"order_id": order_id, "customer": customer, "amount": amount}


BATCHES = {
    1: {
        "us": [_order(1, "ana", 12.5), _order(2, "ben", 30.25), _order(None, "ghost", 9.5)],  # no id: dropped
        "eu": [_order(3, "cleo", 8.75), _order(4, "dev", -2.5)],  # negative amount: dropped
        # Auto Loader infers a schema from the files there: every flow's folder has files at the first update.
        "apac": [_order(10, "ito", 18.0)],
        "backfill": [_order(901, "old-a", 100.5), _order(902, "old-b", 55.25), _order(903, "old-c", 0.0)],
    },
    2: {
        "us": [_order(5, "eve", 14.5), _order(2, "ben", 30.25)],  # order 2 re-sent in a new file
        "eu": [_order(6, "finn", 22.0)],
        "apac": [_order(7, "gao", 41.5), _order(8, "hiro", 3.25)],
        "backfill": [_order(904, "old-d", 77.5)],  # the once flow has run: never read
    },
}

REGIONS = ["us", "eu", "apac"]


def write_batch(batch: int, landing: Path) -> None:
    for folder, orders in BATCHES[batch].items():
        path = landing / "orders" / folder / f"orders-{batch}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(o) + "\n" for o in orders))
