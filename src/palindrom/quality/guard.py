"""Attach a dataset's rules from ``expectations/`` to its DLT function, on Databricks and locally.

```python
from palindrom.quality.guard import guarded_table

@guarded_table("events_app_silver_events", comment="...")
def events_app_silver_events():
    return ...
```

warn, drop and fail rules become ``dlt.expect_all``, ``expect_all_or_drop`` and
``expect_all_or_fail``. Quarantine rules follow Databricks's documented pattern: the function's rows
go once into a private table ``<dataset>_checked`` tagged with ``_failed_rules`` (the quarantine
rules each row fails); the dataset reads it with the quarantine rules as drop expectations (so
failing rows stay out and are counted), and ``<dataset>_quarantine`` receives exactly those rows
with ``_quarantined_at``. The function runs once per update, whatever it reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from palindrom.quality import rules as rules_module
from palindrom.quality import validate

QueryFunction = Callable[[], DataFrame]
FAILED_RULES = "_failed_rules"


def _dlt() -> Any:
    # Imported when a pipeline file is loaded: Databricks's module there, the local runtime's here.
    return importlib.import_module("dlt")


def _directory(directory: str | Path | None) -> Path | None:
    if directory is not None:
        return Path(directory)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    configured = session.conf.get(rules_module.CONF_KEY, None) if session is not None else None
    return Path(configured) if configured else None


def failed_rules(rules: dict[str, str]) -> Column:
    """array<string>: the names of the given rules a row fails (NULL counts as failing)."""
    flags = [F.when(F.coalesce(F.expr(c), F.lit(False)), F.lit(None)).otherwise(F.lit(n)) for n, c in rules.items()]
    return F.filter(F.array(*flags), lambda name: name.isNotNull())


def guarded_table(dataset: str, *, directory: str | Path | None = None,
                  **table_options: Any) -> Callable[[QueryFunction], QueryFunction]:
    dlt = _dlt()
    loaded = rules_module.load(dataset, _directory(directory))
    validate.check_static(loaded)

    def decorate(func: QueryFunction) -> QueryFunction:
        quarantine = loaded.by_action("quarantine")
        source: QueryFunction = func
        if quarantine:
            checked = f"{dataset}_checked"
            dlt.table(name=checked, temporary=True, comment=f"Rows of {dataset} with the quarantine rules they fail.")(
                lambda: func().withColumn(FAILED_RULES, failed_rules(quarantine)))

            def read_checked() -> DataFrame:
                reader = dlt.read_stream if func().isStreaming else dlt.read
                frame: DataFrame = reader(checked)
                return frame

            def source() -> DataFrame:
                return read_checked().drop(FAILED_RULES)

            def quarantined() -> DataFrame:
                return (read_checked().filter(F.size(FAILED_RULES) > 0)
                        .withColumn("_quarantined_at", F.current_timestamp()))

            dlt.table(name=f"{dataset}_quarantine",
                      comment=f"Rows of {dataset} that failed a quarantine rule, with the rules they failed.")(
                quarantined)
        guarded: Any = source
        attachers: tuple[tuple[rules_module.Action, Any], ...] = (
            ("fail", dlt.expect_all_or_fail), ("quarantine", dlt.expect_all_or_drop),
            ("drop", dlt.expect_all_or_drop), ("warn", dlt.expect_all))
        for action, attach in attachers:
            selected = loaded.by_action(action)
            if selected:
                guarded = attach(selected)(guarded)
        dlt.table(name=dataset, **table_options)(guarded)
        return func

    return decorate
