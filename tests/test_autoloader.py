"""Every cloudFiles option in a pipeline run: formats, rescue, corrupt files, limits, evolution."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import rows, touch_later, write_json_lines
from fastavro.write import Writer

V1 = {"type": "record", "name": "Person", "fields": [
    {"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "extra", "type": ["null", "string"], "default": None}]}


def write_avro(path: Path, schema: dict, records: list[dict], truncate_last_block: bool = False) -> Path:
    """An Avro container file; optionally with its last block cut short (a damaged upload)."""
    buffer = io.BytesIO()
    writer = Writer(buffer, fastavro.parse_schema(schema))
    *complete, last = records
    for record in complete:
        writer.write(record)
    writer.flush()
    intact = len(buffer.getvalue())
    writer.write(last)
    writer.flush()
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: intact + 10] if truncate_last_block else data)
    return path


def commits(storage: Path, table: str) -> int:
    """Micro-batches a streaming table's flow has committed (from its checkpoint)."""
    found = list(storage.glob(f"pipelines/*/checkpoints/_checkpoints/*/*/{table}/{table}/*/commits/[0-9]*"))
    return len(found)


def test_every_cloud_files_option(spark, pipeline_copy, run_cli, tmp_path):
    folder, db = pipeline_copy("autoloader")
    landing, storage = folder / "landing", tmp_path / "s"
    write_avro(landing / "avro" / "a.avro", V1, [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}])
    write_avro(landing / "avro" / "b.avro", V2, [{"id": 3, "name": "Cy", "extra": "x"},
                                                 {"id": 4, "name": "Di", "extra": None}])
    write_avro(landing / "avro" / "c.avro", V1, [{"id": 5, "name": "Ed"}, {"id": 6, "name": "Flo"},
                                                 {"id": 7, "name": "G" * 200}], truncate_last_block=True)
    (landing / "parquet").mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2], "amount": ["12.50", "abc"]}), landing / "parquet" / "p.parquet")
    for i in range(3):
        write_json_lines(landing / "by_files" / f"{i}.json", [{"id": i}])
        write_json_lines(landing / "by_bytes" / f"{i}.json", [{"id": i}, {"id": 10 + i}])
    write_json_lines(landing / "new_only" / "old.json", [{"id": 1}])
    write_json_lines(landing / "none" / "n.json", [{"id": 1, "unknown": "ignored"}, {"id": "not a number"}])

    assert run_cli("run", folder, "--storage", storage) == 0

    avro = rows(spark, f"SELECT id, name, file, _rescued_data FROM {db}.avro_rows ORDER BY file, id")
    good = [(r[0], r[1], r[2]) for r in avro if r[0] is not None]
    assert good == [(1, "Ann", "a.avro"), (2, "Bob", "a.avro"), (3, "Cy", "b.avro"), (4, "Di", "b.avro"),
                    (5, "Ed", "c.avro"), (6, "Flo", "c.avro")]
    # The new field of the v2 writer is rescued (only where it has a value), with its file.
    rescued = {r[0]: json.loads(r[3]) for r in avro if r[0] is not None and r[3] is not None}
    assert list(rescued) == [3]
    assert rescued[3]["extra"] == "x" and rescued[3]["_file_path"].endswith("/avro/b.avro")
    # The damaged block of c.avro is not lost: one rescued row names the file and the damage.
    damaged = [json.loads(r[3]) for r in avro if r[0] is None]
    assert len(damaged) == 1
    assert damaged[0]["_file_path"].endswith("/avro/c.avro") and "corrupt Avro file" in damaged[0]["_error"]
    assert damaged[0]["_position"] == 2

    # Parquet: schema inferred, the hint types amount, an unparsable amount is rescued.
    parquet = rows(spark, f"SELECT id, CAST(amount AS STRING), _rescued_data FROM {db}.parquet_rows ORDER BY id")
    assert parquet[0] == (1, "12.50", None)
    assert parquet[1][:2] == (2, None) and json.loads(parquet[1][2])["amount"] == "abc"
    assert {r[0]: r[1] for r in rows(spark, f"DESCRIBE {db}.parquet_rows")}["amount"] == "decimal(10,2)"

    # Rate limits: one file per micro-batch (a byte limit below one file still admits one file).
    assert rows(spark, f"SELECT count(*) FROM {db}.by_files") == [(3,)]
    assert commits(storage, "by_files") == 3
    assert rows(spark, f"SELECT count(*) FROM {db}.by_bytes") == [(6,)]
    assert commits(storage, "by_bytes") == 3

    # includeExistingFiles=false: the file present at the first start is never read.
    assert rows(spark, f"SELECT count(*) FROM {db}.new_only") == [(0,)]

    # schemaEvolutionMode=none with a given schema: new columns ignored, no rescue column; the value
    # that does not fit is not dropped silently but written to a per-file error record.
    assert rows(spark, f"SELECT id FROM {db}.no_evolution ORDER BY id") == [(None,), (1,)]
    assert "_rescued_data" not in spark.table(f"{db}.no_evolution").columns
    reports = list(storage.glob("pipelines/autoloader/autoloader/no_evolution/*/state/bad_records/*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["file"].endswith("/none/n.json") and report["records"][0]["position"] == 2
    assert json.loads(report["records"][0]["fields"]) == {"id": "not a number"}

    # Second run: only new files are read, each exactly once.
    touch_later(write_json_lines(landing / "new_only" / "new.json", [{"id": 2}]))
    touch_later(write_json_lines(landing / "by_files" / "3.json", [{"id": 3}]))
    touch_later(write_avro(landing / "avro" / "d.avro", V1, [{"id": 8, "name": "Hal"}]))
    assert run_cli("run", folder, "--storage", storage) == 0
    assert rows(spark, f"SELECT id FROM {db}.new_only") == [(2,)]
    assert rows(spark, f"SELECT count(*), count(DISTINCT id) FROM {db}.by_files") == [(4, 4)]
    assert rows(spark, f"SELECT count(*) FROM {db}.avro_rows") == [(8,)]
    assert rows(spark, f"SELECT count(*) FROM {db}.parquet_rows") == [(2,)]


def test_schema_evolution_add_new_columns_and_fail_on_new_columns(spark, pipeline_copy, run_cli, tmp_path, capsys):
    folder, db = pipeline_copy("evolution")
    landing, storage = folder / "landing", tmp_path / "s"
    for name in ("added", "strict"):
        write_json_lines(landing / name / "1.json", [{"id": 1}])
    assert run_cli("run", folder, "--storage", storage) == 0
    for name in ("added", "strict"):
        touch_later(write_json_lines(landing / name / "2.json", [{"id": 2, "color": "red"}]))
    capsys.readouterr()

    # Both modes stop the update at the file with a new column and name it.
    assert run_cli("run", folder, "--storage", storage) == 1
    err = capsys.readouterr().err
    assert "UNKNOWN_FIELD_EXCEPTION" in err and "/strict/2.json" in err and "/added/2.json" in err
    # addNewColumns evolved the stored schema, so the next update continues with the new column...
    assert run_cli("run", folder, "--storage", storage, "--refresh", "added") == 0
    # (inferred JSON columns are strings unless cloudFiles.inferColumnTypes is set, as on Databricks)
    assert rows(spark, f"SELECT id, color FROM {db}.added ORDER BY id") == [("1", None), ("2", "red")]
    # ...while failOnNewColumns keeps failing until the schema or the mode changes.
    assert run_cli("run", folder, "--storage", storage, "--refresh", "strict") == 1
    assert rows(spark, f"SELECT id FROM {db}.strict") == [("1",)]
