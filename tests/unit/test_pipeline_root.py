"""Two pipelines loaded one after the other in one process (the test suite, a warm server) each get
their own `utilities` modules: a regular package, a namespace package (a folder without
`__init__.py`, as bundle templates ship), and what the code put on `sys.path` itself."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from palindrom.runtime.environment import PipelineRoot


def _pipeline(root: Path, helper: str, value: str, package: bool) -> Path:
    folder = root / "utilities"
    folder.mkdir(parents=True)
    if package:
        (folder / "__init__.py").write_text("")
    (folder / f"{helper}.py").write_text(f"VALUE = {value!r}\n")
    return root


@pytest.mark.parametrize("package", [True, False], ids=["package", "namespace_package"])
def test_each_pipeline_gets_its_own_utilities(tmp_path: Path, package: bool) -> None:
    first = _pipeline(tmp_path / "first", "cleaning", "first", package)
    second = _pipeline(tmp_path / "second", "utils", "second", package)
    with PipelineRoot(first):
        assert importlib.import_module("utilities.cleaning").VALUE == "first"
    assert "utilities" not in sys.modules and "utilities.cleaning" not in sys.modules
    with PipelineRoot(second):
        assert importlib.import_module("utilities.utils").VALUE == "second"
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("utilities.cleaning")
    with PipelineRoot(first):
        assert importlib.import_module("utilities.cleaning").VALUE == "first"
    assert str(first.resolve()) not in sys.path


def test_folders_the_code_added_to_sys_path_are_forgotten(tmp_path: Path) -> None:
    shared = _pipeline(tmp_path / "shared", "helpers", "shared", package=False)
    with PipelineRoot(tmp_path / "first"):
        sys.path.append(str(shared))
        assert importlib.import_module("utilities.helpers").VALUE == "shared"
    assert str(shared) not in sys.path and "utilities.helpers" not in sys.modules
