"""The ``pipelines`` command."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_STORAGE = Path(".pipelines")
# One subcommand per line: name -> (module in palindrom.cli, function).
COMMANDS = {
    "run": ("run_cmd", "run"),
    "dry-run": ("run_cmd", "run"),
    "graph": ("graph_cmd", "graph"),
    "updates": ("history_cmd", "updates"),
    "logs": ("history_cmd", "logs"),
    "tables": ("query_cmd", "tables"),
    "query": ("query_cmd", "run"),
    "quality": ("quality_cmd", "report"),
    "expectations": ("quality_cmd", "check"),
    "generate": ("generate_cmd", "generate"),
    "kafka": ("kafka_cmd", "send"),
    "registry": ("registry_cmd", "run"),
    "ui": ("ui_cmd", "run"),
    "init": ("init_cmd", "run"),
    "serve": ("serve_cmd", "serve"),
    "daemon": ("daemon_cmd", "run"),
}
REMOTE_ENV = "PALINDROM_SPARK_REMOTE"  # runtime.server.REMOTE_ENV, named here so the CLI starts without pyspark
TARGET_HELP = "Pipeline NAME in pipelines/, or PATH to a folder of DLT files."
READ_TARGET_HELP = TARGET_HELP + " Default: the pipeline that ran under --storage."


def _tables(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def _common() -> argparse.ArgumentParser:
    """--env, --storage, --verbose and --quiet, the same on every pipeline command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", default="local", help="Environment in conf/ (default: local).")
    common.add_argument("--storage", type=Path, default=DEFAULT_STORAGE,
                        help="Local catalog, tables, checkpoints and logs (default: ./.pipelines).")
    common.add_argument("--verbose", action="store_true",
                        help="Show Java stack traces and the JVM's own output (otherwise in STORAGE/logs/).")
    common.add_argument("--quiet", action="store_true", help="No live progress and no per-flow lines.")
    common.add_argument("--remote", metavar="sc://HOST:PORT",
                        help="Run on this Spark Connect server instead of a local one: e.g. one in front of a "
                             "cluster (`pipelines serve --master spark://...`). Tables stay under --storage, "
                             "which the cluster's hosts must share.")
    return common


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    run = sub.add_parser("run", parents=[common], help="Run one update (or continuous updates) of a pipeline.")
    run.add_argument("target", nargs="?", help=TARGET_HELP)
    refresh = run.add_mutually_exclusive_group()
    refresh.add_argument("--full-refresh", type=_tables, action="extend", default=[], metavar="T,..",
                         help="Reset and recompute these tables (repeatable).")
    refresh.add_argument("--full-refresh-all", action="store_true", help="Reset and recompute every table.")
    run.add_argument("--refresh", type=_tables, action="extend", default=[], metavar="T,..",
                     help="Update only these tables (repeatable).")
    run.add_argument("--dry-run", action="store_true", help="Same as `pipelines dry-run`.")
    run.add_argument("--continuous", action="store_true", help="Run updates until interrupted (Ctrl-C).")
    run.add_argument("--interval", type=float, default=10.0, help="Seconds between continuous updates.")
    dry = sub.add_parser("dry-run", parents=[common],
                         help="Validate the graph (definitions, references, schemas) without running flows; print it.")
    dry.add_argument("target", nargs="?", help=TARGET_HELP)
    dry.set_defaults(dry_run=True, full_refresh=[], full_refresh_all=False, refresh=[], continuous=False,
                     interval=0.0)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pipelines", description="Run this repo's DLT pipelines locally.")
    sub = root.add_subparsers(dest="command", required=True)
    common = _common()
    _add_run(sub, common)
    graph = sub.add_parser("graph", parents=[common], help="Print the dataflow graph (text tree, DOT, Mermaid, JSON).")
    graph.add_argument("target", nargs="?", help=READ_TARGET_HELP)
    graph.add_argument("--format", choices=("text", "dot", "mermaid", "json"), default="text")
    updates = sub.add_parser("updates", parents=[common], help="A pipeline's updates, newest first.")
    updates.add_argument("target", nargs="?", help=READ_TARGET_HELP)
    updates.add_argument("--limit", type=int, default=20, help="How many updates (default: 20).")
    logs = sub.add_parser("logs", parents=[common], help="One update's event log (default: the latest).")
    logs.add_argument("update", nargs="?", help="Update id, or its first characters (see `pipelines updates`).")
    logs.add_argument("--pipeline", help=READ_TARGET_HELP)
    logs.add_argument("--follow", "-f", action="store_true",
                      help="Keep printing events until the update ends (waits for the next one when none is running).")
    query = sub.add_parser("query", parents=[common], help="Run Spark SQL over the local tables.")
    query.add_argument("sql")
    query.add_argument("--pipeline", help="Resolve unqualified table names in this pipeline's schema "
                                          "(default: the pipeline that ran under --storage, when only one did).")
    query.add_argument("--format", choices=("table", "json"), default="table")
    listing = sub.add_parser("tables", parents=[common], help="Row counts of the tables a pipeline publishes locally.")
    listing.add_argument("target", nargs="?", help=READ_TARGET_HELP)
    quality = sub.add_parser("quality", parents=[common], help="Data-quality summary of a pipeline's recent updates.")
    quality.add_argument("target", nargs="?", help=READ_TARGET_HELP)
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
    check.add_argument("--pipeline", action="append", metavar="NAME",
                       help="Take datasets' columns from this pipeline's definition (repeatable; default: every "
                            "pipeline of the repo, defined without running).")
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
    ui = sub.add_parser("ui", parents=[common],
                        help="Browse a pipeline's graph, updates, event log, tables and quality locally.")
    ui.add_argument("target", nargs="?", help="Pipeline NAME in pipelines/, or PATH.")
    ui.add_argument("--port", type=int, default=8050, help="Port on 127.0.0.1 (default: 8050).")
    serve = sub.add_parser("serve", help="Start a Spark Connect server for pipelines (--remote), e.g. in front of a "
                                         "cluster, and keep it until Ctrl-C.")
    serve.add_argument("--master", default="local[2]",
                       help="Where executors run: spark://HOST:PORT (a standalone cluster) or local[N] (default).")
    serve.add_argument("--port", type=int, default=15002, help="Spark Connect port on 127.0.0.1 (default: 15002).")
    serve.add_argument("--storage", type=Path, default=DEFAULT_STORAGE,
                       help="The server's catalog (Derby metastore) and logs (default: ./.pipelines).")
    serve.add_argument("--verbose", action="store_true", help="The JVM's own output on the terminal.")
    daemon = sub.add_parser("daemon", help="The storage's local Spark server, kept warm between commands: "
                                           "status or stop.")
    daemon.add_argument("action", choices=["status", "stop"])
    daemon.add_argument("--storage", type=Path, default=DEFAULT_STORAGE,
                        help="The pipelines' storage folder (default: ./.pipelines).")
    return root


def _end_if_abandoned(code: int) -> None:
    """Exit now when an interrupted update was left to the server daemon (``server.update_session``):
    closing its session's channel at exit would wait for that update; the daemon stops it."""
    server = sys.modules.get("palindrom.runtime.server")  # loaded only if a server was used
    if server is not None and server.abandoned():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    args.argv = argv
    if getattr(args, "remote", None):
        os.environ[REMOTE_ENV] = args.remote
    if args.command == "run" and args.full_refresh_all and args.refresh:
        print("error: --refresh cannot be combined with --full-refresh-all", file=sys.stderr)
        return 2
    if not getattr(args, "verbose", False):
        warnings.filterwarnings("ignore", module="pyspark")  # e.g. pandas and Arrow notices
    # Subcommands import on use: `generate` and `registry` start in a blink, without Spark.
    module, function = COMMANDS[args.command]
    try:
        command: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(f"palindrom.cli.{module}"), function)
        return command(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        _end_if_abandoned(130)
        return 130
    except Exception as exc:  # no Python traceback for what the user can fix; --verbose shows it
        from palindrom.cli.errors import explain

        message, code = explain(exc)
        if message is None or getattr(args, "verbose", False):
            raise
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
