"""Kafka payloads from the project's producer, decoded in one stream: schema evolution v1 -> v2 -> v3
onto the registry's latest schema, every undecodable message in the dead-letter output with its
bytes, position and reason, writer schemas fetched over HTTP (cached) or from the lockfile."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, cli, closed_port
from fakes.apicurio import FakeApicurio
from test_avro_roundtrip import KAFKA

from palindrom.autoloader.source import CloudFilesDataSource
from palindrom.ingest import payloads
from palindrom.ingest.payloads import PayloadDecoder
from palindrom.kafka.producer import AvroSerializer
from palindrom.kafka.source import kafka_options
from palindrom.registry.local import LocalRegistry
from palindrom.registry.pipeline import reader_schema

GROUP = "palindrom.events"
T0 = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)


def event(n: int, version: int, event_type: str = "PLAY") -> dict:
    record = {"event_id": str(uuid.UUID(int=n)), "event_type": event_type, "user_id": f"u{n % 3}",
              "session_id": f"s{n}", "occurred_at": T0 + dt.timedelta(seconds=n), "duration_ms": 1000 * n,
              "platform": "IOS", "properties": {"screen": "home"}}
    if version >= 2:
        record["app_version"] = f"5.{version}"
    return record


def schemas_with_legacy(tmp_path: Path) -> Path:
    """The repo's schemas plus an artifact whose writer schema cannot resolve onto AppEvent."""
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    legacy = json.loads((schemas / GROUP / "app_event" / "v1.avsc").read_text())
    for f in legacy["fields"]:
        if f["name"] == "event_type":
            f["type"] = "int"          # an int where the reader expects the EventType enum
    (schemas / GROUP / "legacy_event").mkdir()
    (schemas / GROUP / "legacy_event" / "v1.avsc").write_text(json.dumps(legacy))
    return schemas


