"""The quarantine split computed in plain Python: a trip is quarantined when NOT(pickup_zip IS NOT NULL AND
dropoff_zip IS NOT NULL); warn expectations keep every trip."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("quarantine_docs_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    trips = [{**t, "tpep_pickup_datetime": t["tpep_pickup_datetime"].replace(tzinfo=None)}
             for t in data.rows(batches)]
    quarantined = [t for t in trips if not (t["pickup_zip"] is not None and t["dropoff_zip"] is not None)]
    valid = [t for t in trips if t not in quarantined]
    per_zip: dict = {}
    for t in valid:
        trips_n, fare = per_zip.get(t["pickup_zip"], (0, 0.0))
        per_zip[t["pickup_zip"]] = (trips_n + 1, fare + t["fare_amount"])
    return {
        "fares_by_pickup_zip": [{"pickup_zip": z, "trips": n, "total_fare": f} for z, (n, f) in per_zip.items()],
        "quarantined_trips": [{c: t[c] for c in ["tpep_pickup_datetime", "trip_distance", "fare_amount",
                                                 "pickup_zip", "dropoff_zip"]} for t in quarantined],
    }
