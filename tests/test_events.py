"""The events pipeline end to end on generated landing files: nothing lost, every defect where it
belongs, gold equal to the same numbers computed here in plain Python from the landed files."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import fastavro
import pytest
from conftest import cli, rows

EVENTS = 2500


PER_FILE = "SELECT source_file, count(*) FROM app.events_app_bronze_actions WHERE decode_error IS NULL GROUP BY 1"


@pytest.fixture(scope="module")
def landed(spark_server, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Two batches, each generated and then run: (landing, both manifests combined, first run's
    bronze rows per file)."""
    storage = tmp_path_factory.mktemp("events")
    first_run: dict[str, int] = {}
    for batch in (1, 2):
        assert cli("generate", "--events", EVENTS, "--seed", 11, "--bad-rate", 0.04, "--storage", storage) == 0
        assert cli("run", "events", "--storage", storage) == 0
        if batch == 1:
            first_run = dict(rows(spark_server.session, PER_FILE))
    landing = storage / "landing" / "events"
    manifests = [json.loads(p.read_text()) for p in sorted((landing / "_generator").glob("batch-*.json"))]
    assert [m["batch"] for m in manifests] == [1, 2]
    return landing, combined(manifests), first_run


def combined(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of both batches added up (nested ones too), their files listed together."""

    def add(total: Any, more: Any) -> Any:
        if isinstance(more, dict):
            return {k: add(total.get(k) if isinstance(total, dict) else None, v) for k, v in more.items()} | {
                k: v for k, v in (total or {}).items() if k not in more}
        return (total or 0) + more if isinstance(more, (int, float)) else more

    total: dict[str, Any] = {"files": [f for m in manifests for f in m["files"]]}
    for m in manifests:
        for key in ("defects", "records", "duplicates", "duplicates_across_runs"):
            total[key] = add(total.get(key), m[key])
        total["expected"] = add(total.get("expected"),
                                {k: v for k, v in m["expected"].items() if k != "ingest_window"})
    return total


def count(spark, table: str) -> int:  # type: ignore[no-untyped-def]
    return int(rows(spark, f"SELECT count(*) FROM app.{table}")[0][0])


def decoded(spark, table: str) -> int:  # type: ignore[no-untyped-def]
    """Bronze rows that are decoded records (bronze also keeps what it could not decode)."""
    return int(rows(spark, f"SELECT count(*) FROM app.{table} WHERE decode_error IS NULL")[0][0])


def read_landed(landing: Path, manifest: dict[str, Any], artifact: str) -> list[dict[str, Any]]:
    """Every record a reader can get out of the registered files, read with fastavro here."""
    records: list[dict[str, Any]] = []
    for entry in manifest["files"]:
        if entry["artifact"] != artifact or entry["kind"] == "unknown_schema":
            continue
        with (landing / entry["file"]).open("rb") as handle:
            reader = iter(fastavro.reader(handle))
            while True:
                try:
                    records.append(next(reader))
                except StopIteration:
                    break
                except (EOFError, ValueError, OSError):  # the truncated file: records before the cut block
                    break
    return records


def clean_id(value: str) -> str | None:
    return value.strip() or None


QUALITY = """
SELECT e.dataset, e.name, sum(e.failed_records) FROM (
  SELECT explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
         'array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>')) e
  FROM app.event_log WHERE event_type = 'flow_progress') GROUP BY 1, 2"""
DROPPED = """
SELECT origin.dataset_name, sum(get_json_object(details, '$.flow_progress.data_quality.dropped_records'))
FROM app.event_log WHERE event_type = 'flow_progress' GROUP BY 1"""


def test_every_table_holds_what_the_manifest_says(spark, landed):
    """Bronze, dead letters, quarantine, silver and the expectation counts of the event log, each
    equal to the generator's manifest (whose counts tests/unit/test_generator_manifest.py checks
    against the files)."""
    landing, manifest, _ = landed
    now = dt.datetime.now(dt.UTC).isoformat()
    for path in sorted((landing / "_generator").glob("batch-*.json")):
        window = json.loads(path.read_text())["expected"]["ingest_window"]
        assert window["from"] <= now and (window["until"] is None or now < window["until"])
    actions, uploads = manifest["expected"]["app_event"], manifest["expected"]["media_upload"]
    dead = {r[0]: (r[1], r[2]) for r in rows(spark, "SELECT artifact, count(*), sum(records) "
                                                    "FROM app.events_app_bronze_dead_letter GROUP BY artifact")}
    assert decoded(spark, "events_app_bronze_actions") == actions["bronze"]
    assert dead["app_event"] == (actions["dead_letter_rows"], actions["dead_letter_records"])
    assert decoded(spark, "events_app_bronze_actions") + dead["app_event"][1] == manifest["records"]["app_event"]
    assert decoded(spark, "events_app_bronze_uploads") == uploads["bronze"] == manifest["records"]["media_upload"]
    # Bronze keeps what it could not decode too, as rows with their bytes: the dead letters are read from it.
    assert rows(spark, "SELECT count(*), sum(records) FROM app.events_app_bronze_actions "
                       "WHERE decode_error IS NOT NULL") == [dead["app_event"]]
    assert "media_upload" not in dead
    reasons = [r[0] for r in rows(spark, "SELECT reason FROM app.events_app_bronze_dead_letter ORDER BY reason")]
    assert ["damaged or truncated block" in r for r in reasons] == [True, True, False, False]
    assert all("not a version of palindrom.events/app_event" in r for r in reasons[2:])

    for table, expected in (("events_app_silver_actions", actions), ("events_app_silver_uploads", uploads)):
        assert count(spark, f"{table}_quarantine") == expected["quarantine"]
        assert count(spark, table) == expected["silver"]
        assert rows(spark, f"SELECT count(*), count(DISTINCT event_id) FROM app.{table}")[0] == (expected["silver"],) * 2
        failed = dict(rows(spark, f"SELECT rule, count(*) FROM (SELECT explode(_failed_rules) rule "
                                  f"FROM app.{table}_quarantine) GROUP BY 1"))
        quarantine_rules = {n for n, v in expected["failed"].items() if n in ("has_user_and_session", "has_user",
                                                                              "not_in_future")}
        assert failed == {n: expected["failed"][n] for n in quarantine_rules if expected["failed"][n]}
    unknown = rows(spark, "SELECT count(*) FROM app.events_app_silver_actions WHERE event_type = 'unknown'")
    assert unknown == [(actions["silver_warned"]["known_event_type"],)]               # warned, kept
    assert manifest["duplicates"] == actions["duplicates"]
    # The event log's expectation counts, as Databricks's data-quality query reads them.
    logged = {(d, n): int(v) for d, n, v in rows(spark, QUALITY)}
    assert {n: logged[("events_app_silver_actions", n)] for n in actions["failed"]} == actions["failed"]
    assert {n: logged[("events_app_silver_uploads", n)] for n in uploads["failed"]} == uploads["failed"]
    dropped = {d: int(v) for d, v in rows(spark, DROPPED) if v is not None}
    assert dropped["events_app_silver_actions"] == actions["dropped_records"]
    assert dropped["events_app_silver_uploads"] == uploads["dropped_records"]
    # every id trimmed and lower case
    assert rows(spark, "SELECT count(*) FROM app.events_app_silver_actions WHERE event_id <> lower(trim(event_id)) "
                       "OR user_id <> trim(user_id)") == [(0,)]


def silver_actions(landing: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented silver rules, applied here independently of the pipeline's code."""
    seen: set[str] = set()
    kept = []
    horizon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for record in read_landed(landing, manifest, "app_event"):
        event_id = str(record["event_id"]).strip().lower()
        if event_id in seen:
            continue
        seen.add(event_id)
        user, session = clean_id(record["user_id"]), clean_id(record["session_id"])
        duration = record.get("duration_ms")
        if user is None or session is None or record["occurred_at"] > horizon or (duration or 0) < 0:
            continue
        kept.append({"event_id": event_id, "user_id": user, "session_id": session,
                     "type": record["event_type"].lower(),
                     "at": record["occurred_at"], "duration": duration})
    return kept


