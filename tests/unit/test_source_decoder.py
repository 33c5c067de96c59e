"""The local Auto Loader source with a decoder of binaryFile contents (no Spark: the source's own
schema and read): the decoder's columns, ``_metadata`` passed through, and clear option errors."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import fastavro
import pyarrow as pa
import pytest

from palindrom.autoloader import file_decoders
from palindrom.autoloader.discovery import FileEntry
from palindrom.autoloader.options import DECODER, DECODER_SPEC, CloudFilesOptionError, CloudFilesOptions
from palindrom.autoloader.source import CloudFilesDataSource, read_file
from palindrom.ingest.containers import ContainerDecoder

PING = {"type": "record", "name": "Ping", "namespace": "t", "fields": [{"name": "id", "type": "long"}]}


def test_the_source_decodes_a_file_and_passes_its_metadata_through(tmp_path: Path) -> None:
    (tmp_path / "schemas" / "g" / "ping").mkdir(parents=True)
    (tmp_path / "schemas" / "g" / "ping" / "v1.avsc").write_text(json.dumps(PING))
    landing = tmp_path / "landing"
    landing.mkdir()
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(PING), [{"id": i} for i in range(3)])
    path = landing / "a.avro"
    path.write_bytes(out.getvalue())
    decoder = ContainerDecoder("g", "ping", json.dumps(PING), (("url", "local"),), "local", str(tmp_path / "schemas"))
    assert ContainerDecoder.from_spec(decoder.spec()) == decoder
    given = {"cloudFiles.format": "binaryFile", "path": str(landing), "cloudFiles.includeMetadataColumn": "true",
             DECODER: "palindrom.ingest.containers:ContainerDecoder", DECODER_SPEC: decoder.spec()}
    output = CloudFilesDataSource(given).schema()
    assert output.names == ["path", "_metadata", "payload", "record_position", "records", "writer_schema_id",
                            "writer_schema_version", "rescued_data", "raw_value", "decode_error"]
    options = CloudFilesOptions.parse(given)
    entry = FileEntry(1, str(path), path.stat().st_size, 1_700_000_000_000)

    table = pa.Table.from_batches(list(read_file(options, output, entry, file_decoders.load(options))))

    rows = table.to_pylist()
    assert [(r["payload"]["id"], r["record_position"], r["writer_schema_version"], r["decode_error"])
            for r in rows] == [(i, i, "1", None) for i in range(3)]
    assert {r["path"] for r in rows} == {path.as_uri()}
    assert rows[0]["_metadata"] == {"file_path": path.as_uri(), "file_name": "a.avro",
                                    "file_size": path.stat().st_size,
                                    "file_modification_time": dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)}


def test_a_decoder_needs_binary_files_and_an_importable_name(tmp_path: Path) -> None:
    with pytest.raises(CloudFilesOptionError, match=r"decodes binaryFile contents; cloudFiles\.format is 'json'"):
        CloudFilesOptions.parse({"cloudFiles.format": "json", "path": str(tmp_path), DECODER: "m:C"})
    options = CloudFilesOptions.parse({"cloudFiles.format": "binaryFile", "path": str(tmp_path),
                                       DECODER: "palindrom.ingest.containers:NoSuchDecoder"})
    with pytest.raises(CloudFilesOptionError, match=r"'palindrom.ingest.containers:NoSuchDecoder' cannot be imported"):
        file_decoders.load(options)
