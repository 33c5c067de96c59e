"""``pipelines serve``: a Spark Connect server for ``--remote`` runs, in front of a cluster or local.

``pipelines serve --master spark://HOST:7077`` starts the server with palindrom's configuration (the
Spark extension, Hive catalog on the storage's Derby metastore, event log) and its executors on the
cluster's workers; ``pipelines run NAME --remote sc://localhost:15002 --storage DIR`` then runs a
pipeline there. Tables, checkpoints and event logs are written under the run's ``--storage``, so the
cluster's hosts must share that path (one machine's disk, or a shared file system mounted alike).
The server listens on 127.0.0.1 only and asks every client for a token (Spark Connect's
``SPARK_CONNECT_AUTHENTICATE_TOKEN``): the one in the environment, or a new one written to
``<storage>/connect-token`` (readable by the owner only) and never printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from palindrom.runtime import lock, server
from palindrom.runtime.connect_token import TOKEN_ENV
from palindrom.runtime.connect_token import write as write_token


def serve(args: argparse.Namespace) -> int:
    storage = args.storage.resolve()
    with lock.exclusive(storage, "(server)", command=f"pipelines serve --master {args.master}"):
        told = _token(storage)
        started = server.start(storage, verbose=args.verbose, master=args.master, port=args.port)
        master = started.session.conf.get("spark.master")
        print(f"Serving {started.url} (master {master}); run pipelines with --remote {started.url}{told}. "
              "Ctrl-C stops it.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    print("Stopped.", file=sys.stderr)
    return 0


def _token(storage: Path) -> str:
    """The clients' token: the environment's, or a new one in ``<storage>/connect-token``; what to tell."""
    if os.environ.get(TOKEN_ENV):
        return f" and the same {TOKEN_ENV}"
    path = storage / "connect-token"
    token = secrets.token_urlsafe(32)
    write_token(path, token)
    os.environ[TOKEN_ENV] = token
    return f" and {TOKEN_ENV}=$(cat {path})"
