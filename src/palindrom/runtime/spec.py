"""Which pipeline to run and with what configuration.

A pipeline in this repo is a folder ``pipelines/<name>/`` with a ``pipeline.yml``::

    name: starter
    database: starter            # local schema the tables are published to
    libraries: [transformations/**]
    configuration: {key: value}  # as the Databricks pipeline `configuration`
    # Deployment only (read by palindrom.bundle, ignored by local runs):
    domain: starter              # the Databricks catalog (plus the environment's suffix); `database` is the schema
    uses: [schemas/x/**]         # repository files the pipeline reads besides its folder (deployment scope)
    tests: [tests/test_x.py]     # the test files that exercise it (deployment scope)

Any other folder of DLT source files runs too: every ``.py`` / ``.sql`` file under it is loaded.
Environment settings come from ``conf/<env>.yml`` (``configuration`` merged under the pipeline's).
Values may use ``{repo}``, ``{storage}`` and ``{pipeline_dir}`` placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = "pipeline.yml"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOCAL_PATHS_KEY = "palindrom.local_paths"
_PLACEHOLDER = re.compile(r"\{(repo|storage|pipeline_dir)\}")


class ConfigurationError(ValueError):
    """Bad usage or configuration (exit code 2)."""


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    root: Path
    database: str
    libraries: list[str]
    configuration: dict[str, str] = field(default_factory=dict)
    domain: str = ""
    uses: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()

    def local_paths(self) -> dict[str, str]:
        """``palindrom.local_paths``: ``<path on Databricks>=<local folder>`` pairs, separated by ``;``,
        so file reads written for a workspace (``/Volumes/...``) read local folders unchanged."""
        pairs: dict[str, str] = {}
        for item in self.configuration.get(LOCAL_PATHS_KEY, "").split(";"):
            if not item.strip():
                continue
            prefix, separator, local = item.partition("=")
            if not separator or not prefix.strip() or not local.strip():
                raise ConfigurationError(f"{LOCAL_PATHS_KEY}: '{item}' is not <path on Databricks>=<local folder>.")
            pairs[prefix.strip()] = local.strip()
        return pairs

    def source_files(self) -> list[Path]:
        files: list[Path] = []
        for pattern in self.libraries:
            pattern = pattern + "/*" if pattern.endswith("**") else pattern  # `dir/**` means every file under dir
            matches = sorted(self.root.glob(pattern)) if any(c in pattern for c in "*?[") else [self.root / pattern]
            for path in matches:
                if path.is_file() and path.suffix in (".py", ".sql") and "__pycache__" not in path.parts:
                    files.append(path)
        if not files:
            raise ConfigurationError(f"No .py or .sql pipeline files found in {self.root} "
                                     f"(libraries: {', '.join(self.libraries)}).")
        return list(dict.fromkeys(files))


def _is_repo(folder: Path) -> bool:
    return (folder / "pipelines").is_dir() and (folder / "conf").is_dir() and (folder / "pyproject.toml").is_file()


def repo_root(start: Path | None = None) -> Path:
    """The pipeline repository: the first folder up from ``start`` (else the working directory)
    with pipelines/, conf/ and pyproject.toml; else the repository this package runs from."""
    for origin in ([start] if start else []) + [Path.cwd()]:
        here = origin.resolve()
        for candidate in (here, *here.parents):
            if _is_repo(candidate):
                return candidate
    package_repo = Path(__file__).resolve().parents[3]
    return package_repo if _is_repo(package_repo) else Path.cwd().resolve()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping at the top level.")
    return data


def _str_map(path: Path, key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{path}: '{key}' must be a mapping of strings.")
    return {str(k): str(v) for k, v in value.items()}


def prefixed(configuration: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The keys under ``prefix`` (``palindrom.registry.``, ``palindrom.kafka.``), prefix removed."""
    return {k.removeprefix(prefix): v for k, v in configuration.items() if k.startswith(prefix)}


def environment_settings(env: str, repo: Path | None = None) -> dict[str, Any]:
    """The whole of ``conf/<env>.yml``; ConfigurationError naming the known ones if absent."""
    conf_dir = (repo or repo_root()) / "conf"
    env_file = conf_dir / f"{env}.yml"
    if not env_file.is_file():
        known = sorted(p.stem for p in conf_dir.glob("*.yml"))
        raise ConfigurationError(f"Unknown environment '{env}': no {env_file}. Known: {', '.join(known)}.")
    return _read_yaml(env_file)


def environment_configuration(env: str, repo: Path | None = None) -> dict[str, str]:
    """The ``configuration`` of ``conf/<env>.yml``; ConfigurationError naming the known ones if absent."""
    repo = repo or repo_root()
    settings = environment_settings(env, repo)
    return _str_map(repo / "conf" / f"{env}.yml", "configuration", settings.get("configuration"))


def pipeline_names() -> list[str]:
    """The pipelines of this repository: folders ``pipelines/<name>/`` with a ``pipeline.yml``."""
    return sorted(p.parent.name for p in (repo_root() / "pipelines").glob(f"*/{SPEC_FILE}"))


def _str_list(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{path}: '{key}' must be a list of strings.")
    return tuple(value)


def resolve(target: str | None, env: str, storage: Path) -> PipelineSpec:
    """Resolve NAME (a pipeline of this repo) or PATH (any folder or file of DLT sources)."""
    repo = repo_root()
    if target is None:  # the events pipeline once it exists, the starter pipeline until then
        target = "events" if (repo / "pipelines" / "events").is_dir() else "starter"
    candidate = Path(target)
    if not candidate.exists() and _NAME.match(target):
        candidate = repo / "pipelines" / target
        if not candidate.is_dir():
            known = pipeline_names()
            raise ConfigurationError(f"Unknown pipeline '{target}'. Pipelines in this repo: "
                                     f"{', '.join(known) or 'none'}; or pass a path to a folder of pipeline files.")
    candidate = candidate.resolve()
    repo = repo_root(candidate)
    if candidate.is_file():
        root, data, libraries = candidate.parent, {}, [candidate.name]
    else:
        root = candidate
        spec_path = root / SPEC_FILE
        data = _read_yaml(spec_path) if spec_path.is_file() else {}
        libraries = data.get("libraries") or ["**/*.py", "**/*.sql"]
    name = str(data.get("name") or root.name)
    database = str(data.get("database") or re.sub(r"\W", "_", name).lower())
    if not _NAME.match(database):
        raise ConfigurationError(f"Database name '{database}' is not a valid identifier.")
    conf = {**environment_configuration(env, repo),
            **_str_map(root / SPEC_FILE, "configuration", data.get("configuration"))}
    values = {"repo": str(repo), "storage": str(storage.resolve()), "pipeline_dir": str(root)}
    conf = {k: _PLACEHOLDER.sub(lambda m: values[m.group(1)], v) for k, v in conf.items()}
    spec_path = root / SPEC_FILE
    pipeline = PipelineSpec(name=name, root=root, database=database, libraries=list(libraries), configuration=conf,
                            domain=str(data.get("domain") or ""), uses=_str_list(spec_path, "uses", data.get("uses")),
                            tests=_str_list(spec_path, "tests", data.get("tests")))
    pipeline.source_files()  # fail early, as bad configuration, when there is nothing to load
    return pipeline
