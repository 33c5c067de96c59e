"""``make bench``: run every benchmark and write docs/benchmarks.md: the machine, the versions, and each
benchmark's own report (ratios measured side by side in this one run). Run it on a quiet machine:
the load average before and after is in the report, so a noisy run shows."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = [
    ("benchmarks.updates", "Updates against plain spark-pipelines"),
    ("benchmarks.decoding", "Kafka payload decoding"),
    ("benchmarks.plugin", "Pipeline tests with the plugin"),
]


def _java() -> str:
    found = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return (found.stderr or found.stdout).splitlines()[0] if (found.stderr or found.stdout) else "unknown"


def _memory_gib() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def main() -> None:
    load_before = os.getloadavg()
    sections = []
    for module, title in BENCHMARKS:
        print(f"running {module} ...", file=sys.stderr, flush=True)
        found = subprocess.run([sys.executable, "-m", module], cwd=REPO, capture_output=True, text=True, check=False)
        failed = f"FAILED (exit {found.returncode}):\n{found.stderr[-3000:]}"
        body = found.stdout.strip() if found.returncode == 0 else failed
        sections.append(body if body.startswith("## ") else f"## {title}\n\n```\n{body}\n```")
    load_after = os.getloadavg()
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Every ratio is measured side by "
        "side in this one run (farm-bench pairs A and B run in turn); quote medians, and read min/max as the "
        "noise of the machine.\n\n"
        f"* machine: {os.cpu_count()} cores, {_memory_gib()}, {platform.platform()}\n"
        f"* versions: Python {platform.python_version()}, pyspark {metadata.version('pyspark')}, "
        f"fastavro {metadata.version('fastavro')}, {_java()}\n"
        f"* load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}\n"
    )
    (REPO / "docs" / "benchmarks.md").write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {REPO / 'docs' / 'benchmarks.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
