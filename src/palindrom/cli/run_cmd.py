"""``pipelines run``: one update, or continuous updates until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from palindrom import logs
from palindrom.cli import graph_view
from palindrom.cli.progress import Progress
from palindrom.cli.report import FlowPrinter, print_bad_records, print_summary
from palindrom.cli.target import command_line, start_server
from palindrom.logs import JsonLogger
from palindrom.quality import bad_records, rule_errors
from palindrom.runtime import lock, server, spec, storage_faults
from palindrom.runtime.loader import PipelineCodeError
from palindrom.runtime.monitor import StreamMonitor, Thresholds
from palindrom.runtime.runner import (
    FlowResult,
    PipelineRunError,
    RunOptions,
    UpdateResult,
    failed_to_start_workers,
    run_update,
    short_name,
)


class _Interrupt:
    """First Ctrl-C: finish the current update, then stop. Second: stop now."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nStopping after the current update (Ctrl-C again to abort).", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Secrets in the configuration or the environment are redacted from everything this prints."""
    logs.register_environment()
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = logs.RedactingStream(out), logs.RedactingStream(err)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = out, err


def _run(args: argparse.Namespace) -> int:
    log = JsonLogger(args.env)
    try:
        pipeline = spec.resolve(args.target, args.env, args.storage)
    except spec.ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs.register_secrets(pipeline.configuration)
    options = RunOptions(full_refresh=args.full_refresh, full_refresh_all=args.full_refresh_all,
                         refresh=args.refresh, dry_run=args.dry_run)
    monitor = None
    if args.continuous:
        try:
            monitor = StreamMonitor(Thresholds.from_configuration(pipeline.configuration), log)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        with lock.exclusive(args.storage.resolve(), pipeline.name, command=command_line(args)):
            spark_server = start_server(args)
            interrupt = _Interrupt()
            previous = signal.signal(signal.SIGINT, interrupt) if args.continuous else None
            try:
                code = 0
                while True:
                    code = _one_update(spark_server, pipeline, args, options, log, monitor)
                    if not args.continuous or interrupt.requested:
                        return code
                    options = RunOptions()  # refresh selections apply to the first update only
                    deadline = time.monotonic() + args.interval
                    while time.monotonic() < deadline and not interrupt.requested:
                        time.sleep(0.2)
                    if interrupt.requested:
                        return code
            finally:
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
    except lock.StorageBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        fault = storage_faults.from_os_error(exc, args.storage.resolve())
        if fault is None:
            raise
        return _storage_fault(fault, exc, args.storage.resolve(), log)


STORAGE_FAULT = 3  # exit status: the disk is full, or a folder cannot be written (not the data, not the code)


def _storage_fault(fault: storage_faults.StorageFault, exc: BaseException, storage: Path, log: JsonLogger) -> int:
    """One sentence with the path and what to do; the full trace goes to a log file."""
    trace = storage_faults.keep_trace(exc, storage)
    print(f"\nerror: {fault.message()}\n(full error: {trace})", file=sys.stderr)
    log.error("storage fault", kind=fault.kind, path=str(fault.path), trace=str(trace))
    return STORAGE_FAULT


WORKER_START_RETRIES = 2
RETRY = -1  # _attempt: the update failed only because Python workers did not start in time


def _one_update(spark_server: server.Server, pipeline: spec.PipelineSpec, args: argparse.Namespace,
                options: RunOptions, log: JsonLogger, monitor: StreamMonitor | None) -> int:
    """One update; run again (as a new update) when it failed only because Python workers did not
    start in time, which says nothing about the data or the code."""
    for attempt in range(WORKER_START_RETRIES + 1):
        code = _attempt(spark_server, pipeline, args, options, log, monitor, retry=attempt < WORKER_START_RETRIES)
        if code != RETRY:
            return code
        log.warning("update failed: Python workers did not connect back in time; running it again",
                    pipeline=pipeline.name, attempt=attempt + 1)
        print("Retrying: Python workers did not start in time (machine overloaded).", file=sys.stderr)
    return 1


def _attempt(spark_server: server.Server, pipeline: spec.PipelineSpec, args: argparse.Namespace,
             options: RunOptions, log: JsonLogger, monitor: StreamMonitor | None, retry: bool) -> int:
    printer = FlowPrinter()
    started = time.monotonic()
    spark_log = args.storage.resolve() / "logs" / "spark.log"  # the server's log when started here
    spark_log_start = storage_faults.log_size(spark_log)
    log.request_id = update_id = str(uuid.uuid4())  # every line of this update carries its id
    log.info("update starting", pipeline=pipeline.name, dry_run=options.dry_run)
    live = Progress(pipeline.name, spark_server.event_log_dir) if _show_progress(args) else None

    def on_flow(flow: FlowResult) -> None:
        if live is not None:
            live.observe(flow)
        if not args.quiet:
            printer(flow)

    bad: BadRecords = BadRecords()
    try:
        with server.update_session(spark_server) as session, live or contextlib.nullcontext():
            bad.before(options)
            try:
                result = run_update(session, pipeline, args.storage, options,
                                    spark_server.event_log_dir, on_flow=on_flow, update_id=update_id)
            except PipelineRunError as exc:
                bad.after(session, pipeline, args.storage, exc.result)
                raise
            bad.after(session, pipeline, args.storage, result)
    except PipelineCodeError as exc:
        print(f"\nPipeline code error at {exc.location}\n  {type(exc.cause).__name__}: {exc.cause}", file=sys.stderr)
        if args.verbose:
            traceback.print_exception(exc.cause)
        log.error("update failed: pipeline code error", location=exc.location)
        return 1
    except PipelineRunError as exc:
        fault = storage_faults.from_text("\n".join([str(exc), *exc.result.messages,
                                                    storage_faults.log_since(spark_log, spark_log_start)]),
                                         args.storage.resolve())
        if fault is not None:
            for flow in exc.result.flows.values():
                flow.error = None  # the Java text says the same as the one sentence below
        print_summary(exc.result, time.monotonic() - started)
        _report_triggers(monitor, exc.result)
        if fault is not None:
            _print_notices(exc.result)
            return _storage_fault(fault, exc, args.storage.resolve(), log)
        if retry and failed_to_start_workers(exc.result):
            return RETRY
        bad.report(log, pipeline.name)
        _print_notices(exc.result)     # e.g. which materialized views kept their previous contents
        for sentence in rule_errors.explain(exc.result, str(exc), pipeline.configuration):
            print(f"\nBad rule: {sentence}", file=sys.stderr)
            log.error("bad rule", pipeline=pipeline.name, detail=sentence)
        print(f"\nUpdate FAILED: {_clean(str(exc), args.verbose)}", file=sys.stderr)
        log.error("update failed", pipeline=pipeline.name)
        return 1
    except PySparkException as exc:  # outside any flow: the schema, the event log, a snapshot's refresh
        fault = storage_faults.from_text("\n".join([str(exc), storage_faults.log_since(spark_log, spark_log_start)]),
                                         args.storage.resolve())
        if fault is not None:
            return _storage_fault(fault, exc, args.storage.resolve(), log)
        trace = storage_faults.keep_trace(exc, args.storage.resolve())
        print(f"\nUpdate FAILED: {_clean(str(exc), args.verbose)}\n(full error: {trace})", file=sys.stderr)
        log.error("update failed", pipeline=pipeline.name, trace=str(trace))
        return 1
    _report_triggers(monitor, result)
    _print_notices(result)
    print_summary(result, time.monotonic() - started)
    if options.dry_run:
        graph = graph_view.build(pipeline.name, pipeline.database, json.loads(json.dumps(result.graph.to_json())))
        print(f"\nValid. {graph_view.text(graph)}")
    bad.report(log, pipeline.name)
    log.info("update completed", pipeline=pipeline.name,
             rows={name: f.rows for name, f in result.flows.items()}, seconds=result.timings)
    return 0


def _show_progress(args: argparse.Namespace) -> bool:
    """The live table: on a terminal, unless --quiet."""
    return sys.stdout.isatty() and not args.quiet


class BadRecords:
    """The update's bad records per table (palindrom.quality.bad_records), counted around it."""

    def __init__(self) -> None:
        self.since = time.time()
        self.tables: list[bad_records.TableBadRecords] | None = None
        self.files: list[str] = []
        self.unavailable: str | None = None
        self.skip = False

    def before(self, options: RunOptions) -> None:
        self.skip = options.dry_run
        self.since = time.time()

    def after(self, session: SparkSession, pipeline: spec.PipelineSpec, storage: Path, result: UpdateResult) -> None:
        if self.skip or self.unavailable:
            return
        rescued = self._guard(lambda: bad_records.rescued_rows(session, result))
        if rescued is None:
            return
        state_dir = storage.resolve() / "pipelines" / pipeline.name
        files, self.files = bad_records.bad_record_files(state_dir, result, self.since)
        self.tables = bad_records.summarize(result, rescued, files)

    def _guard(self, count: Callable[[], dict[str, tuple[str, int]]]) -> dict[str, tuple[str, int]] | None:
        try:
            return count()
        except Exception as exc:  # counting must not fail the update; say so instead of guessing
            self.unavailable = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return None

    def report(self, log: JsonLogger, pipeline: str) -> None:
        if self.skip:
            return
        print_bad_records(self.tables or [], self.unavailable)
        if self.unavailable is not None:
            log.warning("bad records not counted", pipeline=pipeline, reason=self.unavailable)
            return
        tables = self.tables or []
        fields = {"pipeline": pipeline, "files": self.files,
                  "tables": [{"table": t.table, "dead_lettered": t.dead_lettered, "rescued": t.rescued,
                              "rescue_column": t.rescue_column, "dropped": t.dropped, "where": t.where}
                             for t in tables]}
        if tables:
            log.warning("bad records in this update", **fields)
        else:
            log.info("bad records in this update: none", **fields)


def _print_notices(result: UpdateResult) -> None:
    for notice in result.notices:
        print(f"notice: {notice}", file=sys.stderr)


def _report_triggers(monitor: StreamMonitor | None, result: UpdateResult) -> None:
    if monitor is not None:
        for progress in result.progress:
            monitor.observe(short_name(str(progress.get("name") or progress.get("id"))), progress)


def _clean(message: str, verbose: bool) -> str:
    return message if verbose else message.split("\n\nJVM stacktrace:", 1)[0]
