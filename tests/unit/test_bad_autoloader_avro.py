"""Auto Loader's Avro reader: a record with invalid UTF-8 is rescued alone with its bytes escaped;
its neighbours in the same block are read (no Spark: the decoder's records directly)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro

from palindrom.autoloader import decode
from palindrom.autoloader.options import CloudFilesOptions
from palindrom.avro import resolution

SCHEMA = {"type": "record", "name": "Row", "fields": [{"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}


def test_invalid_utf8_record_is_rescued_alone(tmp_path: Path) -> None:
    out = io.BytesIO()
    rows = [{"id": i, "s": "BADBAD" if i == 3 else f"v{i}"} for i in range(8)]
    fastavro.writer(out, fastavro.parse_schema(SCHEMA), rows, codec="null", sync_interval=1 << 20)
    data = out.getvalue()
    assert data.count(b"BADBAD") == 1
    path = tmp_path / "a.avro"
    path.write_bytes(data.replace(b"BADBAD", b"\xff\xfe" * 3))
    options = CloudFilesOptions.parse({"cloudFiles.format": "avro", "path": str(tmp_path)})

    records = list(decode.records(path, options))

    assert [(r.position, r.values) for r in records if r.values is not None] == [
        (i, {"id": i, "s": f"v{i}"}) for i in range(8) if i != 3]
    bad = [r for r in records if r.values is None]
    assert len(bad) == 1 and bad[0].position == 3
    assert bad[0].error is not None and "UnicodeDecodeError" in bad[0].error
    # id 3 (zig-zag 6), the string's length 6 (zig-zag 12), then the six bytes, escaped.
    assert bad[0].raw == "\x06\x0c" + "\\xff\\xfe" * 3 and "\ufffd" not in bad[0].raw


def test_uuid_strings_are_read_as_written(tmp_path: Path) -> None:
    """As Spark's Avro reader: a uuid string is neither parsed nor re-formatted, with or without avroSchema."""
    schema = {"type": "record", "name": "Row",
              "fields": [{"name": "id", "type": {"type": "string", "logicalType": "uuid"}}]}
    written = ["0F8FAD5B-D9CB-469F-A165-70867728950E", "not-a-uuid"]
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(schema), [{"id": v} for v in written])
    path = tmp_path / "u.avro"
    path.write_bytes(out.getvalue())
    for given in ({}, {"avroSchema": json.dumps(schema)}):
        options = CloudFilesOptions.parse({"cloudFiles.format": "avro", "path": str(tmp_path), **given})
        assert [r.values for r in decode.records(path, options)] == [{"id": v} for v in written]


def test_avro_schema_resolution_gives_what_fastavro_resolution_gives(tmp_path: Path) -> None:
    """``avroSchema`` onto an older writer (a field added with a default, int read as long, a field
    the reader lacks): read once with the writer, the compiled resolution gives fastavro's values, and
    the field ``avroSchema`` lacks comes along so that Auto Loader rescues it ("missing from the given
    schema") instead of dropping it."""
    writer = {"type": "record", "name": "Row", "fields": [
        {"name": "id", "type": "int"}, {"name": "gone", "type": "string"},
        {"name": "tags", "type": {"type": "array", "items": "string"}}]}
    reader = {"type": "record", "name": "Row", "fields": [
        {"name": "id", "type": "long"}, {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "kind", "type": "string", "default": "plain"}]}
    rows = [{"id": i, "gone": f"g{i}", "tags": [f"t{i}"] * (i % 3)} for i in range(20)]
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(writer), rows)
    path = tmp_path / "r.avro"
    path.write_bytes(out.getvalue())
    expected = list(fastavro.reader(io.BytesIO(out.getvalue()), reader_schema=fastavro.parse_schema(reader)))
    assert expected[1] == {"id": 1, "tags": ["t1"], "note": None, "kind": "plain"}   # the reference, by hand
    assert resolution.projection(writer, reader) not in (None, resolution.unchanged)   # the compiled path
    options = CloudFilesOptions.parse({"cloudFiles.format": "avro", "path": str(tmp_path),
                                       "avroSchema": json.dumps(reader)})

    assert [r.values for r in decode.records(path, options)] == [{**e, "gone": r["gone"]}
                                                                 for e, r in zip(expected, rows, strict=True)]


