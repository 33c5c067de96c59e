"""Synthetic clickstream rows, the shape of the public Wikipedia clickstream JSON; batch 2 holds a
count of 0, which the FAIL UPDATE expectation rejects."""

import json
from pathlib import Path

BATCHES = {
    1: [{"curr_title": "Apache_Spark", "prev_title": "Big_data", "n": "40", "curr_id": 1, "prev_id": 2},
        {"curr_title": "Apache_Spark", "prev_title": "Hadoop", "n": "25", "curr_id": 1, "prev_id": 3},
        {"curr_title": "Apache_Spark", "prev_title": "Scala", "n": "12", "curr_id": 1, "prev_id": 6},
        {"curr_title": "Apache_Spark", "prev_title": "Java", "n": "8", "curr_id": 1, "prev_id": 9},
        {"curr_title": "Scala", "prev_title": "Apache_Spark", "n": "11", "curr_id": 6, "prev_id": 1}],
    2: [{"curr_title": "Apache_Spark", "prev_title": "Databricks", "n": "60", "curr_id": 1, "prev_id": 7},
        {"curr_title": "Apache_Spark", "prev_title": "Python", "n": "0", "curr_id": 1, "prev_id": 8}],
}


def rows(batches: int) -> list[dict]:
    return [r for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "clickstream" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"part-{batch}.json").write_text("".join(json.dumps(r) + "\n" for r in BATCHES[batch]))
