"""The template's tables computed in plain Python from data.py's trips (every materialized view reads the whole
source table as it is at the update)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bundle_default_python_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    trips = [{**t, "tpep_pickup_datetime": t["tpep_pickup_datetime"].replace(tzinfo=None),
              "tpep_dropoff_datetime": t["tpep_dropoff_datetime"].replace(tzinfo=None)} for t in data.rows(batches)]
    zones: dict = {}
    for t in trips:
        zones[t["pickup_zip"]] = zones.get(t["pickup_zip"], 0.0) + t["fare_amount"]
    return {
        "sample_trips_my_project": [{**t, "trip_distance_km": t["trip_distance"] * 1.60934} for t in trips],
        "sample_zones_my_project": [{"pickup_zip": z, "total_fare": f} for z, f in zones.items()],
        "filtered_taxis": [t for t in trips if t["fare_amount"] < 30],
    }
