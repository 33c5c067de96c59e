"""Test-only crash points: ``PALINDROM_FAULT_POINT=<name>`` makes a run SIGKILL itself there.

The fault suite (``tests/faults/``) starts ``pipelines run`` as a subprocess with the variable set;
when the run reaches the named point, the driver process and every process it started (the Spark
JVM and its Python workers) are killed with SIGKILL at once, as a power cut or the OOM killer would.
Without the variable :func:`reach` does nothing. Points: ``between_flows`` and ``event_log_write``
in the runner; pipeline code of the fault fixture calls :func:`reach` from its UDFs for the points
inside a micro-batch or a materialized view's write.

``PALINDROM_DRIVER_PID`` is set by the driver before it starts the JVM, so that a Python worker
(a grandchild of the JVM) knows which process tree is the run's.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

POINT_ENV = "PALINDROM_FAULT_POINT"
DRIVER_ENV = "PALINDROM_DRIVER_PID"


def mark_driver() -> None:
    """Record this process as the run's driver (inherited by the JVM and its workers)."""
    os.environ[DRIVER_ENV] = str(os.getpid())


def reach(point: str) -> None:
    """SIGKILL the run (driver, JVM, workers) when ``point`` is the configured fault point."""
    if os.environ.get(POINT_ENV) != point:
        return
    driver = int(os.environ.get(DRIVER_ENV) or os.getpid())
    victims = [*_descendants(driver), driver]
    for pid in [p for p in victims if p != os.getpid()]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.kill(os.getpid(), signal.SIGKILL)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
