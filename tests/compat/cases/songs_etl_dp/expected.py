"""The songs tables computed in plain Python from data.py's rows."""

import importlib.util
from collections import Counter
from pathlib import Path

_spec = importlib.util.spec_from_file_location("songs_etl_dp_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

PREPARED = ["artist_id", "artist_name", "duration", "release", "tempo", "time_signature", "song_title", "year"]


def expected(batches: int) -> dict[str, list[dict]]:
    raw = data.rows(batches)  # every line of every file, re-sent lines included
    prepared = [{c: (song["title"] if c == "song_title" else song[c]) for c in PREPARED} for song in raw]
    counts = Counter((s["artist_name"], s["year"]) for s in prepared if s["year"] is not None and s["year"] > 0)
    return {
        "songs_raw": [dict(s) for s in raw],
        "songs_prepared": prepared,  # warn expectations keep every row
        "top_artists_by_year": [{"artist_name": a, "year": y, "total_number_of_songs": n}
                                for (a, y), n in counts.items()],
    }