def test_second_run_reads_only_new_files_and_removes_duplicates_across_runs(spark, landed):
    landing, manifest, first_run = landed
    after = dict(rows(spark, PER_FILE))
    assert first_run and all("batch-0001" in f for f in first_run)
    assert {f: n for f, n in after.items() if "batch-0001" in f} == first_run  # nothing of batch 1 read again
    assert {f for f in after if f not in first_run} and all("batch-0002" in f for f in after if f not in first_run)
    # batch 2 re-sent events of batch 1: they are in bronze twice and in silver at most once (the
    # defective ones of them are in the quarantine or dropped, as their originals were)
    assert manifest["duplicates_across_runs"] > 0
    resent_ids = ("SELECT lower(trim(event_id)) FROM app.events_app_bronze_actions WHERE decode_error IS NULL "
                  "GROUP BY 1 "
                  "HAVING bool_or(source_file LIKE '%batch-0001%') AND bool_or(source_file LIKE '%batch-0002%')")
    resent = {r[0] for r in rows(spark, resent_ids)}
    assert len(resent) == manifest["duplicates_across_runs"]
    kept = len(resent & {a["event_id"] for a in silver_actions(landing, manifest)})
    assert rows(spark, f"SELECT count(*), count(DISTINCT event_id) FROM app.events_app_silver_actions "
                       f"WHERE event_id IN ({resent_ids})") == [(kept, kept)]


