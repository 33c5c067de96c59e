"""Generated Avro schemas and records -> encode -> decode in Spark -> rows equal to the input: for
every Kafka wire format (vectorised mapInArrow decoder) and for container files (cloudFiles)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import fastavro
from avro_strategies import schema_and_records, spark_value
from hypothesis import HealthCheck, given, settings
from pyspark.sql import types as T

from palindrom.autoloader.source import CloudFilesDataSource
from palindrom.avro import wire
from palindrom.ingest.payloads import PayloadDecoder
from palindrom.registry.local import LocalRegistry

KAFKA = T.StructType([
    T.StructField("value", T.BinaryType()), T.StructField("topic", T.StringType()),
    T.StructField("partition", T.IntegerType()), T.StructField("offset", T.LongType()),
    T.StructField("headers", T.ArrayType(T.StructType([T.StructField("key", T.StringType()),
                                                        T.StructField("value", T.BinaryType())]))),
])
FORMATS: dict[wire.WireFormat, str] = {"apicurio3": "contentId", "apicurio2": "globalId", "headers": "globalId",
                                       "confluent": "confluentId"}


def local_registry(root: Path, *versions: dict) -> LocalRegistry:
    """schemas/<group>/<artifact>/v<N>.avsc under ``root``: the registry the decoders connect to."""
    folder = root / "schemas" / "test.group" / "subject"
    folder.mkdir(parents=True, exist_ok=True)
    for number, schema in enumerate(versions, start=1):
        (folder / f"v{number}.avsc").write_text(json.dumps(schema))
    return LocalRegistry(root / "schemas")


def encode(schema: dict, record: dict) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def decoder(fmt: wire.WireFormat, reader: dict, root: Path) -> PayloadDecoder:
    return PayloadDecoder(fmt, json.dumps(reader), (("url", "local"),), "local", str(root / "schemas"))


def messages(fmt: wire.WireFormat, registry: LocalRegistry, version: int, bodies: list[bytes],
             first_offset: int = 0) -> list[tuple]:
    found = registry.all_versions("test.group", "subject")[version - 1]
    kind = FORMATS[fmt]
    ref = wire.SchemaRef(kind, found.global_id if kind == "globalId" else found.content_id)  # type: ignore[arg-type]
    rows = []
    for offset, body in enumerate(bodies, start=first_offset):
        value, headers = wire.frame(fmt, ref, body)
        rows.append((value, f"events-{fmt}", 0, offset, [{"key": k, "value": v} for k, v in headers]))
    return rows


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(generated=schema_and_records())
def test_every_wire_format_round_trips_generated_schemas_and_records(spark, tmp_path, generated):
    schema, records, expected = generated
    root = tmp_path / uuid.uuid4().hex
    registry = local_registry(root, schema)
    bodies = [encode(schema, r) for r in records]
    decoded = None
    for fmt in FORMATS:
        frame = spark.createDataFrame(messages(fmt, registry, 1, bodies), KAFKA)
        one = decoder(fmt, schema, root).decode(frame)
        decoded = one if decoded is None else decoded.unionByName(one)
    assert decoded is not None
    rows = decoded.select("topic", "offset", "payload", "decode_error", "schema_id_kind").collect()
    assert [r.decode_error for r in rows] == [None] * len(rows)
    for fmt in FORMATS:
        mine = sorted((r for r in rows if r.topic == f"events-{fmt}"), key=lambda r: r.offset)
        assert [spark_value(r.payload) for r in mine] == expected, fmt
        assert {r.schema_id_kind for r in mine} == {FORMATS[fmt]}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(generated=schema_and_records())
def test_container_files_round_trip_through_cloud_files(spark, tmp_path, generated):
    schema, records, expected = generated
    landing = tmp_path / uuid.uuid4().hex / "landing"
    landing.mkdir(parents=True)
    with (landing / "part-0.avro").open("wb") as handle:
        fastavro.writer(handle, fastavro.parse_schema(schema), records)
    name = f"roundtrip_{uuid.uuid4().hex[:8]}"
    spark.dataSource.register(CloudFilesDataSource)   # as the runner does for every update
    query = (spark.readStream.format("cloudFiles").option("cloudFiles.format", "avro")
             .option("avroSchema", json.dumps(schema))
             .option("cloudFiles.stateLocation", str(landing.parent / "state")).load(str(landing))
             .writeStream.format("memory").queryName(name).trigger(availableNow=True).start())
    query.awaitTermination(120)
    rows = spark.table(name).collect()
    assert "_rescued_data" not in spark.table(name).columns or all(r._rescued_data is None for r in rows)
    actual = [{k: spark_value(v) for k, v in r.asDict().items() if k != "_rescued_data"} for r in rows]
    assert actual == expected
