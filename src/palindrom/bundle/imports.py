"""What a pipeline's files import: followed through this package's modules, statically (every import
statement, also inside functions and ``try`` blocks), without running the code."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "palindrom"


@dataclass
class Closure:
    files: set[Path] = field(default_factory=set)  # the pipeline files and every package module they reach
    external: dict[str, set[Path]] = field(default_factory=dict)  # imported module -> files importing it


def _module_file(src: Path, module: str) -> Path | None:
    base = src.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def closure(files: Iterable[Path], src: Path) -> Closure:
    """Follow ``palindrom`` imports from ``files`` into ``src``; collect every other non-stdlib import."""
    result = Closure()
    todo = list(files)
    while todo:
        file = todo.pop()
        if file in result.files:
            continue
        result.files.add(file)
        for name in _imported(ast.parse(file.read_text(), filename=str(file))):
            top = name.split(".")[0]
            if top == PACKAGE:
                parts = name.split(".")
                # the module itself (when `from m import name` names a module) and every parent package
                todo.extend(f for i in range(1, len(parts) + 1)
                            if (f := _module_file(src, ".".join(parts[:i]))) is not None)
            elif top not in sys.stdlib_module_names and top != "__future__":
                result.external.setdefault(name, set()).add(file)
    return result
