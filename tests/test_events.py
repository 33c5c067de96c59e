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


PER_FILE = "SELECT source_file, count(*) FROM app.events_app_bronze_actions GROUP BY 1"


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
    """Counts of both batches added up, their files listed together."""
    total: dict[str, Any] = {"files": [f for m in manifests for f in m["files"]], "defects": Counter(),
                             "records": Counter(), "duplicates": 0, "duplicates_across_runs": 0}
    for m in manifests:
        total["defects"].update(m["defects"])
        total["records"].update(m["records"])
        total["duplicates"] += m["duplicates"]
        total["duplicates_across_runs"] += m["duplicates_across_runs"]
    return total


def count(spark, table: str) -> int:  # type: ignore[no-untyped-def]
    return int(rows(spark, f"SELECT count(*) FROM app.{table}")[0][0])


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


def test_nothing_is_lost_and_every_defect_lands_where_it_belongs(spark, landed):
    _, manifest, _ = landed
    defects = manifest["defects"]
    generated = manifest["records"]
    dead = {r[0]: (r[1], r[2]) for r in rows(spark, "SELECT artifact, count(*), sum(records) "
                                                    "FROM app.events_app_bronze_dead_letter GROUP BY artifact")}
    lost = sum(f["records_lost"] for f in manifest["files"])
    unregistered = sum(f["records"] for f in manifest["files"] if f["kind"] == "unknown_schema")
    # bronze + dead letters = generated, per artifact
    assert count(spark, "events_app_bronze_actions") + dead["app_event"][1] == generated["app_event"]
    assert dead["app_event"] == (4, lost + unregistered)  # per batch: the cut block and the unregistered file
    assert count(spark, "events_app_bronze_uploads") == generated["media_upload"]
    reasons = [r[0] for r in rows(spark, "SELECT reason FROM app.events_app_bronze_dead_letter ORDER BY reason")]
    assert ["damaged or truncated block" in r for r in reasons] == [True, True, False, False]
    assert all("not a version of palindrom.events/app_event" in r for r in reasons[2:])

    # silver: duplicates removed; quarantined and dropped rows counted exactly
    distinct = count(spark, "events_app_bronze_actions") - manifest["duplicates"]
    quarantined = count(spark, "events_app_silver_actions_quarantine")
    assert quarantined == defects.get("app_event.missing_user", 0) + defects.get("app_event.future_timestamp", 0)
    dropped = defects.get("app_event.negative_duration", 0)
    assert count(spark, "events_app_silver_actions") == distinct - quarantined - dropped
    assert rows(spark, "SELECT count(*), count(DISTINCT event_id) FROM app.events_app_silver_actions")[0] == (
        count(spark, "events_app_silver_actions"),) * 2
    unknown = rows(spark, "SELECT count(*) FROM app.events_app_silver_actions WHERE event_type = 'unknown'")
    assert unknown == [(defects.get("app_event.unknown_event_type", 0),)]  # warned, kept
    failed = dict(rows(spark, "SELECT _failed_rules[0], count(*) FROM app.events_app_silver_actions_quarantine "
                              "GROUP BY 1"))
    assert failed == {k: v for k, v in {"has_user_and_session": defects.get("app_event.missing_user", 0),
                                        "not_in_future": defects.get("app_event.future_timestamp", 0)}.items() if v}
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
        kept.append({"user_id": user, "session_id": session, "type": record["event_type"].lower(),
                     "at": record["occurred_at"], "duration": duration})
    return kept


def test_second_run_reads_only_new_files_and_removes_duplicates_across_runs(spark, landed):
    _, manifest, first_run = landed
    after = dict(rows(spark, PER_FILE))
    assert first_run and all("batch-0001" in f for f in first_run)
    assert {f: n for f, n in after.items() if "batch-0001" in f} == first_run  # nothing of batch 1 read again
    assert {f for f in after if f not in first_run} and all("batch-0002" in f for f in after if f not in first_run)
    # batch 2 re-sent events of batch 1: they are in bronze twice and in silver once
    assert manifest["duplicates_across_runs"] > 0
    resent_ids = ("SELECT lower(trim(event_id)) FROM app.events_app_bronze_actions GROUP BY 1 "
                  "HAVING bool_or(source_file LIKE '%batch-0001%') AND bool_or(source_file LIKE '%batch-0002%')")
    assert rows(spark, f"SELECT count(*) FROM ({resent_ids})") == [(manifest["duplicates_across_runs"],)]
    assert rows(spark, f"SELECT count(*), count(DISTINCT event_id) FROM app.events_app_silver_actions "
                       f"WHERE event_id IN ({resent_ids})") == [(manifest["duplicates_across_runs"],) * 2]


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
