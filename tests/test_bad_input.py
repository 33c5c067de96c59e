"""Bad input through real ``pipelines run``: configuration reaches pipeline code unchanged while the
secret in it never reaches our output; every bad record is kept and the update's summary says how
many went where, per table, counted per update."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import REPO, rows

from palindrom.logs import REDACTED


def _summary(out: str) -> dict[str, tuple[int, int, int, str]]:
    """table -> (dead-lettered, rescued, dropped, where) from the printed bad-records table."""
    lines = out.split("Bad records in this update", 1)[1].splitlines()
    found = {}
    for line in lines[3:]:
        if not line.strip():
            break
        table, dead, rescued, dropped, where = line.split(maxsplit=4)
        found[table] = (int(dead.replace(",", "")), int(rescued.replace(",", "")), int(dropped.replace(",", "")),
                        where)
    return found


def _log_lines(err: str, message: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines()
            if line.startswith("{") and json.loads(line)["message"] == message]


def test_configuration_passes_secrets_are_redacted_and_bad_records_are_summarised(
        spark, pipeline_copy, run_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder, db = pipeline_copy("bad_input")
    secret, env_secret = f"made-up-{uuid.uuid4().hex}", f"env-{uuid.uuid4().hex}"
    spec = folder / "pipeline.yml"
    spec.write_text(spec.read_text().replace("{client_secret}", secret))
    configuration = yaml.safe_load(spec.read_text())["configuration"]
    monkeypatch.setenv("PALINDROM_TEST_ACCESS_KEY", env_secret)
    landing = folder / "secret_landing"
    landing.mkdir()
    (landing / "a.json").write_bytes(b"".join([
        b'{"id": 1, "amount": 5.0}\n',
        b'{"id": 2, "amount": -1.0}\n',                       # dropped by positive_amount in silver
        b'{"id": 3, "amount": "abc"}\n',                      # rescued: not a double
        b'{"id": 4, "amount": 2.0, "note": "\xff\xfe"}\n',    # rescued and dead-lettered: not UTF-8
        b'{"id": 5,\n',                                       # rescued and dead-lettered: malformed
        b'{"id": 6, "amount": 7.5}\n',
    ]))
    storage = tmp_path / "storage"

    assert run_cli("run", folder, "--storage", storage) == 0
    out, err = capsys.readouterr()

    # Configuration: exactly as written, keys and values Spark would redact included.
    assert rows(spark, f"SELECT token_url, plain, landing, secret_sha256 FROM {db}.config_seen") == [(
        configuration["probe.token_url"], "plain value", str(landing),
        hashlib.sha256(secret.encode()).hexdigest())]
    # The landing path containing "secret" was read: every line is a bronze row.
    assert rows(spark, f"SELECT count(*) FROM {db}.orders_bronze") == [(6,)]
    assert rows(spark, f"SELECT id, amount FROM {db}.orders_silver ORDER BY id") == [(1, 5.0), (6, 7.5)]

    # Invalid UTF-8 is rescued with its bytes escaped, never replaced by U+FFFD.
    bad = rows(spark, f"SELECT _rescued_data FROM {db}.orders_bronze WHERE _rescued_data LIKE '%not valid UTF-8%'")
    assert len(bad) == 1 and "\\\\xff\\\\xfe" in bad[0][0] and "\ufffd" not in bad[0][0]

    # The summary: per table, what this update dead-lettered, rescued and dropped, and where to look.
    summary = _summary(out)
    assert {t: s[:3] for t, s in summary.items()} == {
        "orders_bronze": (0, 3, 0), "orders_bronze_dead_letter": (2, 0, 0), "orders_silver": (0, 0, 1),
        "orders_bronze_snapshot": (0, 3, 0)}
    assert f"{db}.orders_bronze._rescued_data IS NOT NULL" in summary["orders_bronze"][3]
    assert f"{db}.orders_bronze_dead_letter" in summary["orders_bronze_dead_letter"][3]
    assert f"{db}.event_log" in summary["orders_silver"][3]
    logged = _log_lines(err, "bad records in this update")
    assert len(logged) == 1
    assert {t["table"]: (t["dead_lettered"], t["rescued"], t["dropped"]) for t in logged[0]["tables"]} == {
        "orders_bronze": (0, 3, 0), "orders_bronze_dead_letter": (2, 0, 0), "orders_silver": (0, 0, 1),
        "orders_bronze_snapshot": (0, 3, 0)}

    # A flow failing with the secret in its error (only that flow runs: --refresh). The message is
    # printed with the secret redacted; this update wrote no bad records, and says so.
    spec.write_text(spec.read_text().replace("configuration:\n", 'configuration:\n  probe.fail_token_check: "true"\n'))
    assert run_cli("run", folder, "--storage", storage, "--refresh", "token_check") == 1
    out2, err2 = capsys.readouterr()
    assert "token_check" in err2 and f"refused client secret {REDACTED} with key {REDACTED}" in err2
    assert "Bad records in this update: none (0 dead-lettered, 0 rescued, 0 dropped)" in out2
    events = [r[0] for r in spark.sql(f"SELECT to_json(struct(*)) FROM {db}.event_log").collect()]
    assert any(REDACTED in e and "token_check" in e for e in events)
    for text in (out, err, out2, err2, *events):
        assert secret not in text and env_secret not in text


def test_landing_path_that_is_a_file_fails_before_data_moves(pipeline_copy, run_cli, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = pipeline_copy("bad_input")
    landed = folder / "secret_landing" / "a.json"
    landed.parent.mkdir()
    landed.write_text('{"id": 1, "amount": 5.0}\n')
    spec = folder / "pipeline.yml"
    spec.write_text(spec.read_text().replace("{client_secret}", uuid.uuid4().hex)
                    .replace("{pipeline_dir}/secret_landing", "{pipeline_dir}/secret_landing/a.json"))

    assert run_cli("run", folder, "--storage", tmp_path / "storage") == 1
    err = capsys.readouterr().err
    assert (f"Flow 'orders_bronze' reads cloudFiles from {landed}, which is a file: Auto Loader reads the files "
            f"of a directory. Load {landed.parent} instead (with pathGlobFilter 'a.json'") in err


def test_expectations_check_never_calls_unchecked_rules_valid(run_cli, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "expectations"
    rules.mkdir()
    (rules / "orders_silver.yml").write_text(
        "dataset: orders_silver\nrules:\n  - {name: positive_amount, constraint: amount > 0, action: drop}\n")
    database = f"t_missing_{uuid.uuid4().hex[:8]}"

    # Against a database where the dataset's table does not exist: a failure naming file and table.
    assert run_cli("expectations", "check", "--dir", rules, "--database", database) == 1
    out = capsys.readouterr().out
    assert (f"FAIL  {rules / 'orders_silver.yml'}: dataset orders_silver has no table {database}.orders_silver "
            "to check the rules against") in out
    assert "0 of 1 rules files valid." in out

    # Without a table, a declared schema or a pipeline that defines the dataset: only the static
    # checks ran, and the output says so.
    assert run_cli("expectations", "check", "--dir", rules, "--pipeline", "starter") == 0
    out = capsys.readouterr().out
    assert f"part  {rules / 'orders_silver.yml'} (1 rules; static checks only" in out
    assert "0 of 1 rules files valid; 1 passed the static checks only (columns, types and parsing not checked: " \
           "no pipeline defines the dataset" in out

    # A dataset a pipeline defines is checked against the columns its flows produce, with no table
    # and nothing run: the starter pipeline's silver has amount DOUBLE and ordered_at, no `amout`.
    (rules / "starter_orders_silver.yml").write_text(
        "dataset: starter_orders_silver\nrules:\n  - {name: positive_amount, constraint: amount > 0, action: drop}\n"
        "  - {name: typo, constraint: amout > 0, action: warn}\n")
    (rules / "orders_silver.yml").unlink()
    storage = tmp_path / "check-storage"
    assert run_cli("expectations", "check", "--dir", rules, "--pipeline", "starter", "--storage", storage) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {rules / 'starter_orders_silver.yml'}, rule 'typo' (amout > 0): " in out
    assert "`amout` cannot be resolved. Did you mean one of the following? [`amount`" in out
    (rules / "starter_orders_silver.yml").write_text(
        "dataset: starter_orders_silver\nrules:\n  - {name: positive_amount, constraint: amount > 0, action: drop}\n")
    assert run_cli("expectations", "check", "--dir", rules, "--pipeline", "starter", "--storage", storage) == 0
    out = capsys.readouterr().out
    assert f"ok    {rules / 'starter_orders_silver.yml'} (1 rules; columns of starter_orders_silver as pipeline " \
           "'starter' defines it)" in out
    assert not (storage / "pipelines" / "starter").exists()  # defined, never run: no update, no event log


def test_bad_rules_fail_before_data_moves_naming_file_rule_and_column(spark, pipeline_copy, run_cli, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder, db = pipeline_copy("bad_rules")
    assert run_cli("run", folder, "--storage", tmp_path / "storage") == 1
    err = capsys.readouterr().err
    rules = folder / "expectations"
    assert (f"Bad rule: Rule 'positive_amount' (amout > 0) of dataset 'orders' in rules file {rules / 'orders.yml'} "
            "names column `amout`, which the dataset does not have.") in err
    assert (f"Bad rule: Rule 'revenue_plus_one' (revenue + 1) of dataset 'totals' in rules file "
            f"{rules / 'totals.yml'} is not a boolean") in err
    assert "has_id" not in err.split("Bad rule:", 1)[1]
    # Nothing was written: the tables do not exist.
    tables = {r.tableName for r in spark.sql(f"SHOW TABLES IN {db}").collect()}
    assert not {"orders", "totals"} & tables


def test_starter_pipeline_keeps_running_on_malformed_values(spark, run_cli, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "starter"
    shutil.copytree(REPO / "pipelines" / "starter", folder)
    db = f"t_starter_{uuid.uuid4().hex[:8]}"
    spec = folder / "pipeline.yml"
    spec.write_text(spec.read_text().replace("database: starter", f"database: {db}"))
    (folder / "sample_data" / "orders_2026-11-04.json").write_bytes(b"".join([
        b'{"order_id": "b1", "customer_id": "c1", "amount": "abc", "quantity": 1, "ordered_at": "2026-11-04T01:00:00Z"}\n',
        b'{"order_id": "b2", "customer_id": "c\xff\xfe", "amount": 3.0, "quantity": 1, "ordered_at": "2026-11-04T01:00:00Z"}\n',
        b'{"order_id": "b3",\n',
        b'{"order_id": "b4", "customer_id": "c3", "amount": 5.0, "quantity": 2, "ordered_at": "notadate"}\n',
        b'{"order_id": "b5", "customer_id": "c3", "amount": 6.0, "quantity": 2, "ordered_at": "2026-11-04T02:00:00Z"}\n',
    ]))
    # Independently: which landed lines silver keeps (valid UTF-8 JSON, amount > 0, a timestamp).
    landed, kept = 0, 0
    for path in sorted((folder / "sample_data").glob("*.json")):
        for raw in path.read_bytes().splitlines():
            landed += 1
            try:
                row = json.loads(raw.decode("utf-8"))
                dt.datetime.fromisoformat(row["ordered_at"].replace("Z", "+00:00"))
            except (UnicodeDecodeError, ValueError):
                continue
            if isinstance(row["amount"], float | int) and row["amount"] > 0:
                kept += 1

    assert run_cli("run", folder, "--storage", tmp_path / "storage") == 0
    out = capsys.readouterr().out
    assert rows(spark, f"SELECT count(*) FROM {db}.starter_orders_bronze") == [(landed,)]
    assert rows(spark, f"SELECT count(*) FROM {db}.starter_orders_silver") == [(kept,)]
    summary = _summary(out)
    assert {t: s[:3] for t, s in summary.items()} == {
        "starter_orders_bronze": (0, 3, 0), "starter_orders_silver": (0, 0, landed - kept)}
