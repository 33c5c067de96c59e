"""Constraint validation: what Databricks accepts as an expectation, checked before a run.

Two levels:

* ``check_static`` needs no Spark and runs whenever rules are loaded (also on Databricks): no
  subqueries, no non-deterministic or external-call functions.
* ``check_against`` runs the constraint through Spark's analyser over the dataset's columns: it
  must parse, reference only those columns, call only built-in functions (a UDF is rejected) and be
  a boolean.

Every error names the rules file and the rule, and says what to change.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass

from pyspark.errors import PySparkException
from pyspark.logger import PySparkLogger
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from palindrom.autoloader.ddl import parse_struct
from palindrom.avro import spark_types
from palindrom.quality.rules import DatasetRules, Rule, RuleError
from palindrom.registry.errors import RegistryError
from palindrom.registry.local import LocalRegistry

# Functions whose value changes between evaluations of the same row, or that reach outside the row.
NON_DETERMINISTIC = frozenset({
    "rand", "random", "randn", "randstr", "uniform", "uuid", "shuffle", "monotonically_increasing_id",
    "spark_partition_id", "input_file_name", "input_file_block_start", "input_file_block_length",
    "reflect", "java_method", "try_reflect",
})
# Words that may stand before "(" without being a function call.
_NOT_CALLS = frozenset({"and", "or", "not", "in", "is", "like", "ilike", "rlike", "regexp", "between", "when",
                        "then", "else", "case", "end", "null", "distinct", "as", "escape", "all", "any", "some"})
_TOKEN = re.compile(r"""
    (?P<space>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<quoted>`(?:[^`]|``)*`)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[a-zA-Z]*|\.\d+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>->|<=>|<>|!=|<=|>=|==|\|\||::|[-+*/%=<>!(),.\[\]:&|^~])
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokens(constraint: str) -> Iterator[Token]:
    position = 0
    while position < len(constraint):
        match = _TOKEN.match(constraint, position)
        if match is None:
            raise ValueError(f"unexpected character {constraint[position]!r} at position {position}")
        position = match.end()
        kind = match.lastgroup or "op"
        if kind != "space":
            yield Token(kind, match.group())


def called_functions(constraint: str) -> list[str]:
    """Names of the functions the constraint calls (lower case, qualified names joined with dots)."""
    found: list[str] = []
    items = list(tokens(constraint))
    for index, token in enumerate(items[:-1]):
        if token.kind not in ("word", "quoted") or items[index + 1].text != "(":
            continue
        name = token.text.strip("`").lower()
        if name in _NOT_CALLS:
            continue
        start = index
        while start >= 2 and items[start - 1].text == "." and items[start - 2].kind in ("word", "quoted"):
            start -= 2
        found.append(".".join(t.text.strip("`").lower() for t in items[start:index + 1:2]))
    return found


def _where(rules: DatasetRules, rule: Rule) -> str:
    return f"{rules.path}, rule '{rule.name}' ({rule.constraint})"


def check_static(rules: DatasetRules) -> None:
    """Reject what no dataset can make valid: subqueries, non-deterministic and external calls."""
    for rule in rules.rules:
        try:
            items = list(tokens(rule.constraint))
        except ValueError as exc:
            raise RuleError(f"{_where(rules, rule)}: does not parse: {exc}.") from exc
        if any(t.kind == "word" and t.text.lower() == "select" for t in items):
            raise RuleError(f"{_where(rules, rule)}: subqueries are not allowed in expectations; "
                            "check one row's own columns, or join the data in the dataset's query first.")
        for name in called_functions(rule.constraint):
            if name in NON_DETERMINISTIC:
                raise RuleError(f"{_where(rules, rule)}: {name}() is non-deterministic or calls outside "
                                "the row; an expectation must give the same answer for the same row.")


def declared_columns(rules: DatasetRules) -> T.StructType:
    """The Spark columns of the Avro schema a rules file declares: the latest version of a registry
    artifact in ``schemas/`` (``schema: group/artifact``), or a ``.avsc`` file there."""
    path = rules.schema_path
    if path is None or rules.schema is None:
        raise RuleError(f"{rules.path}: declares no 'schema'.")
    try:
        if rules.schema.endswith(".avsc"):
            content = path.read_text()
        else:
            group, artifact = rules.schema.split("/", 1)
            content = LocalRegistry(path.parents[1]).latest(group, artifact).content
        converted = spark_types.to_spark(json.loads(content))
    except (OSError, ValueError, RegistryError) as exc:
        raise RuleError(f"{rules.path}: schema {rules.schema} cannot be used: {exc}") from exc
    if not isinstance(converted, T.StructType):
        raise RuleError(f"{rules.path}: schema {path} is not an Avro record.")
    if rules.columns:
        try:
            added = parse_struct(rules.columns)
        except ValueError as exc:
            raise RuleError(f"{rules.path}: columns '{rules.columns}' is not valid DDL: {exc}") from exc
        names = {f.name for f in added.fields}
        converted = T.StructType([*(f for f in converted.fields if f.name not in names), *added.fields])
    return converted


def builtin_functions(spark: SparkSession) -> frozenset[str]:
    return frozenset(r[0].lower() for r in spark.sql("SHOW SYSTEM FUNCTIONS").collect())


def check_against(rules: DatasetRules, schema: T.StructType, spark: SparkSession,
                  builtins: Iterable[str] | None = None) -> None:
    """Parse, resolve and type every constraint over ``schema`` with Spark's analyser."""
    check_static(rules)
    known = frozenset(builtins) if builtins is not None else builtin_functions(spark)
    empty = spark.createDataFrame([], schema)
    columns = ", ".join(f.name for f in schema.fields)
    for rule in rules.rules:
        where = _where(rules, rule)
        for name in called_functions(rule.constraint):
            if name not in known:
                raise RuleError(f"{where}: {name}() is not a built-in Spark SQL function; UDFs and "
                                "catalog functions are not allowed in expectations.")
        try:
            with _quiet_query_context_logger():
                result = empty.selectExpr(f"({rule.constraint}) AS `__constraint`").schema.fields[0].dataType
        except PySparkException as exc:
            raise RuleError(f"{where}: {_explain(exc, rules.dataset, columns)}") from exc
        if not isinstance(result, T.BooleanType):
            raise RuleError(f"{where}: is {result.simpleString()}, not a boolean; write a condition "
                            "that is true for good rows (for example `amount > 0`).")


@contextlib.contextmanager
def _quiet_query_context_logger() -> Generator[None]:
    """pyspark logs every analysis error with a query context at ERROR; here the error is the answer."""
    # pyspark's own logger class: a plain logging.getLogger would create this logger first as a plain
    # Logger, and pyspark's later errors (which pass errorClass=...) would then fail to log.
    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def _explain(exc: PySparkException, dataset: str, columns: str) -> str:
    condition = exc.getCondition() or ""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = (lines[0] if lines else condition).split(" SQLSTATE:", 1)[0].rstrip(".;")
    if condition.startswith("UNRESOLVED_COLUMN"):
        return f"{first}. Columns of {dataset}: {columns}."
    if condition.startswith("PARSE_SYNTAX_ERROR"):
        return f"does not parse as Spark SQL: {first}"
    if condition.startswith("UNRESOLVED_ROUTINE"):
        return f"{first}. Only built-in functions are allowed."
    return first
