"""The job's notebooks (notebooks/ingest, evaluate, notify), run locally as the plain Python files they are.

Databricks' source format keeps a notebook runnable as Python: cells are separated by ``# COMMAND ----------`` and
magic cells (``%md``, ``%pip``) are ``# MAGIC`` comments. Only what Databricks itself provides is stubbed:
``dbutils.widgets`` (set from the job's ``base_parameters``, as a job run sets them) and ``display``. The %pip cell
is a comment here; the wheel's code is the package under test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import DataFrame

from monitoring.vocabulary import KO, WARNING
from support import FIXTURES, REPO

NOTEBOOKS = REPO / "notebooks"
NIGHTLY = yaml.safe_load((REPO / "resources" / "pipeline_monitoring.job.yml").read_text(encoding="utf-8"))
TASKS = NIGHTLY["resources"]["jobs"]["pipeline_monitoring_nightly"]["tasks"]
CELL = "# COMMAND ----------"


class Widgets:
    """dbutils.widgets as a job run has it: the task's base_parameters are the widgets' values."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)
        self.defined: list[str] = []

    def text(self, name: str, default: str, label: str | None = None) -> None:
        self.defined.append(name)
        self.values.setdefault(name, default)

    def get(self, name: str) -> str:
        return self.values[name]

    def getAll(self) -> dict[str, str]:  # noqa: N802 - Databricks' name
        return {name: self.values[name] for name in self.defined}


class DBUtils:
    def __init__(self, widgets: Widgets) -> None:
        self.widgets = widgets


def python_cells(notebook: Path) -> list[str]:
    text = notebook.read_text(encoding="utf-8")
    cells = [cell.strip() for cell in text.removeprefix("# Databricks notebook source\n").split(CELL)]
    return [cell for cell in cells if cell and not all(line.startswith("# MAGIC") for line in cell.splitlines())]


def run_notebook(name: str, parameters: dict[str, str]) -> tuple[Widgets, list[DataFrame]]:
    widgets, shown = Widgets(parameters), []
    namespace: dict[str, Any] = {"dbutils": DBUtils(widgets), "display": shown.append}
    for cell in python_cells(NOTEBOOKS / f"{name}.py"):
        exec(compile(cell, f"{name}.py", "exec"), namespace)
    return widgets, shown


def job_parameters(task: dict, values: dict[str, str]) -> dict[str, str]:
    """The task's base_parameters with the bundle's variables and job parameters substituted, as Databricks does."""
    substituted = {}
    for key, text in task["notebook_task"]["base_parameters"].items():
        text = re.sub(r"\$\{var\.([a-z_]+)\}", lambda m: values[m.group(1)], str(text))
        substituted[key] = re.sub(r"\{\{job\.parameters\.([a-z_]+)\}\}", lambda m: values[m.group(1)], text)
    return substituted


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t["task_key"])
def test_every_widget_the_job_sets_is_defined_and_every_defined_one_is_set(task):
    name = Path(task["notebook_task"]["notebook_path"]).stem
    text = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    defined = set(re.findall(r'dbutils\.widgets\.text\("([a-z_]+)"', text))
    assert set(task["notebook_task"]["base_parameters"]) == defined - {"lakehouse"}  # lakehouse: manual runs only
    assert name == task["task_key"]
    assert "# MAGIC %pip install --quiet {wheel}" in text  # the wheel comes from the widget


@pytest.mark.heavy  # a night through each notebook; make test-connect runs it too, over Spark Connect
def test_the_nightly_notebooks_run_the_tasks_and_display_the_nights_summary(spark, tmp_path):
    lakehouse = tmp_path / "lakehouse"
    values = {
        "wheel_path": "/Workspace/unused.whl",  # the %pip cell is a comment here
        "config_path": str(REPO / "config" / "monitoring.example.yml"),
        "log_path": str(FIXTURES / "adf_diagnostic_logs"),
        "source_format": "adf_diagnostic",
        "catalog": "",  # path tables locally: the lakehouse widget below
        "schema": "",
        "timezone": "Europe/Paris",
        "alerts_dry_run": "true",
        "from_date": "2025-04-07",
        "to_date": "2025-04-08",
        "as_of": "2025-04-09T08:00",
        "full_scan": "false",
    }
    shown: dict[str, list[DataFrame]] = {}
    for task in TASKS:
        parameters = {**job_parameters(task, values), "lakehouse": str(lakehouse)}
        widgets, shown[task["task_key"]] = run_notebook(task["task_key"], parameters)
        assert widgets.values["wheel"] == "/Workspace/unused.whl"

    # Every notebook shows the same three tables of the night: problems, flows, quarantine.
    for frames in shown.values():
        assert [frame.columns[:3] for frame in frames] == [
            ["business_date", "flow", "pipeline_name"],
            ["business_date", "flow", "status"],
            ["source_file", "reason", "occurrences"],
        ]
    problems, flows, quarantined = (frame.collect() for frame in shown["notify"])
    assert problems and {row.status for row in problems} <= {KO, WARNING}
    assert {(str(r.business_date), r.flow, r.status) for r in flows} >= {
        ("2025-04-08", "Telephonie", WARNING),
        ("2025-04-08", "Sitecom", WARNING),
    }
    assert {r.business_date.isoformat() for r in flows} == {"2025-04-07", "2025-04-08"}
    assert quarantined  # the fixture's half-written line
    # After ingest alone there is no evaluation yet: the summary is empty, not an error.
    assert [frame.count() for frame in shown["ingest"][:2]] == [0, 0]


def test_a_failed_task_fails_the_notebook(spark, tmp_path):
    (task,) = [t for t in TASKS if t["task_key"] == "evaluate"]
    parameters = dict.fromkeys(task["notebook_task"]["base_parameters"], "")
    parameters.update(config=str(tmp_path / "missing.yml"), lakehouse=str(tmp_path))
    with pytest.raises(RuntimeError, match="task evaluate failed"):
        run_notebook("evaluate", parameters)
