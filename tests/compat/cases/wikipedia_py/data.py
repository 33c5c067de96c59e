"""Synthetic Wikipedia clickstream records (the published JSON shape: prev_id, curr_id, n, prev_title,
curr_title, type). Batch 2 appends to the same file, as a re-published dataset would."""

import json
from pathlib import Path

FILE = "wikipedia-datasets/data-001/clickstream/raw-uncompressed-json/2015_2_clickstream.json"


def _click(prev_id, curr_id, n, prev_title, curr_title, kind="link"):
    return {"prev_id": prev_id, "curr_id": curr_id, "n": n, "prev_title": prev_title,
            "curr_title": curr_title, "type": kind}


BATCHES = {
    1: [
        _click(101, 1, 120, "Big_data", "Apache_Spark"),
        _click(102, 1, 95, "Apache_Hadoop", "Apache_Spark"),
        _click(None, 1, 80, "other-google", "Apache_Spark", "external"),
        _click(103, 1, 64, "Scala_(programming_language)", "Apache_Spark"),
        _click(104, 1, 33, "MapReduce", "Apache_Spark"),
        _click(105, 1, 12, "Databricks", "Apache_Spark"),
        _click(1, 2, 41, "Apache_Spark", "Apache_Flink"),
        _click(None, 3, 300, "other-empty", "Main_Page", "external"),
        _click(3, None, 7, "Main_Page", None, "redlink"),  # no current page: warned, kept
        _click(106, 2, 9, "Stream_processing", "Apache_Flink"),
    ],
    2: [
        _click(107, 1, 150, "Machine_learning", "Apache_Spark"),
        _click(108, 1, 71, "Python_(programming_language)", "Apache_Spark"),
        _click(109, 1, 55, "Resilient_distributed_dataset", "Apache_Spark"),
        _click(110, 1, 48, "Apache_Kafka", "Apache_Spark"),
        _click(111, 1, 27, "Data_lake", "Apache_Spark"),
        _click(112, 1, 5, "Lambda_architecture", "Apache_Spark"),
        _click(113, 1, 2, "Matei_Zaharia", "Apache_Spark"),
        _click(None, 4, 18, "other-wikipedia", "Apache_Kafka", "external"),
        _click(1, 4, 22, "Apache_Spark", "Apache_Kafka"),
        _click(3, None, 4, "Main_Page", None, "redlink"),
    ],
}


def rows(batches: int) -> list[dict]:
    return [r for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    path = landing / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in BATCHES[batch]))
