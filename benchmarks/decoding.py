"""Kafka payload decoding: the project's Arrow-batch decoder (``mapInArrow``) against the obvious
alternative, a Python UDF called once per row, on the same messages in the same Spark session.

Both decode the same Apicurio-3-framed v1/v2/v3 messages onto the latest schema with fastavro,
cache parsed writer schemas per worker and convert values with the same compiled converter; the
difference measured is the per-row UDF (each row pickled out, each result pickled back and
converted by Spark) against whole Arrow batches, plus what the decoder does beyond decoding:
registry version lookup, error capture per message, skipping resolution when writer = reader. Prints records/s of
each and their ratio, measured in this run:  ``make bench`` (``BENCH_EVENTS=N`` to change N).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.avro import values, wire
from palindrom.ingest.payloads import PAYLOAD, PayloadDecoder
from palindrom.kafka.producer import AvroSerializer
from palindrom.registry.local import LocalRegistry
from palindrom.runtime import daemon_state, server

REPO = Path(__file__).resolve().parents[1]
GROUP, ARTIFACT = "palindrom.events", "app_event"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def messages(count: int, registry: LocalRegistry) -> pa.Table:
    produce = [AvroSerializer(v, "apicurio3") for v in registry.all_versions(GROUP, ARTIFACT)]
    values_: list[bytes] = []
    for n in range(count):
        version = n % 3
        record: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=n)), "event_type": "PLAY", "user_id": f"u{n % 997}",
            "session_id": f"s{n // 20}", "occurred_at": T0 + dt.timedelta(seconds=n), "duration_ms": n % 60000,
            "platform": "ANDROID", "properties": {"screen": "home", "ab": str(n % 2)}}
        if version >= 1:
            record["app_version"] = "5.1"
        values_.append(produce[version](record)[0])
    return pa.table({"value": pa.array(values_, pa.binary()), "offset": pa.array(range(count), pa.int64())})


def per_row_udf(reader_json: str, schemas_dir: str) -> Any:
    """The same decoding as a scalar Python UDF: one call per message."""
    from palindrom.avro import spark_types

    cache: dict[str, Any] = {}

    def decode(value: bytes) -> Any:
        if not cache:
            cache["source"] = LocalRegistry(Path(schemas_dir))
            cache["reader_json"] = json.loads(reader_json)
            cache["reader"] = fastavro.parse_schema(cache["reader_json"])
            cache["writers"] = {}
            cache["convert"] = values.converter(cache["reader_json"]) or values.identity
        ref, body = wire.unframe("apicurio3", value, {})
        writers = cache["writers"]
        if ref not in writers:
            writers[ref] = fastavro.parse_schema(json.loads(cache["source"].schema(ref)))
        datum = fastavro.schemaless_reader(io.BytesIO(body), writers[ref], cache["reader"])
        return cache["convert"](datum)

    return F.udf(decode, spark_types.to_spark(json.loads(reader_json)))


def in_process(table: pa.Table, decoder: PayloadDecoder, registry: LocalRegistry,
               rounds: int = 3) -> dict[str, list[float]]:
    """One core, no Spark, side by side in each round: the plain loop a user would write (per message:
    unframe, ``schemaless_reader`` with the reader schema; no Arrow) against the decoder's whole
    batch path (decoded rows in Arrow batches, errors captured, versions looked up)."""
    values_ = table.column("value").to_pylist()
    reader = fastavro.parse_schema(json.loads(decoder.reader_schema))
    frame_schema = T.StructType([T.StructField("value", T.BinaryType()), T.StructField("offset", T.LongType())])
    output = decoder.output_schema(frame_schema)
    seconds: dict[str, list[float]] = {"plain schemaless_reader loop": [], "decoder batches": []}
    for _ in range(rounds):
        writers: dict[wire.SchemaRef, Any] = {}
        started = time.perf_counter()
        for value in values_:
            ref, body = wire.unframe("apicurio3", value, {})
            if ref not in writers:
                writers[ref] = fastavro.parse_schema(json.loads(registry.schema(ref)))
            fastavro.schemaless_reader(io.BytesIO(body), writers[ref], reader)
        seconds["plain schemaless_reader loop"].append(time.perf_counter() - started)
        started = time.perf_counter()
        decoded = sum(b.num_rows for b in decoder.batches(iter(table.to_batches(max_chunksize=10_000)), output))
        seconds["decoder batches"].append(time.perf_counter() - started)
        assert decoded == table.num_rows  # noqa: S101 - a benchmark of the wrong thing is worse than none
    return seconds


def timed(frame: DataFrame) -> float:
    started = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started


def main() -> int:
    count = int(os.environ.get("BENCH_EVENTS", "100000"))
    schemas = REPO / "schemas"
    registry = LocalRegistry(schemas)
    reader = registry.latest(GROUP, ARTIFACT).content
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        os.environ[daemon_state.SWITCH_ENV] = "off"  # a server of this process's own, stopped with it
        spark = server.start(root / "spark").session
        landing = root / "topic"
        landing.mkdir()
        table = messages(count, registry)
        pq.write_table(table, landing / "messages.parquet", row_group_size=50_000)
        decoder = PayloadDecoder("apicurio3", reader, (("url", "local"),), "local", str(schemas), headers_column=None)
        local = in_process(table, decoder, registry)
        source = spark.read.parquet(str(landing)).repartition(2)
        arrow = decoder.decode(source).select(f"{PAYLOAD}.*", "offset")
        udf = per_row_udf(reader, str(schemas))
        per_row = source.select(udf("value").alias(PAYLOAD), "offset").select(f"{PAYLOAD}.*", "offset")
        # Both are correct first: same rows, nothing undecoded.
        sample = [frame.where("offset < 1000").orderBy("offset").collect() for frame in (arrow, per_row)]
        if sample[0] != sample[1] or len(sample[0]) != min(count, 1000) or arrow.where("event_id IS NULL").count():
            print("the two decoders disagree; not timing", file=sys.stderr)
            return 1
        timed(arrow.limit(5000))
        timed(per_row.limit(5000))                     # warm both worker pools
        runs = {"arrow batches (mapInArrow)": [timed(arrow) for _ in range(2)],
                "python udf per row": [timed(per_row) for _ in range(2)]}
    best = {name: min(seconds) for name, seconds in runs.items()}
    print(f"decode {count:,} Kafka payloads (apicurio3, v1/v2/v3 onto v3), 2 local cores, best of 2:")
    for name, seconds in best.items():
        print(f"  {name:<28} {seconds:7.2f} s  {count / seconds:>10,.0f} records/s")
    ratio = best["python udf per row"] / best["arrow batches (mapInArrow)"]
    print(f"  ratio: arrow batches are {ratio:.2f}x the per-row UDF's throughput")
    print(f"in one Python process, no Spark (one core), {len(local['decoder batches'])} rounds side by side:")
    for name, seconds in local.items():
        print(f"  {name:<30} median {statistics.median(seconds):6.2f} s  "
              f"{count / statistics.median(seconds):>10,.0f} records/s")
    ratios = sorted(plain / ours for plain, ours in zip(local["plain schemaless_reader loop"],
                                                          local["decoder batches"], strict=True))
    print(f"  ratio: decoder ÷ plain loop (records/s) median {statistics.median(ratios):.2f} "
          f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}); goal >= 1.0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
