"""The ``cloudFiles`` options Auto Loader understands, parsed once with clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("json", "csv", "parquet", "avro", "binaryfile")
MODES = ("addNewColumns", "rescue", "failOnNewColumns", "none")
RESCUED = "_rescued_data"
METADATA = "_metadata"


class CloudFilesOptionError(ValueError):
    pass


def _bool(options: Mapping[str, str], key: str, default: bool) -> bool:
    value = options.get(key)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise CloudFilesOptionError(f"cloudFiles option '{key}' must be true or false, got '{value}'.")
    return value.lower() == "true"


def _size(value: str) -> int:
    units = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    text = value.strip().lower().removesuffix("b") or "0"
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


@dataclass(frozen=True)
class CloudFilesOptions:
    path: Path
    format: str
    schema_location: Path | None
    state_location: Path | None
    schema_hints: str | None
    evolution_mode: str | None  # None: the default for the situation (see effective_mode)
    rescued_column: str | None
    infer_column_types: bool
    include_existing_files: bool
    max_files: int
    max_bytes: int | None
    include_metadata: bool
    user_schema: str | None
    header: bool
    delimiter: str
    reader_options: Mapping[str, str]
    glob_filter: str | None = None  # pathGlobFilter: file names to read, e.g. *.avro

    @staticmethod
    def parse(options: Mapping[str, str]) -> CloudFilesOptions:
        lowered = {k.lower(): v for k, v in options.items()}
        path = lowered.get("path")
        if not path:
            raise CloudFilesOptionError("cloudFiles needs a path: .load('<directory>').")
        fmt = lowered.get("cloudfiles.format", "").lower()
        if fmt not in FORMATS:
            raise CloudFilesOptionError(f"cloudFiles.format must be one of json, csv, parquet, avro, binaryFile "
                                        f"locally; got '{fmt or '(missing)'}'.")
        mode = lowered.get("cloudfiles.schemaevolutionmode")
        if mode is not None and mode.lower() not in {m.lower() for m in MODES}:
            raise CloudFilesOptionError(
                f"cloudFiles.schemaEvolutionMode must be one of {', '.join(MODES)}; got '{mode}'.")
        max_bytes = lowered.get("cloudfiles.maxbytespertrigger")
        location = lowered.get("cloudfiles.schemalocation")
        state = lowered.get("cloudfiles.statelocation")
        return CloudFilesOptions(
            path=Path(path.removeprefix("file://").removeprefix("file:")),
            format=fmt,
            schema_location=Path(location) if location else None,
            state_location=Path(state) if state else None,
            schema_hints=lowered.get("cloudfiles.schemahints"),
            evolution_mode={m.lower(): m for m in MODES}[mode.lower()] if mode else None,
            rescued_column=lowered.get("rescueddatacolumn") or lowered.get("cloudfiles.rescueddatacolumn"),
            infer_column_types=_bool(lowered, "cloudfiles.infercolumntypes", False),
            include_existing_files=_bool(lowered, "cloudfiles.includeexistingfiles", True),
            max_files=int(lowered.get("cloudfiles.maxfilespertrigger", "1000")),
            max_bytes=_size(max_bytes) if max_bytes else None,
            include_metadata=_bool(lowered, "cloudfiles.includemetadatacolumn", False),
            user_schema=lowered.get("cloudfiles.userschema"),
            header=_bool(lowered, "header", False),
            delimiter=lowered.get("sep") or lowered.get("delimiter") or ",",
            reader_options=lowered,
            glob_filter=lowered.get("pathglobfilter"),
        )

    @property
    def avro_schema(self) -> str | None:
        """``avroSchema``: the reader schema Avro files are resolved onto (their writer schemas may differ)."""
        return self.reader_options.get("avroschema") if self.format == "avro" else None

    def effective_mode(self, schema_given: bool) -> str:
        """Databricks's default: ``none`` with a given schema, ``addNewColumns`` when inferring."""
        return self.evolution_mode or ("none" if schema_given else "addNewColumns")

    def rescue_column(self, schema_given: bool) -> str | None:
        if self.rescued_column:
            return self.rescued_column
        mode = self.effective_mode(schema_given)
        return RESCUED if (mode == "rescue" or (not schema_given and mode == "addNewColumns")) else None