def land(folder: Path, rows: list[tuple]) -> None:
    """Kafka-shaped rows as a parquet file: the stream reads them as it would read the topic."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([dict(zip(KAFKA.names, r, strict=True)) for r in rows],
                                 schema=pa.schema([("value", pa.binary()), ("topic", pa.string()),
                                                   ("partition", pa.int32()), ("offset", pa.int64()),
                                                   ("headers", pa.list_(pa.struct([("key", pa.string()),
                                                                                    ("value", pa.binary())])))]))
    pq.write_table(table, folder / f"{uuid.uuid4().hex}.parquet")


def run_stream(spark, decoder: PayloadDecoder, landing: Path) -> tuple[list, list]:
    """Decode once into a bronze table (as a pipeline does), then split into decoded rows and dead letters."""
    stream = spark.readStream.format("parquet").schema(KAFKA).load(str(landing))
    name = f"bronze_{uuid.uuid4().hex[:8]}"
    decoder.decode(stream).writeStream.format("memory").queryName(name).trigger(availableNow=True).start() \
        .awaitTermination(120)
    good, dead = payloads.split(spark.table(name), ["topic", "partition", "offset"])
    return good.orderBy("offset").collect(), dead.orderBy("offset").collect()


def test_evolution_and_dead_letters_in_one_stream(spark, tmp_path):
    schemas = schemas_with_legacy(tmp_path)
    registry = LocalRegistry(schemas)
    versions = registry.all_versions(GROUP, "app_event")
    produce = [AvroSerializer(v, "apicurio3") for v in versions]
    messages: list[tuple] = []

    def add(value: bytes | None, headers: list | None = None) -> int:
        messages.append((value, "app-events", 0, len(messages), headers or []))
        return len(messages) - 1

    for n, version in enumerate([1, 2, 3, 1, 3, 2], start=1):
        add(produce[version - 1](event(n, version, "SEARCH" if version == 3 else "PLAY"))[0])
    good_body = produce[0].body(event(99, 1))
    bad = {
        add(b"\x01" + produce[0](event(7, 1))[0][1:]): "magic byte is 1",
        add(b"\x00\x00\x00\x03\xe7" + good_body): "unknown writer schema contentId 999",
        add(produce[2](event(8, 3))[0][:-6]): "truncated or corrupt Avro body",
        add(produce[0](event(9, 1))[0] + b"\x00\x00"): "2 bytes left after the record",
        add(AvroSerializer(registry.latest(GROUP, "legacy_event"), "apicurio3")({**event(10, 1), "event_type": 4})[0]):
            "cannot be resolved onto the reader schema",
        add(None): "no value (a tombstone)",
        add(b"\x00\x00"): "shorter than the 5-byte apicurio3 header",
    }
    land(tmp_path / "topic", messages)
    decoder = PayloadDecoder("apicurio3", versions[-1].content, (("url", "local"),), "local", str(schemas))
    good, dead = run_stream(spark, decoder, tmp_path / "topic")

    assert len(good) + len(dead) == len(messages)                    # nothing lost
    assert [r.event_id for r in good] == [str(uuid.UUID(int=n)) for n in range(1, 7)]
    assert [r.app_version for r in good] == [None, "5.2", "5.3", None, "5.3", "5.2"]   # v1: the default
    assert [r.event_type for r in good] == ["PLAY", "PLAY", "SEARCH", "PLAY", "SEARCH", "PLAY"]
    assert [r.duration_ms for r in good] == [1000, 2000, 3000, 4000, 5000, 6000]     # int promoted to long
    assert {r.schema_id for r in good} == {v.content_id for v in versions}
    assert good[0].occurred_at.replace(tzinfo=dt.UTC) == T0 + dt.timedelta(seconds=1)
    assert good[0].properties == {"screen": "home"}

    assert [r.offset for r in dead] == sorted(bad)
    for row in dead:
        assert bad[row.offset] in row.reason, row.reason
        assert row.raw_value == (None if messages[row.offset][0] is None else bytearray(messages[row.offset][0]))
        assert (row.topic, row.partition) == ("app-events", 0)


@pytest.mark.parametrize("fmt", ["apicurio3", "apicurio2", "headers", "confluent"])
def test_writer_schemas_come_from_the_http_registry_once_per_id(spark, tmp_path, fmt):
    registry = LocalRegistry(REPO / "schemas")
    versions = registry.all_versions(GROUP, "app_event")
    with FakeApicurio(server_version="3.3.0" if fmt != "apicurio2" else "2.6.0") as fake:
        published = [fake.add(GROUP, "app_event", v.content) for v in versions]
        rows = []
        for n in range(12):
            v = published[n % 3]
            writer = versions[n % 3]
            ser = AvroSerializer(type(writer)(GROUP, "app_event", v.version, v.global_id, v.content_id, v.content), fmt)
            value, headers = ser(event(n + 1, n % 3 + 1))
            rows.append((value, "t", 0, n, [{"key": k, "value": h} for k, h in headers]))
        land(tmp_path / "topic", rows)
        decoder = PayloadDecoder(fmt, versions[-1].content, (("url", fake.url),), "staging", str(REPO / "schemas"))
        good, dead = run_stream(spark, decoder, tmp_path / "topic")
        assert dead == []
        assert [r.app_version for r in good][:3] == [None, "5.2", "5.3"]
        fetched = [r for r in fake.requests if "/ids/" in r and not r.endswith("/references")]
        assert len(fetched) == len(set(fetched)) == 3                # each writer schema fetched once
        listed = [r for r in fake.requests if r.endswith("/references")]
        assert len(listed) == (3 if fmt == "apicurio3" else 0)       # raw by contentId: references listed


def test_registry_outage_during_a_run_decodes_from_the_lockfile(spark, tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    shutil.copy(schemas / "registry.local.lock.json", schemas / "registry.production.lock.json")
    versions = LocalRegistry(schemas).all_versions(GROUP, "app_event")
    land(tmp_path / "topic", [(AvroSerializer(v, "apicurio2")(event(i + 1, i + 1))[0], "t", 0, i, [])
                              for i, v in enumerate(versions)])
    settings = (("retries", "1"), ("url", f"http://127.0.0.1:{closed_port()}"))
    decoder = PayloadDecoder("apicurio2", versions[-1].content, settings, "production", str(schemas))
    good, dead = run_stream(spark, decoder, tmp_path / "topic")
    assert dead == [] and [r.app_version for r in good] == [None, "5.2", "5.3"]


def test_kafka_source_options_per_environment_with_sasl_from_the_secret_scope():
    conf = {"palindrom.kafka.bootstrap_servers": "b-1.kafka:9096", "palindrom.kafka.topic": "app-events",
            "palindrom.kafka.security_protocol": "SASL_SSL", "palindrom.kafka.sasl_mechanism": "SCRAM-SHA-512",
            "palindrom.kafka.secret_scope": "palindrom-kafka"}
    asked = []

    def secret(scope: str, key: str) -> str:
        asked.append((scope, key))
        return {"username": "svc-pipelines", "password": "pw-from-scope"}[key]

    options = kafka_options(conf, secret)
    assert asked == [("palindrom-kafka", "username"), ("palindrom-kafka", "password")]
    assert options["subscribe"] == "app-events" and options["includeHeaders"] == "true"
    assert options["kafka.sasl.jaas.config"] == ('kafkashaded.org.apache.kafka.common.security.scram.ScramLoginModule'
                                                 ' required username="svc-pipelines" password="pw-from-scope";')
    with pytest.raises(ValueError, match=r"palindrom\.kafka\.topic"):
        kafka_options({"palindrom.kafka.bootstrap_servers": "x"}, secret)


def _container(path: Path, schema: str, records: list[dict]) -> None:
    import fastavro

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        fastavro.writer(handle, fastavro.parse_schema(json.loads(schema)), records)


def test_container_files_of_v1_v2_v3_in_one_stream(spark, tmp_path):
    versions = LocalRegistry(REPO / "schemas").all_versions(GROUP, "app_event")
    landing = tmp_path / "landing"
    _container(landing / "a-v1.avro", versions[0].content, [event(1, 1), event(2, 1)])
    _container(landing / "b-v2.avro", versions[1].content, [event(3, 2)])
    _container(landing / "c-v3.avro", versions[2].content, [event(4, 3, "SEARCH")])
    legacy = json.loads(versions[0].content)
    legacy["fields"] = [{**f, "type": "int"} if f["name"] == "event_type" else f for f in legacy["fields"]]
    _container(landing / "d-legacy.avro", json.dumps(legacy), [{**event(5, 1), "event_type": 3}])
    # What a pipeline file does: the reader schema from the registry its configuration names.
    spark.conf.set("palindrom.registry.url", "local")
    name = f"bronze_{uuid.uuid4().hex[:8]}"
    spark.dataSource.register(CloudFilesDataSource)
    (spark.readStream.format("cloudFiles").option("cloudFiles.format", "avro")
     .option("avroSchema", reader_schema(spark, GROUP, "app_event"))
     .option("rescuedDataColumn", "_rescued_data").option("cloudFiles.stateLocation", str(tmp_path / "state"))
     .load(str(landing))
     .writeStream.format("memory").queryName(name).trigger(availableNow=True).start().awaitTermination(120))
    rows = spark.sql(f"SELECT * FROM {name} ORDER BY event_id NULLS LAST").collect()
    assert [r.event_id for r in rows] == [str(uuid.UUID(int=n)) for n in range(1, 5)] + [None]
    assert [r.app_version for r in rows[:4]] == [None, None, "5.2", "5.3"]
    assert [r.event_type for r in rows[:4]] == ["PLAY", "PLAY", "PLAY", "SEARCH"]
    assert [r.duration_ms for r in rows[:4]] == [1000, 2000, 3000, 4000]
    assert all(r._rescued_data is None for r in rows[:4])
    rescued = json.loads(rows[4]._rescued_data)
    assert "cannot be resolved onto avroSchema" in rescued["_error"]
    assert rescued["_file_path"].endswith("d-legacy.avro")
    assert spark.table(name).schema["duration_ms"].dataType.simpleString() == "bigint"


def test_kafka_send_validates_every_line_and_fails_loudly_when_nothing_is_delivered(tmp_path, monkeypatch, capsys):
    password = f"kafka-{uuid.uuid4().hex}"
    monkeypatch.setenv("PALINDROM_KAFKA_USERNAME", "svc-pipelines")
    monkeypatch.setenv("PALINDROM_KAFKA_PASSWORD", password)
    good = {**event(1, 3), "occurred_at": 1_763_628_600_000}
    lines = tmp_path / "events.jsonl"
    lines.write_text(json.dumps(good) + "\n" + json.dumps({**good, "event_type": "TELEPORT"}) + "\n")
    common = ["kafka", "send", lines, "--env", "development", "--registry-url", "local",
              "--bootstrap-servers", f"127.0.0.1:{closed_port()}", "--timeout", "2"]
    assert cli(*common) == 1
    err = capsys.readouterr().err
    assert f"{lines}:2: does not match palindrom.events/app_event v3" in err and "TELEPORT" in err
    lines.write_text(json.dumps(good) + "\n" + json.dumps({**good, "event_id": str(uuid.UUID(int=2))}) + "\n")
    assert cli(*common) == 1                       # no broker: both messages time out, reported
    err = capsys.readouterr().err
    assert "2 of 2 messages to app-events were not delivered" in err
    assert password not in err
