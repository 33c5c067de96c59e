"""``python -m palindrom.bundle generate|check|scope|schema`` (exit 0 ok, 1 check failed, 2 bad usage)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from palindrom.bundle import jsonschema, scope, snapshot
from palindrom.logs import JsonLogger
from palindrom.runtime.spec import ConfigurationError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m palindrom.bundle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="write resources/<target>.generated.yml for every target")
    commands.add_parser("check", help="fail when a committed resources/<target>.generated.yml is out of date")
    scoped = commands.add_parser("scope", help="the pipelines a change touches, as JSON")
    scoped.add_argument("--base", help="compare BASE...HEAD with git")
    scoped.add_argument("--head", default="HEAD")
    scoped.add_argument("--files", nargs="*", default=None, help="changed files (instead of --base)")
    scoped.add_argument("--all", action="store_true", help="every pipeline (a full deploy)")
    scoped.add_argument("--github-output", action="store_true", help="also append pipelines=, tests=, full= to "
                        "$GITHUB_OUTPUT")
    schema = commands.add_parser("schema", help="write the JSON schema of the resources section")
    schema.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log = JsonLogger(environment=os.environ.get("PALINDROM_ENVIRONMENT", "ci"))
    try:
        if args.command == "generate":
            for path in snapshot.generate():
                log.info("Generated bundle resources written", file=str(path))
            return 0
        if args.command == "check":
            stale = snapshot.stale()
            for path, diff in stale.items():
                sys.stdout.write(diff)
                log.error("Generated bundle resources are out of date: run `make bundle-generate` and commit",
                          file=str(path))
            return 1 if stale else 0
        if args.command == "scope":
            changed = args.files if args.files is not None else (
                scope.changed_files(args.base, args.head) if args.base else [])
            result = scope.scope(changed, everything=args.all)
            sys.stdout.write(json.dumps(result.as_dict()) + "\n")
            if args.github_output:
                with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
                    out.write(f"pipelines={' '.join(result.pipelines)}\ntests={' '.join(result.tests)}\n"
                              f"full={str(result.full).lower()}\n")
            return 0
        args.out.write_text(json.dumps(jsonschema.resources_schema(), indent=1, sort_keys=True) + "\n")
        return 0
    except ConfigurationError as exc:
        log.error(str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
