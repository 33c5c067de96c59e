"""Databricks SQL pipeline files, run through the same registry as Python files.

A ``.sql`` pipeline file in Databricks's dialect is split into statements and each is registered
as the equivalent Python definition, so SQL datasets get the same expectations, counts, event log
and storage as Python ones:

====================================================================  ==============================
``CREATE [OR REFRESH] [PRIVATE|TEMPORARY] STREAMING [LIVE] TABLE``     streaming table (+ its flow)
``CREATE [OR REFRESH] [PRIVATE] MATERIALIZED VIEW`` / ``LIVE TABLE``   materialized view
``CREATE [OR REPLACE] [TEMPORARY] [STREAMING] [LIVE] VIEW``            pipeline-scoped view
``CREATE FLOW f AS INSERT INTO [ONCE] t BY NAME <query>``              append flow (``once``)
``APPLY CHANGES INTO`` / ``CREATE FLOW f AS AUTO CDC INTO`` / ``FLOW AUTO CDC``  AUTO CDC flow
``CONSTRAINT n EXPECT (c) [ON VIOLATION DROP ROW | FAIL UPDATE]``      expectations
``SET key = value``                                                    ``${key}`` for what follows
====================================================================  ==============================

Queries keep Spark SQL; the dialect's additions are rewritten: ``LIVE.`` prefixes are dropped,
``STREAM read_files(...)`` / ``read_files(...)`` / ``cloud_files(...)`` become reads of a hidden
view over the local Auto Loader, and ``${key}`` takes the pipeline configuration. Anything not in
the table fails when the file loads, naming the file, line and statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pyspark.pipelines.flow import Flow
from pyspark.pipelines.output import MaterializedView, StreamingTable, TemporaryView
from pyspark.pipelines.source_code_location import SourceCodeLocation
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame
from pyspark.sql.connect.plan import SQL as SqlPlan

from palindrom.autoloader import options as autoloader_options
from palindrom.runtime import cdc, notebooks
from palindrom.runtime import expectations as ex
from palindrom.runtime.graph import LocalGraphRegistry
from palindrom.runtime.sqltext import TOKEN, Token, reads_stream, tokens, unquote

HIDDEN_FILES_VIEW = "__palindrom_files_"


class SqlPipelineError(ValueError):
    """A statement this runtime does not understand, located in its file."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        super().__init__(message)


# -- statements ----------------------------------------------------------------------------------
@dataclass
class Statement:
    text: str
    line: int  # 1-based line of the statement's first token in the file

    def location(self, path: Path) -> str:
        return f"{path}:{self.line}"


def statements(text: str) -> Iterator[Statement]:
    """Split on ``;`` outside strings and comments."""
    start = 0
    for match in TOKEN.finditer(text):
        if match.lastgroup == "punct" and match.group() == ";":
            yield from _statement(text, start, match.start())
            start = match.end()
    yield from _statement(text, start, len(text))


def _statement(text: str, start: int, end: int) -> Iterator[Statement]:
    body = text[start:end]
    found = tokens(body)
    if found:
        first = start + found[0].start
        yield Statement(text[first:end].strip(), text.count("\n", 0, first) + 1)


def substitute(text: str, configuration: Mapping[str, str], location: Callable[[int], str]) -> str:
    """``${key}`` -> the configuration's value; an unknown key is an error naming it."""
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in configuration:
            raise SqlPipelineError(location(match.start()), f"${{{key}}} is not in the pipeline configuration "
                                   "(pipeline.yml / conf/<env>.yml configuration, or SET key = value above).")
        return configuration[key]

    return re.sub(r"\$\{([^}]+)\}", replace, text)


# -- query rewriting -----------------------------------------------------------------------------
@dataclass
class FilesRead:
    """A ``read_files`` / ``cloud_files`` call, read through the local Auto Loader."""

    path: str
    options: dict[str, str]
    streaming: bool