TYPES = ["app_open", "screen_view", "play", "pause", "share", "like", "upload", "app_close", "search", "unknown"]
MILLIS = "%Y-%m-%d %H:%M:%S.%f"


def gold(spark, sql: str) -> dict[tuple, tuple]:  # type: ignore[no-untyped-def]
    """Rows keyed by their first two columns."""
    return {tuple(r[:2]): tuple(r[2:]) for r in rows(spark, sql)}


def test_gold_equals_an_independent_computation(spark, landed):
    """Every column of every gold table, from the landed files read here with fastavro."""
    landing, manifest, _ = landed
    actions = silver_actions(landing, manifest)

    daily: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"sessions": set(), "types": Counter(), "times": [], "play_ms": 0})
    for a in actions:
        day = daily[(a["user_id"], a["at"].date().isoformat())]
        day["sessions"].add(a["session_id"])
        day["types"][a["type"]] += 1
        day["times"].append(a["at"])
        day["play_ms"] += (a["duration"] or 0) if a["type"] == "play" else 0
    expected_daily = {key: (len(d["times"]), *(d["types"][t] for t in TYPES), len(d["sessions"]),
                            min(d["times"]).strftime(MILLIS)[:23], max(d["times"]).strftime(MILLIS)[:23], d["play_ms"])
                      for key, d in daily.items()}
    type_columns = ", ".join(f"{t}_events" for t in TYPES)
    assert gold(spark, f"SELECT user_id, CAST(activity_date AS STRING), events, {type_columns}, sessions, "
                       "date_format(first_seen_at, 'yyyy-MM-dd HH:mm:ss.SSS'), "
                       "date_format(last_seen_at, 'yyyy-MM-dd HH:mm:ss.SSS'), play_ms "
                       "FROM app.events_app_gold_user_daily_activity") == expected_daily

    hourly: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in actions:
        hourly[(a["at"].strftime("%Y-%m-%d %H:00:00"), a["type"])].append(a["user_id"])
    assert gold(spark, "SELECT date_format(event_hour, 'yyyy-MM-dd HH:mm:ss'), event_type, events, users "
                       "FROM app.events_app_gold_event_type_hourly") == {
        key: (len(users), len(set(users))) for key, users in hourly.items()}

    # Features per user and active day over the 7 and 30 days up to it (that day included).
    by_user: dict[str, dict[dt.date, dict[str, Any]]] = defaultdict(dict)
    for (user, date), d in daily.items():
        by_user[user][dt.date.fromisoformat(date)] = d
    expected_features = {}
    for user, days in by_user.items():
        for day in days:
            week = [d for other, d in days.items() if 0 <= (day - other).days < 7]
            month = [d for other, d in days.items() if 0 <= (day - other).days < 30]
            expected_features[(user, day.isoformat())] = (
                sum(len(d["times"]) for d in week), sum(len(d["times"]) for d in month),
                sum(len(d["sessions"]) for d in week), sum(len(d["sessions"]) for d in month),
                len(week), len(month), sum(d["types"]["play"] for d in week), sum(d["types"]["play"] for d in month),
                sum(d["play_ms"] for d in month), sum(d["types"]["upload"] for d in month),
                (day - min(other for other in days if other <= day)).days)
    assert gold(spark, "SELECT user_id, CAST(feature_date AS STRING), events_7d, events_30d, sessions_7d, "
                       "sessions_30d, active_days_7d, active_days_30d, plays_7d, plays_30d, play_ms_30d, uploads_30d, "
                       "days_since_first_seen FROM app.events_app_gold_user_features") == expected_features

    uploads: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    horizon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    seen: set[str] = set()
    for u in read_landed(landing, manifest, "media_upload"):
        event_id = str(u["event_id"]).strip().lower()
        if event_id in seen:
            continue
        seen.add(event_id)
        if clean_id(u["user_id"]) and u["uploaded_at"] <= horizon and (u["duration_ms"] or 0) >= 0 and u["size_bytes"] > 0:
            uploads[(u["uploaded_at"].date().isoformat(), u["media_type"].lower())].append(u)
    expected_uploads = {key: (len(us), len({u["user_id"].strip() for u in us}), sum(u["size_bytes"] for u in us),
                              max(u["size_bytes"] for u in us), sum(u["duration_ms"] or 0 for u in us),
                              sum(u["size_bytes"] for u in us) / len(us)) for key, us in uploads.items()}
    assert gold(spark, "SELECT CAST(upload_date AS STRING), media_type, uploads, uploaders, total_bytes, max_bytes, "
                       "total_duration_ms, avg_bytes FROM app.events_app_gold_media_upload_stats") == expected_uploads


