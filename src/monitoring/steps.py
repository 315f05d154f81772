"""The steps of a run, by name: ``pipeline-monitor run --only STEP`` and the Databricks job's tasks.

A module of its own, without pyspark: the CLI's argument parser and the task entry points name the steps without
importing :mod:`monitoring.nightly`, which pulls in pyspark.
"""

from __future__ import annotations

STEPS: tuple[str, ...] = ("ingest", "evaluate")
