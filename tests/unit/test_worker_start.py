"""Which failed updates are re-run: only those whose flows all failed to start a Python worker."""

from palindrom.runtime.graph import GraphInfo
from palindrom.runtime.runner import FlowResult, UpdateResult, failed_to_start_workers

CONNECT = ("[STREAM_FAILED] Query [id = 4c08] terminated with exception: "
           "Python worker failed to connect back. SQLSTATE: XXKST")


def result(*flows: FlowResult) -> UpdateResult:
    return UpdateResult("u", "p", "db", {f.name: f for f in flows}, GraphInfo())


def test_only_worker_start_failures_are_retried():
    assert failed_to_start_workers(result(FlowResult("a", "table", "failed", error=CONNECT),
                                          FlowResult("b", "table", "completed")))
    assert failed_to_start_workers(result(FlowResult("a", "table", "failed", error=(
        "Timed out while waiting for the Python worker to connect back after 10000 ms"))))
    # One data or code failure among them: the update failed for a reason a retry does not change.
    assert not failed_to_start_workers(result(FlowResult("a", "table", "failed", error=CONNECT),
                                              FlowResult("b", "table", "failed", error="ValueError: bad row")))
    assert not failed_to_start_workers(result(FlowResult("a", "table", "completed")))
    assert not failed_to_start_workers(result(FlowResult("a", "table", "failed", error=None)))
