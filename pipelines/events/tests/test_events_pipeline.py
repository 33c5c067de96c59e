"""The events pipeline's silver and gold transformations on mock bronze rows (the `pipeline` fixture:
docs/testing.md). Expected values come from the rules in expectations/events_app_silver_*.yml and the
documented normalisation, computed here in plain Python."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import fastavro
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ACTIONS, UPLOADS = "events_app_silver_actions", "events_app_silver_uploads"
BRONZE_ACTIONS, BRONZE_UPLOADS = "events_app_bronze_actions", "events_app_bronze_uploads"
INGESTED = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
IDS = [str(uuid.UUID(int=i)) for i in range(1, 9)]
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "palindrom.events"


def action(event_id: str, user: str | None, session: str | None, event_type: str = "PLAY",
           occurred: dt.datetime = INGESTED - dt.timedelta(hours=2), duration: int | None = 1000,
           ingested: dt.datetime = INGESTED) -> dict[str, Any]:
    """A decoded bronze row of an app event (columns not given are null, as mocks allow)."""
    return {"event_id": event_id, "event_type": event_type, "user_id": user, "session_id": session,
            "occurred_at": occurred, "duration_ms": duration, "platform": "IOS", "app_version": "1.0",
            "writer_schema_version": "3", "source_file": "mock.avro", "ingested_at": ingested}


def clean(value: str | None) -> str | None:
    return None if value is None or not value.strip() else value.strip()


def silver_model(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, int]]:
    """(silver rows, quarantined event ids -> rules failed, failed count per rule): one row per
    event_id (copies are exact, so which copy is kept does not matter), then the rules."""
    unique = list({r["event_id"].strip().lower(): r for r in rows}.values())
    silver, quarantined, failed = [], {}, dict.fromkeys(
        ("registered_writer", "has_user_and_session", "not_in_future", "non_negative_duration",
         "known_event_type"), 0)
    for r in unique:
        user, session = clean(r["user_id"]), clean(r["session_id"])
        rules = {"registered_writer": r["writer_schema_version"] is not None,
                 "has_user_and_session": user is not None and session is not None,
                 "not_in_future": r["occurred_at"] <= r["ingested_at"] + dt.timedelta(days=1),
                 "non_negative_duration": r["duration_ms"] is None or r["duration_ms"] >= 0,
                 "known_event_type": r["event_type"] != "UNKNOWN"}
        for name, ok in rules.items():
            failed[name] += not ok
        q = [n for n in ("has_user_and_session", "not_in_future") if not rules[n]]
        if q:
            quarantined[r["event_id"].strip().lower()] = q
        elif rules["non_negative_duration"]:
            silver.append({"event_id": r["event_id"].strip().lower(), "event_type": r["event_type"].lower(),
                           "user_id": user, "session_id": session, "duration_ms": r["duration_ms"],
                           "event_date": r["occurred_at"].date()})
    return sorted(silver, key=lambda s: s["event_id"]), quarantined, failed


def silver_rows(run: Any) -> list[dict[str, Any]]:
    keys = ("event_id", "event_type", "user_id", "session_id", "duration_ms", "event_date")
    return sorted(({k: r[k] for k in keys} for r in run.rows(ACTIONS)), key=lambda s: s["event_id"])


events = st.builds(
    action,
    event_id=st.sampled_from([*IDS, " " + IDS[0].upper() + " "]),
    user=st.sampled_from([None, "", "  ", "u1", " u2 "]),
    session=st.sampled_from([None, "s1", " s2 ", ""]),
    event_type=st.sampled_from(["PLAY", "APP_OPEN", "UNKNOWN", "SEARCH"]),
    occurred=st.sampled_from([INGESTED - dt.timedelta(days=3), INGESTED + dt.timedelta(hours=23),
                              INGESTED + dt.timedelta(days=2), dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=dt.UTC)]),
    duration=st.sampled_from([None, -1, 0, 250]),
)


@settings(max_examples=2, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(draws=st.lists(events, min_size=1, max_size=30))
def test_silver_actions_normalise_deduplicate_and_apply_the_rules(pipeline, draws):
    by_id: dict[str, dict[str, Any]] = {}
    for row in draws:  # a repeated event_id is a producer's retry: an exact copy of the first
        by_id.setdefault(row["event_id"].strip().lower(), row)
    rows = [by_id[r["event_id"].strip().lower()] for r in draws]
    run = pipeline("events").given(BRONZE_ACTIONS, rows=rows).run(select=[ACTIONS])
    silver, quarantined, failed = silver_model(rows)
    assert silver_rows(run) == silver
    assert {r["event_id"]: sorted(r["_failed_rules"]) for r in run.rows(f"{ACTIONS}_quarantine")} == \
        {k: sorted(v) for k, v in quarantined.items()}
    for rule, count in failed.items():
        counts = run.expectation(ACTIONS, rule)
        assert (counts.failed, counts.passed) == (count, len(by_id) - count), rule


def test_second_batch_is_deduplicated_against_the_first(pipeline):
    """Streaming silver tables, two batches: a retry of an event already seen is dropped, only the
    new batch's rows are processed, for actions and uploads alike."""
    events_pipeline = pipeline("events")
    upload = {"media_id": "m1", "user_id": "u1", "media_type": "VIDEO", "mime_type": " Video/MP4 ",
              "size_bytes": 10, "duration_ms": 5, "uploaded_at": INGESTED - dt.timedelta(hours=1),
              "writer_schema_version": "1", "source_file": "mock.avro", "ingested_at": INGESTED}
    first = [action(IDS[0], "u1", "s1"), action(IDS[1], "u2", "s2")]
    run = (events_pipeline.given(BRONZE_ACTIONS, rows=first)
           .given(BRONZE_UPLOADS, rows=[{**upload, "event_id": IDS[0]}])
           .run(select=[ACTIONS, UPLOADS]))
    assert [r["event_id"] for r in silver_rows(run)] == IDS[:2]
    later = INGESTED + dt.timedelta(days=2)
    second = [action(IDS[1].upper(), "u2", "s2", ingested=later), action(IDS[2], "u3", "s3", ingested=later)]
    run = (events_pipeline.given(BRONZE_ACTIONS, rows=second)
           .given(BRONZE_UPLOADS, rows=[{**upload, "event_id": IDS[0], "ingested_at": later},
                                        {**upload, "event_id": IDS[3], "size_bytes": 0, "ingested_at": later}])
           .run(select=[ACTIONS, UPLOADS]))
    assert run.flows[BRONZE_ACTIONS].rows == 2 and run.flows[BRONZE_UPLOADS].rows == 2  # the new batch only
    assert [r["event_id"] for r in silver_rows(run)] == IDS[:3]
    assert run.expectation(ACTIONS, "has_user_and_session").passed == 1  # IDS[2]: the copy never reached the rules
    assert [(r["event_id"], r["mime_type"]) for r in run.rows(UPLOADS)] == [(IDS[0], "video/mp4")]
    assert run.expectation(UPLOADS, "positive_size").dropped == 1


