"""Batch 1: the three views from the rows. Batch 2 fails on the FAIL UPDATE expectation
(https://docs.databricks.com/aws/en/ldp/expectations: a failing flow's table update is rolled back
atomically); clicks_raw, refreshed before clicks_clean, holds both batches; clicks_clean and
top_spark_referrers keep batch 1's rows."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("clickstream_fail_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _views(landed: list[dict]) -> tuple[list[dict], list[dict]]:
    clean = [{"current_page_title": r["curr_title"], "click_count": int(r["n"]), "previous_page_title": r["prev_title"]}
             for r in landed]
    top = sorted((c for c in clean if c["current_page_title"] == "Apache_Spark"), key=lambda c: -c["click_count"])[:3]
    return clean, [{"referrer": c["previous_page_title"], "click_count": c["click_count"]} for c in top]


def expected(batches: int) -> dict[str, list[dict]]:
    landed = data.rows(batches)
    clean, top = _views(data.rows(1))  # batch 2's refresh of these fails
    return {
        "clicks_raw": [{"curr_title": r["curr_title"], "prev_title": r["prev_title"], "n": r["n"]} for r in landed],
        "clicks_clean": clean,
        "top_spark_referrers": top,
    }
