"""The Divvy pipeline's tables computed from data.py's responses: explode the station arrays, epoch
seconds to UTC timestamps (the pipeline's session time zone), warn expectations keep rows, DROP ROW
removes entries without a station, and APPLY CHANGES (SCD type 1) keeps per station the entry of the
response with the highest last_updated, whenever it arrived."""

import datetime as dt
import importlib.util
import re
from pathlib import Path

_spec = importlib.util.spec_from_file_location("divvy_bikes_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _ts(seconds: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)


def _hour(seconds: int) -> int:
    return seconds - seconds % 3600


def docks(batches: int) -> list[dict]:
    rows = []
    for _, response in data.responses("station_status", batches):
        updated = response["last_updated"]
        for entry in response["data"]["stations"]:
            if entry.get("station_id") is None:
                continue
            rows.append({"station_id": entry["station_id"], "num_bikes_available": entry["num_bikes_available"],
                         "num_ebikes_available": entry["num_ebikes_available"],
                         "station_status": entry["station_status"], "is_renting": entry["is_renting"],
                         "last_reported": entry["last_reported"], "last_reported_ts": _ts(entry["last_reported"]),
                         "last_updated": updated, "last_updated_ts": _ts(updated),
                         "last_updated_date": _ts(updated).date(), "last_updated_hr": _hour(updated),
                         "secs_since_last_reported": updated - entry["last_reported"]})
    return rows


def weather(batches: int) -> list[dict]:
    rows = []
    for name, w in data.responses("weather_info", batches):
        station = re.fullmatch(r"(.*)_(.*).json", name).group(2)
        rows.append({"weather_main": [x["main"] for x in w["weather"]],
                     "weather_description": [x["description"] for x in w["weather"]],
                     "station_id": station, "coord_lat": w["coord"]["lat"], "coord_lon": w["coord"]["lon"],
                     "base": w["base"], "main_temp": w["main"]["temp"], "main_feels_like": w["main"]["feels_like"],
                     "main_pressure": w["main"]["pressure"], "main_humidity": w["main"]["humidity"],
                     "visibility": w["visibility"], "wind_speed": w["wind"]["speed"],
                     "wind_gust": w["wind"].get("gust"), "clouds_all": w["clouds"]["all"], "json_file_name": name,
                     "dt": w["dt"], "dt_ts": _ts(w["dt"]), "dt_date": _ts(w["dt"]).date(), "dt_hr": _hour(w["dt"]),
                     "sys_country": w["sys"]["country"], "sys_sunrise": w["sys"]["sunrise"],
                     "timezone": w["timezone"], "id": w["id"], "name": w["name"], "cod": w["cod"]})
    return rows


def directory(batches: int) -> list[dict]:
    latest: dict[str, tuple[int, dict]] = {}
    for _, response in data.responses("station_information", batches):
        updated = response["last_updated"]
        for entry in response["data"]["stations"]:
            if entry["station_id"] not in latest or latest[entry["station_id"]][0] < updated:
                latest[entry["station_id"]] = (updated, entry)
    return [{"station_id": e["station_id"], "external_id": e["external_id"], "name": e["name"],
             "capacity": e["capacity"], "has_kiosk": e["has_kiosk"], "lat": e["lat"], "lon": e["lon"],
             "rental_methods": e["rental_methods"], "rental_uris": e["rental_uris"],
             "last_updated": updated, "last_updated_ts": _ts(updated)}
            for updated, e in latest.values()]


def expected(batches: int) -> dict[str, list[dict]]:
    return {
        "bronze_dock_status": [{"last_updated": r["last_updated"], "ttl": r["ttl"], "_rescued_data": None}
                               for _, r in data.responses("station_status", batches)],
        "silver_dock_status": docks(batches),
        "bronze_weather": [{"dt": w["dt"], "station_id": row["station_id"], "json_file_name": row["json_file_name"],
                            "dt_date": row["dt_date"], "_rescued_data": None}
                           for (_, w), row in zip(data.responses("weather_info", batches), weather(batches),
                                                  strict=True)],
        "silver_weather": weather(batches),
        "bronze_station_directory": [{"last_updated": r["last_updated"], "_rescued_data": None}
                                     for _, r in data.responses("station_information", batches)],
        "silver_station_directory": directory(batches),
    }
