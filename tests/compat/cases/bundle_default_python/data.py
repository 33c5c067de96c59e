"""Synthetic NYC taxi trips in the samples.nyctaxi.trips layout, as new Parquet files of the external table the
case's setup creates (one file per batch)."""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ["tpep_pickup_datetime", "tpep_dropoff_datetime", "trip_distance", "fare_amount", "pickup_zip",
           "dropoff_zip"]
SCHEMA = pa.schema([("tpep_pickup_datetime", pa.timestamp("us", tz="UTC")),
                    ("tpep_dropoff_datetime", pa.timestamp("us", tz="UTC")),
                    ("trip_distance", pa.float64()), ("fare_amount", pa.float64()),
                    ("pickup_zip", pa.int32()), ("dropoff_zip", pa.int32())])


def _trip(day, hour, minutes, distance, fare, pickup, dropoff):
    start = dt.datetime(2016, 1, day, hour, 30, tzinfo=dt.UTC)
    return (start, start + dt.timedelta(minutes=minutes), distance, fare, pickup, dropoff)


BATCHES = {
    1: [
        _trip(1, 0, 14, 4.94, 19.0, 10282, 10171),
        _trip(1, 1, 5, 0.28, 3.5, 10110, 10110),
        _trip(1, 2, 22, 10.5, 33.5, 10103, 11371),
        _trip(1, 3, 9, 1.2, 8.0, 10282, 10014),
    ],
    2: [
        _trip(2, 8, 35, 17.1, 52.0, 11371, 10282),
        _trip(2, 9, 11, 2.05, 9.5, 10110, 10103),
        _trip(2, 10, 16, 3.3, 14.5, 10023, 10282),
    ],
}


def rows(batches: int) -> list[dict]:
    return [dict(zip(COLUMNS, r, strict=True)) for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "nyctaxi" / "trips"
    folder.mkdir(parents=True, exist_ok=True)
    records = [dict(zip(COLUMNS, r, strict=True)) for r in BATCHES[batch]]
    pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), folder / f"part-{batch:05d}.parquet")
