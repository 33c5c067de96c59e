"""DataFrame operations over datasets of the same pipeline run as on Databricks, on the first run
(nothing materialised yet) and on the next (every table exists: each downstream table must still
wait for this update's upstream rows). Expected values are computed here from the input rows."""

from __future__ import annotations

import datetime as dt

from conftest import rows, touch_later, write_json_lines

BATCH_1 = [
    {"e": "e1", "k": "a", "ts": "2026-01-01T00:00:00", "v": 10, "s": "x"},
    {"e": "e2", "k": "b", "ts": "2026-01-01T00:05:00", "v": None, "s": "y"},
    {"e": "e3", "k": "a", "ts": "2026-01-01T00:10:00", "v": 7, "s": None},
    {"e": "e1", "k": "a", "ts": "2026-01-01T00:00:00", "v": 10, "s": "x"},  # re-sent copy
]
BATCH_2 = [
    {"e": "e4", "k": "b", "ts": "2026-01-01T00:20:00", "v": 5, "s": "z"},
    {"e": "e2", "k": "b", "ts": "2026-01-01T00:05:00", "v": None, "s": "y"},  # within the watermark
    {"e": "e5", "k": "c", "ts": "2026-01-01T03:00:00", "v": 1, "s": "w"},
]


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _expected(landed: list[dict]) -> dict[str, list[tuple]]:
    unique = list({r["e"]: r for r in landed}.values())
    pairs = {(a["e"], b["e"]) for a in unique for b in unique if a["k"] == b["k"] and a["e"] < b["e"]}
    return {
        "raw": sorted((r["e"], r["k"], _ts(r["ts"]), r["v"], r["s"]) for r in landed),
        "dedup": sorted((r["e"], r["v"]) for r in unique),
        "dropped": sorted((r["e"], r["k"], _ts(r["ts"]), r["v"]) for r in landed),
        "renamed": sorted((r["e"], r["value"], r["label"]) for r in
                          ({"e": r["e"], "value": r["v"], "label": r["s"]} for r in landed)),
        "to_df": sorted((r["e"], r["k"]) for r in landed),
        "melted": sorted((r["e"], name, None if value is None else str(value))
                         for r in landed for name, value in (("v", r["v"]), ("s", r["s"]))),
        "melted_alias": sorted((r["e"], name, r[name]) for r in landed for name in ("k", "s")),
        "filled": sorted((r["e"], 0 if r["v"] is None else r["v"], "?" if r["s"] is None else r["s"])
                         for r in landed),
        "no_nulls": sorted(r["e"] for r in landed if r["v"] is not None),
        "star": sorted((r["e"], None if r["v"] is None else 2 * r["v"]) for r in landed),
        "self_join": sorted(pairs),
        "with_column": sorted((r["e"], None if r["v"] is None else 3 * r["v"]) for r in unique),
    }


def _actual(spark, db: str) -> dict[str, list[tuple]]:
    def sql(query: str) -> list[tuple]:
        return sorted(rows(spark, query), key=lambda r: tuple("" if v is None else str(v) for v in r))

    def ordered(values: list[tuple]) -> list[tuple]:
        return sorted(values, key=lambda r: tuple("" if v is None else str(v) for v in r))

    actual = {
        "raw": sql(f"SELECT e, k, ts, v, s FROM {db}.raw"),
        "dedup": sql(f"SELECT e, v FROM {db}.dedup_watermark"),
        "dedup_state": sql(f"SELECT e, v FROM {db}.dedup_state"),
        "dropped": sql(f"SELECT * FROM {db}.dropped"),
        "renamed": sql(f"SELECT e, value, label FROM {db}.renamed"),
        "to_df": sql(f"SELECT * FROM {db}.to_df"),
        "melted": sql(f"SELECT e, name, value FROM {db}.melted"),
        "melted_alias": sql(f"SELECT e, name, value FROM {db}.melted_alias"),
        "filled": sql(f"SELECT e, v, s FROM {db}.filled"),
        "no_nulls": sorted(r[0] for r in rows(spark, f"SELECT e FROM {db}.no_nulls")),
        "star": sql(f"SELECT e, v2 FROM {db}.star"),
        "self_join": sql(f"SELECT first, second FROM {db}.self_join"),
        "with_column": sql(f"SELECT e, v3 FROM {db}.with_column"),
    }
    return {name: ordered(values) if name != "no_nulls" else values for name, values in actual.items()}


def _ordered(expected: dict[str, list]) -> dict[str, list]:
    return {name: sorted(values, key=lambda r: tuple("" if v is None else str(v) for v in (
        r if isinstance(r, tuple) else (r,)))) for name, values in expected.items()}


def test_dataframe_operations_over_pipeline_datasets_first_run_and_rerun(spark, pipeline_copy, run_cli, tmp_path):
    folder, db = pipeline_copy("dataframe_ops")
    storage = tmp_path / "s"
    write_json_lines(folder / "landing" / "1.json", BATCH_1)
    assert run_cli("run", folder, "--storage", storage) == 0
    expected = _ordered(_expected(BATCH_1))
    actual = _actual(spark, db)
    assert actual.pop("dedup_state") == expected["dedup"]
    assert actual == expected
    # df.columns / df.dtypes / df.schema inside the query function saw raw's schema.
    assert rows(spark, f"SELECT DISTINCT types, v_type FROM {db}.columns_used") == [
        ("e:string,k:string,ts:timestamp,v:bigint,s:string", "bigint")]
    assert [c.name for c in spark.table(f"{db}.columns_used").schema] == ["e", "k", "ts", "v", "types", "v_type"]

    touch_later(write_json_lines(folder / "landing" / "2.json", BATCH_2))
    assert run_cli("run", folder, "--storage", storage) == 0
    expected = _ordered(_expected(BATCH_1 + BATCH_2))
    actual = _actual(spark, db)
    assert actual.pop("dedup_state") == expected["dedup"]
    assert actual == expected
