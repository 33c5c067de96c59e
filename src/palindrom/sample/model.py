"""The app's users and their sessions: how the sample events are distributed.

* Users: activity follows a Pareto law, so a few heavy users send a large share of the events.
  Each user has a platform and an app build, and the build decides the schema version its
  events are written with (v1, v2 and v3 producers live side by side).
* Sessions start on a diurnal curve (quiet at night, busy in the evening, UTC), open with
  APP_OPEN, close with APP_CLOSE and hold a geometric number of actions a few seconds apart.
* UPLOAD actions also produce a media_upload record for the uploaded file.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

# Share of sessions starting in each UTC hour: low at night, a peak in the evening.
HOURLY = [2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 6, 6, 7, 7, 6, 6, 7, 8, 9, 11, 12, 11, 8, 4]
ACTIONS = ["SCREEN_VIEW", "PLAY", "PAUSE", "LIKE", "SHARE", "UPLOAD", "SEARCH"]
ACTION_WEIGHTS = [40, 25, 12, 10, 5, 3, 5]
PLATFORMS = [("IOS", 45), ("ANDROID", 40), ("WEB", 15)]
VERSIONS = [(1, 25), (2, 40), (3, 35)]          # schema version by app build
APP_BUILDS = {1: None, 2: "5.2.1", 3: "6.0.3"}
SCREENS = ["home", "feed", "profile", "player", "search", "settings", "upload"]
MEDIA = [("IMAGE", 60, ["image/jpeg", "image/png", "image/heic"]),
         ("VIDEO", 25, ["video/mp4", "video/quicktime"]),
         ("AUDIO", 15, ["audio/mpeg", "audio/aac"])]


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class User:
    user_id: str
    weight: float
    platform: str
    version: int


@dataclass
class Event:
    """One app event (``record`` in the writer's shape) and the file version it must be written with."""

    record: dict[str, Any]
    version: int
    defects: list[str] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)


def users(rng: random.Random, count: int) -> list[User]:
    return [User(f"u{rng.getrandbits(40):010x}", rng.paretovariate(1.3),
                 rng.choices([p for p, _ in PLATFORMS], [w for _, w in PLATFORMS])[0],
                 rng.choices([v for v, _ in VERSIONS], [w for _, w in VERSIONS])[0])
            for _ in range(count)]


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def session(rng: random.Random, user: User, day: dt.date) -> list[Event]:
    hour = rng.choices(range(24), HOURLY)[0]
    at = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(3600))
    session_id = new_id(rng)
    actions = ["APP_OPEN"]
    while len(actions) < 60 and rng.random() < 0.85:
        action = rng.choices(ACTIONS, ACTION_WEIGHTS)[0]
        if action == "SEARCH" and user.version < 3:
            action = "SCREEN_VIEW"  # SEARCH exists from v3 on
        actions.append(action)
    actions.append("APP_CLOSE")
    events = []
    for action in actions:
        at += dt.timedelta(milliseconds=int(rng.expovariate(1 / 40_000)) + 200)
        events.append(_event(rng, user, session_id, action, at))
    return events


def _event(rng: random.Random, user: User, session_id: str, action: str, at: dt.datetime) -> Event:
    properties: dict[str, str] = {}
    duration = None
    uploads = []
    if action == "SCREEN_VIEW":
        properties["screen"] = rng.choice(SCREENS)
        duration = int(rng.expovariate(1 / 20_000))
    elif action == "PLAY":
        properties["media_id"] = f"m{rng.getrandbits(32):08x}"
        duration = int(rng.expovariate(1 / 180_000))
    elif action == "SEARCH":
        properties["query"] = rng.choice(["jazz", "cats", "news", "lofi", "podcast", "recipes"])
    elif action == "UPLOAD":
        media_id = new_id(rng)
        properties["media_id"] = media_id
        uploads.append(upload(rng, user, media_id, at + dt.timedelta(seconds=rng.randrange(1, 30))))
    record: dict[str, Any] = {
        "event_id": new_id(rng), "event_type": action, "user_id": user.user_id, "session_id": session_id,
        "occurred_at": _millis(at), "duration_ms": duration, "platform": user.platform, "properties": properties,
    }
    if user.version >= 2:
        record["app_version"] = APP_BUILDS[user.version]
    return Event(record, user.version, uploads=uploads)


def upload(rng: random.Random, user: User, media_id: str, at: dt.datetime) -> dict[str, Any]:
    media_type, _, mimes = rng.choices(MEDIA, [w for _, w, _ in MEDIA])[0]
    size = int(rng.lognormvariate({"IMAGE": 14.0, "VIDEO": 17.5, "AUDIO": 15.5}[media_type], 0.8)) + 1
    duration = int(rng.lognormvariate(11.5, 1.0)) if media_type != "IMAGE" else None
    width, height = (rng.choice([(1080, 1920), (1920, 1080), (1080, 1080), (720, 1280)])
                     if media_type != "AUDIO" else (None, None))
    return {"event_id": new_id(rng), "media_id": media_id, "user_id": user.user_id, "media_type": media_type,
            "mime_type": rng.choice(mimes), "size_bytes": size, "duration_ms": duration, "width": width,
            "height": height, "uploaded_at": _millis(at)}
