"""Pipeline tests for data engineers: run any part of a pipeline on mock inputs (docs/testing.md).

The pytest plugin (``palindrom.testing.plugin``, registered as a ``pytest11`` entry point) gives the
``pipeline`` fixture; this package holds the typed API it returns. Nothing here imports pytest.
"""

from palindrom.testing.harness import ExpectationCounts, Pipeline, PipelineRun, UnknownDatasetError, UpdateFailed
from palindrom.testing.mocks import MockSchemaError

__all__ = ["ExpectationCounts", "MockSchemaError", "Pipeline", "PipelineRun", "UnknownDatasetError", "UpdateFailed"]
