"""Which pipeline a reading command is about, and the local catalog it reads.

NAME (or PATH) resolves as for ``run``; without one, the pipeline that ran under ``--storage``
(a clear error when none or several did). Opening the catalog starts a local Spark server unless one
is attached; the catalog is embedded Derby (one JVM at a time), so the storage lock is checked first
and its holder named at once instead of waiting on Derby.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession
from rich.console import Console

from palindrom.runtime import daemon_state, history, lock, server, spec


class UserError(Exception):
    """A mistake or a state the user can fix; printed as one sentence, exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    name: str
    database: str
    state_dir: Path
    spec: spec.PipelineSpec | None  # None: known from the storage only (its folder is not resolvable here)


def choose(args: argparse.Namespace, name: str | None) -> Target:
    storage: Path = args.storage
    if name is not None:
        try:
            pipeline = spec.resolve(name, getattr(args, "env", "local"), storage)
        except spec.ConfigurationError as exc:
            by_name = {p.name: p for p in history.known(storage)}
            if name in by_name:  # a pipeline that ran from a path outside pipelines/
                known = by_name[name]
                return Target(known.name, known.database, known.state_dir, None)
            raise UserError(str(exc), 2) from None
        return Target(pipeline.name, pipeline.database, storage / "pipelines" / pipeline.name, pipeline)
    ran = history.known(storage)
    if not ran:
        raise UserError(f"No pipeline has run under {storage} yet. Run one first: "
                        f"pipelines run NAME --storage {storage}")
    if len(ran) > 1:
        names = ", ".join(p.name for p in ran)
        raise UserError(f"Storage {storage} holds several pipelines ({names}); name one, "
                        f"e.g. `{shlex.join(['pipelines', args.command, ran[0].name])}`.", 2)
    found = ran[0]
    resolved: spec.PipelineSpec | None = None
    if found.root and Path(found.root).is_dir():
        with contextlib.suppress(spec.ConfigurationError):
            resolved = spec.resolve(found.root, getattr(args, "env", "local"), storage)
    return Target(found.name, found.database, found.state_dir, resolved)


def command_line(args: argparse.Namespace) -> str:
    return shlex.join(["pipelines", *getattr(args, "argv", [args.command])])


def ensure_free(storage: Path) -> None:
    """UserError naming the holder when another process holds ``storage``."""
    holder = lock.holder(storage.resolve())
    if holder is not None:
        raise UserError(lock.busy_message(storage, holder))


def start_server(args: argparse.Namespace) -> server.Server:
    """The local Spark server, with a spinner on a terminal while the JVM starts (20-30 s)."""
    if server.current() is not None:
        return server.start(args.storage)
    quiet = getattr(args, "quiet", False)
    if not sys.stderr.isatty() or quiet:
        started = server.start(args.storage, verbose=getattr(args, "verbose", False))
    else:
        with Console(stderr=True).status("Starting the local Spark server (JVM)..."):
            started = server.start(args.storage, verbose=getattr(args, "verbose", False))
    if started.daemon and started.started_here and not quiet:
        print(f"Started the local Spark server for {args.storage}; it stays up between commands and stops "
              f"after {daemon_state.idle_seconds() / 60:g} min without one (pipelines daemon stop ends it now).",
              file=sys.stderr)
    return started


@contextlib.contextmanager
def catalog(args: argparse.Namespace, pipeline: str = "") -> Generator[SparkSession]:
    """A session of its own on the local catalog of ``args.storage`` (``USE`` stays in it), holding
    the storage meanwhile."""
    storage: Path = args.storage
    if server.current() is not None or server.REMOTE_ENV in os.environ:  # attached: no Derby of ours
        with server.update_session(server.start(storage)) as session:
            yield session
        return
    if not (storage / "metastore_db").exists():
        raise UserError(f"No local catalog under {storage}: no pipeline has run there. "
                        f"Run one first: pipelines run NAME --storage {storage}")
    try:
        with lock.exclusive(storage.resolve(), pipeline, command=command_line(args), reading=True):
            with server.update_session(start_server(args)) as session:
                yield session
    except lock.StorageBusyError as exc:
        raise UserError(str(exc)) from None
