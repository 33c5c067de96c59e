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
    start = dt.datetime(2016, 2, day, hour, 0, tzinfo=dt.UTC)
    return (start, start + dt.timedelta(minutes=minutes), distance, fare, pickup, dropoff)


BATCHES = {
    1: [
        _trip(13, 8, 12, 1.4, 7.5, 10001, 10003),
        _trip(13, 9, 25, 5.2, 19.0, 10001, 11201),
        _trip(13, 9, 8, 0.9, 5.5, 10003, None),  # no dropoff zip: quarantined
        _trip(13, 10, 30, 9.8, 31.0, 10019, 11371),
        _trip(13, 11, 15, 2.2, 10.0, None, 10019),  # no pickup zip: quarantined
    ],
    2: [
        _trip(14, 7, 20, 3.1, 13.5, 10019, 10001),
        _trip(14, 8, 5, 0.5, 4.0, 10001, 10001),
        _trip(14, 9, 40, 17.3, 52.0, None, None),  # both missing
        _trip(14, 10, 18, 2.8, 12.0, 10003, 10019),
    ],
}


def rows(batches: int) -> list[dict]:
    return [dict(zip(COLUMNS, r, strict=True)) for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "nyctaxi" / "trips"
    folder.mkdir(parents=True, exist_ok=True)
    records = [dict(zip(COLUMNS, r, strict=True)) for r in BATCHES[batch]]
    pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), folder / f"part-{batch:05d}.parquet")
