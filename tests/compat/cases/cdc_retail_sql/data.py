"""Synthetic change events of a client table, the shape dbdemos' CDC generator writes: one JSON
document per change with id, firstname, lastname, email, address, operation and operation_date
("MM-dd-yyyy HH:mm:ss"); null fields are left out, as Spark's JSON writer does."""

import json
from pathlib import Path

FOLDER = Path("main", "retail_cdc", "raw_data", "clients")


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _event(n: int | None, first: str, last: str, email: str, address: str, operation: str | None,
           when: str) -> dict:
    return {"id": None if n is None else _id(n), "firstname": first, "lastname": last, "email": email,
            "address": address, "operation": operation, "operation_date": when}


BATCHES = {
    1: [
        _event(1, "Ada", "Byron", "ada@example.org", "1 Mill Lane", "APPEND", "03-01-2024 09:00:00"),
        _event(2, "Alan", "Turing", "alan@example.org", "2 Park Road", "APPEND", "03-01-2024 10:00:00"),
        _event(3, "Grace", "Hopper", "grace@example.org", "3 Navy Yard", "APPEND", "03-02-2024 08:00:00"),
        _event(1, "Ada", "Byron", "ada@example.org", "9 Engine Street", "UPDATE", "03-05-2024 12:00:00"),
        _event(4, "Edsger", "Dijkstra", "edsger@example.org", "4 Path Close", "APPEND", "03-03-2024 07:30:00"),
        _event(3, "Grace", "Hopper", "grace@example.org", "3 Navy Yard", "DELETE", "03-06-2024 09:00:00"),
        _event(None, "No", "Id", "noid@example.org", "0 Nowhere", "APPEND", "03-02-2024 11:00:00"),
        _event(5, "Barbara", "Liskov", "barbara@example.org", "5 Sub Street", None, "03-02-2024 12:00:00"),
        _event(6, "Donald", "Knuth", "don@example.org", "6 Tex Avenue", "APPEND", "03-04-2024 16:00:00"),
    ],
    2: [
        # late: between Ada's two versions of batch 1
        _event(1, "Ada", "Lovelace", "ada@example.org", "1 Mill Lane", "UPDATE", "03-03-2024 15:00:00"),
        _event(2, "Alan", "Turing", "turing@example.org", "2 Park Road", "UPDATE", "03-08-2024 10:00:00"),
        _event(4, "Edsger", "Dijkstra", "edsger@example.org", "4 Path Close", "DELETE", "03-09-2024 09:00:00"),
        _event(3, "Grace", "Hopper", "hopper@example.org", "12 Cobol Court", "APPEND", "03-10-2024 08:00:00"),
        # late: older than Donald's only event so far
        _event(6, "Don", "Knuth", "don@example.org", "6 Tex Avenue", "UPDATE", "03-02-2024 16:00:00"),
        _event(7, "Niklaus", "Wirth", "nik@example.org", "7 Pascal Place", "MERGE", "03-07-2024 10:00:00"),
        _event(5, "Barbara", "Liskov", "barbara@example.org", "5 Sub Street", "APPEND", "03-07-2024 11:00:00"),
    ],
}


def rows(batches: int) -> list[dict]:
    return [r for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    events = BATCHES[batch]
    half = (len(events) + 1) // 2  # two files a batch
    for part, chunk in enumerate((events[:half], events[half:])):
        lines = "".join(json.dumps({k: v for k, v in e.items() if v is not None}) + "\n" for e in chunk)
        (folder / f"changes-{batch}-{part}.json").write_text(lines)
