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



LANDED_PIPELINE = """import dlt
from palindrom.ingest import bronze


@dlt.table
def pings():
    return bronze.landed(spark, spark.conf.get("test.landing"), "g", "ping")
"""


def test_a_local_run_decodes_landed_files_inside_the_source(spark, run_cli, tmp_path: Path, capsys):
    """``bronze.landed`` in a local run: this package's Auto Loader decodes each landed file where it
    reads its bytes (the bronze plan has no ``mapInArrow``, so the bytes never travel Python -> JVM
    -> Python), with the records, writer versions, rescued fields and dead letters the mapInArrow
    decoder Databricks runs gives (compared on the same files)."""
    from palindrom.autoloader.file_decoders import LOCAL_SOURCE
    from palindrom.autoloader.source import CloudFilesDataSource
    from palindrom.ingest import bronze

    schemas = tmp_path / "schemas"
    (schemas / "g" / "ping").mkdir(parents=True)
    (schemas / "g" / "ping" / "v1.avsc").write_text(json.dumps(V1))
    (schemas / "g" / "ping" / "v2.avsc").write_text(json.dumps(V2))   # the reader: the latest version
    landing = tmp_path / "landing" / "ping"
    landing.mkdir(parents=True)
    files = {"a.avro": container(V1, [{"id": i} for i in range(5)], blocks=2),
             "b.avro": container(ROGUE, [{"id": 7, "secret": "s"}])}
    whole = container(V2, [{"id": 10 + i, "note": f"n{i}"} for i in range(4)], blocks=2)
    files["c.avro"] = whole[: len(whole) - 8]   # its second block cut short
    for name, data in files.items():
        (landing / name).write_bytes(data)
    folder, database = tmp_path / "pipeline", f"t_landed_{tmp_path.name[-6:].replace('-', '_')}"
    folder.mkdir()
    (folder / "landed.py").write_text(LANDED_PIPELINE)
    (folder / "pipeline.yml").write_text(
        f"name: landed\ndatabase: {database}\nlibraries:\n  - landed.py\nconfiguration:\n"
        f"  test.landing: \"{tmp_path / 'landing'}\"\n  palindrom.registry.url: local\n"
        f"  palindrom.registry.schemas_path: \"{schemas}\"\n")

    assert run_cli("run", folder, "--storage", tmp_path / "storage") == 0

    columns = ["source_file", "source_position", "id", "note", "writer_schema_version", "rescued_data",
               "decode_error IS NULL", "records", "length(raw_value)"]
    local = sorted(tuple(r) for r in spark.sql(f"SELECT {', '.join(columns)} FROM {database}.pings").collect())
    uri = landing.resolve().as_uri()
    decoded = [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in local if r[6]]
    assert decoded == sorted([(f"{uri}/a.avro", i, i, None, "1", None) for i in range(5)]
                             + [(f"{uri}/c.avro", i, 10 + i, f"n{i}", "2", None) for i in range(2)])
    dead = [(r[0].rsplit("/", 1)[1], r[1], r[7], r[8]) for r in local if not r[6]]
    assert [d[:3] for d in dead] == [("b.avro", 0, 1), ("c.avro", 2, 2)]
    assert dead[0][3] == len(files["b.avro"]) and 0 < dead[1][3] < len(files["c.avro"]) // 2

    # Where the decoding happens: the local source's plan has no mapInArrow; Databricks' path has one.
    spark.dataSource.register(CloudFilesDataSource)
    spark.conf.set("palindrom.registry.url", "local")
    spark.conf.set("palindrom.registry.schemas_path", str(schemas))
    try:
        plans = {}
        for flag in ("true", None):
            if flag:
                spark.conf.set(LOCAL_SOURCE, flag)
            else:
                spark.conf.unset(LOCAL_SOURCE)
            capsys.readouterr()
            bronze.landed(spark, str(tmp_path / "landing"), "g", "ping").explain()
            plans[flag] = capsys.readouterr().out
    finally:
        spark.conf.unset(LOCAL_SOURCE)
        spark.conf.unset("palindrom.registry.schemas_path")
    assert "MapInArrow" not in plans["true"] and "MapInArrow" in plans[None]
    # The same files through Databricks' path (the bytes, then the mapInArrow decoder), batch-read.
    decoder = ContainerDecoder("g", "ping", json.dumps(V2), (("url", "local"),), "local", str(schemas))
    frame = spark.createDataFrame([(f"{uri}/{n}", d) for n, d in files.items()], FILE_COLUMNS)
    remote = decoder.decode(frame, FILE_COLUMNS).selectExpr(
        "path", "record_position", "payload.id", "payload.note", "writer_schema_version", "rescued_data",
        "decode_error IS NULL", "records", "length(raw_value)")
    assert sorted(tuple(r) for r in remote.collect()) == local
