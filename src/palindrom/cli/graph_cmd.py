"""``pipelines graph [NAME]``: the dataflow graph as a text tree, DOT, Mermaid or JSON.

It is the graph the pipeline last defined in this storage (each run and dry run writes it); when
there is none yet, or a source file changed since, a dry run validates the code first (its
output goes to stderr, so stdout holds only the graph)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from palindrom.cli import graph_view
from palindrom.cli.target import UserError, choose


def graph(args: argparse.Namespace) -> int:
    target = choose(args, args.target)
    path = target.state_dir / "graph.json"
    stale = not path.is_file()
    if target.spec is not None and not stale:
        written = path.stat().st_mtime
        stale = any(f.stat().st_mtime > written for f in target.spec.source_files())
    if stale:
        if target.spec is None:
            raise UserError(f"No graph of '{target.name}' under {args.storage}; run or dry-run it first.")
        from palindrom.cli import run_cmd

        print(f"Validating '{target.name}' (dry run) to build its graph...", file=sys.stderr, flush=True)
        dry = argparse.Namespace(**{**vars(args), "target": str(target.spec.root), "dry_run": True,
                                    "full_refresh": [], "full_refresh_all": False, "refresh": [],
                                    "continuous": False, "interval": 0.0, "quiet": True})
        with contextlib.redirect_stdout(sys.stderr):
            code = run_cmd.run(dry)
        if code != 0:
            return code
    built = graph_view.build(target.name, target.database, json.loads(path.read_text()))
    print(graph_view.FORMATS[args.format](built))
    return 0
