"""The Databricks serverless environment the pipelines run in, and what this project relies on it for.

Pipelines deploy with ``environment.environment_version: "4"`` (Lakeflow pipelines support versions 3
and 4). Serverless environment version 4, as documented on the "Serverless environment versions" page
of the Databricks release notes: Ubuntu 24.04.2 LTS, Python 3.12.3, Databricks Connect 17.2.3.

The project relies only on Databricks Connect 17.2.3 (it provides the ``pyspark`` package) and on
the packages Databricks Connect 17.2.3 itself requires (its PyPI metadata, ``Requires-Dist``), which
the environment must therefore hold; ``requests`` comes with ``databricks-sdk`` (a requirement of the
SDK). Versions are the minimums those requirements state. Anything else the pipeline code imports is
a requirement of the wheel (``pyproject.toml``), pinned in ``environment.dependencies``.
"""

from __future__ import annotations

ENVIRONMENT_VERSION = "4"  # Python 3.12

# distribution -> (version the environment guarantees, import packages it provides)
PROVIDED: dict[str, tuple[str, tuple[str, ...]]] = {
    "databricks-connect": ("==17.2.3", ("pyspark",)),
    "databricks-sdk": (">=0.46.0", ("databricks.sdk",)),
    "requests": (">=2.28.1", ("requests",)),
    "pyarrow": (">=10.0.0", ("pyarrow",)),
    "pandas": (">=1.0.5", ("pandas",)),
    "numpy": (">=1.15", ("numpy",)),
    "grpcio": (">=1.67.0", ("grpc",)),
    "googleapis-common-protos": (">=1.65.0", ("google.api", "google.rpc")),
    "packaging": (">=23.2", ("packaging",)),
    "py4j": ("==0.10.9.9", ("py4j",)),
    "six": ("", ("six",)),
}

# Modules the Lakeflow pipelines runtime itself puts on the path (not PyPI packages).
RUNTIME_MODULES = ("dlt",)


def provider(module: str) -> str | None:
    """The distribution (or ``runtime``) that provides ``module`` on serverless, or None."""
    if module.split(".")[0] in RUNTIME_MODULES:
        return "runtime"
    for distribution, (_, packages) in PROVIDED.items():
        if any(module == p or module.startswith(p + ".") for p in packages):
            return distribution
    return None
