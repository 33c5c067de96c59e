"""Every corpus case: pipeline files re-created one for one from public pipelines, run as they are,
give the independently computed tables on the first update and, incrementally, on the second."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Case, all_cases, compare, land, prepare, statements

from palindrom.cli.main import main


@pytest.mark.parametrize("name", all_cases())
def test_public_pipeline_gives_the_expected_tables(name: str, spark, spark_server, tmp_path: Path, capsys) -> None:
    case = Case.load(name)
    folder, landing, db = prepare(case, tmp_path)
    storage = tmp_path / "storage"
    for statement in case.settings.get("setup") or []:
        spark.sql(statement.format(db=db, landing=landing))
    expected_module = case.module("expected")
    fails = case.settings.get("fails") or {}
    for batch in (1, 2):
        land(case, batch, landing)
        for statement in statements(case, batch):
            spark.sql(statement.format(db=db, landing=landing))
        code = main(["run", str(folder), "--storage", str(storage)])
        output = capsys.readouterr()
        if case.settings.get("refused"):
            assert code == 1, output.err
            assert case.settings["refused"] in output.err, output.err
            return
        if fails.get("batch") == batch:
            assert code == 1, f"batch {batch} should fail (Databricks semantics): {output.err[-3000:]}"
            assert fails["message"] in output.err, output.err[-3000:]
        else:
            assert code == 0, f"batch {batch}: {output.err[-3000:]}"
        for table, rows in expected_module.expected(batch).items():
            columns = (case.settings.get("tables") or {}).get(table, {}).get("columns") or (
                list(rows[0]) if rows else [c.name for c in spark.table(f"`{db}`.`{table}`").schema])
            actual = [r.asDict(recursive=True) for r in spark.table(f"`{db}`.`{table}`").collect()]
            difference = compare(actual, rows, columns)
            assert difference is None, f"{name}, batch {batch}, table {table}: {difference}"
