"""The events pipeline end to end against plain fastavro on the same landing files, and the memory
of the whole process tree.

For each size (``BENCH_EVENT_SIZES``, default ``300000,1000000``): one batch of sample data is
generated once; then, in turn, ``pipelines run events`` on a fresh storage holding those files (hard
links) and a single Python process that decodes every landed Avro file with fastavro onto its
artifact's latest (reader) schema, no Spark. Records/s of both and their ratio per round; the peak
resident memory of ``pipelines run``'s whole process tree (driver, JVM, Python workers), sampled
from /proc every 0.2 s (Linux only; written here because no dependency of the project reads it).

The cold run is a process with its own JVM (no daemon). The second run reads and decodes every
landed file again (``pipelines run events --full-refresh-all``) on a server daemon the storage has
just started (by a ``pipelines tables``): the daemon's first update, with its JIT and Python workers
still cold.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import fastavro

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 3
PIPELINES = [sys.executable, "-m", "palindrom.cli.main"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _tree_rss_mib(root: int) -> float:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        todo.extend(_children(pid))
    return total / 1024


# A cold run is a process with its own JVM, whose memory counts in its process tree (no daemon).
COLD = {**os.environ, "PALINDROM_DAEMON": "off"}
WARM = {**os.environ, "PALINDROM_DAEMON": "on"}


def run_pipeline(storage: Path, *extra: str, env: dict[str, str] = COLD) -> tuple[float, float]:
    """(seconds, peak MiB of the process tree) of one ``pipelines run events``."""
    started = time.monotonic()
    process = subprocess.Popen([*PIPELINES, "run", "events", "--storage", str(storage), "--quiet", *extra],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0.0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mib(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"pipelines run events failed ({process.returncode}):\n{err[-3000:]}")
    return time.monotonic() - started, peak[0]


def readers() -> dict[str, dict[str, object]]:
    """Each artifact's latest schema in schemas/ (the reader schema the pipeline decodes onto)."""
    found = {}
    for artifact in ("app_event", "media_upload"):
        versions = sorted((REPO / "schemas" / "palindrom.events" / artifact).glob("v*.avsc"),
                          key=lambda p: int(p.stem[1:]))
        found[artifact] = fastavro.parse_schema(json.loads(versions[-1].read_text()))
    return found


def plain_fastavro(landing: Path, schemas: dict[str, dict[str, object]]) -> tuple[float, int]:
    """(seconds, records) decoding every landed file in one process; files fastavro cannot read
    (the generator's unregistered or cut ones) count what they yield before the error."""
    started, records = time.monotonic(), 0
    for artifact, reader_schema in schemas.items():
        for path in sorted((landing / artifact).glob("*.avro")):
            with path.open("rb") as handle:
                try:
                    for _ in fastavro.reader(handle, reader_schema=reader_schema):
                        records += 1
                except Exception:  # noqa: S112 - a defect the generator put there on purpose
                    continue
    return time.monotonic() - started, records


def landed_records(storage: Path, env: dict[str, str] = COLD) -> int:
    """Records the update took in: the rows of both bronze tables, as `pipelines tables` counts them."""
    out = subprocess.run([*PIPELINES, "tables", "events", "--storage", str(storage)], cwd=REPO,
                         capture_output=True, text=True, check=True, env=env).stdout
    return sum(int(line.split()[-1].replace(",", "")) for line in out.splitlines()
               if line.strip().startswith(("events_app_bronze_actions", "events_app_bronze_uploads")))


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_EVENT_SIZES", "300000,1000000").split(",")]
    schemas = readers()
    lines = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
            root = Path(tmp)
            subprocess.run([*PIPELINES, "generate", "--events", str(size), "--storage", str(root / "data")],
                           cwd=REPO, check=True, capture_output=True)
            landing = root / "data" / "landing" / "events"
            ours, warm, plain, peaks, ratios, warm_ratios, records = [], [], [], [], [], [], 0
            for round_ in range(ROUNDS):
                storage = root / f"run-{round_}"
                shutil.copytree(landing, storage / "landing" / "events", copy_function=os.link)
                seconds, peak = run_pipeline(storage)
                records = landed_records(storage)
                landed_records(storage, WARM)  # starts the storage's daemon
                warm_seconds, _ = run_pipeline(storage, "--full-refresh-all", env=WARM)
                if landed_records(storage, WARM) != records:
                    raise SystemExit("the warm run's bronze rows differ from the cold run's")
                subprocess.run([*PIPELINES, "daemon", "stop", "--storage", str(storage)], cwd=REPO, check=True,
                               capture_output=True, env=WARM)
                plain_seconds, plain_records = plain_fastavro(landing, schemas)
                ours.append(records / seconds)
                warm.append(records / warm_seconds)
                plain.append(plain_records / plain_seconds)
                peaks.append(peak)
                ratios.append(ours[-1] / plain[-1])
                warm_ratios.append(warm[-1] / plain[-1])
                shutil.rmtree(storage)
        lines.append(f"{size:>9,} events  bronze rows {records:,}\n"
                     f"  pipelines run events   records/s min {min(ours):>9,.0f}  median "
                     f"{statistics.median(ours):>9,.0f}  max {max(ours):>9,.0f}   (cold: a JVM of its own)\n"
                     f"  the same, new daemon   records/s min {min(warm):>9,.0f}  median "
                     f"{statistics.median(warm):>9,.0f}  max {max(warm):>9,.0f}   (--full-refresh-all)\n"
                     f"  plain fastavro         records/s min {min(plain):>9,.0f}  median "
                     f"{statistics.median(plain):>9,.0f}  max {max(plain):>9,.0f}\n"
                     f"  ratio per round, cold: {', '.join(f'{r:.3f}' for r in ratios)} (median "
                     f"{statistics.median(ratios):.3f})\n"
                     f"  ratio per round, new daemon: {', '.join(f'{r:.3f}' for r in warm_ratios)} (median "
                     f"{statistics.median(warm_ratios):.3f})\n"
                     f"  peak memory of the run's process tree: {', '.join(f'{p / 1024:.2f}' for p in peaks)} GiB")
    print("## The events pipeline end to end against plain fastavro\n\n"
          f"Sample batches of {', '.join(f'{s:,}' for s in sizes)} app events (with uploads and defects), a fresh "
          f"storage per run, {ROUNDS} rounds (the pipeline cold, the pipeline again on a server daemon the "
          "storage just started, then fastavro, in turn). Goals (issue 16): ratio >= 0.5; peak memory < 3 GiB, "
          "flat in data size (the cold run's process tree: the daemon is not the second run's child).\n\n```\n"
          + "\n".join(lines) + "\n```")


if __name__ == "__main__":
    main()