def test_each_landed_file_is_decoded_once_and_silver_reads_bronze(landed):
    """Every Auto Loader read keeps a manifest of the files it admitted: across all the pipeline's
    flows, each landed file was admitted (read and decoded) by exactly one, bronze's."""
    landing, manifest, _ = landed
    state = landing.parents[1] / "pipelines" / "events"
    admitted: Counter[str] = Counter()
    readers: defaultdict[str, set[str]] = defaultdict(set)
    for files in state.glob("autoloader/*/*/state/*/files.jsonl"):
        flow = files.relative_to(state / "autoloader").parts[0]
        for line in files.read_text().splitlines():
            entry = json.loads(line)
            if entry["seq"]:
                admitted[entry["path"]] += 1
                readers[entry["path"]].add(flow)
    landed_files = {str(p.resolve()) for p in landing.glob("*/*.avro")}
    assert set(admitted) == landed_files and len(landed_files) == len(manifest["files"])
    assert set(admitted.values()) == {1}
    assert {flow for flows in readers.values() for flow in flows} == {
        "events_app_bronze_actions_from_files", "events_app_bronze_uploads"}
    graph = json.loads((state / "graph.json").read_text())
    assert "events_app_bronze_actions" in graph["flows"]["events_app_silver_actions_checked"]["inputs"]
    assert "events_app_bronze_uploads" in graph["flows"]["events_app_silver_uploads_checked"]["inputs"]
    assert "events_app_silver_actions" in graph["flows"]["events_app_gold_user_daily_activity"]["inputs"]
