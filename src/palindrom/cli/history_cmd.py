"""``pipelines updates`` (a pipeline's update history) and ``pipelines logs [UPDATE]`` (one
update's event log, ``--follow`` while it runs), read from the storage without starting Spark."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from palindrom.cli.target import UserError, choose
from palindrom.runtime import history, lock

POLL_SECONDS = 0.5


def _running(storage: Path) -> bool:
    return lock.holder(storage.resolve()) is not None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "running"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


def updates(args: argparse.Namespace) -> int:
    target = choose(args, args.target)
    found = history.updates(target.state_dir, _running(args.storage))
    if not found:
        raise UserError(f"No updates of '{target.name}' recorded under {args.storage}. "
                        f"Run one: pipelines run {target.name} --storage {args.storage}")
    shown = found[-args.limit:][::-1]  # newest first, as the Databricks update list
    print(f"Updates of '{target.name}' under {args.storage} (newest first, {len(shown)} of {len(found)}):")
    header = f"{'update':<10}{'started (UTC)':<21}{'duration':>10}  {'trigger':<13}{'full refresh':<14}{'outcome':<12}"
    print(header.rstrip())
    print("-" * len(header))
    for update in shown:
        started = update.started[:19].replace("T", " ")
        outcome = update.state + (" (validate)" if update.validate_only else "")
        print(f"{update.update_id[:8]:<10}{started:<21}{_duration(update.seconds):>10}  {update.cause:<13}"
              f"{update.full_refresh or 'no':<14}{outcome}")
        if update.error:
            print(f"          error: {update.error}")
    print(f"\nOne update's events: pipelines logs {shown[0].update_id[:8]} --storage {args.storage}")
    return 0


def _find(args: argparse.Namespace, prefix: str) -> Path:
    dirs = [choose(args, args.pipeline).state_dir] if args.pipeline else \
        [p.state_dir for p in history.known(args.storage)]
    matches = sorted({p for d in dirs for p in (d / history.EVENTS_DIR).glob(f"{prefix}*.jsonl")})
    if not matches:
        raise UserError(f"No update '{prefix}' under {args.storage}; `pipelines updates --storage "
                        f"{args.storage}` lists them.")
    if len(matches) > 1:
        raise UserError(f"'{prefix}' matches {len(matches)} updates ({', '.join(p.stem[:12] for p in matches)}); "
                        "give more of the id.", 2)
    return matches[0]


def _latest(state_dir: Path) -> Path | None:
    files = list((state_dir / history.EVENTS_DIR).glob("*.jsonl"))
    summaries = [u for p in files if (u := history.summarize(p, history.read_events(p), False))]
    return max(summaries, key=lambda u: u.started).path if summaries else None


def _line(event: dict[str, Any]) -> str:
    origin = event.get("origin") or {}
    flow = origin.get("flow_name") or ""
    stamp = str(event.get("timestamp", ""))[:23].replace("T", " ")
    kind = event.get("event_type", "")
    text = f"{stamp}  {event.get('level', ''):<5}  {kind:<16}  {flow:<24}  {event.get('message')}"
    exceptions = (event.get("error") or {}).get("exceptions") or []
    for exception in exceptions:
        text += f"\n{'':>27}error: {exception.get('message')}"
    return text


def _final(events: list[dict[str, Any]]) -> bool:
    last = [e for e in events if e.get("event_type") == "update_progress"]
    state = ((last[-1].get("details") or {}).get("update_progress") or {}).get("state") if last else None
    return state in history.FINAL_STATES


def logs(args: argparse.Namespace) -> int:
    if args.update:
        path = _find(args, args.update)
    else:
        target = choose(args, args.pipeline)
        latest = _latest(target.state_dir)
        if args.follow and (latest is None or _final(history.read_events(latest))):
            latest = _next_update(target.state_dir)
        if latest is None:
            raise UserError(f"No updates of '{target.name}' recorded under {args.storage}. "
                            f"Run one: pipelines run {target.name} --storage {args.storage}")
        path = latest
    printed = 0
    while True:
        events = history.read_events(path)
        for event in events[printed:]:
            print(_line(event), flush=True)
        printed = max(printed, len(events))
        if not args.follow or _final(events):
            return 0
        if not _running(args.storage):
            events = history.read_events(path)  # the last events may have landed as the run ended
            for event in events[printed:]:
                print(_line(event), flush=True)
            if not _final(events):
                print("The process running this update has ended without finishing it.", file=sys.stderr)
                return 1
            return 0
        time.sleep(POLL_SECONDS)


def _next_update(state_dir: Path) -> Path:
    """Wait (until Ctrl-C) for a new update to start; its event file."""
    before = {p.name for p in (state_dir / history.EVENTS_DIR).glob("*.jsonl")}
    print(f"Waiting for the next update of '{state_dir.name}' to start (Ctrl-C to stop)...",
          file=sys.stderr, flush=True)
    while True:
        new = [p for p in (state_dir / history.EVENTS_DIR).glob("*.jsonl") if p.name not in before]
        if new:
            return max(new, key=lambda p: p.stat().st_mtime)
        time.sleep(POLL_SECONDS)
