"""The generator's manifest says exactly what a reader of the landed files finds.

The files are read here with plain fastavro and the Avro container format (header, then blocks of
count, size, data, sync marker), not with the generator's bookkeeping nor the pipeline's decoder.
The events pipeline's documented semantics (docs/data-schemas.md) are applied independently:
bronze = every record of a block that can be read from a file whose writer schema is a registered
version; dead letters = one row per damaged block and one per file with an unregistered schema;
silver's deduplication on the trimmed, lower-case event id across batches; then the rules of
``expectations/`` with their actions from the YAML files. Two batches per case, so re-sent events
of the previous batch are covered.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import fastavro
import yaml
from conftest import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from palindrom.sample.generate import Generator

SCHEMAS = REPO / "schemas" / "palindrom.events"
HEADER = {"type": "record", "name": "org.apache.avro.file.Header", "fields": [
    {"name": "magic", "type": {"type": "fixed", "name": "Magic", "size": 4}},
    {"name": "meta", "type": {"type": "map", "values": "bytes"}},
    {"name": "sync", "type": {"type": "fixed", "name": "Sync", "size": 16}}]}
DATASETS = {"app_event": "events_app_silver_actions", "media_upload": "events_app_silver_uploads"}


def registered(artifact: str) -> set[str]:
    return {fastavro.schema.to_parsing_canonical_form(json.loads(p.read_text()))
            for p in (SCHEMAS / artifact).glob("v*.avsc")}


def read_container(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[int]]:
    """(writer schema, records of the complete blocks, record counts of damaged blocks)."""
    data = path.read_bytes()
    buffer = io.BytesIO(data)
    header = fastavro.schemaless_reader(buffer, HEADER)
    writer = json.loads(header["meta"]["avro.schema"])
    parsed = fastavro.parse_schema(writer)
    codec = header["meta"].get("avro.codec", b"null").decode()
    records: list[dict[str, Any]] = []
    damaged: list[int] = []
    while buffer.tell() < len(data):
        count = fastavro.schemaless_reader(buffer, "long")
        size = fastavro.schemaless_reader(buffer, "long")
        body, sync = buffer.read(size), buffer.read(16)
        if len(body) < size or sync != header["sync"]:
            damaged.append(count)             # cut: nothing of it can be read
            break
        block = io.BytesIO(zlib.decompress(body, -15) if codec == "deflate" else body)
        records.extend(fastavro.schemaless_reader(block, parsed) for _ in range(count))
    return writer, records, damaged


def blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def predicates(ingested: dt.datetime) -> dict[str, dict[str, Any]]:
    """The constraints of expectations/events_app_silver_*.yml, read as the SQL says, for rows
    ingested at ``ingested`` (timestamps are UTC datetimes as fastavro decodes them)."""
    horizon = ingested + dt.timedelta(days=1)
    return {
        "events_app_silver_actions": {
            "registered_writer": lambda r: True,        # every bronze row here has a registered writer
            "has_user_and_session": lambda r: not blank(r["user_id"]) and not blank(r["session_id"]),
            "not_in_future": lambda r: r["occurred_at"] <= horizon,
            "non_negative_duration": lambda r: r.get("duration_ms") is None or r["duration_ms"] >= 0,
            "known_event_type": lambda r: r["event_type"].lower() != "unknown",
        },
        "events_app_silver_uploads": {
            "registered_writer": lambda r: True,
            "has_user": lambda r: not blank(r["user_id"]),
            "not_in_future": lambda r: r["uploaded_at"] <= horizon,
            "non_negative_duration": lambda r: r.get("duration_ms") is None or r["duration_ms"] >= 0,
            "positive_size": lambda r: r["size_bytes"] > 0,
            "timed_media_has_duration": lambda r: r["media_type"].lower() == "image" or r["duration_ms"] is not None,
        },
    }


def actions(dataset: str) -> dict[str, str]:
    rules = yaml.safe_load((REPO / "expectations" / f"{dataset}.yml").read_text())["rules"]
    return {r["name"]: r["action"] for r in rules}


def found(landing: Path, batch: int, artifact: str, seen: set[str], ingested: dt.datetime) -> dict[str, Any]:
    """What the pipeline makes of one batch's files of ``artifact``; ``seen``: event ids silver
    already holds (updated)."""
    known = registered(artifact)
    bronze: list[dict[str, Any]] = []
    dead_rows = dead_records = written = 0
    files: dict[str, tuple[int, int]] = {}
    for path in sorted((landing / artifact).glob(f"batch-{batch:04d}-*.avro")):
        writer, records, damaged = read_container(path)
        written += len(records) + sum(damaged)
        files[f"{artifact}/{path.name}"] = (len(records) + sum(damaged), sum(damaged))
        if fastavro.schema.to_parsing_canonical_form(writer) not in known:
            dead_rows, dead_records = dead_rows + 1, dead_records + len(records) + sum(damaged)
            continue
        bronze.extend(records)
        dead_rows, dead_records = dead_rows + len(damaged), dead_records + sum(damaged)
    earlier = set(seen)
    silver_input, across_runs = [], 0
    for record in bronze:
        key = str(record["event_id"]).strip().lower()
        across_runs += key in earlier
        if key not in seen:
            seen.add(key)
            silver_input.append(record)
    dataset = DATASETS[artifact]
    checks = predicates(ingested)[dataset]
    rule_actions = actions(dataset)
    assert set(checks) == set(rule_actions), "a rule in expectations/ that this test does not know"
    outcome = [{name: check(r) for name, check in checks.items()} for r in silver_input]
    quarantined = [any(not o[n] for n, a in rule_actions.items() if a == "quarantine") for o in outcome]
    gone = [any(not o[n] for n, a in rule_actions.items() if a in ("quarantine", "drop")) for o in outcome]
    classes: Counter[str] = Counter()
    for record, o in zip(silver_input, outcome, strict=True):
        classes.update(c for c, hit in [("missing_user", blank(record["user_id"])),
                                        ("future_timestamp", not o["not_in_future"]),
                                        ("negative_duration", (record.get("duration_ms") or 0) < 0),
                                        ("unknown_event_type", record.get("event_type") == "UNKNOWN")] if hit)
    return {
        "expected": {
            "written": written, "bronze": len(bronze), "dead_letter_rows": dead_rows,
            "dead_letter_records": dead_records, "duplicates": len(bronze) - len(silver_input),
            "silver_input": len(silver_input),
            "failed": {n: sum(not o[n] for o in outcome) for n in checks},
            "quarantine": sum(quarantined),
            "dropped": sum(g and not q for g, q in zip(gone, quarantined, strict=True)),
            "dropped_records": sum(gone),
            "silver": len(silver_input) - sum(gone),
            "silver_warned": {n: sum(not o[n] and not g for o, g in zip(outcome, gone, strict=True))
                              for n, a in rule_actions.items() if a == "warn"},
        },
        "defects": {f"{artifact}.{c}": n for c, n in classes.items()},
        "files": files,
        "across_runs": across_runs,
    }


def moments(window: dict[str, str | None]) -> list[dt.datetime]:
    """Both ends of the manifest's ingest window: the counts must hold for any time in it."""
    start = dt.datetime.fromisoformat(str(window["from"]).replace("Z", "+00:00"))
    end = (dt.datetime.fromisoformat(window["until"].replace("Z", "+00:00")) - dt.timedelta(milliseconds=1)
           if window["until"] else start + dt.timedelta(days=3650))
    return [start, end]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(seed=7, bad_rate=0.02, events=40_000, files=3)   # a cut block larger than fastavro's 64 kB blocks
