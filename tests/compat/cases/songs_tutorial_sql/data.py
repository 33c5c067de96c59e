"""Synthetic tracks in the layout of the Million Song Dataset subset: tab-separated, no header, 20
columns in the schema's order, files part-NNNNN under songs/data-001/."""

from pathlib import Path

COLUMNS = ("artist_id", "artist_lat", "artist_long", "artist_location", "artist_name", "duration",
           "end_of_fade_in", "key", "key_confidence", "loudness", "release", "song_hotnes", "song_id",
           "start_of_fade_out", "tempo", "time_signature", "time_signature_confidence", "title", "year",
           "partial_sequence")


def _track(n: int, artist: str | None, title: str | None, duration: float, year: int) -> dict:
    return {"artist_id": f"AR{n % 4:04d}", "artist_lat": 40.5 + n, "artist_long": -73.25 - n,
            "artist_location": "Somewhere", "artist_name": artist, "duration": duration, "end_of_fade_in": 0.25,
            "key": n % 12, "key_confidence": 0.5, "loudness": -7.5, "release": f"Album {n}", "song_hotnes": 0.75,
            "song_id": f"SO{n:05d}", "start_of_fade_out": duration - 5.5, "tempo": 120.0 + n, "time_signature": 4,
            "time_signature_confidence": 0.875, "title": title, "year": year, "partial_sequence": str(n)}


# file name -> tracks, per batch
FILES = {
    1: {"part-00000": [_track(1, "The Lumens", "First Light", 215.5, 2005),
                       _track(2, "The Lumens", "Second Light", 198.25, 2005),
                       _track(3, "Ada Quartet", "Fugue", 301.0, 1999)],
        "part-00001": [_track(4, "The Lumens", "Third Light", 187.75, 2007),
                       _track(5, "Ada Quartet", "Canon", 250.5, 0)]},
    2: {"part-00002": [_track(6, None, "Nameless", 160.0, 2010),
                       _track(7, "Ada Quartet", None, 145.25, 1999),
                       _track(8, "The Lumens", "Silence", 0.0, 2005)],
        "readme.txt": [_track(9, "Not A Track", "Ignored", 100.0, 2001)]},  # outside the part* glob
}


def _field(value: object) -> str:
    return "" if value is None else str(value)


def tracks(batches: int) -> list[dict]:
    return [t for b in range(1, batches + 1) for name, ts in FILES[b].items() if name.startswith("part") for t in ts]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "songs" / "data-001"
    folder.mkdir(parents=True, exist_ok=True)
    for name, ts in FILES[batch].items():
        (folder / name).write_text("".join("\t".join(_field(t[c]) for c in COLUMNS) + "\n" for t in ts))
