"""``make bench``: run every benchmark and write docs/benchmarks.md: the machine, the versions, and each
benchmark's own report (ratios measured side by side in this one run). Run it on a quiet machine:
the load average before and after each benchmark is in its section, so a noisy run shows.

``python -m benchmarks.report --only benchmarks.rules`` runs the named benchmarks again and replaces
their sections (each section says when it was measured); the other sections stay as they were.
``benchmarks/analysis.md`` (where the time goes, written by hand) is copied in after them;
``--assemble`` runs nothing and only writes the doc again (after editing analysis.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
BENCHMARKS = [
    ("benchmarks.updates", "Updates against plain spark-pipelines"),
    ("benchmarks.rules", "Expectations"),
    ("benchmarks.events", "The events pipeline end to end"),
    ("benchmarks.decoding", "Kafka payload decoding"),
    ("benchmarks.plugin", "Pipeline tests with the plugin"),
]
_SECTION = re.compile(r"<!-- bench:(?P<module>[\w.]+) -->\n.*?<!-- /bench:(?P=module) -->\n", re.S)


def _java() -> str:
    found = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return (found.stderr or found.stdout).splitlines()[0] if (found.stderr or found.stdout) else "unknown"


def _memory_gib() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def section(module: str, title: str) -> str:
    """The benchmark's report between markers, with when it ran and the load around it."""
    print(f"running {module} ...", file=sys.stderr, flush=True)
    before = _load()
    found = subprocess.run([sys.executable, "-m", module], cwd=REPO, capture_output=True, text=True, check=False)
    failed = f"FAILED (exit {found.returncode}):\n{found.stderr[-3000:]}"
    body = found.stdout.strip() if found.returncode == 0 else failed
    body = body if body.startswith("## ") else f"## {title}\n\n```\n{body}\n```"
    stamp = (f"\n\n_Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) before "
             f"{before}, after {_load()}._")
    return f"<!-- bench:{module} -->\n{body}{stamp}\n<!-- /bench:{module} -->\n"


def header() -> str:
    return (
        "# Benchmarks\n\n"
        "Written by `make bench` (`python -m benchmarks.report --only MODULE` measures one section again). Every "
        "ratio is measured side by side in one run (farm-bench pairs A and B run in turn, or the variants run "
        "in turn in one process); quote medians, and read min/max as the noise of the machine.\n\n"
        f"* machine: {os.cpu_count()} cores, {_memory_gib()}, {platform.platform()}\n"
        f"* versions: Python {platform.python_version()}, pyspark {metadata.version('pyspark')}, "
        f"fastavro {metadata.version('fastavro')}, {_java()}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", action="append", choices=[m for m, _ in BENCHMARKS], metavar="MODULE")
    parser.add_argument("--assemble", action="store_true",
                        help="Run nothing: write the doc again from its sections and analysis.md.")
    args = parser.parse_args()
    chosen = [] if args.assemble else [(m, t) for m, t in BENCHMARKS if not args.only or m in args.only]
    existing = {m.group("module"): m.group(0) for m in _SECTION.finditer(DOC.read_text())} \
        if (args.only or args.assemble) and DOC.exists() else {}
    fresh = {module: section(module, title) for module, title in chosen}
    sections = [fresh.get(module) or existing.get(module) for module, _ in BENCHMARKS]
    analysis = (Path(__file__).parent / "analysis.md").read_text()
    DOC.write_text(header() + "\n" + "\n".join(s for s in sections if s) + "\n" + analysis)
    print(f"wrote {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
