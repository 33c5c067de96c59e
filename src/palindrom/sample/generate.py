"""``pipelines generate``: landing files of app events and media uploads, with known defects.

One call writes one *batch* of Avro container files under the landing folder
(``app_event/`` and ``media_upload/``), the next batch covering the days after the previous one,
and a manifest ``_generator/batch-NNNN.json`` saying exactly what was written and what the events
pipeline must find in it. The same seed gives the same records, byte for byte.

Defects, in ``bad_rate`` of the events (one class each, a second class on a quarter of them):

* ``missing_user``       user_id blank ("" or spaces): null once trimmed
* ``negative_duration``  duration_ms below zero
* ``future_timestamp``   occurred_at/uploaded_at 10 to 20 years ahead (a broken device clock)
* ``unknown_event_type`` event_type UNKNOWN (v3 builds send actions the schema lacks), the action in properties
* ``duplicate``          a re-sent copy of an earlier event in a retries file (also of the previous batch)
* a truncated file       its last block (one block) cut in half
* an unknown-schema file written with a schema the registry does not have

Defects land anywhere, as in production: in the cut block, in the unknown-schema file, on events
that are re-sent. So the manifest's counts are not what was injected but what the pipeline can
detect, computed from the records as written (``expected``, docs/data-schemas.md): which records
bronze decodes, which bytes go to the dead letters, which copies silver's deduplication removes,
and which of the remaining events fail each rule of ``expectations/``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro

from palindrom.registry.connect import default_schemas_dir
from palindrom.sample import model

GROUP = "palindrom.events"
MANIFEST_DIR = "_generator"
START = dt.date(2026, 1, 1)  # batch N covers the `days` after batch N-1: ten 30-day batches before November
OVERLAP = 0.25               # share of defective records that get a second defect class
FUTURE = dt.timedelta(days=365)   # a timestamp this far past the batch is a broken clock (they are 10-20 years)
Progress = Callable[[int, int], None]
Rules = dict[str, tuple[str, Callable[[dict[str, Any]], bool]]]   # name -> (action, passes)


def _schema(name: str, version: int, schemas: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((schemas / GROUP / name / f"v{version}.avsc").read_text())
    return loaded


def unknown_schema(schemas: Path) -> dict[str, Any]:
    """v3 plus a required field: a producer that skipped the registry."""
    schema = _schema("app_event", 3, schemas)
    return {**schema, "fields": [*schema["fields"], {"name": "country", "type": "string"}]}


def next_batch(landing: Path) -> int:
    return len(list((landing / MANIFEST_DIR).glob("batch-*.json"))) + 1


@dataclass
class Written:
    """A file as written: its manifest entry and its records in order; the last ``lost`` of them
    form the cut block."""

    entry: dict[str, Any]
    records: list[dict[str, Any]]
    lost: int = 0


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
        self.written: list[Written] = []
        self.injected: Counter[str] = Counter()

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

    def _classes(self, choices: list[str]) -> list[str]:
        """One defect class, and on OVERLAP of the records a second one."""
        first = self.rng.choice(choices)
        rest = [c for c in choices if c != first]
        return [first, self.rng.choice(rest)] if rest and self.rng.random() < OVERLAP else [first]

    def _defect(self, event: model.Event) -> None:
        record = event.record
        choices = ["missing_user", "future_timestamp"]
        if record["duration_ms"] is not None:
            choices.append("negative_duration")
        if event.version >= 3:
            choices.append("unknown_event_type")
        for kind in self._classes(choices):
            if kind == "missing_user":
                record["user_id"] = self.rng.choice(["", "   "])
            elif kind == "future_timestamp":
                record["occurred_at"] += self.rng.randrange(3650, 7300) * 86_400_000
            elif kind == "negative_duration":
                record["duration_ms"] = -record["duration_ms"] - 1
            else:
                record["properties"] = {**record["properties"], "action": record["event_type"]}
                record["event_type"] = "UNKNOWN"
            event.defects.append(kind)
            self.injected[f"app_event.{kind}"] += 1

    def _upload_defect(self, record: dict[str, Any]) -> None:
        choices = ["missing_user", "future_timestamp"] + (["negative_duration"] if record["duration_ms"] else [])
        for kind in self._classes(choices):
            if kind == "missing_user":
                record["user_id"] = ""
            elif kind == "future_timestamp":
                record["uploaded_at"] += self.rng.randrange(3650, 7300) * 86_400_000
            else:
                record["duration_ms"] = -record["duration_ms"]
            self.injected[f"media_upload.{kind}"] += 1

    # -- files -------------------------------------------------------------------------------------
    def _write(self, artifact: str, name: str, schema: dict[str, Any], records: list[dict[str, Any]], *,
               version: int | None, kind: str, truncate_last: int = 0) -> dict[str, Any]:
        """Write the file; the last ``truncate_last`` records go into one final block, cut in half."""
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
            writer.sync_interval = 2**62           # the records to lose: exactly one block
            for record in records[kept:]:
                writer.write(record)
            writer.flush()
        if truncate_last:
            size = partial.stat().st_size
            os.truncate(partial, cut_from + (size - cut_from) // 2)
        partial.rename(final)
        entry = {"file": f"{artifact}/{name}", "artifact": artifact, "version": version, "kind": kind,
                 "records": len(records), "records_lost": truncate_last}
        self.written.append(Written(entry, records, truncate_last))
        return entry

    def _previous_batch_copies(self, count: int) -> dict[int, list[dict[str, Any]]]:
        """Re-sent events of the previous batch, by schema version: duplicates across runs. Only
        events bronze could decode there (a copy of a lost one would be its first arrival)."""
        copies: dict[int, list[dict[str, Any]]] = {}
        if self.batch == 1 or count == 0:
            return copies
        previous = json.loads((self.landing / MANIFEST_DIR / f"batch-{self.batch - 1:04d}.json").read_text())
        for entry in previous["files"]:
            if entry["artifact"] != "app_event" or entry["kind"] != "events":
                continue
            records = decodable(self.landing / entry["file"])
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
        v3 = [e for e in events if e.version == 3]
        rogue = set(map(id, v3[:: max(1, len(v3) // max(5, self.events // 500))]))
        by_version: dict[int, list[dict[str, Any]]] = {1: [], 2: [], 3: []}
        unknown: list[dict[str, Any]] = []
        for event in events:
            if id(event) in rogue:
                unknown.append({**event.record, "country": "DE"})
            else:
                by_version[event.version].append(event.record)

        duplicates = max(1, round(self.events * self.bad_rate / 2)) if self.bad_rate else 0
        retries = self._previous_batch_copies(duplicates)
        resent = [r for copies in retries.values() for r in copies]
        plan = self._file_plan(by_version)
        for version, chunk in plan:
            picks = self.rng.sample(chunk, min(len(chunk), duplicates // len(plan) + 1)) if duplicates else []
            retries.setdefault(version, []).extend(picks)
        done = 0
        for number, (version, chunk) in enumerate(plan, start=1):
            lost = max(1, len(chunk) // 10) if number == len(plan) else 0   # the last file loses its last block
            self._write("app_event", f"batch-{self.batch:04d}-part-{number:04d}-v{version}.avro",
                        _schema("app_event", version, self.schemas), chunk, version=version, kind="events",
                        truncate_last=lost)
            done += len(chunk)
            self.progress(self.events + done, self.events * 2)
        for version, copies in sorted(retries.items()):
            self._write("app_event", f"batch-{self.batch:04d}-retries-v{version}.avro",
                        _schema("app_event", version, self.schemas), copies, version=version, kind="duplicates")
        self._write("app_event", f"batch-{self.batch:04d}-unregistered.avro", unknown_schema(self.schemas),
                    unknown, version=None, kind="unknown_schema")
        media_files = max(1, self.files // 4)
        for number in range(media_files):
            chunk = uploads[number::media_files]
            self._write("media_upload", f"batch-{self.batch:04d}-part-{number + 1:04d}-v1.avro",
                        _schema("media_upload", 1, self.schemas), chunk, version=1, kind="events")
        self.progress(self.events * 2, self.events * 2)
        return self._manifest(resent)

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

    # -- what the pipeline must find ----------------------------------------------------------------
    def _future_cutoff(self) -> int:
        """Millis: later timestamps are broken clocks (10-20 years ahead), earlier ones the batch's."""
        end = dt.datetime.combine(self.last_day, dt.time(), dt.UTC) + FUTURE
        return int(end.timestamp() * 1000)

    def _rules(self, artifact: str) -> Rules:
        """The rules of expectations/events_app_silver_<actions|uploads>.yml, over records as written."""
        cutoff = self._future_cutoff()
        if artifact == "app_event":
            return {
                "registered_writer": ("fail", lambda r: True),       # bronze rows all have a registered writer
                "has_user_and_session": ("quarantine",
                                         lambda r: not _blank(r["user_id"]) and not _blank(r["session_id"])),
                "not_in_future": ("quarantine", lambda r: _millis(r["occurred_at"]) <= cutoff),
                "non_negative_duration": ("drop", lambda r: r.get("duration_ms") is None or r["duration_ms"] >= 0),
                "known_event_type": ("warn", lambda r: r["event_type"] != "UNKNOWN"),
            }
        return {
            "registered_writer": ("fail", lambda r: True),
            "has_user": ("quarantine", lambda r: not _blank(r["user_id"])),
            "not_in_future": ("quarantine", lambda r: _millis(r["uploaded_at"]) <= cutoff),
            "non_negative_duration": ("drop", lambda r: r.get("duration_ms") is None or r["duration_ms"] >= 0),
            "positive_size": ("drop", lambda r: r["size_bytes"] > 0),
            "timed_media_has_duration": ("warn", lambda r: r["media_type"] == "IMAGE" or r["duration_ms"] is not None),
        }

    def _expected(self, artifact: str, resent: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Per table, what the events pipeline makes of this batch's files of ``artifact``; and the
        events silver receives (deduplicated bronze rows)."""
        files = [w for w in self.written if w.entry["artifact"] == artifact]
        bronze = [r for w in files if w.entry["kind"] != "unknown_schema" for r in w.records[:len(w.records) - w.lost]]
        # Dead letters: one row per cut block, one per file whose schema is not registered (even empty).
        dead = [(1 if w.lost else 0, w.lost) if w.entry["kind"] != "unknown_schema" else (1, len(w.records))
                for w in files]
        seen = {_key(r) for r in resent}           # their originals reached bronze with the previous batch
        silver_input = []
        for record in bronze:
            key = _key(record)
            if key not in seen:
                seen.add(key)
                silver_input.append(record)
        rules = self._rules(artifact)
        outcome = [{name: passes(r) for name, (_, passes) in rules.items()} for r in silver_input]
        of = {action: [n for n, (a, _) in rules.items() if a == action] for action in ("quarantine", "drop", "warn")}
        quarantined = [all(o[n] for n in of["quarantine"]) is False for o in outcome]
        gone = [all(o[n] for n in of["quarantine"] + of["drop"]) is False for o in outcome]
        return {
            "written": sum(len(w.records) for w in files),
            "bronze": len(bronze),
            "dead_letter_rows": sum(rows for rows, _ in dead),
            "dead_letter_records": sum(records for _, records in dead),
            "duplicates": len(bronze) - len(silver_input),
            "silver_input": len(silver_input),
            "failed": {n: sum(not o[n] for o in outcome) for n in rules},
            "quarantine": sum(quarantined),
            "dropped": sum(g and not q for g, q in zip(gone, quarantined, strict=True)),
            "dropped_records": sum(gone),
            "silver": len(silver_input) - sum(gone),
            "silver_warned": {n: sum(not o[n] and not g for o, g in zip(outcome, gone, strict=True))
                              for n in of["warn"]},
        }, silver_input

    def _ingest_window(self) -> dict[str, str | None]:
        """When the batch must be ingested for ``not_in_future`` to fail exactly the broken clocks:
        from the latest regular timestamp - 1 day, until the earliest broken one - 1 day."""
        cutoff = self._future_cutoff()
        stamps = [_millis(r["occurred_at"] if "occurred_at" in r else r["uploaded_at"])
                  for w in self.written for r in w.records]
        regular = max(m for m in stamps if m <= cutoff)
        broken = [m for m in stamps if m > cutoff]

        def iso(millis: int) -> str:
            moment = dt.datetime.fromtimestamp(millis / 1000, dt.UTC) - dt.timedelta(days=1)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        return {"from": iso(regular), "until": iso(min(broken)) if broken else None}

    def _manifest(self, resent: list[dict[str, Any]]) -> dict[str, Any]:
        expected: dict[str, Any] = {"ingest_window": self._ingest_window()}
        detectable: Counter[str] = Counter()
        for artifact in ("app_event", "media_upload"):
            expected[artifact], silver_input = self._expected(artifact, resent if artifact == "app_event" else [])
            for record in silver_input:
                detectable.update(f"{artifact}.{c}" for c in defect_classes(artifact, record, self._future_cutoff()))
        manifest = {
            "batch": self.batch, "seed": self.seed, "events": self.events, "bad_rate": self.bad_rate,
            "first_day": self.first_day.isoformat(), "days": self.days,
            "records": {a: expected[a]["written"] for a in ("app_event", "media_upload")},
            "defects": dict(sorted(detectable.items())),
            "defects_injected": dict(sorted(self.injected.items())),
            "duplicates": expected["app_event"]["duplicates"],
            "duplicates_across_runs": len(resent),
            "expected": expected,
            "files": [w.entry for w in self.written],
        }
        folder = self.landing / MANIFEST_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"batch-{self.batch:04d}.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest


def defect_classes(artifact: str, record: dict[str, Any], future_cutoff: int) -> Iterable[str]:
    """The defect classes a record as written carries (regular records carry none)."""
    stamp = record["occurred_at"] if artifact == "app_event" else record["uploaded_at"]
    if _blank(record["user_id"]):
        yield "missing_user"
    if _millis(stamp) > future_cutoff:
        yield "future_timestamp"
    if (record.get("duration_ms") or 0) < 0:
        yield "negative_duration"
    if artifact == "app_event" and record["event_type"] == "UNKNOWN":
        yield "unknown_event_type"


def decodable(path: Path) -> list[dict[str, Any]]:
    """The records of a container file bronze can decode: every block before a damaged one."""
    records: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        try:
            for block in fastavro.block_reader(handle):
                records.extend(r for r in block if isinstance(r, dict))
        except (EOFError, ValueError, OSError, zlib.error):
            pass
    return records


def _key(record: dict[str, Any]) -> str:
    """Silver's deduplication key: the event id, trimmed and lower case."""
    return str(record["event_id"]).strip().lower()


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def _millis(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return int(value)
