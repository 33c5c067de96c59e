"""``pipelines quality --html``: one self-contained page (no network, no external scripts).

The report's numbers are embedded as JSON; the page's own script draws SVG charts from them:
pass rate per rule over updates, failures by dataset, quarantine volume, rows per flow.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from importlib import resources
from pathlib import Path

from palindrom.quality.history import QualityReport


def render(report: QualityReport) -> str:
    template = resources.files("palindrom.quality").joinpath("dashboard.html").read_text(encoding="utf-8")
    data = json.dumps(report.to_json(), sort_keys=True).replace("</", "<\\/")
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (template.replace("__TITLE__", html.escape(f"Data quality: {report.pipeline}"))
            .replace("__GENERATED__", generated).replace("__DATA__", data))


def write(report: QualityReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path
