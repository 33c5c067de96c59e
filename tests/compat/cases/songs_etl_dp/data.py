"""Synthetic songs in the dataset's layout: tab-separated, no header, twenty columns; empty fields are nulls."""

from pathlib import Path

COLUMNS = ["artist_id", "artist_lat", "artist_long", "artist_location", "artist_name", "duration",
           "end_of_fade_in", "key", "key_confidence", "loudness", "release", "song_hotnes", "song_id",
           "start_of_fade_out", "tempo", "time_signature", "time_signature_confidence", "title", "year",
           "partial_sequence"]


def _song(n, artist_id, artist, duration, title, year, tempo, signature, release, location="Oslo"):
    return {"artist_id": artist_id, "artist_lat": 59.9 + n / 100, "artist_long": 10.75, "artist_location": location,
            "artist_name": artist, "duration": duration, "end_of_fade_in": 0.25 * n, "key": n % 12,
            "key_confidence": 0.5, "loudness": -7.5 - n, "release": release, "song_hotnes": 0.1 * (n % 10),
            "song_id": f"SO{n:05d}", "start_of_fade_out": (duration or 0) - 5.0, "tempo": tempo,
            "time_signature": signature, "time_signature_confidence": 0.75, "title": title, "year": year,
            "partial_sequence": 0}


BATCHES = {
    1: [
        _song(1, "AR001", "Northern Lights", 215.5, "Aurora", 2004, 120.5, 4.0, "Polar"),
        _song(2, "AR001", "Northern Lights", 198.25, "Midnight Sun", 2004, 98.0, 4.0, "Polar"),
        _song(3, "AR001", "Northern Lights", 240.0, "Fjord", 2006, 110.0, 3.0, "Coast"),
        _song(4, "AR002", "Tidewater", 187.75, "Low Tide", 2004, 132.25, 4.0, "Shores"),
        _song(5, "AR003", None, 201.0, "Unknown Artist Song", 2010, 100.0, 4.0, "Anon"),  # warned
        _song(6, "AR004", "Quiet Harbour", 0.0, "Silence", 2011, 60.0, 4.0, "Empty"),  # duration warned
        _song(7, "AR002", "Tidewater", 175.5, None, 2005, 140.0, 4.0, "Shores"),  # title warned
        _song(8, "AR005", "Old Tapes", 160.0, "Undated", 0, 90.0, 4.0, "Attic"),  # year 0: not ranked
    ],
    2: [
        _song(9, "AR001", "Northern Lights", 230.5, "Polar Night", 2006, 105.0, 4.0, "Coast"),
        _song(10, "AR002", "Tidewater", 190.0, "High Tide", 2004, 128.0, 4.0, "Shores"),
        _song(11, "AR006", "Glass Rivers", 305.25, "Meltwater", 2012, 76.5, 5.0, "Thaw", "Bergen"),
        _song(12, "AR006", "Glass Rivers", 250.0, "Delta", 2012, 82.0, 5.0, "Thaw", "Bergen"),
        _song(1, "AR001", "Northern Lights", 215.5, "Aurora", 2004, 120.5, 4.0, "Polar"),  # re-sent line
    ],
}


def _field(value) -> str:
    return "" if value is None else str(value)


def rows(batches: int) -> list[dict]:
    return [r for b in range(1, batches + 1) for r in BATCHES[b]]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "songs" / "data-001"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(_field(song[c]) for c in COLUMNS) for song in BATCHES[batch]]
    (folder / f"part-{batch - 1:05d}").write_text("\n".join(lines) + "\n")
