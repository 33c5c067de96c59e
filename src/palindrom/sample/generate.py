"""``pipelines generate``: landing files of app events and media uploads, with known defects.

One call writes one *batch* of Avro container files under the landing folder
(``app_event/`` and ``media_upload/``), the next batch covering the days after the previous one,
and a manifest ``_generator/batch-NNNN.json`` saying exactly what was written. The same seed
gives the same records, byte for byte.

Defects, each at ``bad_rate`` of the events (see docs/data-schemas.md for where each must end):

* ``missing_user``       user_id blank ("" or spaces): null once trimmed
* ``negative_duration``  duration_ms below zero
* ``future_timestamp``   occurred_at/uploaded_at 10 to 20 years ahead (a broken device clock)
* ``unknown_event_type`` event_type UNKNOWN (v3 builds send actions the schema lacks), the action in properties
* ``duplicate``          a re-sent copy of an earlier event in a retries file (also of the previous batch)
* a truncated file       its last block cut in half
* an unknown-schema file written with a schema the registry does not have
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro

from palindrom.registry.connect import default_schemas_dir
from palindrom.sample import model

GROUP = "palindrom.events"
MANIFEST_DIR = "_generator"
START = dt.date(2026, 1, 1)  # batch N covers the `days` after batch N-1: ten 30-day batches before November
Progress = Callable[[int, int], None]


def _schema(name: str, version: int, schemas: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((schemas / GROUP / name / f"v{version}.avsc").read_text())
    return loaded


def unknown_schema(schemas: Path) -> dict[str, Any]:
    """v3 plus a required field: a producer that skipped the registry."""
    schema = _schema("app_event", 3, schemas)
    return {**schema, "fields": [*schema["fields"], {"name": "country", "type": "string"}]}


def next_batch(landing: Path) -> int:
    return len(list((landing / MANIFEST_DIR).glob("batch-*.json"))) + 1


class Generator:
    def __init__(self, landing: Path, events: int, seed: int = 7, bad_rate: float = 0.02, files: int | None = None,
                 days: int = 30, schemas: Path | None = None, progress: Progress | None = None,
                 start: dt.date = START) -> None:
        if events < 100:
            raise ValueError("--events must be at least 100 (every defect class needs room).")
        if not 0 <= bad_rate <= 0.5:
            raise ValueError("--bad-rate must be between 0 and 0.5.")
        self.landing, self.events, self.seed, self.bad_rate = landing, events, seed, bad_rate
        self.files = files or max(3, events // 25_000)
        if self.files < 3:
            raise ValueError("--files must be at least 3 (one per schema version).")
        self.days, self.schemas = days, schemas or default_schemas_dir()
        self.batch = next_batch(landing)
        self.rng = random.Random(f"{seed}/{self.batch}")
        self.first_day = start + dt.timedelta(days=days * (self.batch - 1))
        self.last_day = self.first_day + dt.timedelta(days=days - 1)
        self.progress = progress or (lambda done, total: None)
        self.written: list[dict[str, Any]] = []
        self.defects: Counter[str] = Counter()

    # -- events ------------------------------------------------------------------------------------
    def _sessions(self) -> list[model.Event]:
        people = model.users(random.Random(f"{self.seed}/users"), max(20, self.events // 150))
        cumulative = list(itertools.accumulate(u.weight for u in people))
        events: list[model.Event] = []
        while len(events) < self.events:
            user = self.rng.choices(people, cum_weights=cumulative)[0]
            day = self.first_day + dt.timedelta(days=self.rng.randrange(self.days))
            events.extend(model.session(self.rng, user, day))
            self.progress(min(len(events), self.events), self.events * 2)
        del events[self.events:]
        events.sort(key=lambda e: e.record["occurred_at"])
        return events

    def _noise(self, record: dict[str, Any]) -> None:
        """Not defects: padding and upper case that silver's normalisation removes."""
        if self.rng.random() < 0.04:
            record["user_id"] = f"  {record['user_id']} "
        if self.rng.random() < 0.03:
            record["event_id"] = record["event_id"].upper()

    def _defect(self, event: model.Event) -> None:
        record = event.record
        choices = ["missing_user", "future_timestamp"]
        if record["duration_ms"] is not None:
            choices.append("negative_duration")
        if event.version >= 3:
            choices.append("unknown_event_type")
        kind = self.rng.choice(choices)
        if kind == "missing_user":
            record["user_id"] = self.rng.choice(["", "   "])
        elif kind == "future_timestamp":
            record["occurred_at"] += self.rng.randrange(3650, 7300) * 86_400_000
        elif kind == "negative_duration":
            record["duration_ms"] = -record["duration_ms"] - 1
        else:
            record["properties"] = {**record["properties"], "action": record["event_type"]}
            record["event_type"] = "UNKNOWN"
        event.defect = kind
        self.defects[f"app_event.{kind}"] += 1

    def _upload_defect(self, record: dict[str, Any]) -> None:
        choices = ["missing_user", "future_timestamp"] + (["negative_duration"] if record["duration_ms"] else [])
        kind = self.rng.choice(choices)
        if kind == "missing_user":
            record["user_id"] = ""
        elif kind == "future_timestamp":
            record["uploaded_at"] += self.rng.randrange(3650, 7300) * 86_400_000
        else:
            record["duration_ms"] = -record["duration_ms"]
        self.defects[f"media_upload.{kind}"] += 1

    # -- files -------------------------------------------------------------------------------------
    def _write(self, artifact: str, name: str, schema: dict[str, Any], records: list[dict[str, Any]], *,
               version: int | None, truncate_last: int = 0) -> dict[str, Any]:
        folder = self.landing / artifact
        folder.mkdir(parents=True, exist_ok=True)
        final, partial = folder / name, folder / f"_{name}.tmp"  # listing skips _names: no half-written reads
        kept = len(records) - truncate_last
        with partial.open("wb") as handle:
            writer = fastavro.write.Writer(handle, fastavro.parse_schema(schema), codec="deflate",
                                           sync_interval=64_000, sync_marker=self.rng.randbytes(16),
                                           metadata={"palindrom.generator": f"seed={self.seed} batch={self.batch}"})
            for record in records[:kept]:
                writer.write(record)
            writer.flush()
            cut_from = handle.tell()
            for record in records[kept:]:
                writer.write(record)
            writer.flush()
        if truncate_last:
            size = partial.stat().st_size
            os.truncate(partial, cut_from + (size - cut_from) // 2)
        partial.rename(final)
        entry = {"file": f"{artifact}/{name}", "artifact": artifact, "version": version, "records": len(records),
                 "records_lost": truncate_last}
        self.written.append(entry)
        return entry

    def _previous_batch_copies(self, count: int) -> dict[int, list[dict[str, Any]]]:
        """Re-sent events of the previous batch, by schema version: duplicates across runs."""
        copies: dict[int, list[dict[str, Any]]] = {}
        if self.batch == 1 or count == 0:
            return copies
        previous = json.loads((self.landing / MANIFEST_DIR / f"batch-{self.batch - 1:04d}.json").read_text())
        for entry in previous["files"]:
            if entry["artifact"] != "app_event" or entry["kind"] != "events" or entry["records_lost"]:
                continue
            with (self.landing / entry["file"]).open("rb") as handle:
                read: list[Any] = list(fastavro.reader(handle))
            records: list[dict[str, Any]] = [r for r in read if _clean(r)]
            for record in self.rng.sample(records, min(len(records), max(1, count // 3))):
                copies.setdefault(entry["version"], []).append(record)
        return copies

    def run(self) -> dict[str, Any]:
        events = self._sessions()
        for event in events:
            self._noise(event.record)
            if event.record["event_type"] != "UPLOAD" and self.rng.random() < self.bad_rate:
                self._defect(event)
        uploads = [u for e in events for u in e.uploads]
        for record in uploads:
            if self.rng.random() < self.bad_rate:
                self._upload_defect(record)

        # A producer that skipped the registry: some v3 events go out with an unregistered schema.
        v3_clean = [e for e in events if e.version == 3 and e.defect is None]
        rogue = set(map(id, v3_clean[:: max(1, len(v3_clean) // max(5, self.events // 500))]))
        by_version: dict[int, list[dict[str, Any]]] = {1: [], 2: [], 3: []}
        unknown: list[dict[str, Any]] = []
        for event in events:
            if id(event) in rogue:
                unknown.append({**event.record, "country": "DE"})
            else:
                by_version[event.version].append(event.record)

        duplicates = max(1, round(self.events * self.bad_rate / 2)) if self.bad_rate else 0
        retries = self._previous_batch_copies(duplicates)
        across_runs = sum(len(v) for v in retries.values())
        plan = self._file_plan(by_version)
        truncated = plan[-1]
        for version, chunk in plan:
            clean = [r for r in chunk if _clean(r)]
            picks = self.rng.sample(clean, min(len(clean), duplicates // len(plan) + 1)) if duplicates else []
            if chunk is not truncated[1]:
                retries.setdefault(version, []).extend(picks)
        done = 0
        for number, (version, chunk) in enumerate(plan, start=1):
            lost = 0
            if chunk is truncated[1]:
                # Defects and noise first: the cut block holds only clean events, which the pipeline
                # must not pretend to have read.
                chunk.sort(key=lambda r: _clean(r))
                lost = max(1, len(chunk) // 10)
            entry = self._write("app_event", f"batch-{self.batch:04d}-part-{number:04d}-v{version}.avro",
                                _schema("app_event", version, self.schemas), chunk, version=version,
                                truncate_last=lost)
            entry["kind"] = "events"
            done += len(chunk)
            self.progress(self.events + done, self.events * 2)
        for version, copies in sorted(retries.items()):
            entry = self._write("app_event", f"batch-{self.batch:04d}-retries-v{version}.avro",
                                _schema("app_event", version, self.schemas), copies, version=version)
            entry["kind"] = "duplicates"
        entry = self._write("app_event", f"batch-{self.batch:04d}-unregistered.avro", unknown_schema(self.schemas),
                            unknown, version=None)
        entry["kind"] = "unknown_schema"
        media_files = max(1, self.files // 4)
        for number in range(media_files):
            chunk = uploads[number::media_files]
            entry = self._write("media_upload", f"batch-{self.batch:04d}-part-{number + 1:04d}-v1.avro",
                                _schema("media_upload", 1, self.schemas), chunk, version=1)
            entry["kind"] = "events"
        self.progress(self.events * 2, self.events * 2)
        return self._manifest(duplicates_across_runs=across_runs)

    def _file_plan(self, by_version: dict[int, list[dict[str, Any]]]) -> list[tuple[int, list[dict[str, Any]]]]:
        """(version, records) per events file: files per version in proportion to its events, the
        records of each version in time order."""
        total = sum(len(v) for v in by_version.values())
        plan: list[tuple[int, list[dict[str, Any]]]] = []
        for version, records in by_version.items():
            count = max(1, round(self.files * len(records) / total)) if records else 0
            for part in range(count):
                chunk = records[len(records) * part // count: len(records) * (part + 1) // count]
                if chunk:
                    plan.append((version, chunk))
        return plan

    def _manifest(self, duplicates_across_runs: int) -> dict[str, Any]:
        manifest = {
            "batch": self.batch, "seed": self.seed, "events": self.events, "bad_rate": self.bad_rate,
            "first_day": self.first_day.isoformat(), "days": self.days,
            "records": {a: sum(f["records"] for f in self.written if f["artifact"] == a)
                        for a in ("app_event", "media_upload")},
            "defects": dict(sorted(self.defects.items())),
            "duplicates": sum(f["records"] for f in self.written if f.get("kind") == "duplicates"),
            "duplicates_across_runs": duplicates_across_runs,
            "files": self.written,
        }
        folder = self.landing / MANIFEST_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"batch-{self.batch:04d}.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest


def _clean(record: dict[str, Any]) -> bool:
    """No defect: a user, a non-negative duration, a known type, a time before 2030."""
    return (bool(record["user_id"].strip()) and (record.get("duration_ms") or 0) >= 0
            and record["event_type"] != "UNKNOWN" and _millis_before(record["occurred_at"], 2030))


def _millis_before(value: Any, year: int) -> bool:
    if isinstance(value, dt.datetime):
        return value.year < year
    return int(value) < int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
