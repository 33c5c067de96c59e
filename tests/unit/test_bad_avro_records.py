"""One bad record in an Avro container block is dead-lettered alone, with its own bytes, position and
reason; its valid neighbours in the same block are decoded (no Spark: the decoder's rows directly)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro

from palindrom.ingest.containers import ContainerDecoder

ORDER = {"type": "record", "name": "Order", "namespace": "t",
         "fields": [{"name": "id", "type": "long"}, {"name": "note", "type": "string"}]}
MARK = "BAD-UTF8"  # replaced in the encoded bytes by as many invalid UTF-8 bytes


def one_block(records: list[dict[str, object]]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(ORDER), records, codec="null", sync_interval=1 << 20)
    return out.getvalue()


def test_invalid_utf8_dead_letters_only_that_record(tmp_path: Path) -> None:
    (tmp_path / "g" / "order").mkdir(parents=True)
    (tmp_path / "g" / "order" / "v1.avsc").write_text(json.dumps(ORDER))
    decoder = ContainerDecoder("g", "order", json.dumps(ORDER), (("url", "local"),), "local", str(tmp_path))
    records: list[dict[str, object]] = [{"id": i, "note": f"n{i}"} for i in range(155)]
    records[77] = {"id": 77, "note": MARK}
    data = one_block(records)
    assert data.count(MARK.encode()) == 1
    bad = b"\xff\xfe" * (len(MARK) // 2)
    data = data.replace(MARK.encode(), bad)

    rows = list(decoder.rows(data))

    good = [r for r in rows if r.get("decode_error") is None]
    dead = [r for r in rows if r.get("decode_error") is not None]
    assert [r["payload"]["id"] for r in good] == [i for i in range(155) if i != 77]
    assert [r["record_position"] for r in good] == [i for i in range(155) if i != 77]
    assert len(dead) == 1
    letter = dead[0]
    assert (letter["record_position"], letter["records"]) == (77, 1)
    # The record's own Avro bytes: zig-zag varint of 77 (154 = 0x9a 0x01), then the string's length 8 (16).
    assert letter["raw_value"] == bytes([0x9A, 0x01, 16]) + bad
    assert "record 77" in letter["decode_error"] and "UnicodeDecodeError" in letter["decode_error"]


def test_cut_record_still_keeps_the_rest_of_its_block(tmp_path: Path) -> None:
    (tmp_path / "g" / "order").mkdir(parents=True)
    (tmp_path / "g" / "order" / "v1.avsc").write_text(json.dumps(ORDER))
    decoder = ContainerDecoder("g", "order", json.dumps(ORDER), (("url", "local"),), "local", str(tmp_path))
    data = one_block([{"id": 1, "note": "a"}, {"id": 2, "note": "b"}, {"id": 3, "note": MARK}])
    # The last record claims a string of 63 bytes (zig-zag 126) that the block does not hold.
    data = data.replace(bytes([16]) + MARK.encode(), bytes([126]) + MARK.encode())

    rows = list(decoder.rows(data))

    assert [r["payload"]["id"] for r in rows if r.get("decode_error") is None] == [1, 2]
    dead = [r for r in rows if r.get("decode_error") is not None]
    assert [(r["record_position"], r["records"]) for r in dead] == [(2, 1)]
    assert "the rest of its block is kept here" in dead[0]["decode_error"]


EVENT = {"type": "record", "name": "Event", "namespace": "t",
         "fields": [{"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
                    {"name": "n", "type": "int"}]}


def test_uuid_strings_are_read_as_written_as_spark_reads_them(tmp_path: Path) -> None:
    """Spark's Avro reader neither parses nor re-formats a uuid string: an upper-case id stays upper
    case and a string that is no UUID is a value, not an undecodable record."""
    (tmp_path / "g" / "event").mkdir(parents=True)
    (tmp_path / "g" / "event" / "v1.avsc").write_text(json.dumps(EVENT))
    decoder = ContainerDecoder("g", "event", json.dumps(EVENT), (("url", "local"),), "local", str(tmp_path))
    written = ["0F8FAD5B-D9CB-469F-A165-70867728950E", "not-a-uuid", "7c9e6679-7425-40de-944b-e07fc1f90ae7"]
    out = io.BytesIO()   # fastavro writes a uuid string as given
    fastavro.writer(out, fastavro.parse_schema(EVENT), [{"id": v, "n": i} for i, v in enumerate(written)])
    data = out.getvalue()

    rows = list(decoder.rows(data))

    assert [r.get("decode_error") for r in rows] == [None, None, None]
    assert [r["payload"] for r in rows] == [{"id": v, "n": i} for i, v in enumerate(written)]

