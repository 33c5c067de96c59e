"""Synthetic API responses in the shapes the Divvy demo lands: GBFS station_status and
station_information (one response per file: {"data": {"stations": [...]}, "last_updated", "ttl"}) and
OpenWeather current weather (one response per station, the station id at the end of the file name)."""

import json
from pathlib import Path

ROOT = Path("DivvyBikes", "api_response")
T0 = 1709287200  # 2024-03-01 10:00:00 UTC


def _dock(station: str | None, bikes: int, reported: int, status: str = "active") -> dict:
    entry = {"station_id": station, "num_bikes_available": bikes, "num_bikes_disabled": 1,
             "num_docks_available": 20 - bikes, "num_docks_disabled": 0, "num_ebikes_available": bikes // 2,
             "station_status": status, "is_renting": 1 if status == "active" else 0,
             "is_returning": 1 if status == "active" else 0, "last_reported": reported}
    return {k: v for k, v in entry.items() if v is not None}


def _station(station: str, name: str, capacity: int, lat: float, lon: float, methods: list[str]) -> dict:
    return {"station_id": station, "external_id": f"ext-{station}", "name": name, "short_name": station.upper(),
            "station_type": "classic", "has_kiosk": True, "capacity": capacity,
            "eightd_has_key_dispenser": False, "electric_bike_surcharge_waiver": False, "lat": lat, "lon": lon,
            "rental_methods": methods,
            "rental_uris": {"android": f"https://bikes.example/a/{station}", "ios": f"https://bikes.example/i/{station}"}}


def _weather(dt: int, temp: float, sky: list[tuple[str, str]], gust: float | None) -> dict:
    wind = {"speed": 4.12, "deg": 250, "gust": gust}
    return {"coord": {"lon": -87.65, "lat": 41.85},
            "weather": [{"id": 800 + i, "main": m, "description": d, "icon": "01d"} for i, (m, d) in enumerate(sky)],
            "base": "stations",
            "main": {"temp": temp, "feels_like": temp - 2.5, "temp_min": temp - 1.25, "temp_max": temp + 1.75,
                     "pressure": 1015, "humidity": 80},
            "visibility": 10000, "wind": {k: v for k, v in wind.items() if v is not None}, "clouds": {"all": 20},
            "dt": dt, "sys": {"type": 2, "id": 2005153, "country": "US", "sunrise": dt - 3600, "sunset": dt + 36000},
            "timezone": -21600, "id": 4887398, "name": "Chicago", "cod": 200}


# file name -> response, per batch
STATUS = {
    1: {"status_1.json": {"data": {"stations": [_dock("s1", 5, T0 - 200), _dock("s2", 7, T0 - 107200)]},
                          "last_updated": T0, "ttl": 5},
        "status_2.json": {"data": {"stations": [_dock("s1", 4, T0 + 3500), _dock("s2", 6, T0 + 3000, "out_of_service")]},
                          "last_updated": T0 + 3600, "ttl": 5}},
    2: {"status_3.json": {"data": {"stations": [_dock("s1", 9, T0 + 93000), _dock("s3", 2, T0 + 93500),
                                                _dock(None, 3, T0 + 93500)]},
                          "last_updated": T0 + 93600, "ttl": 5}},
}
DIRECTORY = {
    1: {"info_1.json": {"data": {"stations": [
        _station("s1", "Clark & Lake", 15, 41.886, -87.631, ["KEY", "CREDITCARD"]),
        _station("s2", "Wells & Concord", 11, 41.912, -87.634, ["KEY"])]}, "last_updated": T0, "ttl": 60}},
    2: {"info_2.json": {"data": {"stations": [
        _station("s1", "Clark St & Lake St", 19, 41.886, -87.631, ["KEY", "CREDITCARD", "TRANSITCARD"]),
        _station("s3", "Canal & Adams", 23, 41.879, -87.639, ["CREDITCARD"])]}, "last_updated": T0 + 93600, "ttl": 60},
        # a late, older response: older than what s2 has, the first word on s4
        "info_0.json": {"data": {"stations": [
            _station("s2", "Wells (old name)", 9, 41.912, -87.634, ["KEY"]),
            _station("s4", "Halsted & Roscoe", 13, 41.943, -87.649, ["KEY"])]}, "last_updated": T0 - 86400, "ttl": 60}},
}
WEATHER = {
    1: {"weather_1_s1.json": _weather(T0, 275.15, [("Clear", "clear sky")], 7.25),
        "weather_1_s2.json": _weather(T0 + 2800, 276.35, [("Rain", "light rain"), ("Mist", "mist")], None)},
    2: {"weather_2_s1.json": _weather(T0 + 93600, 279.55, [("Clouds", "few clouds")], 9.5)},
}
FEEDS = {"station_status": STATUS, "station_information": DIRECTORY, "weather_info": WEATHER}


def responses(feed: str, batches: int) -> list[tuple[str, dict]]:
    return [item for b in range(1, batches + 1) for item in FEEDS[feed][b].items()]


def write_batch(batch: int, landing: Path) -> None:
    for feed, batches in FEEDS.items():
        folder = landing / ROOT / feed
        folder.mkdir(parents=True, exist_ok=True)
        for name, response in batches[batch].items():
            (folder / name).write_text(json.dumps(response))
