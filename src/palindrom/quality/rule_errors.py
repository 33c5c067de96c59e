"""Name the rule behind an analysis error of an update: the rules file (or the ``@dlt.expect``
in pipeline code), the rule and the column.

A constraint is analysed with the flow's columns when the server resolves the graph, before any
flow runs. Spark's error then shows the plan, not the rule; this module matches the error to the
flow's expectations: an unresolved name to the rules that use it, a type error to the rule whose
text the error quotes, a parse error to the rule whose text fails to parse.
"""

from __future__ import annotations

import re
from pathlib import Path

from palindrom.quality import rules as rules_module
from palindrom.quality import validate
from palindrom.runtime.graph import QUALITY_TABLE_PREFIX
from palindrom.runtime.runner import UpdateResult

_UNRESOLVED = re.compile(r"name `([^`]+)` cannot be resolved(?:\. Did you mean one of the following\? (\[[^\]]*\]))?")
_ANALYSIS = ("UNRESOLVED_COLUMN", "DATATYPE_MISMATCH", "PARSE_SYNTAX_ERROR", "INVALID_WHERE_CONDITION")


def _words(constraint: str) -> set[str]:
    try:
        return {t.text.strip("`") for t in validate.tokens(constraint) if t.kind in ("word", "quoted")}
    except ValueError:
        return set()


def _normal(text: str) -> str:
    return re.sub(r"[\s()`\"]+", "", text).lower()


def _origin(dataset: str, rule: str, directory: Path | None, source: str) -> str:
    """The rules file that declares ``rule`` for ``dataset``, else the pipeline code's location."""
    path = (directory or rules_module.default_directory()) / f"{dataset}.yml"
    try:
        loaded = rules_module.load_file(path) if path.exists() else None
    except rules_module.RuleError:
        loaded = None
    if loaded is not None and any(r.name == rule for r in loaded.rules):
        return f"rules file {path}"
    return f"an expectation in {source}"


def _failures(result: UpdateResult, failure: str) -> list[tuple[str, str]]:
    """(flow name, error text) of each flow the update's failure names: the server's "Failed to
    resolve flow" blocks (a flow's hidden expectation counter counts as the flow) and flow errors."""
    found = [(name, flow.error) for name, flow in result.flows.items() if flow.state == "failed" and flow.error]
    for block in failure.split("Failed to resolve flow: '")[1:]:
        qualified, _, text = block.partition("'")
        name = qualified.rsplit(".", 1)[-1].strip("`").removeprefix(QUALITY_TABLE_PREFIX)
        found.append((name, text))
    return found


def explain(result: UpdateResult, failure: str, configuration: dict[str, str]) -> list[str]:
    """One sentence per expectation an update's failure can be traced to (none when it cannot)."""
    configured = configuration.get(rules_module.CONF_KEY)
    directory = Path(configured) if configured else None
    found: list[str] = []
    for name, text in _failures(result, failure):
        info = result.graph.flows.get(name)
        if info is None or not info.expectations or not any(kind in text for kind in _ANALYSIS):
            continue
        unresolved = _UNRESOLVED.findall(text)
        for exp in info.expectations:
            where = _origin(info.target, exp.name, directory, info.source)
            missing = [(column, hint) for column, hint in unresolved if column.split(".")[-1] in _words(exp.constraint)]
            sentence = None
            if missing:
                column, hint = missing[0]
                columns = f" Its columns: {hint}." if hint else ""
                sentence = (f"Rule '{exp.name}' ({exp.constraint}) of dataset '{info.target}' in {where} names "
                            f"column `{column}`, which the dataset does not have.{columns} Fix the rule.")
            elif "DATATYPE_MISMATCH" in text and _normal(exp.constraint) in _normal(text):
                sentence = (f"Rule '{exp.name}' ({exp.constraint}) of dataset '{info.target}' in {where} is not a "
                            "boolean: write a condition that is true for good rows (for example `amount > 0`).")
            elif "PARSE_SYNTAX_ERROR" in text and _normal(exp.constraint) in _normal(text):
                sentence = (f"Rule '{exp.name}' ({exp.constraint}) of dataset '{info.target}' in {where} does not "
                            "parse as Spark SQL.")
            if sentence is not None and sentence not in found:
                found.append(sentence)
    return found