def test_gold_daily_activity_from_mocked_silver(pipeline):
    day = dt.date(2026, 3, 9)
    silver = [
        {"event_id": "e1", "event_type": "play", "user_id": "u1", "session_id": "s1", "duration_ms": 300,
         "occurred_at": dt.datetime(2026, 3, 9, 8, tzinfo=dt.UTC), "event_date": day},
        {"event_id": "e2", "event_type": "play", "user_id": "u1", "session_id": "s2", "duration_ms": 200,
         "occurred_at": dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC), "event_date": day},
        {"event_id": "e3", "event_type": "like", "user_id": "u1", "session_id": "s2", "duration_ms": None,
         "occurred_at": dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC), "event_date": day},
        {"event_id": "e4", "event_type": "app_open", "user_id": "u2", "session_id": "s9", "duration_ms": 50,
         "occurred_at": dt.datetime(2026, 3, 10, 1, tzinfo=dt.UTC), "event_date": day + dt.timedelta(days=1)},
    ]
    run = pipeline("events").given(ACTIONS, rows=silver).run(select=["events_app_gold_user_daily_activity"])
    expected: dict[tuple[str, dt.date], dict[str, Any]] = defaultdict(lambda: {"events": 0, "sessions": set(),
                                                                              "play_ms": 0, "types": defaultdict(int)})
    for e in silver:
        agg = expected[(e["user_id"], e["event_date"])]
        agg["events"] += 1
        agg["sessions"].add(e["session_id"])
        agg["types"][e["event_type"]] += 1
        agg["play_ms"] += e["duration_ms"] if e["event_type"] == "play" else 0
    got = {(r["user_id"], r["activity_date"]): r for r in run.rows("events_app_gold_user_daily_activity")}
    assert set(got) == set(expected)
    for key, agg in expected.items():
        row = got[key]
        assert (row["events"], row["sessions"], row["play_ms"]) == (agg["events"], len(agg["sessions"]),
                                                                    agg["play_ms"])
        assert (row["play_events"], row["like_events"], row["app_open_events"]) == (
            agg["types"]["play"], agg["types"]["like"], agg["types"]["app_open"])


