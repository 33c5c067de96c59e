"""The CI checks say what they did: pip-audit never reports "no known vulnerabilities" after auditing
nothing, and the secrets check fails on a finding the baseline has not audited (moved lines are fine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO

from palindrom.checks.audit import interpret
from palindrom.checks.secrets import new_findings

UNREACHABLE = "Dependency not found on PyPI and could not be audited: {} ({})"


def test_an_audit_that_reached_no_service_says_it_audited_nothing():
    report = {"dependencies": [{"name": n, "skip_reason": UNREACHABLE.format(n, v)}
                               for n, v in (("fastavro", "1.13.1"), ("pyyaml", "6.0.3"))]}
    outcome = interpret(report)
    assert (outcome.total, outcome.audited, outcome.vulnerable) == (2, [], {})
    assert outcome.summary().startswith("pip-audit AUDITED NOTHING: 0 of 2 packages could be checked")
    assert "no known vulnerabilities" not in outcome.summary().lower()


def test_a_partial_audit_names_what_it_did_not_audit_and_a_vulnerability_is_reported():
    report = {"dependencies": [
        {"name": "fastavro", "version": "1.13.1", "vulns": []},
        {"name": "pyyaml", "version": "6.0.3", "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["6.0.4"]}]},
        {"name": "zstandard", "skip_reason": UNREACHABLE.format("zstandard", "0.25.0")}]}
    outcome = interpret(report)
    assert outcome.vulnerable == {"pyyaml==6.0.3": ["PYSEC-2099-1"]}
    assert outcome.summary() == ("pip-audit audited 2 of 3 packages: 1 known vulnerabilities in 1 packages; "
                                 "NOT audited: zstandard")
    clean = interpret({"dependencies": [{"name": "fastavro", "version": "1.13.1", "vulns": []}]})
    assert clean.summary() == "pip-audit audited 1 of 1 packages: no known vulnerabilities in those"


def test_the_audit_command_says_it_audited_nothing_when_the_service_is_unreachable(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("fastavro==1.13.1\n    # via palindrom-pipelines\npyyaml==6.0.3\n")
    # Every request goes to a closed port on this machine: the service is unreachable.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    result = subprocess.run([sys.executable, "-m", "palindrom.checks.audit", str(requirements)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("pip-audit AUDITED NOTHING: 0 of 2 packages could be checked")
    assert "no known vulnerabilities" not in (result.stdout + result.stderr).lower()
    required = subprocess.run([sys.executable, "-m", "palindrom.checks.audit", str(requirements)],
                              capture_output=True, text=True, timeout=300,
                              env={**env, "PALINDROM_AUDIT_REQUIRED": "1"})
    assert required.returncode == 1  # as on GitHub, where the service is reachable: auditing nothing fails


def _found(value: str, line: int, **audit: bool) -> dict[str, object]:
    """One detect-secrets result: its hashed value (made-up hex here), line and, in a baseline, the audit."""
    return {"type": "Secret Keyword", "hashed_" + "secret": value, "line_number": line, **audit}


BASELINE = {"results": {"conf/staging.yml": [_found("aa", 10, is_secret=False)], "tests/fake.py": [_found("bb", 3)]}}


def test_a_moved_false_positive_passes_and_a_new_or_unaudited_finding_fails():
    moved = {"results": {"conf/staging.yml": [_found("aa", 12)]}}
    assert new_findings(moved, BASELINE) == []
    new = {"results": {"conf/staging.yml": [_found("cc", 5)], "tests/fake.py": [_found("bb", 3)]}}
    # "bb" is in the baseline but was never audited as a false positive: it still fails.
    assert new_findings(new, BASELINE) == [("conf/staging.yml", 5, "Secret Keyword"), ("tests/fake.py", 3,
                                                                                       "Secret Keyword")]


def test_every_baseline_entry_was_audited_as_a_false_positive():
    # (`make secrets` scans the repository against it; its findings are scope names, test values, hashes.)
    baseline = json.loads((REPO / ".secrets.baseline").read_text())
    entries = [item for items in baseline["results"].values() for item in items]
    assert entries and all(item["is_secret"] is False for item in entries)
    assert "conf/production.yml" in baseline["results"]  # `secret_scope: palindrom-registry` looks like one
