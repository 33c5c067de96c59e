"""``pipelines daemon status|stop``: the storage's local Spark server, kept warm between commands.

The first command on a storage starts it (``runtime/daemon_state.py``); it ends on its own after
``PALINDROM_DAEMON_IDLE_SECONDS`` without a command (default 15 minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from palindrom.runtime import daemon_client, daemon_state


def run(args: argparse.Namespace) -> int:
    files = daemon_state.paths(args.storage)
    state = daemon_state.running(files)
    if args.action == "stop":
        stopped = daemon_client.stop(files.storage)
        print(f"Stopped the local Spark server of {files.storage}." if stopped
              else f"No local Spark server runs for {files.storage}.")
        return 0
    if state is None:
        print(f"No local Spark server runs for {files.storage}; the next command starts one.")
        return 0
    memory = _resident_mib([int(state["pid"]), *([state["jvmPid"]] if isinstance(state.get("jvmPid"), int) else [])])
    idle = _idle_for(files)
    print(f"Local Spark server of {files.storage}: pid {state['pid']} (JVM {state.get('jvmPid', '?')}), "
          f"{state['url']}, since {state['started']}, {memory:.0f} MiB resident (daemon and JVM)\n"
          f"  {idle}; it stops after {float(state['idleSeconds']):g} s without a command "
          f"(pipelines daemon stop ends it now). Log: {files.log}")
    return 0


def _idle_for(files: daemon_state.Paths) -> str:
    try:
        seconds = dt.datetime.now(dt.UTC).timestamp() - files.users.stat().st_mtime
    except OSError:
        return "no command has attached yet"
    return f"last attached to {seconds:.0f} s ago"


def _resident_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total / 1024

