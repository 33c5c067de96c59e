"""``pipelines init NAME``: a new pipeline folder in the house style, with a passing test.

Writes ``pipelines/NAME/`` (``pipeline.yml``, ``transformations/NAME.py``: bronze from landed JSON
lines, silver guarded by its rules, a daily gold aggregate; ``tests/test_NAME_pipeline.py`` on the
``pipeline`` fixture), ``expectations/NAME_records_silver.yml``, and the landing path key in every
``conf/<env>.yml``. Refuses to overwrite anything.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from palindrom.runtime import spec

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

SPEC = """\
# The {name} pipeline: records landed as JSON lines -> validated records -> a daily aggregate.
# Names are {{domain}}_{{source}}_{{layer}}_{{asset}}; scaffolded by `pipelines init`.
name: {name}
database: {name}
libraries:
  - transformations/**
# Deployment (src/palindrom/bundle generates the bundle resources from this file and conf/<env>.yml).
domain: {name}
# Deployment scope: besides this folder and the package modules its code imports, a change to these
# files redeploys this pipeline, and these tests exercise it.
uses:
  - expectations/{name}_*.yml
tests:
  - pipelines/{name}/tests/test_{name}_pipeline.py
"""

CODE = '''\
"""{name}: records landed as JSON lines -> validated records (rules: expectations/) -> records per day."""

import dlt
from pyspark.sql import functions as F

from palindrom.quality.guard import guarded_table


@dlt.table(comment="Records as landed, with the source file and ingest time.")
def {name}_records_bronze():
    landing = spark.conf.get("palindrom.{name}.landing_path")
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.schemaHints", "id string, amount double, occurred_at timestamp")
        .load(landing)
        .withColumn("source_file", F.col("_metadata.file_path"))
        .withColumn("ingested_at", F.current_timestamp())
    )


@guarded_table("{name}_records_silver", comment="Typed, validated records.")
def {name}_records_silver():
    return dlt.read_stream("{name}_records_bronze").select(
        F.trim("id").alias("id"),
        F.col("amount").cast("double").alias("amount"),
        F.col("occurred_at").cast("timestamp").alias("occurred_at"),
    )


@dlt.table(comment="Records and their total amount per UTC day.")
def {name}_daily_gold():
    return (
        dlt.read("{name}_records_silver")
        .groupBy(F.to_date("occurred_at").alias("day"))
        .agg(F.count("*").alias("records"), F.sum("amount").alias("amount"))
    )
'''

RULES = """\
dataset: {name}_records_silver
rules:
  - name: has_id
    constraint: id IS NOT NULL AND id <> ''
    action: drop
    description: A record without its id cannot be traced or deduplicated.
    tags: [completeness]
    owner: data-platform
  - name: non_negative_amount
    constraint: amount >= 0
    action: warn
    description: Negative amounts are refunds; kept and counted.
    tags: [validity]
    owner: data-platform
"""

TEST = '''\
"""The {name} pipeline on mock inputs (the `pipeline` fixture of palindrom.testing: docs/testing.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

PIPELINE = Path(__file__).resolve().parents[1]
SILVER = "{name}_records_silver"


def test_silver_drops_records_without_id_and_gold_counts_them_per_day(pipeline):
    landed = [
        {{"id": " a1 ", "amount": 2.5, "occurred_at": dt.datetime(2026, 1, 1, 8, 0)}},
        {{"id": "", "amount": 1.0, "occurred_at": dt.datetime(2026, 1, 1, 9, 0)}},     # dropped: has_id
        {{"id": "b2", "amount": -1.0, "occurred_at": dt.datetime(2026, 1, 2, 7, 0)}},  # warned, kept
    ]
    run = pipeline(PIPELINE).given("{name}_records_bronze", rows=landed).run()

    assert [r["id"] for r in run.rows(SILVER)] == ["a1", "b2"]
    assert run.expectation(SILVER, "has_id").dropped == 1
    assert run.expectation(SILVER, "non_negative_amount").failed == 1
    assert run.rows("{name}_daily_gold") == [
        {{"day": dt.date(2026, 1, 1), "records": 1, "amount": 2.5}},
        {{"day": dt.date(2026, 1, 2), "records": 1, "amount": -1.0}},
    ]
'''

LANDING = {"local": '"{{storage}}/landing/{name}"'}  # other environments: s3://palindrom-data-<env>/landing/<name>


def _landing(env: str, name: str) -> str:
    return LANDING.get(env, f"s3://palindrom-data-{env}/landing/{{name}}").format(name=name)


def run(args: argparse.Namespace) -> int:
    name: str = args.name
    if not _NAME.match(name):
        print(f"error: '{name}' is not a pipeline name: lower-case letters, digits and _, starting with a letter.",
              file=sys.stderr)
        return 2
    repo: Path = (args.dir or spec.repo_root()).resolve()
    folder = repo / "pipelines" / name
    files = {folder / spec.SPEC_FILE: SPEC, folder / "transformations" / f"{name}.py": CODE,
             folder / "tests" / f"test_{name}_pipeline.py": TEST,
             repo / "expectations" / f"{name}_records_silver.yml": RULES}
    existing = [str(p) for p in files if p.exists()]
    if existing:
        print(f"error: {', '.join(existing)} already exist(s); nothing was written.", file=sys.stderr)
        return 2
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(name=name))
        print(f"created {path.relative_to(repo)}")
    key = f"palindrom.{name}.landing_path"
    for conf in sorted((repo / "conf").glob("*.yml")):
        text = conf.read_text()
        if key in text:
            continue
        lines = text.splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.rstrip() == "configuration:"), None)
        if at is None:
            print(f"warning: {conf} has no 'configuration:' section; add {key} to it by hand.", file=sys.stderr)
            continue
        lines.insert(at + 1, f"  {key}: {_landing(conf.stem, name)}\n")
        conf.write_text("".join(lines))
        print(f"updated {conf.relative_to(repo)} ({key})")
    print(f"\nNext: uv run pytest pipelines/{name}/tests   # the scaffold's test, on mock inputs\n"
          f"      uv run pipelines run {name}           # a real update over {key}\n"
          "      make bundle-generate                   # its Databricks resources")
    return 0
