"""``mapInArrow`` that also works inside a pipeline query function on Spark Connect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import types as T


def map_in_arrow(frame: DataFrame, func: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
                 output: T.StructType, input_schema: T.StructType | None) -> DataFrame:
    """Spark Connect's mapInArrow asks the server for the input's column names, an analysis that
    pipeline query functions refuse (ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION). When the caller
    knows the input's columns, they are given to the DataFrame as its schema so nothing is asked."""
    connect: Any = frame
    if input_schema is not None and getattr(connect, "_cached_schema", "absent") is None:
        connect._cached_schema = input_schema
    return frame.mapInArrow(func, output)
