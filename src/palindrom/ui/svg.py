"""Server-side SVG: the dataflow graph and the quality charts (no script, no external library).

Graph layout: each dataset's column is the length of the longest path from a source to it, so
every edge points right; nodes of a column are stacked in name order.
Charts: the value axis spans the data (with a margin), not 0-100 %, so 99.2 % and 99.9 % differ;
a rule's threshold, when it has one, is drawn as a dashed line inside the range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from palindrom.ui.data import Graph

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 230, 100, 80, 26, 16
KIND_LABEL = {"streaming_table": "Streaming table", "materialized_view": "Materialized view", "view": "View",
              "sink": "Sink", "source": "Source (outside the pipeline)"}
STATE_CLASS = {"COMPLETED": "ok", "FAILED": "failed", "RUNNING": "running", "STARTING": "running",
               "QUEUED": "queued", "SKIPPED": "skipped", "STOPPED": "skipped", "EXCLUDED": "skipped"}


@dataclass(frozen=True)
class NodeStatus:
    state: str = ""                 # the dataset's flows' last state in the selected update
    written: int | None = None
    dropped: int | None = None
    pass_rate: float | None = None  # the lowest pass rate among the dataset's rules
    href: str = ""


def _columns(graph: Graph) -> dict[str, int]:
    depth = dict.fromkeys(graph.nodes, 0)
    for _ in range(len(graph.nodes)):  # longest path; a cycle cannot occur in a pipeline graph
        changed = False
        for upstream, downstream in graph.edges:
            if depth[downstream] < depth[upstream] + 1:
                depth[downstream] = depth[upstream] + 1
                changed = True
        if not changed:
            break
    return depth


def graph_svg(graph: Graph, status: dict[str, NodeStatus]) -> Markup:
    depth = _columns(graph)
    columns: dict[int, list[str]] = {}
    for name in sorted(graph.nodes):
        columns.setdefault(depth[name], []).append(name)
    position: dict[str, tuple[int, int]] = {}
    for column, names in columns.items():
        for row, name in enumerate(names):
            position[name] = (PAD + column * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + (max(columns, default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max((len(n) for n in columns.values()), default=1) * (NODE_H + GAP_Y) - GAP_Y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Dataflow graph">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#6b7280"/></marker></defs>']
    for upstream, downstream in graph.edges:
        (x1, y1), (x2, y2) = position[upstream], position[downstream]
        sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
        mid = (sx + ex) / 2
        parts.append(f'<path class="edge" data-from="{escape(upstream)}" data-to="{escape(downstream)}" '
                     f'd="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}" fill="none" stroke="#6b7280" '
                     'stroke-width="1.6" marker-end="url(#arrow)"/>')
    for name, node in sorted(graph.nodes.items()):
        x, y = position[name]
        info = status.get(name, NodeStatus())
        state_class = STATE_CLASS.get(info.state, "none")
        lines = [KIND_LABEL.get(node.kind, node.kind) + (" · private" if node.private else "")]
        shown = _short(name, 27)
        if node.kind == "source" and ": " in name:  # "Auto Loader (json): /path": the path's end shows
            kind, where = name.split(": ", 1)
            lines, shown = [kind], where if len(where) <= 27 else "…" + where[-26:]
        if info.written is not None or info.dropped is not None:
            lines.append(f"{info.written or 0:,} written · {info.dropped or 0:,} dropped")
        if info.pass_rate is not None:
            lines.append(f"lowest pass rate {_percent(info.pass_rate)}")
        body = "".join(f'<text x="{x + 12}" y="{y + 42 + i * 17}" class="line">{escape(t)}</text>'
                       for i, t in enumerate(lines))
        badge = (f'<text x="{x + NODE_W - 10}" y="{y + NODE_H - 9}" text-anchor="end" class="state {state_class}">'
                 f'{escape(info.state)}</text>') if info.state else ""
        box = (f'<g class="node kind-{node.kind} state-{state_class}" data-name="{escape(name)}" '
               f'data-kind="{node.kind}" data-state="{escape(info.state)}">'
               f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8"/>'
               f'<text x="{x + 12}" y="{y + 21}" class="name">{escape(shown)}</text>{badge}{body}'
               f'<title>{escape(name)}</title></g>')
        parts.append(f'<a href="{escape(info.href)}">{box}</a>' if info.href else box)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f} %" if rate < 0.999 or rate == 1 else f"{rate * 100:.2f} %"


def rate_axis(rates: Sequence[float], threshold: float | None) -> tuple[float, float]:
    """(low, high) of a pass-rate axis that spans the data and the threshold, with a margin."""
    values = [*rates, *([threshold] if threshold is not None else [])]
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    margin = max((high - low) * 0.15, 0.005)
    return max(0.0, low - margin), min(1.0, high + margin) if high < 1 else 1.0


@dataclass(frozen=True)
class Series:
    label: str
    passed: list[int]
    failed: list[int]
    threshold: float | None = None   # the lowest pass rate the rule accepts, if it has one


def rate_chart(series: Series, updates: Sequence[str], width: int = 520, height: int = 190) -> Markup:
    """Pass rate of one rule per update (a line), failed records (bars), axis scaled to the data."""
    left, right, top, bottom = 62, 14, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = [p / (p + f) if p + f else None for p, f in zip(series.passed, series.failed, strict=True)]
    known = [r for r in rates if r is not None]
    low, high = rate_axis(known, series.threshold)
    span = high - low or 1.0
    count = max(len(updates), 1)
    step = plot_w / count

    def y_of(rate: float) -> float:
        return top + plot_h * (1 - (rate - low) / span)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" data-rule="{escape(series.label)}" data-axis-low="{low:.4f}" '
             f'data-axis-high="{high:.4f}">']
    for tick in _ticks(low, high):
        ty = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" class="tick">{_percent(tick)}</text>')
    most = max([*series.failed, 1])
    for i, failed in enumerate(series.failed):
        bar = plot_h * 0.45 * failed / most
        parts.append(f'<rect class="failed-bar" x="{left + i * step + step * 0.3:.1f}" y="{top + plot_h - bar:.1f}" '
                     f'width="{step * 0.4:.1f}" height="{bar:.1f}"><title>{failed:,} failed</title></rect>')
        if failed:
            parts.append(f'<text x="{left + i * step + step / 2:.1f}" y="{top + plot_h - bar - 4:.1f}" '
                         f'text-anchor="middle" class="tick">{failed:,} failed</text>')
    if series.threshold is not None:
        ty = y_of(series.threshold)
        parts.append(f'<line class="threshold" data-threshold="{series.threshold:g}" x1="{left}" '
                     f'x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
                     f'<text x="{left + plot_w}" y="{ty - 4:.1f}" text-anchor="end" class="threshold-label">'
                     f'threshold {_percent(series.threshold)}</text>')
    points = [(left + i * step + step / 2, y_of(r), r) for i, r in enumerate(rates) if r is not None]
    if points:
        parts.append('<polyline class="rate" fill="none" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points) + '"/>')
        parts.extend(f'<circle class="rate-point" cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{_percent(r)} passed'
                     f'</title></circle>' for x, y, r in points)
    for i, update in enumerate(updates):
        parts.append(f'<text x="{left + i * step + step / 2:.1f}" y="{height - 12}" text-anchor="middle" '
                     f'class="tick">{escape(update[:6])}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" class="axis"/></svg>')
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped


def _ticks(low: float, high: float) -> list[float]:
    """About five round ticks between low and high."""
    raw = (high - low) / 4 or 0.01
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]
