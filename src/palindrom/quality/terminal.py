"""The terminal quality summary: per dataset and rule, the last update's pass rate and the trend."""

from __future__ import annotations

from palindrom.quality.history import Counts, QualityReport

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(rates: list[float | None]) -> str:
    """One character per update: the pass rate's height, ``·`` where the rule saw no rows."""
    return "".join("·" if r is None else SPARKS[min(len(SPARKS) - 1, int(r * len(SPARKS)))] for r in rates)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _change(rates: list[float | None]) -> str:
    seen = [r for r in rates if r is not None]
    if len(seen) < 2:
        return ""
    delta = (seen[-1] - seen[-2]) * 100
    return "=" if abs(delta) < 0.05 else f"{delta:+.1f} pts"


def render(report: QualityReport) -> str:
    if not report.updates:
        return f"No updates of '{report.pipeline}' in the event log yet."
    last = report.updates[-1]
    lines = [f"Data quality of '{report.pipeline}': last update {last.update_id[:8]} {last.state} "
             f"at {last.started}; trend over {len(report.updates)} update(s), oldest first.",
             "Counts are from the newest update that evaluated each rule; '!' marks a pass rate under the "
             "rule's threshold.", ""]
    header = (f"{'dataset / rule':<40}{'action':<12}{'passed':>10}{'failed':>10}{'pass rate':>11}"
              f"{'threshold':>12}  trend")
    lines += [header, "-" * (len(header) + 12)]
    dataset = None
    below: list[str] = []
    for key in report.rules:
        if key[0] != dataset:
            dataset = key[0]
            lines.append(dataset)
        rates = [u.expectations.get(key, Counts()).pass_rate for u in report.updates]
        now, threshold = report.latest(key), _percent(report.threshold(key))
        flag = "! " if report.below_threshold(key) else ""
        if flag:
            below.append(f"{key[0]}.{key[1]} {_percent(now.pass_rate)} < {threshold}")
        lines.append(f"  {key[1]:<38}{report.actions.get(key, ''):<12}{now.passed:>10,}{now.failed:>10,}"
                     f"{_percent(now.pass_rate):>11}{flag + threshold:>12}  "
                     f"{sparkline(rates)} {_change(rates)}".rstrip())
    if below:
        lines += ["", f"{len(below)} rule(s) under their threshold: {'; '.join(below)}"]
    lines += ["", f"{'flow (latest completed run)':<40}{'rows':>12}{'dropped':>10}"]
    for flow, (written, dropped) in sorted(report.latest_rows().items()):
        lines.append(f"  {flow:<38}{written:>12,}{dropped:>10,}")
    volumes = ", ".join(f"{u.quarantined:,}" for u in report.updates)
    lines += ["", f"Quarantined rows per update (oldest first): {volumes}"]
    return "\n".join(lines)
