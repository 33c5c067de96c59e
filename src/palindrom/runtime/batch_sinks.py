"""Flows into ``foreach_batch_sink``s, run after the graph's flows of an update.

Open-source SDP has no foreachBatch sink. Each such flow's query reads datasets the update has just
written, so once the graph's flows are done it runs as an ordinary stream with ``foreachBatch`` and
``Trigger.AvailableNow``, its checkpoint under the pipeline's storage: each micro-batch reaches the
handler once (batch ids restart at 0 after a full refresh, as on Databricks).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, cast

import pyspark.sql.connect.proto as pb2
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame
from pyspark.sql.connect.plan import CachedRelation

from palindrom.runtime.graph import BatchSinkFlow


def run(spark: SparkSession, flow: BatchSinkFlow, checkpoints: Path, full_refresh: bool) -> int:
    """Run the flow to the end of its input; returns the rows handed to the sink."""
    checkpoint = checkpoints / "foreach_batch" / flow.name
    if full_refresh:
        shutil.rmtree(checkpoint, ignore_errors=True)
    relation = pb2.Relation()
    relation.ParseFromString(flow.relation)
    frame = cast(DataFrame, ConnectDataFrame(CachedRelation(relation), cast(Any, spark)))
    query = (frame.writeStream.queryName(f"{flow.name}").foreachBatch(flow.handler)
             .option("checkpointLocation", checkpoint.as_uri()).trigger(availableNow=True).start())
    query.awaitTermination()
    if query.exception() is not None:
        raise PySparkException(str(query.exception()))
    counts = (p.get("numInputRows") if isinstance(p, dict) else p.numInputRows for p in query.recentProgress)
    return sum(int(n or 0) for n in counts)
