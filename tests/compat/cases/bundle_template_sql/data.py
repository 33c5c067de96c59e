"""Synthetic taxi trips in the shape of samples.nyctaxi.trips, inserted into the source table (outside
the pipeline) before each update."""

from pathlib import Path

# pickup, dropoff, trip_distance, fare_amount, pickup_zip, dropoff_zip
TRIPS = {
    1: [("2016-02-13 21:47:53", "2016-02-13 21:57:15", 1.4, 8.0, 10103, 10110),
        ("2016-02-13 18:29:09", "2016-02-13 18:37:23", 1.31, 7.5, 10023, 10023),
        ("2016-02-06 19:40:58", "2016-02-06 19:52:32", 1.8, 9.5, 10001, 10018),
        ("2016-02-12 19:06:43", "2016-02-12 19:20:54", 2.3, 11.5, 10044, 10111),
        ("2016-02-23 10:27:56", "2016-02-23 10:58:33", 2.6, 18.5, 10199, 10022),
        ("2016-02-13 00:03:32", "2016-02-13 00:11:46", 1.2, 7.0, 10023, 10019)],
    2: [("2016-02-24 08:12:00", "2016-02-24 08:31:10", 3.1, 15.25, 10103, 10001),
        ("2016-02-24 09:05:41", "2016-02-24 09:09:02", 0.6, 4.5, 10001, 10001),
        ("2016-02-25 22:40:19", "2016-02-25 23:02:44", 5.4, 21.0, 11371, 10023)],
}
COLUMNS = ("tpep_pickup_datetime", "tpep_dropoff_datetime", "trip_distance", "fare_amount", "pickup_zip",
           "dropoff_zip")


def trips(batches: int) -> list[dict]:
    return [dict(zip(COLUMNS, t, strict=True)) for b in range(1, batches + 1) for t in TRIPS[b]]


def statements(batch: int) -> list[str]:
    values = ", ".join(f"(TIMESTAMP '{p}', TIMESTAMP '{d}', {dist}, {fare}, {pz}, {dz})"
                       for p, d, dist, fare, pz, dz in TRIPS[batch])
    return [f"INSERT INTO nyctaxi.trips VALUES {values}"]


def write_batch(batch: int, landing: Path) -> None:
    """Nothing lands as files: the source is a table (see statements)."""
