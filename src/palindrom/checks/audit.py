"""``python -m palindrom.checks.audit REQUIREMENTS``: pip-audit over pinned requirements, reported honestly.

pip-audit prints "No known vulnerabilities found" even when it could audit nothing (every package
skipped because its vulnerability service was unreachable). This runs it with JSON output and says
how many packages were really audited: all of them, some (naming the rest), or none. Exit codes: 0
nothing known (including "audited nothing", unless PALINDROM_AUDIT_REQUIRED=1), 1 vulnerabilities
found or, when required, nothing audited; 2 pip-audit itself failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palindrom.logs import JsonLogger


@dataclass(frozen=True)
class Outcome:
    total: int
    audited: list[str]
    skipped: dict[str, str]  # package -> pip-audit's reason
    vulnerable: dict[str, list[str]]  # package==version -> vulnerability ids

    def summary(self) -> str:
        if not self.audited:
            reason = next(iter(self.skipped.values()), "no packages")
            return (f"pip-audit AUDITED NOTHING: 0 of {self.total} packages could be checked, so nothing is known "
                    f"about their vulnerabilities (first reason: {reason})")
        found = (f"{sum(map(len, self.vulnerable.values()))} known vulnerabilities in {len(self.vulnerable)} packages"
                 if self.vulnerable else "no known vulnerabilities in those")
        unaudited = f"; NOT audited: {', '.join(sorted(self.skipped))}" if self.skipped else ""
        return f"pip-audit audited {len(self.audited)} of {self.total} packages: {found}{unaudited}"


def interpret(report: dict[str, Any]) -> Outcome:
    """pip-audit's JSON report (``--format json``) as counts."""
    dependencies = report.get("dependencies", [])
    skipped = {d["name"]: d["skip_reason"] for d in dependencies if d.get("skip_reason")}
    audited = [d["name"] for d in dependencies if not d.get("skip_reason")]
    vulnerable = {f"{d['name']}=={d.get('version', '?')}": [v["id"] for v in d["vulns"]]
                  for d in dependencies if d.get("vulns")}
    return Outcome(total=len(dependencies), audited=audited, skipped=skipped, vulnerable=vulnerable)


_UNREACHABLE = ("ConnectionError", "SSLError", "Max retries exceeded", "ProxyError", "ReadTimeout", "ConnectTimeout")


def unreachable(requirements: Path, stderr: str) -> Outcome | None:
    """The outcome of a run that died reaching the service (pip-audit raises instead of skipping then)."""
    if not any(marker in stderr for marker in _UNREACHABLE):
        return None
    names = [line.split("==")[0].strip() for line in requirements.read_text().splitlines()
             if "==" in line and not line.lstrip().startswith("#")]
    reason = "vulnerability service unreachable: " + stderr.strip().splitlines()[-1][:300]
    return Outcome(total=len(names), audited=[], skipped=dict.fromkeys(names, reason), vulnerable={})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m palindrom.checks.audit REQUIREMENTS_TXT\n")
        return 2
    log = JsonLogger(environment=os.environ.get("PALINDROM_ENVIRONMENT", "ci"))
    with tempfile.TemporaryDirectory() as tmp:
        report_file = Path(tmp) / "audit.json"
        result = subprocess.run(  # noqa: S603 (fixed argv: this interpreter's pip-audit module)
            [sys.executable, "-m", "pip_audit", "-r", args[0], "--no-deps", "--disable-pip",
             "--progress-spinner", "off", "--format", "json", "--output", str(report_file)],
            capture_output=True, text=True, check=False)
        if report_file.is_file() and result.returncode in (0, 1):
            outcome = interpret(json.loads(report_file.read_text()))
        else:
            dead = unreachable(Path(args[0]), result.stderr)
            if dead is None:
                log.error("pip-audit failed", returncode=result.returncode, stderr=result.stderr[-2000:])
                return 2
            outcome = dead
    sys.stdout.write(outcome.summary() + "\n")
    for package, ids in sorted(outcome.vulnerable.items()):
        sys.stdout.write(f"  {package}: {', '.join(ids)}\n")
    required = os.environ.get("PALINDROM_AUDIT_REQUIRED") == "1"
    failed = bool(outcome.vulnerable) or (required and not outcome.audited)
    level = "ERROR" if failed else "WARN" if outcome.skipped else "INFO"
    log.log(level, outcome.summary(), audited=len(outcome.audited), total=outcome.total,
            vulnerable=sorted(outcome.vulnerable))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
