"""The ``pipelines`` command."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_STORAGE = Path(".pipelines")
COMMANDS = {"run": ("run_cmd", "run"), "quality": ("quality_cmd", "report"),
            "generate": ("generate_cmd", "generate"), "kafka": ("kafka_cmd", "send"),
            "registry": ("registry_cmd", "run"), "expectations": ("quality_cmd", "check"),
            "query": ("query_cmd", "run"), "tables": ("query_cmd", "tables"), "init": ("init_cmd", "run")}


def _tables(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pipelines", description="Run this repo's DLT pipelines locally.")
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="Run one update (or continuous updates) of a pipeline.")
    run.add_argument("target", nargs="?", help="Pipeline NAME in pipelines/, or PATH to a folder of DLT files.")
    run.add_argument("--env", default="local", help="Environment in conf/ (default: local).")
    run.add_argument("--storage", type=Path, default=DEFAULT_STORAGE,
                     help="Local catalog, tables, checkpoints and logs (default: ./.pipelines).")
    refresh = run.add_mutually_exclusive_group()
    refresh.add_argument("--full-refresh", type=_tables, default=[], metavar="T,..",
                         help="Reset and recompute these tables.")
    refresh.add_argument("--full-refresh-all", action="store_true", help="Reset and recompute every table.")
    run.add_argument("--refresh", type=_tables, default=[], metavar="T,..", help="Update only these tables.")
    run.add_argument("--dry-run", action="store_true", help="Validate the graph without running flows.")
    run.add_argument("--continuous", action="store_true", help="Run updates until interrupted (Ctrl-C).")
    run.add_argument("--interval", type=float, default=10.0, help="Seconds between continuous updates.")
    run.add_argument("--verbose", action="store_true", help="Show Java stack traces of failures.")
    query = sub.add_parser("query", help="Run Spark SQL over the local tables.")
    query.add_argument("sql")
    query.add_argument("--storage", type=Path, default=DEFAULT_STORAGE)
    query.add_argument("--format", choices=("table", "json"), default="table")
    listing = sub.add_parser("tables", help="Row counts of the tables a pipeline publishes locally.")
    listing.add_argument("target", nargs="?", help="Pipeline NAME in pipelines/, or PATH.")
    listing.add_argument("--env", default="local")
    listing.add_argument("--storage", type=Path, default=DEFAULT_STORAGE)
    quality = sub.add_parser("quality", help="Data-quality summary of a pipeline's recent updates.")
    quality.add_argument("target", nargs="?", help="Pipeline NAME in pipelines/, or PATH (local event log).")
    quality.add_argument("--env", default="local")
    quality.add_argument("--storage", type=Path, default=DEFAULT_STORAGE)
    quality.add_argument("--updates", type=int, default=10, help="How many recent updates (default: 10).")
    quality.add_argument("--html", type=Path, metavar="FILE", help="Also write a self-contained dashboard page.")
    quality.add_argument("--pipeline-id", metavar="ID",
                         help="Read a deployed pipeline's event log through databricks-sdk instead.")
    quality.add_argument("--profile", help="Databricks config profile (default: the SDK's environment/auth chain).")
    expectations = sub.add_parser("expectations", help="Work with the rules in expectations/.")
    expectations_sub = expectations.add_subparsers(dest="action", required=True)
    check = expectations_sub.add_parser("check", help="Validate every rules file and its constraints.")
    check.add_argument("--dir", type=Path, help="Rules folder (default: expectations/).")
    check.add_argument("--storage", type=Path, default=DEFAULT_STORAGE)
    check.add_argument("--database", help="Check constraints against this local schema's tables too.")
    registry = sub.add_parser("registry", help="Schema lifecycle between schemas/ and the schema registry.")
    registry.add_argument("action", choices=("check", "publish", "pull"),
                          help="check: CI gate; publish: register new versions (dry run first); pull: lockfile.")
    registry.add_argument("--env", default="local", help="Environment in conf/ whose registry to use.")
    registry.add_argument("--schemas", type=Path, help="Schemas folder (default: schemas/).")
    registry.add_argument("--url", help="Registry base URL, overriding the environment's palindrom.registry.url.")
    registry.add_argument("--lockfile", choices=("require", "ignore"), default="require",
                          help="check: fail when the environment's lockfile is not current (default), or not. "
                               "Deployments ignore it: publish writes the lockfile that is deployed.")
    kafka = sub.add_parser("kafka", help="Send records to an environment's Kafka topic.")
    kafka_sub = kafka.add_subparsers(dest="action", required=True)
    send = kafka_sub.add_parser("send", help="Avro-encode JSON-lines records with the registry schema and send them.")
    send.add_argument("file", type=Path, help="JSON lines, one record per line.")
    send.add_argument("--env", default="development")
    send.add_argument("--group", default="palindrom.events")
    send.add_argument("--artifact", default="app_event")
    send.add_argument("--wire-format", help="Override palindrom.kafka.wire_format.")
    send.add_argument("--bootstrap-servers", help="Override palindrom.kafka.bootstrap_servers.")
    send.add_argument("--registry-url", help="Override palindrom.registry.url ('local': schemas/).")
    send.add_argument("--timeout", type=float, help="Seconds to wait for delivery (default 30).")
    init = sub.add_parser("init", help="Scaffold a new pipeline: spec, code, rules and a passing test.")
    init.add_argument("name", help="Pipeline name (lower case, digits, _).")
    init.add_argument("--dir", type=Path, help="Repository root to write into (default: this repository).")
    gen = sub.add_parser("generate", help="Write sample landing files for the events pipeline.")
    gen.add_argument("--events", type=int, default=300_000, help="App events in this batch (default 300000).")
    gen.add_argument("--seed", type=int, default=7, help="Same seed, same records (default 7).")
    gen.add_argument("--bad-rate", type=float, default=0.02, help="Share of events with a defect (default 0.02).")
    gen.add_argument("--files", type=int, help="App event files (default: one per 25000 events, at least 3).")
    gen.add_argument("--days", type=int, default=30, help="Days each batch covers (default 30).")
    gen.add_argument("--start", type=dt.date.fromisoformat,
                     help="First day of batch 1 (default 2026-01-01); batch N starts (N-1)*days later.")
    gen.add_argument("--landing", type=Path, help="Landing folder (default: palindrom.events.landing_path).")
    gen.add_argument("--env", default="local")
    gen.add_argument("--storage", type=Path, default=DEFAULT_STORAGE)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.command == "run" and args.full_refresh_all and args.refresh:
        print("error: --refresh cannot be combined with --full-refresh-all", file=sys.stderr)
        return 2
    # Subcommands import on use: `generate` and `registry` start in a blink, without Spark.
    module, function = COMMANDS[args.command]
    command: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(f"palindrom.cli.{module}"),
                                                           function)
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