def test_a_damaged_block_is_rescued_and_the_blocks_after_it_are_read(tmp_path: Path) -> None:
    """One bad block does not take the rest of the file: its bytes come back as one rescued record
    at its first record's position, and reading resumes at the next sync marker."""
    out = io.BytesIO()
    writer = fastavro.write.Writer(out, fastavro.parse_schema(SCHEMA), codec="deflate")
    for block in range(3):  # three blocks of four records each
        for k in range(4):
            writer.write({"id": block * 4 + k, "s": f"b{block}"})
        writer.flush()
    writer.flush()
    data = bytearray(out.getvalue())
    head = fastavro.reader(io.BytesIO(bytes(data)))
    assert len(list(head)) == 12
    sync = bytes(data[-16:])
    ends = [i for i in range(len(data)) if data[i: i + 16] == sync]   # the header's, then each block's
    assert len(ends) == 4
    block_1 = ends[1] + 16                       # its record count (4, zig-zag 0x08), then its size
    assert data[block_1] == 0x08
    data[block_1 + 1] = 0xFF                     # the size is now garbage: the block cannot be delimited
    path = tmp_path / "d.avro"
    path.write_bytes(bytes(data))
    options = CloudFilesOptions.parse({"cloudFiles.format": "avro", "path": str(tmp_path)})

    records = list(decode.records(path, options))

    assert [r.values for r in records if r.values is not None] == [
        {"id": i, "s": f"b{i // 4}"} for i in (0, 1, 2, 3, 8, 9, 10, 11)]
    bad = [r for r in records if r.values is None]
    assert len(bad) == 1 and bad[0].position == 4
    assert bad[0].error is not None and bad[0].error.startswith("corrupt Avro file: damaged or truncated block")
    assert bad[0].raw and len(bad[0].raw) > 16


def test_writer_fields_avro_schema_lacks_are_rescued_in_a_stream(tmp_path: Path) -> None:
    """Through the data source's rows: the writer's field the given schema lacks goes to the rescued
    data column with its file, as Auto Loader rescues data "missing from the given schema"."""
    from pyspark.sql import types as T

    from palindrom.autoloader.discovery import FileEntry
    from palindrom.autoloader.source import FileRows

    writer = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "extra", "type": ["null", "string"]}]}
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(writer), [{"id": 1, "s": "a", "extra": "x"},
                                                         {"id": 2, "s": "b", "extra": None}])
    path = tmp_path / "e.avro"
    path.write_bytes(out.getvalue())
    options = CloudFilesOptions.parse({"cloudFiles.format": "avro", "path": str(tmp_path),
                                       "avroSchema": json.dumps(SCHEMA), "rescuedDataColumn": "_rescued_data"})
    output = T.StructType([T.StructField("id", T.LongType()), T.StructField("s", T.StringType()),
                           T.StructField("_rescued_data", T.StringType())])

    rows = list(FileRows(options, output, FileEntry(1, str(path), path.stat().st_size, 0)))

    assert [(r["id"], r["s"]) for r in rows] == [(1, "a"), (2, "b")]
    assert json.loads(rows[0]["_rescued_data"]) == {"extra": "x", "_file_path": path.as_uri()}
    assert rows[1].get("_rescued_data") is None   # a null carries nothing to rescue


def test_a_damaged_block_of_another_codec_is_rescued_too(tmp_path: Path) -> None:
    """An xz block whose compressed bytes are damaged: the codec's own error is a damaged block like
    any other (rescued with its bytes, the next block read), never an error that stops the stream."""
    out = io.BytesIO()
    writer = fastavro.write.Writer(out, fastavro.parse_schema(SCHEMA), codec="xz")
    for block in range(2):
        for k in range(3):
            writer.write({"id": block * 3 + k, "s": f"b{block}"})
        writer.flush()
    data = bytearray(out.getvalue())
    sync = bytes(data[-16:])
    ends = [i for i in range(len(data)) if data[i: i + 16] == sync]
    assert len(ends) == 3
    body = ends[0] + 16 + 2                      # block 0: its count and its size (one byte each), then xz data
    data[body + 10: body + 20] = b"\x00" * 10    # inside the xz stream: lzma refuses it
    path = tmp_path / "x.avro"
    path.write_bytes(bytes(data))
    options = CloudFilesOptions.parse({"cloudFiles.format": "avro", "path": str(tmp_path)})

    records = list(decode.records(path, options))

    assert [r.values for r in records if r.values is not None] == [{"id": i, "s": "b1"} for i in (3, 4, 5)]
    bad = [r for r in records if r.values is None]
    assert len(bad) == 1 and bad[0].position == 0
    assert bad[0].error is not None and "codec 'xz'" in bad[0].error and "corrupt Avro file" in bad[0].error
