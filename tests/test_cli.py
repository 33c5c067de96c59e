"""The `pipelines` CLI as a user sees it: one module-wide storage where a fixture pipeline ran (with
two --refresh options) and a broken one failed, followed live by `pipelines logs --follow`."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, copy_fixture

from palindrom.cli.main import main
from palindrom.runtime import lock, server

ORDERS_CSV = "sku,qty\nA,2\nB,7\nA,5\n,3\nC,many\n"


@dataclass
class Output:
    code: int
    out: str
    err: str


def cli(*argv: object) -> Output:
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(REPO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
    finally:
        os.chdir(previous)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return Output(code, out.getvalue(), err.getvalue())


@dataclass
class World:
    storage: Path
    dp_style: Path
    dp_db: str
    broken: Path
    run: Output
    failed_run: Output
    followed: str


def _follow(folder: Path, storage: Path) -> subprocess.Popen[str]:
    """`pipelines logs --follow` in its own process, once it says it waits for the next update."""
    process = subprocess.Popen(
        [sys.executable, "-m", "palindrom.cli.main", "logs", "--pipeline", str(folder), "--storage", str(storage),
         "--follow"], cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "Waiting for the next update" in process.stderr.readline()
    return process


@pytest.fixture(scope="module")
def world(spark_server: server.Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    parent = tmp_path_factory.mktemp("cli")
    storage = parent / "storage"
    dp_style, dp_db = copy_fixture("dp_style", parent)
    (dp_style / "landing").mkdir()
    (dp_style / "landing" / "orders.csv").write_text(ORDERS_CSV)
    broken, _ = copy_fixture("broken", parent)
    follower = _follow(dp_style, storage)
    try:
        run = cli("run", dp_style, "--storage", storage, "--refresh", "raw_csv", "--refresh", "qty_by_sku")
        followed, _ = follower.communicate(timeout=120)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0
    failed_run = cli("run", broken, "--storage", storage)
    return World(storage, dp_style, dp_db, broken, run, failed_run, followed)


def test_repeated_refresh_options_accumulate(world: World, spark) -> None:
    assert world.run.code == 0, world.run.err
    details = spark.sql(f"SELECT details FROM {world.dp_db}.event_log WHERE event_type = 'create_update'").collect()
    assert [json.loads(r.details)["create_update"]["refresh_selection"] for r in details] == [
        ["raw_csv", "qty_by_sku"]]
    # Only the selected tables were updated: the other one is left out of the update.
    states: dict[str, str] = {}
    for name, state in re.findall(r"^(\w+)\s+\w+\s+(\w+)\s", world.run.out, re.M):
        states.setdefault(name, state)  # the flow table comes first; the bad-records block follows it
    assert states["raw_csv"] == "completed" and states["qty_by_sku"] == "completed"
    assert states["big_order_skus"] != "completed"


def _expected_qty_by_sku() -> list[tuple[str, int | None]]:
    totals: dict[str, int | None] = {}
    for row in csv.DictReader(io.StringIO(ORDERS_CSV)):
        if not row["sku"]:
            continue  # dropped by has_sku
        qty = int(row["qty"]) if row["qty"].isdigit() else None
        before = totals.get(row["sku"])
        totals[row["sku"]] = qty if before is None else before if qty is None else before + qty
    return sorted(totals.items())


def test_query_resolves_unqualified_names_in_the_pipelines_schema(world: World) -> None:
    sql = "SELECT sku, qty FROM qty_by_sku ORDER BY sku"
    # The storage holds two pipelines now: an unqualified name says how to pick one.
    ambiguous = cli("query", sql, "--storage", world.storage)
    assert ambiguous.code == 1
    assert "holds several pipelines (broken, dp_style)" in ambiguous.err and "--pipeline NAME" in ambiguous.err
    picked = cli("query", sql, "--storage", world.storage, "--pipeline", "dp_style", "--format", "json")
    assert picked.code == 0, picked.err
    assert [(r["sku"], r["qty"]) for r in map(json.loads, picked.out.splitlines())] == _expected_qty_by_sku()


def test_query_resolves_in_the_only_pipeline_of_a_storage(world: World, tmp_path: Path) -> None:
    # A storage where only dp_style ran (its state copied): no --pipeline needed.
    only = tmp_path / "only"
    (only / "pipelines").mkdir(parents=True)
    (only / "pipelines" / "dp_style").symlink_to(world.storage / "pipelines" / "dp_style")
    result = cli("query", "SELECT count(*) AS n FROM raw_csv", "--storage", only, "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"n": len(ORDERS_CSV.strip().splitlines()) - 1}


def test_tables_and_quality_without_a_run_say_so_in_one_sentence(world: World, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    for command in ("tables", "quality", "updates", "graph", "logs"):
        result = cli(command, "--storage", empty)
        assert (result.code, result.out) == (1, "")
        assert result.err == (f"error: No pipeline has run under {empty} yet. Run one first: "
                              f"pipelines run NAME --storage {empty}\n")
    fresh, _ = copy_fixture("dp_style", tmp_path)  # a pipeline (and schema) that has not run anywhere
    named = cli("tables", fresh, "--storage", empty)
    assert named.code == 1 and named.err.count("\n") == 1
    assert f"'dp_style' has not run under {empty}" in named.err
    several = cli("tables", "--storage", world.storage)
    assert several.code == 2 and "holds several pipelines (broken, dp_style); name one" in several.err
    listed = cli("tables", "dp_style", "--storage", world.storage)
    assert listed.code == 0, listed.err
    counts = dict(re.findall(r"^  (\w+)\s+([\d,]+)$", listed.out, re.M))
    assert counts["raw_csv"] == str(len(ORDERS_CSV.strip().splitlines()) - 1)
    assert counts["qty_by_sku"] == str(len(_expected_qty_by_sku()))


def test_usage_errors_exit_2_without_traceback(world: World) -> None:
    assert cli("graph", "--format", "png").code == 2
    assert cli("logs", "nope", "--storage", world.storage).err.startswith("error: No update 'nope'")


def test_reading_commands_name_the_lock_holder_at_once(world: World) -> None:
    with lock.exclusive(world.storage, "events", command="pipelines run events --continuous"):
        # tables reads the tables' files: it answers at once, saying an update is running.
        listed = cli("tables", "dp_style", "--storage", world.storage)
        assert listed.code == 0, listed.err
        assert dict(re.findall(r"^  (\w+)\s+([\d,]+)$", listed.out, re.M))["raw_csv"] == str(
            len(ORDERS_CSV.strip().splitlines()) - 1)
        assert "An update is running (`pipelines run events --continuous`, since " in listed.out
        # So does quality, from the event log's JSON-lines copy.
        quality = cli("quality", "dp_style", "--storage", world.storage)
        assert quality.code == 0 and "Data quality of 'dp_style'" in quality.out, quality.err
        for command in (("query", "SELECT 1"),):
            result = cli(*command, "--storage", world.storage)
            assert result.code == 1
            assert re.fullmatch(
                rf"error: Storage {re.escape(str(world.storage))} is in use by a running pipeline update: "
                rf"`pipelines run events --continuous` \(pid {os.getpid()}, since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
                r"\(under a minute ago\)\)\. Wait for it to finish, stop it \(kill \d+\), or pass a different "
                r"--storage\.\n", result.err), result.err
    assert lock.holder(world.storage) is None


EDGES = {("raw_csv", "qty_by_sku"), ("raw_csv", "big_orders"), ("big_orders", "big_order_skus")}
KINDS = {"raw_csv": "streaming_table", "qty_by_sku": "materialized_view", "big_orders": "view",
         "big_order_skus": "streaming_table"}


def test_graph_formats_show_the_datasets_and_edges(world: World) -> None:
    # The Auto Loader read is drawn as the source it is, with its format and folder.
    source = f"Auto Loader (csv): {(world.dp_style / 'landing').resolve()}"
    kinds, edges = {**KINDS, source: "source"}, {*EDGES, (source, "raw_csv")}
    as_json = json.loads(cli("graph", "dp_style", "--storage", world.storage, "--format", "json").out)
    assert {n["name"]: n["kind"] for n in as_json["nodes"]} == kinds
    assert {(e["from"], e["to"]) for e in as_json["edges"]} == edges
    dot = cli("graph", "dp_style", "--storage", world.storage, "--format", "dot").out
    assert set(re.findall(r'^  "([^"]+)" -> "([^"]+)";$', dot, re.M)) == edges
    assert f'"{source}" [label="{source}\\nsource", shape=cylinder];' in dot
    assert dot.startswith('digraph "dp_style" {') and dot.rstrip().endswith("}")
    mermaid = cli("graph", "dp_style", "--storage", world.storage, "--format", "mermaid").out
    ids = dict(re.findall(r'^  (n\d+)\W*?([^"<]+)<br/>', mermaid, re.M))
    assert set(ids.values()) == set(kinds)
    assert {(ids[a], ids[b]) for a, b in re.findall(r"^  (n\d+) --> (n\d+)$", mermaid, re.M)} == edges
    text = cli("graph", "dp_style", "--storage", world.storage).out
    assert text.splitlines() == [
        f"Pipeline 'dp_style' (schema {world.dp_db}): 4 datasets, 4 edges",
        f"{source}  [source]",
        "└── raw_csv  [streaming table]",
        "    ├── big_orders  [view]",
        "    │   └── big_order_skus  [streaming table]",
        "    └── qty_by_sku  [materialized view]  expectations: has_sku (drop)",
    ]


def test_dry_run_validates_and_prints_the_graph(world: World, tmp_path: Path) -> None:
    result = cli("dry-run", world.dp_style, "--storage", tmp_path / "dry")
    assert result.code == 0, result.err
    assert "Valid. Pipeline 'dp_style'" in result.out and "└── qty_by_sku  [materialized view]" in result.out
    missing = copy_fixture("missing_ref", tmp_path)[0]
    failed = cli("dry-run", missing, "--storage", tmp_path / "dry2")
    assert failed.code == 1 and "no_such_table" in failed.err


def test_updates_list_shows_outcome_and_the_failed_updates_error(world: World) -> None:
    assert world.failed_run.code == 1
    ok = cli("updates", "dp_style", "--storage", world.storage)
    rows = [line.split() for line in ok.out.splitlines() if re.match(r"^[0-9a-f]{8} ", line)]
    assert len(rows) == 1 and rows[0][-2:] == ["no", "COMPLETED"] and rows[0][4] == "USER_ACTION"
    failed = cli("updates", "broken", "--storage", world.storage)
    assert failed.code == 0
    lines = failed.out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.endswith("FAILED"))
    assert lines[row + 1].strip() == (f"error: {world.broken / 'flows.py'}:11: NameError: "
                                      "name 'undefined_name' is not defined")
    update = lines[row].split()[0]
    logged = cli("logs", update, "--storage", world.storage)
    assert logged.code == 0 and "update_progress" in logged.out and "NameError" in logged.out


def _flow_states(log_text: str) -> list[tuple[str, str]]:
    return re.findall(r"flow_progress\s+(\w+)\s+Flow '\w+' is (\w+)\.", log_text)


def test_logs_follow_printed_the_update_as_it_ran(world: World) -> None:
    followed = _flow_states(world.followed)
    assert ("raw_csv", "COMPLETED") in followed and ("qty_by_sku", "COMPLETED") in followed
    assert world.followed.rstrip().endswith("is COMPLETED.")
    assert "create_update" in world.followed.splitlines()[0]
    again = cli("logs", "--pipeline", "dp_style", "--storage", world.storage)  # the latest update, again
    assert _flow_states(again.out) == followed


def test_jvm_noise_stays_out_of_the_output(world: World, spark_server: server.Server) -> None:
    shown = world.run.out + world.run.err
    assert not re.search(r"log4j|NativeCodeLoader|Setting default log level|WARNING: ", shown)
    assert spark_server.event_log_dir is not None
    jvm_log = spark_server.event_log_dir.parent / "logs" / "jvm.log"
    if spark_server.started_here:
        assert "Setting default log level" in jvm_log.read_text()


def test_progress_is_a_live_table_on_a_terminal_only(world: World, tmp_path: Path) -> None:
    assert "update running for" not in world.run.out  # stdout was not a terminal
    from rich.console import Console

    from palindrom.cli.progress import Progress
    from palindrom.runtime.runner import FlowResult

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    progress = Progress("dp_style", tmp_path, console=console)
    progress.observe(FlowResult("raw_csv", "streaming_table", state="running", started=0.0))
    progress.observe(FlowResult("qty_by_sku", "materialized_view", state="completed", rows=3, started=0.0,
                                finished=12.0))
    console.print(progress.__rich__())
    lines = [line.split() for line in screen.getvalue().splitlines()]
    assert ["qty_by_sku", "COMPLETED", "3", "12s"] in lines
    assert next(line for line in lines if line and line[0] == "raw_csv")[1] == "RUNNING"


def test_java_17_or_21_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from palindrom.runtime import java

    old = tmp_path / "jdk11" / "bin" / "java"
    old.parent.mkdir(parents=True)
    old.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    old.chmod(0o755)
    assert java.major_version(old) == 11
    monkeypatch.setenv("JAVA_HOME", str(old.parent.parent))  # an unsupported JAVA_HOME is passed over
    found = java.ensure()
    shown = subprocess.run([str(found), "-version"], capture_output=True, text=True, check=True).stderr
    assert re.search(r'version "(17|21)[."]', shown)
    assert (Path(os.environ["JAVA_HOME"]) / "bin" / "java").resolve() == found.resolve()
