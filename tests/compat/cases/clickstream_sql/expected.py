import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("clickstream_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    landed = data.rows(batches)
    clean = [{"current_page_title": r["curr_title"], "click_count": int(r["n"]), "previous_page_title": r["prev_title"]}
             for r in landed]
    spark_refs = sorted((c for c in clean if c["current_page_title"] == "Apache_Spark"),
                        key=lambda c: -c["click_count"])[:3]
    return {
        "clicks_raw": [{"curr_title": r["curr_title"], "prev_title": r["prev_title"], "n": r["n"]} for r in landed],
        "clicks_clean": clean,
        "top_spark_referrers": [{"referrer": c["previous_page_title"], "click_count": c["click_count"]}
                                for c in spark_refs],
    }
