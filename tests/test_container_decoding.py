"""Landed Avro container files decoded record by record with registry-identified writers: rescued
fields of a newer registered writer, and dead letters for damaged, unregistered and non-Avro files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro

from palindrom.ingest.bronze import FILE_COLUMNS
from palindrom.ingest.containers import ContainerDecoder, split

V1 = {"type": "record", "name": "Ping", "namespace": "t", "fields": [{"name": "id", "type": "long"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "note", "type": ["null", "string"], "default": None}]}
ROGUE = {**V1, "fields": [*V1["fields"], {"name": "secret", "type": "string"}]}


def container(schema: dict, records: list[dict], blocks: int = 1) -> bytes:
    out = io.BytesIO()
    writer = fastavro.write.Writer(out, fastavro.parse_schema(schema), codec="deflate")
    per_block = max(1, len(records) // blocks)
    for i, record in enumerate(records, start=1):
        writer.write(record)
        if i % per_block == 0:
            writer.flush()
    writer.flush()
    return out.getvalue()


def test_container_files_decode_with_writer_ids_rescue_and_dead_letters(spark, tmp_path: Path):
    schemas = tmp_path / "schemas"
    (schemas / "g" / "ping").mkdir(parents=True)
    (schemas / "g" / "ping" / "v1.avsc").write_text(json.dumps(V1))
    (schemas / "g" / "ping" / "v2.avsc").write_text(json.dumps(V2))
    # This pipeline still reads with v1; a producer already writes the registered v2.
    decoder = ContainerDecoder("g", "ping", json.dumps(V1), (("url", "local"),), "local", str(schemas))
    whole = container(V1, [{"id": i} for i in range(6)], blocks=3)
    truncated = whole[: len(whole) - 8]  # the last block (records 4 and 5) cut short
    files = [("file:/l/v1.avro", container(V1, [{"id": 1}, {"id": 2}])),
             ("file:/l/v2.avro", container(V2, [{"id": 3, "note": "hi"}, {"id": 4, "note": None}])),
             ("file:/l/cut.avro", truncated),
             ("file:/l/rogue.avro", container(ROGUE, [{"id": 9, "secret": "x"}] * 3)),
             ("file:/l/text.avro", b"id,name\n1,a\n")]
    decoded = decoder.decode(spark.createDataFrame(files, FILE_COLUMNS), FILE_COLUMNS)
    good, dead = split(decoded, ["path"])
    got = sorted(tuple(r) for r in good.select("path", "record_position", "id", "writer_schema_id",
                                                "writer_schema_version", "rescued_data").collect())
    assert got == [("file:/l/cut.avro", 0, 0, 1, "1", None), ("file:/l/cut.avro", 1, 1, 1, "1", None),
                   ("file:/l/cut.avro", 2, 2, 1, "1", None), ("file:/l/cut.avro", 3, 3, 1, "1", None),
                   ("file:/l/v1.avro", 0, 1, 1, "1", None), ("file:/l/v1.avro", 1, 2, 1, "1", None),
                   ("file:/l/v2.avro", 0, 3, 2, "2", '{"note": "hi"}'), ("file:/l/v2.avro", 1, 4, 2, "2", None)]
    letters = {r["path"]: r for r in dead.collect()}
    assert set(letters) == {"file:/l/cut.avro", "file:/l/rogue.avro", "file:/l/text.avro"}
    cut = letters["file:/l/cut.avro"]
    assert (cut["record_position"], cut["records"]) == (4, 2) and "truncated block" in cut["reason"]
    assert bytes(cut["raw_value"]) == truncated[-len(cut["raw_value"]):] and len(cut["raw_value"]) > 0
    rogue = letters["file:/l/rogue.avro"]
    assert rogue["records"] == 3 and rogue["writer_schema_id"] is None and "not a version of g/ping" in rogue["reason"]
    text = letters["file:/l/text.avro"]
    assert text["records"] is None and "not an Avro container file" in text["reason"]
    assert bytes(text["raw_value"]) == b"id,name\n1,a\n"
