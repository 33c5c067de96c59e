"""docs/compatibility.md cannot rot: every public name of the local ``dlt`` module, of
``pyspark.pipelines`` (as shipped and as the runtime extends it) and of Databricks's ``dlt`` module
is listed; every row carries one of the three statuses; supported rows name a test that exists;
refused rows quote the error. The corpus cases say they are re-created, not copied. No Spark."""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from pyspark import pipelines as dp

from palindrom.runtime import dlt_module

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "compatibility.md"
CASES = REPO / "tests" / "compat" / "cases"

# Databricks's `dlt` module as its published interface lists it (databricks-dlt 0.3.0 on PyPI:
# `__all__` plus `on_event_hook` from its api module); kept here so names the local module lacks
# must still have a row (refused, with the error users see).
DATABRICKS_DLT = (
    "create_view", "create_table", "create_streaming_live_table", "create_streaming_table", "create_target_table",
    "view", "table", "append_flow", "read", "read_stream", "readStream", "expect", "expect_or_fail",
    "expect_or_drop", "expect_all_or_fail", "expect_all_or_drop", "expect_all", "apply_changes",
    "apply_changes_from_snapshot", "on_event_hook",
)
LOADER_HOOKS = {"installed"}  # dlt_module's own context manager for the loader, not a DLT API
STATUSES = ("**supported**", "**supported with a documented difference**", "**refused**")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
CASE_REF = re.compile(r"corpus:(\w+)")


@cache
def text() -> str:
    return DOC.read_text(encoding="utf-8")


def code_spans() -> list[str]:
    return re.findall(r"`([^`\n]+)`", text())


def listed(qualified: str) -> bool:
    """``dlt.read`` is listed when a code span holds it as a whole name (``dlt.read(name)`` counts,
    ``dlt.read_stream`` does not count for ``dlt.read``)."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(qualified)}(?![\w])")
    return any(pattern.search(span) for span in code_spans())


def local_dlt_names() -> list[str]:
    names = [name for name, value in vars(dlt_module).items()
             if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == dlt_module.__name__]
    return sorted(set(names) - LOADER_HOOKS)


def pipelines_names() -> list[str]:
    return sorted(set(dp.__all__) | set(dlt_module._DP_EXTENSIONS))


def status_rows() -> list[list[str]]:
    """Rows of every table whose header has a Status column, as their cells."""
    rows: list[list[str]] = []
    in_table = False
    for line in text().splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # `\|` is a pipe in a cell
        if "Status" in cells:
            in_table = True
            continue
        if in_table and not set(line) <= set("|-: "):
            assert len(cells) == 4, f"a status row has 4 cells (escape a pipe in a cell as \\|): {line}"
            rows.append(cells)
    return rows


def test_the_local_dlt_module_finds_its_names():
    assert {"table", "read_stream", "apply_changes", "create_target_table", "readStream"} <= set(local_dlt_names())


@pytest.mark.parametrize("name", local_dlt_names())
def test_every_local_dlt_name_is_listed(name):
    assert listed(f"dlt.{name}"), f"docs/compatibility.md has no row for `dlt.{name}`"


@pytest.mark.parametrize("name", DATABRICKS_DLT)
def test_every_databricks_dlt_name_is_listed(name):
    assert listed(f"dlt.{name}"), f"docs/compatibility.md has no row for `dlt.{name}` (Databricks's dlt module)"


@pytest.mark.parametrize("name", pipelines_names())
def test_every_pyspark_pipelines_name_is_listed(name):
    assert listed(f"dp.{name}"), f"docs/compatibility.md has no row for `dp.{name}`"


def test_every_row_has_exactly_one_status():
    rows = status_rows()
    assert len(rows) >= 60, "the status tables were not found"
    for cells in rows:
        found = [s for s in STATUSES if any(cell == s for cell in cells)]
        assert len(found) == 1, f"row without exactly one status: {' | '.join(cells)}"


def test_supported_rows_name_a_test_and_refused_rows_quote_the_error():
    for cells in status_rows():
        row = " | ".join(cells)
        if "**refused**" in cells:
            behaviour = cells[cells.index("**refused**") + 1]
            assert "`" in behaviour, f"a refused row must quote the error users see: {row}"
        else:
            assert TEST_REF.search(row) or CASE_REF.search(row), f"a supported row must name its test: {row}"


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_named_in_the_document_exists():
    references = TEST_REF.findall(text())
    assert len(references) >= 10
    for file, name in references:
        path = REPO / file
        assert path.is_file(), f"docs/compatibility.md names {file}, which does not exist"
        assert name in _test_names(path), f"docs/compatibility.md names {file}::{name}, which does not exist"


def test_every_corpus_case_named_in_the_document_exists():
    cases = CASE_REF.findall(text())
    assert len(cases) >= 10
    for case in cases:
        assert (CASES / case / "case.yml").is_file(), f"docs/compatibility.md names corpus:{case}, which does not exist"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if (p / "case.yml").is_file()))
def test_each_corpus_case_records_its_source_licence_and_constructs(case):
    settings = yaml.safe_load((CASES / case / "case.yml").read_text(encoding="utf-8"))
    assert "http" in str(settings.get("source", "")), f"{case}: case.yml needs the source URL"
    licence = str(settings.get("licence", ""))
    assert "not copied" in licence, f"{case}: the licence line must say the case is re-created, not copied"
    assert "unchanged" not in str(settings), f"{case}: a re-created case must not claim to be copied unchanged"
    constructs = settings.get("constructs")
    assert isinstance(constructs, list) and constructs, f"{case}: case.yml must list the constructs reproduced"
