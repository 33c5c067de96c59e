"""Synthetic customer change events, the dbdemos generator's shape (ids as UUID strings, operation_date as
"%m-%d-%Y %H:%M:%S" text), plus a numeric loyalty_points field so that a value of the wrong type is rescued."""

import json
from pathlib import Path

IDS = {n: f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 8)}


def _event(n, first, last, op, when, email=None, address=None, points=10):
    return {"id": IDS.get(n), "firstname": first, "lastname": last,
            "email": email or f"{first.lower()}@example.com", "address": address or f"{n} Main Street",
            "operation": op, "operation_date": when, "loyalty_points": points}


BATCHES = {
    1: [
        _event(1, "Ada", "Lovelace", "APPEND", "12-01-2026 08:00:00"),
        _event(2, "Alan", "Turing", "APPEND", "12-01-2026 08:05:00"),
        _event(3, "Grace", "Hopper", "APPEND", "12-01-2026 08:10:00"),
        _event(1, "Ada", "Lovelace", "UPDATE", "12-02-2026 09:00:00", email="ada@engine.org", address="12 Analytical Row"),
        _event(2, "Alan", "Turing", "DELETE", "12-03-2026 10:00:00"),
        _event(None, "Nobody", "Noid", "APPEND", "12-01-2026 09:00:00"),  # no id: dropped
        _event(4, "Edsger", "Dijkstra", None, "12-02-2026 10:30:00"),  # no operation: dropped
        _event(4, "Edsger", "Dijkstra", "APPEND", "12-02-2026 11:00:00", points=7),
    ],
    2: [
        _event(3, "Grace", "Hopper", "UPDATE", "12-05-2026 12:00:00", email="grace@cobol.org"),
        # Late: older than Ada's update of 12-02, must not overwrite it (SCD1), becomes a middle version (SCD2).
        _event(1, "Ada", "Lovelace", "UPDATE", "12-01-2026 12:00:00", address="3 Interim Lane"),
        # Late: older than Alan's delete of 12-03; the key stays deleted.
        _event(2, "Alan", "Turing", "UPDATE", "12-02-2026 08:00:00", email="alan@bletchley.org"),
        _event(5, "Barbara", "Liskov", "APPEND", "12-06-2026 09:15:00"),
        _event(4, "Edsger", "Dijkstra", "DELETE", "12-06-2026 13:00:00"),
        _event(3, "Grace", "Hopper", "UPDATE", "12-07-2026 08:00:00", address="Rescued Road", points="many"),
        _event(6, "Donald", "Knuth", "UPDATE", "12-07-2026 09:30:00"),  # upsert of an unknown key
    ],
}


def rows(batches: int) -> list[dict]:
    return [r for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "customers"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"part-{batch:05d}.json").write_text("".join(json.dumps(r) + "\n" for r in BATCHES[batch]))
