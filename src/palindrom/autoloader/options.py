"""The ``cloudFiles`` options Auto Loader understands, parsed once with clear errors.

Every option is either applied locally, or accepted because it changes nothing in a local run
(notification set-up, listing strategy, cloud credentials), or refused with an error naming it:
an option silently ignored could change the result.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("json", "csv", "parquet", "avro", "binaryfile", "text")
MODES = ("addNewColumns", "rescue", "failOnNewColumns", "none")
RESCUED = "_rescued_data"
METADATA = "_metadata"

# Applied by this source (lower case).
_APPLIED = {
    "path", "cloudfiles.format", "cloudfiles.schemalocation", "cloudfiles.statelocation", "cloudfiles.schemahints",
    "cloudfiles.schemaevolutionmode", "rescueddatacolumn", "cloudfiles.rescueddatacolumn",
    "cloudfiles.infercolumntypes", "cloudfiles.includeexistingfiles", "cloudfiles.maxfilespertrigger",
    "cloudfiles.maxbytespertrigger", "cloudfiles.includemetadatacolumn", "cloudfiles.userschema",
    "header", "sep", "delimiter", "quote", "escape", "nullvalue", "comment", "multiline", "mode", "encoding",
    "pathglobfilter", "recursivefilelookup", "modifiedafter", "modifiedbefore", "avroschema", "inferschema",
    "linesep", "wholetext", "ignoremissingfiles", "ignorecorruptfiles",
    "palindrom.decoder", "palindrom.decoder.spec",   # local only: decode binaryFile contents in the source
}
DECODER = "palindrom.decoder"            # "module:Class" of a decoder of binaryFile contents (autoloader/source.py)
DECODER_SPEC = "palindrom.decoder.spec"  # its JSON spec, given to Class.from_spec
# Change nothing in a local run: how Databricks discovers files or reaches cloud storage.
_NO_LOCAL_EFFECT = (
    "cloudfiles.usenotifications", "cloudfiles.useincrementallisting", "cloudfiles.uselistfiles",
    "cloudfiles.backfillinterval", "cloudfiles.validateoptions", "cloudfiles.region", "cloudfiles.queueurl",
    "cloudfiles.connectionstring", "cloudfiles.resourcegroup", "cloudfiles.subscriptionid", "cloudfiles.tenantid",
    "cloudfiles.clientid", "cloudfiles.clientsecret", "cloudfiles.fetchparallelism", "cloudfiles.pathrewrites",
    "cloudfiles.resourcetag.", "cloudfiles.maxfileage", "cloudfiles.cleansource", "cloudfiles.usemanagedfileevents",
    "cloudfiles.projectid", "cloudfiles.credentials", "cloudfiles.servicecredential", "cloudfiles.asyncdirlisting",
)
_DEFAULT_ONLY = {"dateformat": ("yyyy-MM-dd",), "timestampformat": ("yyyy-MM-dd'T'HH:mm:ss[.SSS][XXX]",)}


class CloudFilesOptionError(ValueError):
    pass


def qualified(name: str) -> str:
    """``name`` as the option Auto Loader knows: ``useIncrementalListing`` (as ``read_files`` takes
    it) is ``cloudFiles.useIncrementalListing``; a format option such as ``header`` stays as it is."""
    lowered = "cloudfiles." + name.lower()
    if lowered in _APPLIED or lowered.startswith(_NO_LOCAL_EFFECT) or lowered == "cloudfiles.allowoverwrites":
        return "cloudFiles." + name
    return name


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


def _instant(key: str, value: str | None) -> float | None:
    """``modifiedAfter`` / ``modifiedBefore``: ``YYYY-MM-DDTHH:mm:ss`` (UTC unless it says otherwise)."""
    if value is None:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CloudFilesOptionError(f"cloudFiles option '{key}' must be a timestamp like "
                                    f"2026-01-31T12:00:00, got '{value}'.") from None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).timestamp()


_GLOB = re.compile(r"[*?\[{]")


def split_glob(path: str) -> tuple[str, str | None]:
    """``/landing/*/part-*.json`` -> (``/landing``, ``*/part-*.json``): the directory to list and
    the glob its files' relative paths must match (None when the path has no glob)."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if _GLOB.search(part):
            return "/".join(parts[:index]) or "/", "/".join(parts[index:])
    return path, None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Hadoop glob as a regular expression: ``*`` and ``?`` stay within one path segment,
    ``[abc]`` / ``[^a-c]`` are character classes and ``{a,b}`` alternatives."""
    out, index, depth = [], 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find("]", index + 1)
            if close < 0:
                raise CloudFilesOptionError(f"The path glob '{pattern}' has an unclosed '['.")
            body = pattern[index + 1:close]
            out.append("[" + ("^" + re.escape(body[1:]) if body.startswith("^") else re.escape(body)).replace(
                "\\-", "-") + "]")
            index = close
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    if depth:
        raise CloudFilesOptionError(f"The path glob '{pattern}' has an unclosed '{{'.")
    return re.compile("".join(out))


def check_known(options: Mapping[str, str]) -> None:
    """Refuse an option this source would otherwise ignore."""
    for key, value in options.items():
        lowered = key.lower()
        if lowered in _APPLIED or lowered.startswith(_NO_LOCAL_EFFECT):
            continue
        if lowered in _DEFAULT_ONLY and value in _DEFAULT_ONLY[lowered]:
            continue
        if lowered == "cloudfiles.allowoverwrites" and value.lower() == "false":
            continue
        raise CloudFilesOptionError(
            f"cloudFiles option '{key}' is not supported by the local Auto Loader and would change what is read; "
            "remove it for local runs or run this pipeline on Databricks (docs/compatibility.md lists the options).")


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
    recursive: bool = True          # subfolders are read (Auto Loader); recursiveFileLookup=false only the top
    modified_after: float | None = None
    modified_before: float | None = None
    failfast: bool = False          # mode FAILFAST: a malformed record fails the read
    path_pattern: str | None = None  # the glob part of a path like /landing/*/part-*.json, below `path`

    @staticmethod
    def parse(options: Mapping[str, str]) -> CloudFilesOptions:
        check_known(options)
        lowered = {k.lower(): v for k, v in options.items()}
        path = lowered.get("path")
        if not path:
            raise CloudFilesOptionError("cloudFiles needs a path: .load('<directory>').")
        fmt = lowered.get("cloudfiles.format", "").lower()
        if fmt not in FORMATS:
            raise CloudFilesOptionError(f"cloudFiles.format must be one of json, csv, parquet, avro, text, binaryFile "
                                        f"locally; got '{fmt or '(missing)'}'.")
        mode = lowered.get("cloudfiles.schemaevolutionmode")
        if mode is not None and mode.lower() not in {m.lower() for m in MODES}:
            raise CloudFilesOptionError(
                f"cloudFiles.schemaEvolutionMode must be one of {', '.join(MODES)}; got '{mode}'.")
        parse_mode = lowered.get("mode", "PERMISSIVE").upper()
        if parse_mode not in ("PERMISSIVE", "FAILFAST"):
            raise CloudFilesOptionError(f"mode '{parse_mode}' is not supported locally: malformed records are "
                                        "rescued (PERMISSIVE) or fail the read (FAILFAST), never dropped.")
        encoding = lowered.get("encoding", "UTF-8")
        if encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise CloudFilesOptionError(f"encoding '{encoding}' is not supported locally; files are read as UTF-8.")
        if lowered.get(DECODER) and fmt != "binaryfile":
            raise CloudFilesOptionError(f"{DECODER} decodes binaryFile contents; cloudFiles.format is '{fmt}'.")
        max_bytes = lowered.get("cloudfiles.maxbytespertrigger")
        location = lowered.get("cloudfiles.schemalocation")
        state = lowered.get("cloudfiles.statelocation")
        root, pattern = split_glob(path.removeprefix("file://").removeprefix("file:"))
        return CloudFilesOptions(
            path=Path(root),
            path_pattern=pattern,
            format=fmt,
            schema_location=Path(location) if location else None,
            state_location=Path(state) if state else None,
            schema_hints=lowered.get("cloudfiles.schemahints"),
            evolution_mode={m.lower(): m for m in MODES}[mode.lower()] if mode else None,
            rescued_column=lowered.get("rescueddatacolumn") or lowered.get("cloudfiles.rescueddatacolumn"),
            infer_column_types=_bool(lowered, "cloudfiles.infercolumntypes", _bool(lowered, "inferschema", False)),
            include_existing_files=_bool(lowered, "cloudfiles.includeexistingfiles", True),
            max_files=int(lowered.get("cloudfiles.maxfilespertrigger", "1000")),
            max_bytes=_size(max_bytes) if max_bytes else None,
            include_metadata=_bool(lowered, "cloudfiles.includemetadatacolumn", False),
            user_schema=lowered.get("cloudfiles.userschema"),
            # Auto Loader assumes CSV files have a header when it infers their schema.
            header=_bool(lowered, "header", not lowered.get("cloudfiles.userschema")),
            delimiter=lowered.get("sep") or lowered.get("delimiter") or ",",
            reader_options=lowered,
            glob_filter=lowered.get("pathglobfilter"),
            recursive=_bool(lowered, "recursivefilelookup", True),
            modified_after=_instant("modifiedAfter", lowered.get("modifiedafter")),
            modified_before=_instant("modifiedBefore", lowered.get("modifiedbefore")),
            failfast=parse_mode == "FAILFAST",
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

    def admits(self, mtime_ms: int) -> bool:
        """modifiedAfter / modifiedBefore."""
        seconds = mtime_ms / 1000
        return ((self.modified_after is None or seconds > self.modified_after)
                and (self.modified_before is None or seconds < self.modified_before))
