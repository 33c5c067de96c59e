"""What a Spark Connect plan reads from outside the catalog, and the source keys mocks match, read
from hand-built protobuf plans (no server)."""

from __future__ import annotations

import pyspark.sql.connect.proto as pb2

from palindrom.runtime import plan
from palindrom.runtime.source_mocks import keys_of, mock_key


def _source(fmt: str, paths: list[str], options: dict[str, str], streaming: bool = True) -> pb2.Relation:
    relation = pb2.Relation()
    relation.read.is_streaming = streaming
    relation.read.data_source.format = fmt
    relation.read.data_source.paths.extend(paths)
    relation.read.data_source.options.update(options)
    return relation


def _table(name: str) -> pb2.Relation:
    relation = pb2.Relation()
    relation.read.named_table.unparsed_identifier = name
    return relation


def _join(left: pb2.Relation, right: pb2.Relation) -> pb2.Relation:
    relation = pb2.Relation()
    relation.join.left.CopyFrom(left)
    relation.join.right.CopyFrom(right)
    return relation


def test_external_sources_name_each_file_and_stream_once() -> None:
    files = _source("cloudFiles", ["/Volumes/raw/orders"], {"cloudFiles.format": "json"})
    kafka = _source("kafka", [], {"kafka.bootstrap.servers": "b:9092", "SUBSCRIBE": "app-events"})
    both = _join(_join(files, kafka), _join(_source("parquet", [], {"path": "/data/ref"}, streaming=False), files))
    assert plan.external_sources(both) == [
        "Auto Loader (json): /Volumes/raw/orders", "kafka: app-events", "parquet: /data/ref"]
    assert plan.external_sources(_table("main.sales.orders")) == []  # tables are the graph's inputs


def test_source_keys_match_as_spark_resolves_names() -> None:
    assert keys_of(_table("`Main`.sales.`ORDERS`").read) == ["main.sales.orders"]
    assert mock_key("main.Sales.orders") == "main.sales.orders"
    assert keys_of(_source("kafka", [], {"subscribe": "a, b"}).read) == ["kafka:a", "kafka:b"]
    assert mock_key("kafka:App") == "kafka:App"  # topics are case-sensitive
    assert keys_of(_source("cloudFiles", ["/x"], {}).read) == []


def test_replace_read_nodes_keeps_the_plan_id() -> None:
    relation = _join(_table("main.ref.countries"), _table("orders"))
    relation.join.left.common.plan_id = 7
    replacement = _source("parquet", ["/mock"], {}, streaming=False)
    count = plan.replace_read_nodes(relation, lambda read: replacement if keys_of(read) == ["main.ref.countries"]
                                    else None)
    assert count == 1
    assert relation.join.left.common.plan_id == 7
    assert relation.join.left.read.data_source.paths == ["/mock"]
    assert relation.join.right.read.named_table.unparsed_identifier == "orders"