_READ_FILES_OPTIONS = {  # read_files option -> Auto Loader option
    "format": "cloudFiles.format", "schemahints": "cloudFiles.schemaHints",
    "infercolumntypes": "cloudFiles.inferColumnTypes", "schemaevolutionmode": "cloudFiles.schemaEvolutionMode",
    "schemalocation": "cloudFiles.schemaLocation", "includeexistingfiles": "cloudFiles.includeExistingFiles",
    "maxfilespertrigger": "cloudFiles.maxFilesPerTrigger", "maxbytespertrigger": "cloudFiles.maxBytesPerTrigger",
    "schema": "cloudFiles.userSchema",
}


class QueryRewriter:
    """Rewrites a query's text from Databricks's pipeline dialect to Spark SQL."""

    def __init__(self, location: str, owner: str) -> None:
        self.location = location
        self.owner = owner  # the dataset or flow the query defines: names its hidden file views
        self.files: list[FilesRead] = []

    def view(self, index: int) -> str:
        return f"{HIDDEN_FILES_VIEW}{self.owner}_{index}"

    def rewrite(self, query: str) -> str:
        """``read_files`` / ``cloud_files`` calls become reads of hidden views (see ``files``);
        ``LIVE.`` prefixes are dropped when the plan is sent, as in ``spark.sql`` text."""
        toks = tokens(query)
        out: list[str] = []
        position, i = 0, 0
        while i < len(toks):
            call = self._files_call(toks, i)
            if call is not None:
                start, end, read = call
                out.append(query[position:toks[start].start])
                self.files.append(read)
                view = self.view(len(self.files))
                out.append(f"STREAM({view})" if read.streaming else view)
                position, i = toks[end].end, end + 1
                continue
            i += 1
        out.append(query[position:])
        return "".join(out)

    def _files_call(self, toks: list[Token], i: int) -> tuple[int, int, FilesRead] | None:
        streaming = toks[i].is_word("STREAM")
        name = i + 1 if streaming else i
        if name >= len(toks) or not toks[name].is_word("READ_FILES", "CLOUD_FILES"):
            return None
        if name + 1 >= len(toks) or toks[name + 1].text != "(" or (not streaming and i > 0 and toks[i - 1].text == "."):
            return None
        close, args = _arguments(toks, name + 1)
        if toks[name].is_word("CLOUD_FILES"):
            read = self._cloud_files(args)
            streaming = True  # cloud_files() is Auto Loader: always a stream
        else:
            read = self._read_files(args)
        read.streaming = streaming
        return i, close, read

    def _literal(self, arg: list[Token]) -> str:
        if len(arg) == 1 and arg[0].kind == "string":
            return unquote(arg[0].text)
        if len(arg) == 1 and arg[0].kind in ("number", "word"):
            return arg[0].text
        raise SqlPipelineError(self.location, "read_files/cloud_files arguments must be literals; got "
                               f"{' '.join(t.text for t in arg)}.")

    def _read_files(self, args: list[list[Token]]) -> FilesRead:
        if not args or (len(args[0]) > 1 and args[0][1].kind == "arrow"):
            raise SqlPipelineError(self.location, "read_files needs the path as its first argument.")
        options: dict[str, str] = {}
        for arg in args[1:]:
            if len(arg) < 3 or arg[1].kind != "arrow":
                raise SqlPipelineError(self.location, "read_files options are named: name => value.")
            key = arg[0].name
            options[_READ_FILES_OPTIONS.get(key.lower()) or autoloader_options.qualified(key)] = \
                self._literal(arg[2:])
        options.setdefault("cloudFiles.format", "")
        options.setdefault("cloudFiles.inferColumnTypes", "true")  # read_files infers types by default
        if not options["cloudFiles.format"]:
            raise SqlPipelineError(self.location, "read_files needs format => '<json|csv|parquet|avro|...>' locally.")
        return FilesRead(self._literal(args[0]), options, False)

    def _cloud_files(self, args: list[list[Token]]) -> FilesRead:
        if len(args) < 2:
            raise SqlPipelineError(self.location, "cloud_files(path, format[, map(...)]) needs a path and a format.")
        options = {"cloudFiles.format": self._literal(args[1])}
        if len(args) > 2:
            entries = args[2]
            if not entries or not entries[0].is_word("MAP") or entries[1].text != "(":
                raise SqlPipelineError(self.location, "cloud_files options are given as map('key', 'value', ...).")
            _, values = _arguments(entries, 1)
            pairs = [self._literal(v) for v in values]
            options.update(zip(pairs[0::2], pairs[1::2], strict=True))
        return FilesRead(self._literal(args[0]), options, True)


