"""The fault suite's tools: `pipelines run` as a real subprocess with a Spark server of its own, the
fault fixture's input, and what a clean run makes of it, computed in plain Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from palindrom.runtime import faults, server, table_files

REPO = Path(__file__).resolve().parents[2]
FILES = 4
ROWS_PER_FILE = 5


def input_rows(file: int) -> list[dict[str, Any]]:
    """Rows of landing file ``file``: a null value every 7th id, negative values below id 3."""
    rows = []
    for i in range(ROWS_PER_FILE):
        n = file * ROWS_PER_FILE + i
        rows.append({"id": n, "sensor": f"s{n % 3}", "value": None if n % 7 == 0 else float(n - 3)})
    return rows


def write_landing(landing: Path, files: range) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    for file in files:
        (landing / f"part{file}.json").write_text("".join(json.dumps(r) + "\n" for r in input_rows(file)))


def expected(files: range) -> dict[str, Any]:
    """Bronze, silver and gold of a clean run over ``files``, and the expectation counts."""
    bronze = [r for f in files for r in input_rows(f)]
    silver = [r for r in bronze if r["value"] is not None and r["value"] >= 0]
    gold: dict[str, list[float]] = defaultdict(list)
    for r in silver:
        gold[r["sensor"]].append(r["value"])
    return {
        "bronze": sorted((r["id"], r["sensor"], r["value"]) for r in bronze),
        "silver": sorted((r["id"], r["sensor"], r["value"]) for r in silver),
        "gold": sorted((s, len(v), sum(v)) for s, v in gold.items()),
        "bronze_nulls": sum(1 for r in bronze if r["value"] is None),
        "silver_dropped": len(bronze) - len(silver),
    }


def pipeline(tmp: Path, database: str) -> Path:
    folder = tmp / "faults"
    (folder / "transformations").mkdir(parents=True)
    fixture = REPO / "tests" / "fixtures" / "faults"
    (folder / "pipeline.yml").write_text((fixture / "pipeline.yml").read_text().replace("{database}", database))
    (folder / "transformations" / "flows.py").write_text((fixture / "transformations" / "flows.py").read_text())
    return folder


def child_env() -> dict[str, str]:
    """This environment for a ``pipelines`` process with a server of its own: no suite server to
    attach to, no crash point, no driver pid of this process."""
    return {k: v for k, v in os.environ.items() if k not in (server.REMOTE_ENV, faults.POINT_ENV, faults.DRIVER_ENV)}


def run(folder: Path, storage: Path, point: str | None = None, *, timeout: float = 900,
        extra_env: dict[str, str] | None = None, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """``pipelines run`` in a process of its own, with its own Spark server (not the suite's)."""
    env = child_env()
    if point is not None:
        env[faults.POINT_ENV] = point
    env.update(extra_env or {})
    command = [*(prefix or []), sys.executable, "-m", "palindrom.cli.main", "run", str(folder),
               "--storage", str(storage)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def command(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Another ``pipelines`` command in a process of its own (a Spark server of its own when it needs one)."""
    env = child_env()
    return subprocess.run([sys.executable, "-m", "palindrom.cli.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def read_table(storage: Path, database: str, table: str) -> list[dict[str, Any]]:
    """A table of ``storage`` read with pyarrow, without a Spark server (one JVM at a time)."""
    return table_files.read(table_files.folder(storage, database, table)).to_pylist()


def table_rows(storage: Path, database: str, table: str, columns: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(r[c] for c in columns.split(",")) for r in read_table(storage, database, table))


def events(storage: Path, database: str) -> list[dict[str, Any]]:
    return [{**e, "details": json.loads(e["details"])} for e in read_table(storage, database, "event_log")]


def assert_killed(result: subprocess.CompletedProcess[str]) -> None:
    """The run ended by SIGKILL (the fault point was reached), not by finishing or failing."""
    assert result.returncode == -9, (result.returncode, result.stderr[-3000:])
