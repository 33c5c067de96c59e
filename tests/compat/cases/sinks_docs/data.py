"""Synthetic clickstream records (prev_id, curr_id, n, prev_title, curr_title, type), one JSON lines file per
batch in the clickstream folder."""

import json
from pathlib import Path

FOLDER = "wikipedia-datasets/data-001/clickstream/raw-uncompressed-json"


def _click(prev_id, curr_id, n, prev_title, curr_title, kind="link"):
    return {"prev_id": prev_id, "curr_id": curr_id, "n": n, "prev_title": prev_title, "curr_title": curr_title,
            "type": kind}


BATCHES = {
    1: [_click(11, 1, 140, "Big_data", "Apache_Spark"),
        _click(12, 1, 61, "Apache_Hive", "Apache_Spark"),
        _click(1, 5, 17, "Apache_Spark", "Apache_Arrow"),
        _click(13, None, 3, "Main_Page", None, "redlink")],
    2: [_click(14, 1, 88, "Delta_Lake", "Apache_Spark"),
        _click(15, 6, 9, "Columnar_database", "Apache_Parquet")],
}


def rows(batches: int) -> list[dict]:
    return [r for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    path = landing / FOLDER / f"clicks-{batch}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in BATCHES[batch]))
