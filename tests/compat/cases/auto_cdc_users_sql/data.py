"""Synthetic change feeds, the shape of the documentation's cdc_data.users (userId, name, city,
operation, sequenceNum), appended to tables outside the pipeline before each update."""

from pathlib import Path

Event = tuple[int | None, str | None, str | None, str, int]  # memberId, name, city, operation, sequenceNum

MEMBERS: dict[int, list[Event]] = {
    1: [
        (124, "Rita", "Lyon", "INSERT", 1),
        (123, "Ines", "Porto", "INSERT", 1),
        (125, "Mara", "Turin", "INSERT", 2),
        (126, "Lena", "Graz", "INSERT", 2),
        (123, None, None, "DELETE", 6),
        (125, "Mara", "Genoa", "UPDATE", 6),
        (125, "Mara", "Milan", "UPDATE", 5),  # older than the line above
        (123, "Ines", "Braga", "UPDATE", 5),  # older than the delete
    ],
    2: [
        (126, "Lena", "Linz", "UPDATE", 4),
        (124, "Rita Marie", "Lyon", "UPDATE", 3),
        (126, "Lena", "Vienna", "UPDATE", 3),  # late: between 2 and 4
        (125, "Mara", "Rome", "UPDATE", 4),  # late: between batch 1's 2 and 5
        (127, "Olga", "Kyiv", "INSERT", 7),
        (123, "Ines", "Faro", "UPDATE", 8),  # after the delete: the key comes back
        (124, "Rita Marie", "Nice", "UPDATE", 9),  # only the city changes
    ],
}

RESETTABLE: dict[int, list[Event]] = {
    1: [
        (201, "Anna", "Oslo", "INSERT", 1),
        (202, "Beto", "Lima", "INSERT", 2),
        (None, None, None, "TRUNCATE", 3),
        (203, "Cleo", "Rome", "INSERT", 4),
        (204, "Dino", "Bari", "INSERT", 5),
    ],
    2: [
        (205, "Egon", "Bonn", "INSERT", 6),
        (203, "Cleo", "Pisa", "UPDATE", 7),
        (204, None, None, "DELETE", 8),
    ],
}


def members(batches: int) -> list[Event]:
    return [e for b in range(1, batches + 1) for e in MEMBERS[b]]


def resettable(batches: int) -> list[Event]:
    return [e for b in range(1, batches + 1) for e in RESETTABLE[b]]


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _insert(table: str, events: list[Event]) -> str:
    values = ", ".join("(" + ", ".join(_literal(v) for v in e) + ")" for e in events)
    return f"INSERT INTO {table} VALUES {values}"


def statements(batch: int) -> list[str]:
    return [_insert("cdc_source.members", MEMBERS[batch]), _insert("cdc_source.members_resettable", RESETTABLE[batch])]


def write_batch(batch: int, landing: Path) -> None:
    """Nothing lands as files: the change feeds are tables (see statements)."""
