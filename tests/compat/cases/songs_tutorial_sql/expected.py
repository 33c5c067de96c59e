"""The tutorial's tables from data.py's tracks: every part* file's rows (empty fields NULL), warn
expectations keep every row, and the per-artist-and-year counts skip year 0 (NULL artists group
together, as in SQL)."""

import importlib.util
from collections import Counter
from pathlib import Path

_spec = importlib.util.spec_from_file_location("songs_tutorial_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def expected(batches: int) -> dict[str, list[dict]]:
    tracks = data.tracks(batches)
    prepared = [{"artist_id": t["artist_id"], "artist_name": t["artist_name"], "duration": t["duration"],
                 "release": t["release"], "tempo": t["tempo"], "time_signature": t["time_signature"],
                 "track_title": t["title"], "year": t["year"]} for t in tracks]
    counts = Counter((t["artist_name"], t["year"]) for t in prepared if t["year"] > 0)
    return {
        "tracks_raw": [{c: t[c] for c in ("artist_id", "artist_name", "duration", "key", "song_id", "title", "year",
                                          "partial_sequence", "time_signature_confidence")} for t in tracks],
        "tracks_prepared": prepared,
        "tracks_per_artist_and_year": [{"artist_name": a, "year": y, "total_number_of_tracks": n}
                                       for (a, y), n in counts.items()],
    }
