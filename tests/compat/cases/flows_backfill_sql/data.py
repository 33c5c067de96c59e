"""Synthetic subscribers: new sign-ups appended to signups.subscribers (streamed) and historical ones in
subscriber_backfill_table (read once), before each update."""

from pathlib import Path

Row = tuple[int, str, str]  # user_id, name, signup_date

SIGNUPS: dict[int, list[Row]] = {
    1: [(101, "Ama", "2024-05-01"), (102, "Bo", "2024-05-02")],
    2: [(103, "Cy", "2024-05-03"), (104, "Di", "2024-05-03")],
}
BACKFILL: dict[int, list[Row]] = {
    1: [(1, "Old Ann", "2019-01-10"), (2, "Old Ben", "2020-07-22"), (3, "Old Cat", "2021-11-30")],
    2: [(4, "Late Dan", "2018-03-03")],  # added after the backfill ran: never read
}


def _insert(table: str, rows: list[Row]) -> str:
    values = ", ".join(f"({uid}, '{name}', DATE '{day}')" for uid, name, day in rows)
    return f"INSERT INTO {table} VALUES {values}"


def statements(batch: int) -> list[str]:
    return [_insert("signups.subscribers", SIGNUPS[batch]),
            _insert("{db}.subscriber_backfill_table", BACKFILL[batch])]


def write_batch(batch: int, landing: Path) -> None:
    """Nothing lands as files: the sources are tables (see statements)."""
