"""palindrom.testing's source mocks: a Kafka topic and tables outside the pipeline, replaced where a
flow's plan reads them, so the pipeline's own code (its join, its Avro decoding) runs on the rows a
test gives. Expected rows are computed here in plain Python; Kafka messages are framed by hand
(Apicurio 3: magic byte, 4-byte content id, Avro body) with fastavro."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import uuid
from typing import Any

import fastavro
import pytest
from conftest import REPO

from palindrom.registry.local import LocalRegistry
from palindrom.testing import UnknownDatasetError

GROUP, TOPIC = "palindrom.events", "app-events"
T0 = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
COUNTRIES = [{"country_code": "NO", "name": "Norway", "region": "EMEA"},
             {"country_code": "JP", "name": "Japan", "region": "APAC"}]


def _enriched(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_code = {c["country_code"]: c for c in COUNTRIES}
    out = [{"order_id": o["order_id"], "country_code": o["country_code"],
            "country": by_code.get(o["country_code"], {}).get("name"),
            "region": by_code.get(o["country_code"], {}).get("region"), "amount": o["amount"]} for o in orders]
    return sorted(out, key=lambda r: r["order_id"])


def test_tables_read_by_name_outside_the_pipeline_over_two_batches(pipeline, pipeline_copy):
    folder, _ = pipeline_copy("lookup")
    lookup = pipeline(folder).given("main.reference.countries", rows=COUNTRIES)
    first = [{"order_id": "o1", "country_code": "NO", "amount": 10.5},
             {"order_id": "o2", "country_code": "XX", "amount": 3.0}]            # no such country: left join
    run = lookup.given("main.sales.orders", rows=first).run()
    assert sorted(run.rows("orders_enriched"), key=lambda r: r["order_id"]) == _enriched(first)
    # The orders table is read as a stream: the second update reads only the new batch.
    second = [{"order_id": "o3", "country_code": "JP", "amount": 7.25}]
    run = lookup.given("`main`.`sales`.`ORDERS`", rows=second).run()   # names match as Spark matches them
    assert run.flows["orders_enriched"].rows == 1
    assert sorted(run.rows("orders_enriched"), key=lambda r: r["order_id"]) == _enriched(first + second)


def test_a_source_mock_nothing_reads_lists_what_the_flows_read(pipeline, pipeline_copy):
    folder, _ = pipeline_copy("lookup")
    lookup = pipeline(folder).given("main.reference.countries", rows=COUNTRIES)
    with pytest.raises(UnknownDatasetError) as error:
        lookup.given("main.reference.cities", rows=[{"city": "Oslo"}]).run()
    message = str(error.value)
    assert "'main.reference.cities'" in message
    assert "main.reference.countries" in message and "main.sales.orders" in message
    assert "orders_enriched" in message


def _action(n: int) -> dict[str, Any]:
    return {"event_id": str(uuid.UUID(int=n)), "event_type": "PLAY", "user_id": f"u{n}", "session_id": f"s{n}",
            "occurred_at": T0 + dt.timedelta(seconds=n), "duration_ms": 1000 * n, "platform": "IOS",
            "properties": {"screen": "home"}, "app_version": "5.3"}


def _framed(record: dict[str, Any]) -> bytes:
    latest = LocalRegistry(REPO / "schemas").latest(GROUP, "app_event")
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(json.loads(latest.content)), record)
    return bytes([0]) + struct.pack(">I", latest.content_id) + body.getvalue()


def test_a_kafka_topic_mocked_where_the_plan_reads_it(pipeline):
    """The events pipeline's Kafka flow (on when the environment names a broker) decodes the mocked
    topic's messages with its real decoder: decoded rows in bronze with topic, partition and offsets
    that continue across batches; an undecodable message in the dead-letter table with its bytes."""
    events = pipeline("events").configure(**{"palindrom.kafka.bootstrap_servers": "broker.invalid:9092",
                                             "palindrom.kafka.topic": TOPIC,
                                             "palindrom.kafka.wire_format": "apicurio3"})
    garbage = b"\x00\x00\x00\x00\x07not avro"
    events.given(f"kafka:{TOPIC}", rows=[{"value": _framed(_action(1))}, {"value": garbage},
                                         {"key": "u2", "value": _framed(_action(2))}])
    select = ["events_app_bronze_actions", "events_app_bronze_dead_letter"]
    run = events.run(select=select)
    assert run.flows["events_app_bronze_actions_from_kafka"].rows == 3
    decoded = run.table("events_app_bronze_actions").where("decode_error IS NULL").orderBy("kafka_offset")
    assert [(r["event_id"], r["user_id"], r["kafka_topic"], r["kafka_partition"], r["kafka_offset"])
            for r in decoded.collect()] == [(str(uuid.UUID(int=1)), "u1", TOPIC, 0, 0),
                                            (str(uuid.UUID(int=2)), "u2", TOPIC, 0, 2)]
    dead = run.rows("events_app_bronze_dead_letter")
    assert [(d["kafka_offset"], bytes(d["raw_value"])) for d in dead] == [(1, garbage)]
    assert dead[0]["reason"]

    run = events.given(f"kafka:{TOPIC}", rows=[{"value": _framed(_action(3))}]).run(select=select)
    assert run.flows["events_app_bronze_actions_from_kafka"].rows == 1    # the new message only
    offsets = [r["kafka_offset"] for r in run.table("events_app_bronze_actions").orderBy("kafka_offset").collect()]
    assert offsets == [0, 1, 2, 3]
