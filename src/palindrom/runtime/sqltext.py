"""Spark SQL text as tokens: enough to find statements, names and clauses without a parser."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# -- lexing --------------------------------------------------------------------------------------
TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>'{3}.*?'{3}|"{3}.*?"{3}|'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<ident>`(?:[^`]|``)*`)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<arrow>=>)
  | (?P<punct>.)
""", re.X | re.S)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    @property
    def name(self) -> str:
        return self.text[1:-1].replace("``", "`") if self.kind == "ident" else self.text


def tokens(text: str) -> list[Token]:
    return [Token(m.lastgroup or "punct", m.group(), m.start()) for m in TOKEN.finditer(text)
            if m.lastgroup not in ("ws", "comment")]


_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def unquote(literal: str) -> str:
    """A string literal's value as Spark SQL reads it: triple quotes hold text as written; in
    single or double quotes a doubled quote is one quote and ``\\n``, ``\\t``, ``\\uXXXX`` ... are
    escapes (``\\%`` and ``\\_`` keep their backslash, as in Spark's ``unescapeSQLString``)."""
    if literal[:3] in ("'''", '"""') and literal.endswith(literal[:3]) and len(literal) >= 6:
        return literal[3:-3]
    body = literal[1:-1].replace(literal[0] * 2, literal[0])

    def escape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u"):
            return chr(int(code[1:], 16))
        if code in ("%", "_"):
            return "\\" + code
        return _ESCAPES.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", escape, body, flags=re.S)


def split_identifier(identifier: str) -> list[str]:
    """``a.`b.c`.d`` -> ``[a, `b.c`, d]``: dots inside backticks do not split."""
    parts, current, quoted = [], "", False
    for char in identifier:
        if char == "`":
            quoted = not quoted
        if char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def reads_stream(query: str) -> bool:
    """A query reading any source with ``STREAM`` is a streaming query."""
    return any(t.is_word("STREAM") for t in tokens(query))


def table_references(query: str) -> list[str]:
    """Names read after FROM, JOIN or STREAM( (dotted, backticks removed), in order."""
    return [name for _, _, name in _table_spans(query)]


def map_table_references(query: str, local: Callable[[str], str | None]) -> str:
    """The query with each table name it reads replaced by ``local(name)`` (the name with each
    part in backticks), where that is not None."""
    out, position = [], 0
    for start, end, _ in _table_spans(query):
        quoted = query[start:end]
        mapped = local(quoted)
        if mapped is not None:
            out.append(query[position:start])
            out.append(mapped)
            position = end
    out.append(query[position:])
    return "".join(out)


def _table_spans(query: str) -> list[tuple[int, int, str]]:
    """(start, end, dotted name) of each name read after FROM, JOIN or STREAM(."""
    toks, found = tokens(query), []
    for index, tok in enumerate(toks):
        if not (tok.is_word("FROM", "JOIN", "STREAM") or (tok.text == "," and _in_from(toks, index))):
            continue
        position = index + 1
        if position < len(toks) and toks[position].text == "(" and tok.is_word("STREAM"):
            position += 1
        first = position
        parts: list[str] = []
        while position < len(toks) and toks[position].kind in ("word", "ident"):
            parts.append(toks[position].name)
            if position + 2 < len(toks) and toks[position + 1].text == "." \
                    and toks[position + 2].kind in ("word", "ident"):
                position += 2
            else:
                break
        if parts and parts[0].upper() not in _NOT_TABLES and not _is_call(toks, position):
            found.append((toks[first].start, toks[position].end, ".".join(parts)))
    return found


def _is_call(toks: list[Token], last: int) -> bool:
    """The name ends in ``(``: a table-valued function, not a table."""
    return last + 1 < len(toks) and toks[last + 1].text == "("


_NOT_TABLES = {"SELECT", "STREAM", "VALUES", "LATERAL", "READ_FILES", "CLOUD_FILES"}


def _in_from(toks: list[Token], index: int) -> bool:
    """A comma in a FROM list (table, table) rather than in a select list or a call."""
    depth = 0
    for tok in reversed(toks[:index]):
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and tok.is_word("FROM", "JOIN"):
            return True
        elif depth == 0 and tok.is_word("SELECT", "WHERE", "GROUP", "ORDER", "HAVING", "ON"):
            return False
    return False


def without_stream(query: str) -> str:
    """The query with ``STREAM(x)`` / ``STREAM x`` read as ``x`` (for analysing its schema only)."""
    toks, out, position = tokens(query), [], 0
    index = 0
    while index < len(toks):
        tok = toks[index]
        if tok.is_word("STREAM") and index + 1 < len(toks):
            nxt = toks[index + 1]
            if nxt.text == "(":
                close = index + 2
                while close < len(toks) and toks[close].text != ")":
                    close += 1
                out.append(query[position:tok.start])
                out.append(query[toks[index + 2].start:toks[close - 1].end] if close > index + 2 else "")
                position, index = (toks[close].end if close < len(toks) else len(query)), close + 1
                continue
            out.append(query[position:tok.start])
            position = nxt.start
        index += 1
    out.append(query[position:])
    return "".join(out)


def without_live(query: str) -> str:
    """The query with Databricks's ``LIVE.`` prefix dropped from names (``LIVE.t`` -> ``t``)."""
    toks, out, position = tokens(query), [], 0
    for index, tok in enumerate(toks[:-2]):
        if tok.is_word("LIVE") and toks[index + 1].text == "." and toks[index + 2].kind in ("word", "ident") \
                and (index == 0 or toks[index - 1].text != "."):
            out.append(query[position:tok.start])
            position = toks[index + 1].end
    out.append(query[position:])
    return "".join(out)


_FILE_FORMATS = ("JSON", "CSV", "PARQUET", "TEXT", "AVRO", "ORC", "BINARYFILE")


def map_file_paths(query: str, local: Callable[[str], str]) -> str:
    """Paths of ``json.`/path``` style file queries mapped with ``local``."""
    toks, out, position = tokens(query), [], 0
    for index, tok in enumerate(toks[:-2]):
        if tok.is_word(*_FILE_FORMATS) and toks[index + 1].text == "." and toks[index + 2].kind == "ident":
            path = toks[index + 2].name
            mapped = local(path)
            if mapped != path:
                out.append(query[position:toks[index + 2].start])
                out.append("`" + mapped.replace("`", "``") + "`")
                position = toks[index + 2].end
    out.append(query[position:])
    return "".join(out)
