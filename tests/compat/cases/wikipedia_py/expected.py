"""The clickstream tables computed in plain Python from data.py's records."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("wikipedia_py_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    raw = data.rows(batches)
    assert all(r["n"] > 0 for r in raw), "the fail expectation would stop the update"
    clean = [{"current_page_id": r["curr_id"], "current_page_title": r["curr_title"], "click_count": r["n"],
              "previous_page_id": r["prev_id"], "previous_page_title": r["prev_title"]} for r in raw]
    spark_clicks = sorted((c for c in clean if c["current_page_title"] == "Apache_Spark"),
                          key=lambda c: -c["click_count"])
    assert len({c["click_count"] for c in spark_clicks}) == len(spark_clicks), "ties would make limit(10) arbitrary"
    totals: dict = {}
    for c in clean:
        totals[c["current_page_title"]] = totals.get(c["current_page_title"], 0) + c["click_count"]
    assert len(totals) <= 50
    return {
        "clickstream_raw": [dict(r) for r in raw],
        "clickstream_clean": clean,
        "top_spark_referrers": [{"referrer": c["previous_page_title"], "click_count": c["click_count"]}
                                for c in spark_clicks[:10]],
        "top_pages": [{"current_page_title": t, "total_clicks": n} for t, n in totals.items()],
    }