@given(seed=st.integers(0, 10**6), bad_rate=st.sampled_from([0.0, 0.01, 0.02, 0.04, 0.1, 0.3, 0.5]),
       events=st.integers(100, 3000), files=st.integers(3, 6))
def test_the_manifest_counts_are_what_the_files_hold(tmp_path_factory, seed, bad_rate, events, files):
    landing = tmp_path_factory.mktemp("landing")
    seen = {artifact: set[str]() for artifact in DATASETS}
    for batch in (1, 2):
        manifest = Generator(landing, events, seed=seed, bad_rate=bad_rate, files=files).run()
        assert manifest == json.loads((landing / "_generator" / f"batch-{batch:04d}.json").read_text())
        window = manifest["expected"]["ingest_window"]
        results = []
        for ingested in moments(window):
            state = {a: set(s) for a, s in seen.items()}
            results.append({a: found(landing, batch, a, state[a], ingested) for a in DATASETS})
        assert results[0] == results[1]          # anywhere in the window, the same counts
        result = results[0]
        for artifact in DATASETS:
            found(landing, batch, artifact, seen[artifact], moments(window)[0])   # silver's state moves on
            assert manifest["expected"][artifact] == result[artifact]["expected"], artifact
            assert manifest["records"][artifact] == result[artifact]["expected"]["written"]
        assert manifest["defects"] == {**result["app_event"]["defects"], **result["media_upload"]["defects"]}
        for key, detectable in manifest["defects"].items():
            assert manifest["defects_injected"][key] >= detectable
        assert manifest["duplicates"] == result["app_event"]["expected"]["duplicates"]
        assert manifest["duplicates_across_runs"] == result["app_event"]["across_runs"]
        listed = {f["file"]: (f["records"], f["records_lost"]) for f in manifest["files"]}
        assert listed == {**result["app_event"]["files"], **result["media_upload"]["files"]}
        # The cut block and the unregistered file are the app events' only dead letters.
        assert manifest["expected"]["app_event"]["dead_letter_rows"] == 2
        if bad_rate == 0:
            assert manifest["defects"] == {} and manifest["duplicates"] == 0
