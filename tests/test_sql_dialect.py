"""Databricks pipeline SQL forms the corpus does not cover (private materialized views, temporary
and LIVE views, batch read_files with CSV options, CLUSTER BY, SET and ${key}, AUTO CDC with IGNORE
NULL UPDATES over a stream of a table outside the pipeline), the old Python aliases with required-only CDC arguments, and the session defaults
that change results (ANSI mode, time zone, case sensitivity), run from an unrelated working
directory, twice. Expected values are worked out here from the landed rows."""

from __future__ import annotations

from pathlib import Path

from conftest import rows, touch_later

from palindrom.cli.main import main

PEOPLE_1 = {
    "a.csv": [("Ann", 30, "line one\nline two"), ("Bob", 12, "kid")],
    "sub/b.csv": [("Cy", 45, "plain")],
}
PEOPLE_2 = {"sub/d.csv": [("Di", 19, "new, with a comma")]}
IGNORED = ("Ignored", 50, "not a csv file")  # people/c.txt: outside pathGlobFilter
CHANGES_1 = [
    {"id": 1, "seq": 1, "name": "Ann", "city": "Oslo", "op": "U"},
    {"id": 2, "seq": 1, "name": "Bob", "city": "Rome", "op": "U"},
    {"id": 1, "seq": 2, "name": None, "city": "Bergen", "op": "U"},
    {"id": 2, "seq": 3, "name": None, "city": None, "op": "D"},
    {"id": 3, "seq": 1, "name": "Cy", "city": None, "op": "U"},
]
CHANGES_2 = [
    {"id": 1, "seq": 0, "name": "Old", "city": "Paris", "op": "U"},  # late: older than what the targets hold
    {"id": 2, "seq": 4, "name": "Bo", "city": "Rome", "op": "U"},    # re-created after its delete
    {"id": 3, "seq": 2, "name": None, "city": "Lima", "op": "U"},
]


def _csv(path: Path, people: list[tuple[str, int, str]]) -> None:
    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("name,age,note\n" + "".join(f"{quoted(n)},{a},{quoted(t)}\n" for n, a, t in people))


def _land(spark, db: str, landing: Path, people: dict[str, list[tuple[str, int, str]]],  # type: ignore[no-untyped-def]
          changes: list[dict]) -> None:
    """People as CSV files; change events appended to the change table outside the pipeline."""
    for file, batch in people.items():
        _csv(landing / "people" / file, batch)
        touch_later(landing / "people" / file)

    def literal(value: object) -> str:
        return "NULL" if value is None else f"'{value}'" if isinstance(value, str) else str(value)

    values = ", ".join("(" + ", ".join(literal(c[k]) for k in ("id", "seq", "name", "city", "op")) + ")"
                       for c in changes)
    spark.sql(f"INSERT INTO {db}_src.changes VALUES {values}")


def _scd1(events: list[dict], ignore_nulls: bool, deletes: bool) -> dict[int, dict]:
    """AUTO CDC SCD type 1, applied in sequence order (what the target holds whatever the arrival order)."""
    table: dict[int, dict] = {}
    for event in sorted(events, key=lambda e: e["seq"]):
        if deletes and event["op"] == "D":
            table.pop(event["id"], None)
            continue
        previous = table.get(event["id"], {})
        table[event["id"]] = {k: (previous.get(k) if ignore_nulls and v is None else v) for k, v in event.items()}
    return table


def _expected(people: list[tuple[str, int, str]], events: list[dict]) -> dict[str, list[tuple]]:
    adults = [p for p in people if p[1] >= 18]
    members = _scd1(events, ignore_nulls=True, deletes=True)
    latest = _scd1(events, ignore_nulls=False, deletes=False)
    return {
        "adults_out": sorted(("n-" + n, a, t) for n, a, t in adults),
        "adult_total": [(len(adults),)],
        "members": sorted((m["id"], m["seq"], m["name"], m["city"]) for m in members.values()),
        "members_latest": sorted((m["id"], m["seq"], m["name"], m["city"], m["op"]) for m in latest.values()),
        "member_cities": sorted((m["id"], m["city"]) for m in members.values() if m["city"] is not None),
    }


def _actual(spark, db: str) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    def sql(query: str) -> list[tuple]:
        return sorted(rows(spark, query), key=lambda r: tuple("" if v is None else str(v) for v in r))

    return {
        "adults_out": sql(f"SELECT label, age, note FROM {db}.adults_out"),
        "adult_total": sql(f"SELECT n FROM {db}.adult_total"),
        "members": sql(f"SELECT id, seq, name, city FROM {db}.members"),
        "members_latest": sql(f"SELECT id, seq, name, city, op FROM {db}.members_latest"),
        "member_cities": sql(f"SELECT id, city FROM {db}.member_cities"),
    }


def _ordered(expected: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {k: sorted(v, key=lambda r: tuple("" if x is None else str(x) for x in r)) for k, v in expected.items()}


def test_databricks_sql_forms_python_aliases_and_session_defaults(spark, spark_server, pipeline_copy, tmp_path,
                                                                  monkeypatch, capsys):
    folder, db = pipeline_copy("sql_dialect")
    landing = folder / "landing"
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {db}_src")
    spark.sql(f"CREATE TABLE {db}_src.changes (id INT, seq INT, name STRING, city STRING, op STRING) USING parquet")
    _land(spark, db, landing, PEOPLE_1, CHANGES_1)
    _csv(landing / "people" / "c.txt", [IGNORED])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # `pipelines run PATH` from a directory that is not the repository

    assert main(["run", str(folder), "--storage", "storage"]) == 0
    assert (elsewhere / "storage").is_dir()
    people = [p for batch in PEOPLE_1.values() for p in batch]
    assert _actual(spark, db) == _ordered(_expected(people, CHANGES_1))
    # Session defaults as in a Databricks pipeline (DBR 17.3: ANSI on, UTC, case-insensitive).
    assert rows(spark, f"SELECT tz, empty_cast FROM {db}.session_facts") == [("UTC", None)]
    assert rows(spark, f"SELECT ansi, case_sensitive, greeting FROM {db}.session_conf") == [("true", "false", "hello")]
    # Private and temporary datasets are not published; views are not stored.
    published = {r.tableName for r in spark.sql(f"SHOW TABLES IN {db}").collect()}
    assert {"adults_out", "adult_total", "members", "members_latest", "session_conf"} <= published
    assert not {"people_files", "adults", "adult_labels", "adult_count", "change_feed"} & published
    assert "'path' on 'session_conf' is accepted but has no effect locally" in capsys.readouterr().err

    _land(spark, db, landing, PEOPLE_2, CHANGES_2)
    assert main(["run", str(folder), "--storage", "storage"]) == 0
    people += PEOPLE_2["sub/d.csv"]
    assert _actual(spark, db) == _ordered(_expected(people, CHANGES_1 + CHANGES_2))
