"""``pipelines generate``: sample landing files for the events pipeline (see palindrom.sample)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from palindrom.runtime import spec
from palindrom.sample.generate import START, Generator

LANDING_KEY = "palindrom.events.landing_path"


class ProgressBar:
    """A one-line bar on a terminal; silent when stderr is not one (CI logs, pipes)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.shown, self.started = enabled, -1, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if not self.enabled or percent == self.shown:
            return
        self.shown = percent
        filled = percent * 30 // 100
        sys.stderr.write(f"\r  [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%  "
                         f"{time.monotonic() - self.started:5.1f}s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def landing_folder(args: argparse.Namespace) -> Path:
    if args.landing is not None:
        return Path(args.landing)
    pipeline = spec.resolve("events", args.env, args.storage)
    path = pipeline.configuration.get(LANDING_KEY, "")
    if "://" in path and not path.startswith("file:"):
        raise spec.ConfigurationError(f"{LANDING_KEY} of '{args.env}' is {path}: generate writes local files; "
                                      "pass --landing DIR.")
    return Path(path.removeprefix("file://"))


def generate(args: argparse.Namespace) -> int:
    try:
        landing = landing_folder(args)
        generator = Generator(landing, args.events, seed=args.seed, bad_rate=args.bad_rate, files=args.files,
                              days=args.days, progress=ProgressBar(sys.stderr.isatty()), start=args.start or START)
    except (ValueError, spec.ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if generator.last_day >= dt.date.today():
        print(f"warning: batch {generator.batch} runs to {generator.last_day}, after today: its later events are "
              "in the future and silver quarantines them (not_in_future). Use --landing elsewhere or --start.",
              file=sys.stderr)
    print(f"Generating batch {generator.batch}: {args.events} app events from {generator.first_day} "
          f"({args.days} days, seed {args.seed}, bad rate {args.bad_rate}) into {landing}")
    manifest = generator.run()
    expected = manifest["expected"]
    actions, uploads = expected["app_event"], expected["media_upload"]
    defects = ", ".join(f"{k} {v}" for k, v in manifest["defects"].items()) or "none"
    print(f"Wrote {len(manifest['files'])} files: {manifest['records']['app_event']} app events, "
          f"{manifest['records']['media_upload']} media uploads.")
    print(f"Detectable defects: {defects}; duplicates {manifest['duplicates']} "
          f"({manifest['duplicates_across_runs']} of the previous batch).")
    print(f"Expected: bronze {actions['bronze']} actions, {uploads['bronze']} uploads; dead letters "
          f"{actions['dead_letter_rows']} rows ({actions['dead_letter_records']} records); silver "
          f"{actions['silver']} actions ({actions['quarantine']} quarantined, {actions['dropped']} dropped), "
          f"{uploads['silver']} uploads ({uploads['quarantine']} quarantined, {uploads['dropped']} dropped), "
          f"when ingested after {expected['ingest_window']['from'][:10]}.")
    batch = manifest["batch"]
    print(f"Manifest: {landing / '_generator' / f'batch-{batch:04d}.json'}")
    return 0