def _arguments(toks: list[Token], open_index: int) -> tuple[int, list[list[Token]]]:
    """The index of the matching ``)`` and the comma-separated arguments between."""
    depth = 0
    args: list[list[Token]] = []
    current: list[Token] = []
    for index in range(open_index, len(toks)):
        tok = toks[index]
        if tok.text == "(":
            depth += 1
            if depth == 1:
                continue
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                if current:
                    args.append(current)
                return index, args
        if depth == 1 and tok.text == ",":
            args.append(current)
            current = []
            continue
        current.append(tok)
    raise ValueError("unbalanced parentheses")


# -- registration --------------------------------------------------------------------------------
@dataclass
class _Header:
    """What precedes ``AS`` in a CREATE statement."""

    kind: str  # streaming_table | materialized_view | view
    name: str
    private: bool = False
    columns: str | None = None
    comment: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    partition_cols: list[str] | None = None
    cluster_by: list[str] | None = None
    rules: list[ex.Expectation] = field(default_factory=list)
    query: str | None = None
    cdc_clause: str | None = None  # CREATE ... STREAMING TABLE t FLOW AUTO CDC ...


class _Parser:
    def __init__(self, statement: Statement, path: Path) -> None:
        self.text = statement.text
        self.toks = tokens(statement.text)
        self.pos = 0
        self.where = statement.location(path)

    def fail(self, message: str) -> SqlPipelineError:
        return SqlPipelineError(self.where, message)

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.toks[index] if index < len(self.toks) else None

    def accept(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.is_word(*words):
            self.pos += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            found = self.peek()
            raise self.fail(f"expected {' or '.join(words)}, found {found.text if found else 'the end'}.")

    def punct(self, char: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.text == char:
            self.pos += 1
            return True
        return False

    def identifier(self) -> str:
        parts = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind not in ("word", "ident"):
                raise self.fail("expected a name.")
            parts.append(tok.name)
            self.pos += 1
            if not self.punct("."):
                break
        if len(parts) > 1 and parts[0].upper() == "LIVE":
            parts = parts[1:]
        return ".".join(parts)

    def string(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "string":
            raise self.fail("expected a string literal.")
        self.pos += 1
        return unquote(tok.text)

    def rest(self) -> str:
        tok = self.peek()
        return self.text[tok.start:].strip() if tok is not None else ""

    def group(self) -> tuple[int, int, list[list[Token]]]:
        """A parenthesised list: (start offset of its text, end offset, its arguments)."""
        start = self.pos
        close, args = _arguments(self.toks, start)
        self.pos = close + 1
        return self.toks[start].end, self.toks[close].start, args

    def names(self) -> list[str]:
        _, _, args = self.group()
        return [".".join(t.name for t in arg if t.text != ".") for arg in args]


def _create(parser: _Parser) -> _Header:
    parser.expect("CREATE")
    if parser.accept("OR"):
        parser.expect("REFRESH", "REPLACE")
    private = parser.accept("PRIVATE", "TEMPORARY")
    streaming = parser.accept("STREAMING")
    parser.accept("LIVE")
    if parser.accept("MATERIALIZED"):
        parser.expect("VIEW")
        kind = "materialized_view"
    elif parser.accept("VIEW"):
        kind = "view"
    else:
        parser.expect("TABLE")
        kind = "streaming_table" if streaming else "materialized_view"
    header = _Header(kind, parser.identifier(), private=private and kind != "view")
    if parser.peek() is not None and parser.peek().text == "(":  # type: ignore[union-attr]
        _columns(parser, header)
    _clauses(parser, header)
    return header


def _columns(parser: _Parser, header: _Header) -> None:
    _, _, args = parser.group()
    kept: list[str] = []
    for arg in args:
        if arg and arg[0].is_word("CONSTRAINT"):
            header.rules.append(_constraint(parser, arg))
        elif arg:
            kept.append(parser.text[arg[0].start:arg[-1].end])
    if kept and header.kind != "view":
        header.columns = ", ".join(kept)


def _constraint(parser: _Parser, arg: list[Token]) -> ex.Expectation:
    """``CONSTRAINT name EXPECT (condition) [ON VIOLATION DROP ROW | FAIL UPDATE]``."""
    if len(arg) < 4 or not arg[2].is_word("EXPECT") or arg[3].text != "(":
        raise parser.fail("constraints are written CONSTRAINT name EXPECT (condition) [ON VIOLATION ...].")
    close, _ = _arguments(arg, 3)
    condition = parser.text[arg[3].end:arg[close].start].strip()
    tail = " ".join(t.text.upper() for t in arg[close + 1:])
    actions: dict[str, ex.Action] = {"": "warn", "ON VIOLATION DROP ROW": "drop", "ON VIOLATION FAIL UPDATE": "fail"}
    if tail not in actions:
        raise parser.fail(f"constraint {arg[1].name}: ON VIOLATION takes DROP ROW or FAIL UPDATE, not '{tail}'.")
    return ex.Expectation(arg[1].name, condition, actions[tail])


def _clauses(parser: _Parser, header: _Header) -> None:
    while parser.peek() is not None:
        if parser.accept("AS"):
            header.query = parser.rest()
            return
        if parser.accept("COMMENT"):
            header.comment = parser.string()
        elif parser.accept("TBLPROPERTIES"):
            _, _, args = parser.group()
            for arg in args:
                values = [t for t in arg if t.text != "="]
                header.properties[values[0].name if values[0].kind != "string" else unquote(values[0].text)] = \
                    unquote(values[-1].text) if values[-1].kind == "string" else values[-1].text
        elif parser.accept("PARTITIONED"):
            parser.expect("BY")
            header.partition_cols = parser.names()
        elif parser.accept("CLUSTER"):
            parser.expect("BY")
            if not parser.accept("AUTO", "NONE"):
                header.cluster_by = parser.names()
        elif parser.accept("USING"):
            parser.identifier()
        elif parser.accept("LOCATION"):
            parser.string()
        elif parser.accept("SCHEDULE", "TRIGGER"):
            raise parser.fail("SCHEDULE / TRIGGER ON UPDATE belong to Databricks SQL warehouses, not pipelines.")
        elif parser.accept("WITH"):
            parser.expect("ROW")
            raise parser.fail("row filters (WITH ROW FILTER) are Unity Catalog features; not run locally.")
        elif parser.accept("MASK"):
            raise parser.fail("column masks are Unity Catalog features; not run locally.")
        elif parser.peek() is not None and parser.peek().is_word("FLOW"):  # type: ignore[union-attr]
            header.cdc_clause = parser.rest()
            return
        else:
            tok = parser.peek()
            raise parser.fail(f"unexpected '{tok.text if tok else ''}' in the definition of {header.name}.")


@dataclass
class _Cdc:
    target: str
    source: str
    keys: list[str]
    sequence_by: str
    ignore_null_updates: bool = False
    ignore_null_updates_column_list: list[str] | None = None
    ignore_null_updates_except_column_list: list[str] | None = None
    apply_as_deletes: str | None = None
    apply_as_truncates: str | None = None
    column_list: list[str] | None = None
    except_column_list: list[str] | None = None
    scd_type: int = 1
    track_history_column_list: list[str] | None = None
    track_history_except_column_list: list[str] | None = None
    once: bool = False


def _column_selection(parser: _Parser) -> tuple[list[str] | None, list[str] | None]:
    """``col, col`` or ``* EXCEPT (col, ...)``: (column list, except list)."""
    if parser.punct("*"):
        parser.expect("EXCEPT")
        return None, parser.names()
    columns = [parser.identifier()]
    while parser.punct(","):
        columns.append(parser.identifier())
    return columns, None


def _condition(parser: _Parser, stop: tuple[str, ...]) -> str:
    """An expression up to the next clause keyword at parenthesis depth 0."""
    start_tok = parser.peek()
    if start_tok is None:
        raise parser.fail("expected a condition.")
    depth = 0
    while parser.peek() is not None:
        tok = cast(Token, parser.peek())
        if depth == 0 and tok.is_word(*stop):
            break
        depth += tok.text == "("
        depth -= tok.text == ")"
        parser.pos += 1
    end = parser.toks[parser.pos - 1].end
    return parser.text[start_tok.start:end].strip()


_CDC_CLAUSES = ("KEYS", "IGNORE", "APPLY", "SEQUENCE", "COLUMNS", "STORED", "TRACK", "SYSTEM")


def _cdc(parser: _Parser, target: str) -> _Cdc:
    """``FROM source KEYS (...) [IGNORE NULL UPDATES ...] ... SEQUENCE BY ... [COLUMNS ...]
    [STORED AS SCD TYPE n] [TRACK HISTORY ON ...]`` (APPLY CHANGES INTO / AUTO CDC INTO)."""
    parser.expect("FROM")
    if parser.accept("STREAM"):
        bracketed = parser.punct("(")
        source = parser.identifier()
        if bracketed and not parser.punct(")"):
            raise parser.fail("expected ) after the STREAM source.")
    else:
        source = parser.identifier()
    spec = _Cdc(target, source, [], "")
    while parser.peek() is not None:
        if parser.accept("KEYS"):
            spec.keys = parser.names()
        elif parser.accept("IGNORE"):
            parser.expect("NULL")
            parser.expect("UPDATES")
            spec.ignore_null_updates = True
            if parser.accept("ON"):
                spec.ignore_null_updates_column_list, spec.ignore_null_updates_except_column_list = \
                    _column_selection(parser)
                spec.ignore_null_updates = False
        elif parser.accept("APPLY"):
            parser.expect("AS")
            truncate = parser.accept("TRUNCATE")
            if not truncate:
                parser.expect("DELETE")
            parser.expect("WHEN")
            condition = _condition(parser, _CDC_CLAUSES)
            if truncate:
                spec.apply_as_truncates = condition
            else:
                spec.apply_as_deletes = condition
        elif parser.accept("SEQUENCE"):
            parser.expect("BY")
            spec.sequence_by = _condition(parser, _CDC_CLAUSES)
        elif parser.accept("COLUMNS"):
            spec.column_list, spec.except_column_list = _column_selection(parser)
        elif parser.accept("STORED"):
            parser.expect("AS")
            parser.expect("SCD")
            parser.expect("TYPE")
            tok = parser.peek()
            if tok is None or tok.text not in ("1", "2"):
                raise parser.fail("STORED AS SCD TYPE takes 1 or 2.")
            spec.scd_type = int(tok.text)
            parser.pos += 1
        elif parser.accept("TRACK"):
            parser.expect("HISTORY")
            parser.expect("ON")
            spec.track_history_column_list, spec.track_history_except_column_list = _column_selection(parser)
        elif parser.accept("SYSTEM"):
            raise parser.fail("SYSTEM SEQUENCE BY is not supported locally; order by SEQUENCE BY only.")
        else:
            tok = parser.peek()
            raise parser.fail(f"unexpected '{tok.text if tok else ''}' in the AUTO CDC clause.")
    if not spec.keys or not spec.sequence_by:
        raise parser.fail("AUTO CDC needs KEYS (...) and SEQUENCE BY.")
    return spec


class SqlFile:
    """One SQL file's statements, registered with the pipeline's registry."""

    def __init__(self, registry: LocalGraphRegistry, path: Path, configuration: Mapping[str, str]) -> None:
        self.registry = registry
        self.path = path
        self.configuration = dict(configuration)
        self.spark: SparkSession = registry._spark

    def location(self, line: int) -> SourceCodeLocation:
        return SourceCodeLocation(filename=str(self.path), line_number=line)

    def register(self) -> None:
        text = notebooks.sql_source(self.path.read_text(encoding="utf-8"))
        for statement in statements(text):
            if re.match(r"(?is)\s*SET\s", statement.text):
                self._set(statement)
                continue
            where = statement.location(self.path)
            statement.text = substitute(statement.text, self.configuration, _fixed(where))
            try:
                self._statement(statement)
            except SqlPipelineError:
                raise
            except ValueError as exc:
                raise SqlPipelineError(where, str(exc)) from exc

    def _set(self, statement: Statement) -> None:
        match = re.match(r"(?is)\s*SET\s+([\w.`]+)\s*=\s*(.*?)\s*$", statement.text)
        if match is None:
            raise SqlPipelineError(statement.location(self.path), "SET takes key = value.")
        value = substitute(match.group(2), self.configuration, lambda _: statement.location(self.path))
        self.configuration[match.group(1).strip("`")] = value.strip("'\"")

    def _statement(self, statement: Statement) -> None:
        parser = _Parser(statement, self.path)
        first, second = parser.peek(), parser.peek(1)
        if first is not None and first.is_word("APPLY"):
            parser.expect("APPLY")
            parser.expect("CHANGES")
            parser.expect("INTO")
            target = parser.identifier()
            self._register_cdc(_cdc(parser, target), target, statement.line)
        elif first is not None and first.is_word("CREATE") and second is not None and second.is_word("FLOW"):
            self._flow(parser, statement)
        elif first is not None and first.is_word("CREATE"):
            self._dataset(_create(parser), statement)
        elif first is not None and first.is_word("USE"):
            raise parser.fail("USE CATALOG/SCHEMA is not allowed in pipeline SQL: the pipeline's catalog and "
                              "schema come from its settings.")
        else:
            raise parser.fail("a pipeline SQL file holds CREATE ... TABLE / MATERIALIZED VIEW / VIEW / FLOW, "
                              f"APPLY CHANGES INTO and SET statements; found '{statement.text[:40]}...'.")

    def _flow(self, parser: _Parser, statement: Statement) -> None:
        parser.expect("CREATE")
        parser.expect("FLOW")
        name = parser.identifier()
        if parser.accept("COMMENT"):
            parser.string()
        parser.expect("AS")
        if parser.accept("AUTO"):
            parser.expect("CDC")
            parser.expect("INTO")
            target = parser.identifier()
            self._register_cdc(_cdc(parser, target), name, statement.line)
            return
        parser.expect("INSERT")
        parser.expect("INTO")
        once = parser.accept("ONCE")
        target = parser.identifier()
        if parser.accept("BY"):
            parser.expect("NAME")
        query = parser.rest()
        self.registry.register_flow(Flow(name=name, target=target, spark_conf={},
                                         source_code_location=self.location(statement.line),
                                         func=self._query_function(name, query, parser.where, [])[0]))
        if once:
            self.registry.mark_once(name)

    def _dataset(self, header: _Header, statement: Statement) -> None:
        where = statement.location(self.path)
        location = self.location(statement.line)
        if header.kind == "view":
            if header.query is None:
                raise SqlPipelineError(where, f"view {header.name} needs AS <query>.")
            self.registry.register_output(TemporaryView(name=header.name, comment=header.comment,
                                                        source_code_location=location))
        else:
            output_type = StreamingTable if header.kind == "streaming_table" else MaterializedView
            self.registry.register_output(output_type(
                name=header.name, comment=header.comment, source_code_location=location,
                table_properties=header.properties, partition_cols=header.partition_cols,
                cluster_by=header.cluster_by, schema=header.columns, format=None))
            if header.private:
                self.registry.mark_private(header.name)
        if header.cdc_clause is not None:
            flow = _Parser(Statement(header.cdc_clause, statement.line), self.path)
            flow.expect("FLOW")
            flow.expect("AUTO")
            flow.expect("CDC")
            self._register_cdc(_cdc(flow, header.name), header.name, statement.line)
            return
        if header.query is None:
            if header.rules:
                self.registry.add_table_expectations(header.name, header.rules)
            return
        function, streaming = self._query_function(header.name, header.query, where, header.rules)
        if header.kind == "streaming_table" and not streaming:
            raise SqlPipelineError(where, f"streaming table {header.name} reads no stream: use STREAM(table), "
                                   "STREAM read_files(...) or cloud_files(...), or CREATE MATERIALIZED VIEW.")
        self.registry.register_flow(Flow(name=header.name, target=header.name, spark_conf={},
                                         source_code_location=location, func=function))

    def _query_function(self, owner: str, query: str, where: str,
                        rules: list[ex.Expectation]) -> tuple[Callable[[], DataFrame], bool]:
        """The query as a query function, and whether it reads a stream (``STREAM`` or Auto
        Loader's ``cloud_files``)."""
        rewriter = QueryRewriter(where, owner)
        text = rewriter.rewrite(query)
        for index, read in enumerate(rewriter.files, start=1):
            self._files_view(rewriter.view(index), read, where)
        spark = self.spark

        def query_function() -> DataFrame:
            return cast(DataFrame, ConnectDataFrame(SqlPlan(text), cast(Any, spark)))

        return (ex.attach(query_function, rules) if rules else query_function), reads_stream(text)

    def _files_view(self, name: str, read: FilesRead, where: str) -> None:
        spark, line = self.spark, int(where.rsplit(":", 1)[1])
        options = {k: v for k, v in read.options.items() if k != "cloudFiles.userSchema"}
        schema = read.options.get("cloudFiles.userSchema")

        def files() -> DataFrame:
            reader: Any = (spark.readStream if read.streaming else spark.read).format("cloudFiles").options(**options)
            if schema:
                reader = reader.schema(schema)
            return cast(DataFrame, reader.load(read.path))

        self.registry.register_output(TemporaryView(name=name, comment=f"Files under {read.path}",
                                                    source_code_location=self.location(line)))
        self.registry.register_flow(Flow(name=name, target=name, spark_conf={},
                                         source_code_location=self.location(line), func=files))

    def _register_cdc(self, spec: _Cdc, name: str, line: int) -> None:
        self.registry.register_cdc(cdc.CdcSpec(
            target=spec.target, source=spec.source, keys=spec.keys, sequence_by=F.expr(spec.sequence_by),
            apply_as_deletes=F.expr(spec.apply_as_deletes) if spec.apply_as_deletes else None,
            apply_as_truncates=F.expr(spec.apply_as_truncates) if spec.apply_as_truncates else None,
            column_list=spec.column_list, except_column_list=spec.except_column_list, scd_type=spec.scd_type,
            track_history_column_list=spec.track_history_column_list,
            track_history_except_column_list=spec.track_history_except_column_list,
            ignore_null_updates=spec.ignore_null_updates,
            ignore_null_updates_column_list=spec.ignore_null_updates_column_list,
            ignore_null_updates_except_column_list=spec.ignore_null_updates_except_column_list,
        ), name, self.location(line), once=spec.once)


def _fixed(where: str) -> Callable[[int], str]:
    return lambda _: where


def register_sql_file(registry: LocalGraphRegistry, path: Path, configuration: Mapping[str, str]) -> None:
    SqlFile(registry, path, configuration).register()
