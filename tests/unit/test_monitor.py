"""Stream-monitor lines and alerts from streaming progress, as Spark writes it to its event log."""

import io
import json

from palindrom.logs import JsonLogger
from palindrom.runtime.monitor import StreamMonitor, Thresholds, backlog


def progress(batch: int, trigger_ms: int, latest: int, end: int) -> dict:
    return {"id": "q", "name": "spark_catalog.app.bronze", "batchId": batch,
            "durationMs": {"triggerExecution": trigger_ms},
            "sources": [{"description": "cloudFiles", "startOffset": None, "numInputRows": 40,
                         "inputRowsPerSecond": 1234.56, "processedRowsPerSecond": 987.0,
                         "endOffset": json.dumps({"log": "7", "seq": end}),
                         "latestOffset": json.dumps({"log": "7", "seq": latest})}]}


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_backlog_is_latest_minus_end_over_numeric_offsets():
    assert backlog(progress(0, 1, latest=12, end=5)) == 7
    kafka = {"sources": [{"endOffset": '{"t":{"0":10,"1":4}}', "latestOffset": '{"t":{"0":15,"1":4}}'},
                         {"endOffset": '{"u":{"0":1}}', "latestOffset": '{"u":{"0":3}}'}]}
    assert backlog(kafka) == 7
    assert backlog({"sources": [{"endOffset": None, "latestOffset": None}]}) is None


def test_one_line_per_trigger_and_alerts_at_the_thresholds():
    stream = io.StringIO()
    log = JsonLogger("local", stream)
    log.request_id = "update-1"
    monitor = StreamMonitor(Thresholds(trigger_execution_ms_max=45_000, backlog_growth_triggers=3), log)
    monitor.observe("bronze", progress(0, 1_000, latest=5, end=4))
    monitor.observe("bronze", progress(1, 46_000, latest=7, end=5))   # slow; backlog 1 -> 2
    monitor.observe("bronze", progress(2, 2_000, latest=10, end=7))   # 3
    monitor.observe("bronze", progress(3, 2_000, latest=14, end=10))  # 4: grew 3 triggers in a row
    monitor.observe("bronze", progress(4, 2_000, latest=19, end=14))  # 5: still growing, alerted once
    monitor.observe("bronze", progress(5, 2_000, latest=19, end=19))  # 0
    found = lines(stream)
    monitored = [r for r in found if r["message"] == "stream monitor"]
    assert [(r["batch_id"], r["trigger_execution_ms"], r["backlog"]) for r in monitored] == [
        (0, 1000, 1), (1, 46000, 2), (2, 2000, 3), (3, 2000, 4), (4, 2000, 5), (5, 2000, 0)]
    assert monitored[0]["input_rows_per_second"] == 1234.6 and monitored[0]["processed_rows_per_second"] == 987.0
    assert monitored[0]["num_input_rows"] == 40
    assert all(r["requestId"] == "update-1" and r["service"] and r["environment"] == "local" for r in found)
    alerts = [(r["alert"], r["level"]) for r in found if "alert" in r]
    assert alerts == [("trigger_execution_ms", "WARN"), ("backlog_growing", "WARN")]
    assert next(r for r in found if r.get("alert") == "backlog_growing")["backlog"] == 4


def test_thresholds_come_from_the_pipeline_configuration():
    assert Thresholds.from_configuration({"palindrom.monitor.trigger_execution_ms_max": "1000",
                                          "palindrom.monitor.backlog_growth_triggers": "2"}) == Thresholds(1000, 2)
    assert Thresholds.from_configuration({}) == Thresholds(45_000, 6)
