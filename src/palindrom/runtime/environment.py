"""What pipeline code finds around it on Databricks, provided locally while a pipeline loads.

* ``from databricks.sdk.runtime import spark, dbutils`` gives the local session and a local
  ``dbutils``: ``widgets.get`` reads the pipeline configuration, ``secrets.get`` an environment
  variable, ``fs`` the local file system. No Databricks credentials are needed or read.
* The pipeline's root folder is on ``sys.path``, so ``from utilities import helpers`` works as on
  Databricks; modules imported from it are shipped to Spark's Python workers by value (their UDFs
  run without that folder on the workers' path).
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import os
import re
import shutil
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pyspark import cloudpickle
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.connect.catalog import Catalog as ConnectCatalog

SECRET_ENV = "PALINDROM_SECRET_{scope}__{key}"  # noqa: S105  # pragma: allowlist secret (a variable name pattern)


class WidgetNotDefined(KeyError):
    pass


class SecretNotFound(KeyError):
    pass


def secret_variable(scope: str, key: str) -> str:
    """The environment variable a local run reads ``dbutils.secrets.get(scope, key)`` from."""
    def clean(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9]", "_", text).upper()

    return SECRET_ENV.format(scope=clean(scope), key=clean(key))


class _Widgets:
    """Notebook widgets; in a pipeline their values are the pipeline configuration."""

    def __init__(self, configuration: Mapping[str, str]) -> None:
        self._values = dict(configuration)
        self._defaults: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name in self._values:
            return self._values[name]
        if name in self._defaults:
            return self._defaults[name]
        raise WidgetNotDefined(f"dbutils.widgets.get('{name}'): no pipeline configuration key '{name}'. Add it "
                               "to the pipeline's configuration (pipeline.yml or conf/<env>.yml).")

    def getArgument(self, name: str, default: str | None = None) -> str | None:
        try:
            return self.get(name)
        except WidgetNotDefined:
            return default

    def getAll(self) -> dict[str, str]:
        return {**self._defaults, **self._values}

    def _define(self, name: str, default: str, *_: Any, **__: Any) -> None:
        self._defaults[name] = default

    text = dropdown = combobox = multiselect = _define

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:
        self._defaults.clear()


@dataclass(frozen=True)
class SecretMetadata:
    key: str


class _Secrets:
    def get(self, scope: str, key: str) -> str:
        variable = secret_variable(scope, key)
        value = os.environ.get(variable)
        if value is None:
            raise SecretNotFound(f"dbutils.secrets.get('{scope}', '{key}'): set the environment variable "
                                 f"{variable} for local runs (never commit it).")
        return value

    def getBytes(self, scope: str, key: str) -> bytes:
        return self.get(scope, key).encode()

    def list(self, scope: str) -> builtins.list[SecretMetadata]:
        prefix = secret_variable(scope, "")
        return [SecretMetadata(name.removeprefix(prefix).lower()) for name in os.environ if name.startswith(prefix)]


@dataclass(frozen=True)
class FileInfo:
    path: str
    name: str
    size: int
    modificationTime: int


class _Fs:
    """``dbutils.fs`` over local paths (``file:``, ``dbfs:`` and plain paths are the local disk)."""

    @staticmethod
    def _path(path: str) -> Path:
        return Path(re.sub(r"^(file:|dbfs:)", "", path))

    def ls(self, path: str) -> list[FileInfo]:
        root = self._path(path)
        entries = sorted(root.iterdir()) if root.is_dir() else [root]
        return [FileInfo(e.as_uri() + ("/" if e.is_dir() else ""), e.name + ("/" if e.is_dir() else ""),
                         e.stat().st_size if e.is_file() else 0, int(e.stat().st_mtime * 1000)) for e in entries]

    def mkdirs(self, path: str) -> bool:
        self._path(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        target = self._path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(contents)
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:
        with self._path(path).open("rb") as handle:
            return handle.read(maxBytes).decode("utf-8", errors="replace")

    def rm(self, path: str, recurse: bool = False) -> bool:
        target = self._path(path)
        if target.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{path} is a directory; pass recurse=True")
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        return True

    def cp(self, source: str, destination: str, recurse: bool = False) -> bool:
        src, dst = self._path(source), self._path(destination)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        return True

    def mv(self, source: str, destination: str, recurse: bool = False) -> bool:
        shutil.move(str(self._path(source)), str(self._path(destination)))
        return True


class LocalDbUtils:
    def __init__(self, configuration: Mapping[str, str]) -> None:
        self.widgets = _Widgets(configuration)
        self.secrets = _Secrets()
        self.fs = _Fs()


def _display(*objects: Any, **_: Any) -> None:
    for obj in objects:
        if isinstance(obj, DataFrame):
            obj.show(20, truncate=False)
        else:
            print(obj)


@contextlib.contextmanager
def databricks_runtime(spark: SparkSession, configuration: Mapping[str, str]) -> Iterator[LocalDbUtils]:
    """``databricks.sdk.runtime`` (and its ``globals``) with the local session and dbutils."""
    dbutils = LocalDbUtils(configuration)
    names: dict[str, Any] = {"spark": spark, "dbutils": dbutils, "display": _display, "displayHTML": print,
                             "getArgument": dbutils.widgets.getArgument, "table": spark.table, "sql": spark.sql}
    runtime = types.ModuleType("databricks.sdk.runtime")
    runtime.__dict__.update(names, __all__=sorted(names))
    runtime_globals = types.ModuleType("databricks.sdk.runtime.globals")
    runtime_globals.__dict__.update(names)
    runtime.__dict__["globals"] = runtime_globals
    saved = {name: sys.modules.get(name) for name in ("databricks.sdk.runtime", "databricks.sdk.runtime.globals")}
    sys.modules["databricks.sdk.runtime"] = runtime
    sys.modules["databricks.sdk.runtime.globals"] = runtime_globals
    try:
        yield dbutils
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class PipelineRoot:
    """The pipeline's root folder first on ``sys.path`` while it loads (Databricks puts it there).

    Modules imported from it are shipped to Spark's Python workers by value (``ship``, before the
    flows' plans are built), and forgotten afterwards, so another pipeline with its own
    ``utilities`` module gets its own.
    """

    def __init__(self, root: Path) -> None:
        self.folder = str(root.resolve())
        self._before: set[str] = set()
        self._path: list[str] = []

    def _own_modules(self) -> list[types.ModuleType]:
        """Modules the pipeline's code imported while it loaded: from its root, or from a folder it
        put on ``sys.path`` itself (``sys.path.append(spark.conf.get("bundle.sourcePath"))``)."""
        found = []
        for name in set(sys.modules) - self._before:
            module = sys.modules.get(name)
            location = _location(module)
            if module is None or location is None or name.split(".")[0] == "palindrom":
                continue
            if location.startswith(self.folder + os.sep) or not location.startswith(_INSTALLED):
                found.append(module)
        return found

    def __enter__(self) -> PipelineRoot:
        self._before = set(sys.modules)
        self._path = list(sys.path)
        sys.path.insert(0, self.folder)
        return self

    def ship(self) -> None:
        for module in self._own_modules():
            if getattr(module, "__file__", None):  # a namespace package has no code of its own to ship
                cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]

    def __exit__(self, *_: object) -> None:
        for module in self._own_modules():
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)  # type: ignore[no-untyped-call]
            sys.modules.pop(module.__name__, None)
            # inspect caches each module name's file: a later pipeline's namespace package of the
            # same name (no file) would otherwise fail inspect.stack() with "is a built-in module".
            _INSPECT_FILES.pop(module.__name__, None)
        sys.path[:] = self._path  # what the pipeline's code added goes too


_INSPECT_FILES: dict[str, object] = getattr(inspect, "_filesbymodname", {})


def _location(module: types.ModuleType | None) -> str | None:
    """Where a module was loaded from: its file, or for a namespace package (a folder without
    ``__init__.py``, such as a bundle's ``utilities/``) its first folder; None for built-ins."""
    file = getattr(module, "__file__", None)
    if file:
        return os.path.realpath(str(file))
    folders = list(getattr(module, "__path__", None) or [])
    return os.path.realpath(str(folders[0])) + os.sep if folders else None


# Where installed packages live (the interpreter's prefixes): modules from anywhere else that a
# pipeline's code imports while it loads are the pipeline's own.
_INSTALLED = tuple(sorted({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}))


@contextlib.contextmanager
def catalog_switches_refused() -> Iterator[None]:
    """While a pipeline file loads. Databricks runs a pipeline's Python files in the update's own
    session: at load time they may register UDFs, create temporary views (e.g. a calendar that a
    dataset's SQL reads) and set session configuration, so those stay allowed here (each update
    has a session of its own, ``palindrom.runtime.server.update_session``). Switching the current
    catalog or schema is refused: the pipeline's settings choose where its datasets go."""
    def refused(method: str) -> Callable[..., NoReturn]:
        def blocked(*_: object, **__: object) -> NoReturn:
            raise PySparkException(errorClass="SESSION_MUTATION_IN_DECLARATIVE_PIPELINE.SET_CURRENT_CATALOG"
                                   if method == "setCurrentCatalog" else
                                   "SESSION_MUTATION_IN_DECLARATIVE_PIPELINE.SET_CURRENT_DATABASE",
                                   messageParameters={"method": f"Catalog.{method}"})
        return blocked

    saved = {name: getattr(ConnectCatalog, name) for name in ("setCurrentCatalog", "setCurrentDatabase")}
    for name in saved:
        setattr(ConnectCatalog, name, refused(name))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(ConnectCatalog, name, method)