def _avro_file(path: Path, artifact: str, records: list[dict[str, Any]], version: str = "v3.avsc") -> None:
    """An Avro container file as the app lands it (the writer schema in the header)."""
    schema = fastavro.parse_schema(json.loads((SCHEMAS / artifact / version).read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        fastavro.writer(handle, schema, records, codec="deflate")


def test_bronze_reads_only_new_landed_files_and_dead_letters_what_it_cannot_decode(pipeline):
    """Bronze streaming tables on real landed Avro files (Auto Loader itself, not a mock), two
    batches: each update decodes only the files landed since the last; a file that is not Avro
    goes to the dead-letter table with its bytes, and the valid files beside it are kept whole."""
    events_pipeline = pipeline("events")
    landing = events_pipeline.folder("landing")
    events_pipeline.configure(**{"palindrom.events.landing_path": str(landing)})
    occurred = dt.datetime(2026, 3, 9, 8, tzinfo=dt.UTC)

    def app_event(n: int) -> dict[str, Any]:
        return {"event_id": IDS[n], "event_type": "PLAY", "user_id": f"u{n}", "session_id": f"s{n}",
                "occurred_at": occurred, "duration_ms": n, "platform": "WEB", "properties": {}, "app_version": "2"}

    _avro_file(landing / "app_event" / "a.avro", "app_event", [app_event(0), app_event(1)])
    select = ["events_app_bronze_actions", "events_app_bronze_dead_letter"]
    run = events_pipeline.run(select=select)
    assert sorted(r["event_id"] for r in run.rows("events_app_bronze_actions")) == IDS[:2]

    _avro_file(landing / "app_event" / "b.avro", "app_event", [app_event(2)])
    broken = b"not an avro container"
    (landing / "app_event" / "c.avro").write_bytes(broken)
    run = events_pipeline.run(select=select)
    assert run.flows["events_app_bronze_actions_from_files"].rows == 2  # b's record and c's failure, not a's again
    actions = run.rows("events_app_bronze_actions")
    assert sorted(r["event_id"] for r in actions if r["decode_error"] is None) == IDS[:3]
    assert {r["source_file"].rsplit("/", 1)[-1] for r in actions if r["decode_error"] is None} == {"a.avro", "b.avro"}
    dead = run.rows("events_app_bronze_dead_letter")
    assert [(d["source_file"].rsplit("/", 1)[-1], bytes(d["raw_value"])) for d in dead] == [("c.avro", broken)]
