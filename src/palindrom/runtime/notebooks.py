"""Databricks notebooks exported as source files, as pipeline source files.

A notebook's source format starts with ``# Databricks notebook source`` (Python) or ``--
Databricks notebook source`` (SQL) and separates cells with ``COMMAND ----------`` lines. Cells
written in another language or as markdown are ``# MAGIC`` lines, which a pipeline ignores, as
Databricks does (``%pip`` cells install libraries there; locally the project's environment has
them, and a missing one fails at its import with the module's name).
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"\A\s*(#|--) Databricks notebook source\s*$", re.M)
_MAGIC = re.compile(r"^\s*(#|--) MAGIC\b.*$", re.M)


def is_notebook(source: str) -> bool:
    return _HEADER.match(source) is not None


def python_source(source: str) -> str:
    """The notebook's Python, line numbers kept (magic lines become comments)."""
    return _MAGIC.sub(lambda m: "# (notebook magic line, ignored in a pipeline)", source)


_CELL = re.compile(r"^\s*--\s*COMMAND -{5,}\s*$", re.M)


def sql_source(source: str) -> str:
    """The notebook's SQL, line numbers kept; a cell boundary ends a statement, as in a notebook."""
    if not is_notebook(source):
        return source
    return _CELL.sub(";", _MAGIC.sub(lambda m: "-- (notebook magic line, ignored in a pipeline)", source))
