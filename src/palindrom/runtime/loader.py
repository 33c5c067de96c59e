"""Load pipeline source files into a graph registry, as Databricks does, with errors that point at
the user's file and line."""

from __future__ import annotations

import importlib.util
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context
from pyspark.pipelines.graph_element_registry import graph_element_registration_context
from pyspark.pipelines.source_code_location import get_caller_source_code_location
from pyspark.sql import SparkSession
from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame

from palindrom.runtime import dlt_module, environment, notebooks
from palindrom.runtime.graph import GraphInfo, LocalGraphRegistry
from palindrom.runtime.sql import SqlPipelineError, register_sql_file


class PipelineCodeError(Exception):
    """An exception raised by pipeline code, located in the user's file."""

    def __init__(self, location: str, cause: BaseException) -> None:
        self.location = location
        self.cause = cause
        super().__init__(f"{location}: {type(cause).__name__}: {cause}")


def user_location(exc: BaseException, files: list[Path]) -> str:
    """The innermost traceback frame that lies in one of the pipeline's files."""
    if isinstance(exc, SqlPipelineError):
        return exc.location
    names = {str(f.resolve()) for f in files}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in names]
    if not frames:
        return "pipeline definition"
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno}"


def load(spark: SparkSession, registry: LocalGraphRegistry, files: list[Path], graph_id: str, root: Path,
         configuration: Mapping[str, str]) -> GraphInfo:
    with environment.PipelineRoot(root) as pipeline_root, graph_element_registration_context(registry), \
            dlt_module.installed(spark), environment.databricks_runtime(spark, configuration):
        for path in files:
            try:
                if path.suffix == ".sql":
                    register_sql_file(registry, path, configuration)
                else:
                    _exec_python(spark, registry, path, graph_id)
            except Exception as exc:
                raise PipelineCodeError(user_location(exc, files), exc) from exc
        pipeline_root.ship()
        try:
            return registry.flush()
        except Exception as exc:
            raise PipelineCodeError(user_location(exc, files), exc) from exc


def _exec_python(spark: SparkSession, registry: LocalGraphRegistry, path: Path, graph_id: str) -> None:
    """Run one Python file (or a Databricks notebook exported as a .py source) as Databricks would."""
    module_spec = importlib.util.spec_from_file_location(path.stem, str(path))
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{path}: cannot load this file as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    module.__dict__["spark"] = spark
    source = path.read_text(encoding="utf-8")
    with add_pipeline_analysis_context(spark=spark, dataflow_graph_id=graph_id, flow_name=None), \
            environment.catalog_switches_refused(), _session_views_in_graph(registry):
        if notebooks.is_notebook(source):
            exec(compile(notebooks.python_source(source), str(path), "exec"), module.__dict__)  # noqa: S102
        else:
            module_spec.loader.exec_module(module)


@contextmanager
def _session_views_in_graph(registry: LocalGraphRegistry) -> Iterator[None]:
    """Temporary views created while a file loads are created in the session and join the graph
    (:meth:`LocalGraphRegistry.register_session_view`)."""
    saved = {name: getattr(ConnectDataFrame, name) for name in ("createTempView", "createOrReplaceTempView")}

    def wrapped(name: str) -> Callable[[ConnectDataFrame, str], None]:
        def create(frame: ConnectDataFrame, view: str) -> None:
            saved[name](frame, view)
            registry.register_session_view(view, frame, get_caller_source_code_location(stacklevel=1))
        return create

    for name in saved:
        setattr(ConnectDataFrame, name, wrapped(name))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(ConnectDataFrame, name, method)
