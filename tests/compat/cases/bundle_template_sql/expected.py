"""The template's two materialized views over the trips of data.py: a projection and the fare total per
pickup zip, both recomputed from the whole source table at each update."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bundle_template_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    trips = data.trips(batches)
    totals: dict[int, float] = {}
    for t in trips:
        totals[t["pickup_zip"]] = totals.get(t["pickup_zip"], 0.0) + t["fare_amount"]
    return {
        "taxi_trips": [{"pickup_zip": t["pickup_zip"], "fare_amount": t["fare_amount"],
                        "trip_distance": t["trip_distance"]} for t in trips],
        "fares_by_zip": [{"pickup_zip": z, "total_fare": f} for z, f in totals.items()],
    }
