"""``pipelines ui [NAME]``: the pipeline UI (graph, updates, event log, tables, quality, live metrics)
of a local storage folder, served on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from palindrom.cli.target import UserError, choose
from palindrom.runtime import lock
from palindrom.ui.app import create_app

HOST = "127.0.0.1"  # local only: the UI has no authentication


def run(args: argparse.Namespace) -> int:
    target = choose(args, args.target)  # NAME, PATH, or the pipeline that ran under --storage
    if target.spec is None:
        raise UserError(f"'{target.name}' ran under {args.storage} from a folder that is not found here; "
                        "pass its NAME or PATH.", 2)
    pipeline = target.spec
    storage = args.storage.resolve()
    if not (storage / "pipelines" / pipeline.name).is_dir():
        print(f"error: '{pipeline.name}' has not run under {storage}; run it first "
              f"(pipelines run {args.target or pipeline.name} --storage {args.storage}).", file=sys.stderr)
        return 2
    holder = lock.holder(storage)
    if holder is not None:  # the UI reads files only (palindrom.ui.data): it follows the run
        print(f"Storage {storage} is in use by {holder.describe()}: the UI follows the run.", file=sys.stderr)
    print(f"Pipeline UI of '{pipeline.name}': http://{HOST}:{args.port}/  (Ctrl-C to stop)", flush=True)
    uvicorn.run(create_app(pipeline, storage), host=HOST, port=args.port, log_level="warning")
    return 0
