"""``python -m palindrom.checks.secrets``: detect-secrets over every tracked file, against ``.secrets.baseline``.

A finding fails unless the baseline lists it (same file, type and hashed value) as audited and not a
secret. Line numbers are not compared: moving a known false positive is not a new secret (the
pre-commit hook ``detect-secrets-hook`` fails on moved lines, which suits commits, not CI).
To accept a false positive: ``detect-secrets scan --baseline .secrets.baseline`` then
``detect-secrets audit .secrets.baseline``, and commit the baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from palindrom.logs import JsonLogger
from palindrom.runtime.spec import repo_root

BASELINE = ".secrets.baseline"

Key = tuple[str, str, str]


def _keys(results: dict[str, list[dict[str, Any]]], audited_only: bool) -> set[Key]:
    return {(file, item["type"], item["hashed_secret"]) for file, items in results.items() for item in items
            if not audited_only or item.get("is_secret") is False}


def new_findings(scan: dict[str, Any], baseline: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Findings of ``scan`` that the baseline does not hold as audited false positives: (file, line, type)."""
    known = _keys(baseline.get("results", {}), audited_only=True)
    return sorted((file, item["line_number"], item["type"]) for file, items in scan.get("results", {}).items()
                  for item in items if (file, item["type"], item["hashed_secret"]) not in known)


def main() -> int:
    log = JsonLogger(environment=os.environ.get("PALINDROM_ENVIRONMENT", "ci"))
    root = repo_root()
    baseline = json.loads((root / BASELINE).read_text())
    exclude = baseline.get("filters_used", [])
    patterns = [p for f in exclude if f.get("path") == "detect_secrets.filters.regex.should_exclude_file"
                for p in f.get("pattern", [])]
    command = [sys.executable, "-m", "detect_secrets", "scan", *(a for p in patterns for a in ("--exclude-files", p))]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        log.error("detect-secrets failed", returncode=result.returncode, stderr=result.stderr[-2000:])
        return 2
    scan = json.loads(result.stdout)
    found = new_findings(scan, baseline)
    for file, line, kind in found:
        sys.stdout.write(f"{file}:{line}: {kind} (not an audited false positive in {BASELINE})\n")
    known = sum(len(v) for v in scan.get("results", {}).values()) - len(found)
    summary = f"secrets: {len(found)} new findings, {known} audited false positives"
    sys.stdout.write(summary + "\n")
    log.log("ERROR" if found else "INFO", summary, new=len(found), known=known)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
