"""The clickstream tables computed in plain Python (the sinks are outside what the harness can read)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("sinks_docs_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    raw = data.rows(batches)
    assert all(r["n"] > 0 for r in raw), "the fail expectation would stop the update"
    clean = [{"current_page_id": r["curr_id"], "current_page_title": r["curr_title"], "click_count": r["n"],
              "previous_page_id": r["prev_id"], "previous_page_title": r["prev_title"]} for r in raw]
    return {
        # Auto Loader without inferColumnTypes reads every JSON field as a string
        "clickstream_raw": [{k: None if v is None else str(v) for k, v in r.items()} for r in raw],
        "clickstream_clean": clean,
        "spark_referrers": [{"current_page_id": c["current_page_id"], "referrer": c["previous_page_title"],
                             "current_page_title": c["current_page_title"], "click_count": c["click_count"]}
                            for c in clean if c["current_page_title"] == "Apache_Spark"],
    }
