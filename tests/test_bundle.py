"""The Databricks bundle, validated offline: job schema, variables, targets, entry points, schedule, wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.bundles.jobs import Job

from monitoring.cli import build_parser
from monitoring.config import load_config
from monitoring.databricks_tasks import cli_arguments
from monitoring.databricks_tasks import main as task_main
from support import FIXTURES, REPO

BUNDLE = yaml.safe_load((REPO / "databricks.yml").read_text(encoding="utf-8"))
RESOURCES = {
    path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted((REPO / "resources").glob("*.yml"))
}
JOBS: dict[str, dict[str, Any]] = {
    name: job for doc in RESOURCES.values() for name, job in doc.get("resources", {}).get("jobs", {}).items()
}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VARIABLE = re.compile(r"\$\{var\.([A-Za-z0-9_]+)\}")


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


NIGHTLY, WHEEL_VARIANT = "pipeline_monitoring_nightly", "pipeline_monitoring_nightly_wheel"


def test_the_nightly_job_exists_and_includes_match():
    assert BUNDLE["include"] == ["resources/*.yml"]
    assert set(JOBS) == {NIGHTLY, WHEEL_VARIANT}
    # One scheduled job: the wheel-task variant is deployed unscheduled, so a night never runs twice.
    assert JOBS[NIGHTLY]["schedule"] and "schedule" not in JOBS[WHEEL_VARIANT]


def test_the_nightly_job_runs_the_notebooks_on_serverless():
    job = Job.from_dict(JOBS[NIGHTLY])
    paths = [task.notebook_task.notebook_path for task in job.tasks]
    assert paths == ["../notebooks/ingest.py", "../notebooks/evaluate.py", "../notebooks/notify.py"]
    assert all((REPO / "resources" / path).resolve().is_file() for path in paths)
    # Serverless: no cluster, and no job environment (it serves wheel and script tasks, not notebook tasks):
    # each notebook %pip installs the wheel named by its `wheel` widget.
    assert not job.job_clusters and not job.environments
    assert all(not task.environment_key and not task.libraries and not task.new_cluster for task in job.tasks)
    assert {task["notebook_task"]["base_parameters"]["wheel"] for task in JOBS[NIGHTLY]["tasks"]} == {
        "${var.wheel_path}"
    }


def test_the_notebooks_install_the_wheel_the_bundle_builds_and_syncs():
    version = PYPROJECT["project"]["version"]
    package = PYPROJECT["project"]["name"].replace("-", "_")
    wheel_path = BUNDLE["variables"]["wheel_path"]["default"]
    assert wheel_path == f"${{workspace.file_path}}/dist/{package}-{version}-py3-none-any.whl"
    assert BUNDLE["sync"]["include"] == ["dist/*.whl"]  # dist/ is git-ignored: uploaded only when included
    assert BUNDLE["artifacts"]["pipeline_monitoring_wheel"]["build"] == "python -m build --wheel"


@pytest.mark.parametrize("name", sorted(JOBS))
def test_jobs_validate_against_the_bundle_schema(name):
    job = Job.from_dict(JOBS[name])  # rejects unknown fields and wrong types
    assert job.max_concurrent_runs == 1
    assert job.timeout_seconds and job.email_notifications.on_failure
    tasks = {task.task_key: task for task in job.tasks}
    assert list(tasks) == ["ingest", "evaluate", "notify"]
    assert tasks["ingest"].max_retries and not tasks["evaluate"].max_retries  # retries on the first task only
    assert not tasks["notify"].max_retries  # it retries deliveries itself; a failed alert must fail the run
    assert [d.task_key for d in tasks["evaluate"].depends_on] == ["ingest"]
    assert [d.task_key for d in tasks["notify"].depends_on] == ["evaluate"]
    assert {p.name for p in job.parameters} >= {"from_date", "to_date"}
    if name == WHEEL_VARIANT:  # on serverless a wheel task takes its wheel from the job's environment
        assert all(task.environment_key == job.environments[0].environment_key for task in job.tasks)


def test_a_wrong_key_fails_validation():
    broken = {**JOBS[NIGHTLY], "max_concurent_runs": 1}
    with pytest.raises(Exception, match="max_concurent_runs"):
        Job.from_dict(broken)


def test_every_referenced_variable_is_declared_with_a_description():
    declared = BUNDLE["variables"]
    referenced = {name for text in strings(BUNDLE) + strings(RESOURCES) for name in VARIABLE.findall(text)}
    assert referenced <= set(declared), referenced - set(declared)
    assert all(spec.get("description") for spec in declared.values())
    assert {"catalog", "schema", "log_path", "source_format", "config_path", "timezone", "alert_recipients"} <= set(
        declared
    )


def test_targets():
    dev, prod = BUNDLE["targets"]["dev"], BUNDLE["targets"]["prod"]
    assert (dev["mode"], dev.get("default")) == ("development", True)
    # A developer's run prints the alerts; only prod sends them.
    assert (dev["variables"]["alerts_dry_run"], BUNDLE["variables"]["alerts_dry_run"]["default"]) == ("true", "false")
    assert "${workspace.current_user.short_name}" in dev["variables"]["schema"]
    assert prod["mode"] == "production"
    assert prod["workspace"]["root_path"] and prod["run_as"]["service_principal_name"]
    assert prod["permissions"] == [{"group_name": "${var.analysts_group}", "level": "CAN_VIEW"}]


def test_wheel_tasks_name_real_entry_points_and_valid_arguments():
    scripts = PYPROJECT["project"]["scripts"]
    package = PYPROJECT["project"]["name"].replace("-", "_")
    parser = build_parser()
    for task in JOBS[WHEEL_VARIANT]["tasks"]:
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == package
        assert scripts[wheel["entry_point"]] == "monitoring.databricks_tasks:entry_point"
        # Substitute variables and job parameters the way Databricks does, then parse as the task will.
        arguments = [
            VARIABLE.sub(lambda m: "true" if m[1] == "alerts_dry_run" else "x", p) for p in wheel["parameters"]
        ]
        arguments = [re.sub(r"\{\{job\.parameters\.[a-z_]+\}\}", "", p) for p in arguments]
        parsed = parser.parse_args(cli_arguments(arguments))
        if task["task_key"] == "notify":
            assert (parsed.command, parsed.dry_run, parsed.date) == ("notify", True, None)  # today's alerts
        else:
            assert parsed.only == task["task_key"]
        assert parsed.config == "x"


def test_the_schedule_runs_after_every_deadline():
    cron = BUNDLE["variables"]["schedule_cron"]["default"]
    seconds, minutes, hours, *_ = cron.split()
    first_run = time(min(int(h) for h in hours.split(",")), int(minutes), int(seconds))
    job = JOBS[NIGHTLY]
    assert job["schedule"]["timezone_id"] == "Europe/Paris"
    config = load_config(REPO / "config" / "monitoring.example.yml")
    deadlines = [p.deadline for p in config.pipelines if p.deadline]
    assert deadlines and all(deadline < first_run for deadline in deadlines)


def test_the_wheel_builds_with_the_example_config_and_entry_points(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pipeline_monitoring-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "monitoring/resources/monitoring.example.yml" in names
    report_files = {"static/report.css", "static/report.js", "templates/page.html.j2", "templates/parts.html.j2"}
    assert {f"monitoring/report/{name}" for name in report_files} <= set(names)
    assert {
        "monitoring/alerts/templates/email/message.html.j2",
        "monitoring/alerts/templates/email/message.txt.j2",
    } <= set(names)
    assert "monitoring_task = monitoring.databricks_tasks:entry_point" in entry_points


def test_task_arguments_are_checked():
    assert cli_arguments(["evaluate", "--config=c.yml", "--from=", "--to="]) == [
        "run",
        "--only",
        "evaluate",
        "--config",
        "c.yml",
    ]
    assert cli_arguments(["notify", "--config=c.yml", "--catalog=main", "--dry-run=true"]) == [
        "notify",
        "--config",
        "c.yml",
        "--catalog",
        "main",
        "--dry-run",
    ]
    assert cli_arguments(["notify", "--config=c.yml", "--dry-run=false"]) == ["notify", "--config", "c.yml"]
    assert task_main(["notify", "--config=c.yml", "--dry-run=maybe"]) == 2
    assert task_main(["explode", "--config=c.yml"]) == 2
    assert task_main(["ingest", "config=c.yml"]) == 2
    assert task_main(["ingest", "--colour=red"]) == 2


@pytest.mark.heavy  # two task runs, a night each
def test_tasks_run_locally_with_the_bundle_arguments(spark, tmp_path):
    """The job's tasks, with its parameters, against the local session catalog instead of Unity Catalog."""
    values = {
        "alerts_dry_run": "true",  # as in the dev target: notify prints what it would send
        "config_path": str(REPO / "config" / "monitoring.example.yml"),
        "log_path": str(FIXTURES / "adf_diagnostic_logs"),
        "source_format": "adf_diagnostic",
        "catalog": "spark_catalog",
        "schema": "monitoring_bundle_test",
        "timezone": "Europe/Paris",
    }
    job_parameters = {
        "from_date": "2025-04-07",
        "to_date": "2025-04-08",
        "as_of": "2025-04-09T08:00",
        "full_scan": "true",
    }
    for task in JOBS[WHEEL_VARIANT]["tasks"]:
        arguments = [VARIABLE.sub(lambda m: values[m.group(1)], p) for p in task["python_wheel_task"]["parameters"]]
        arguments = [
            re.sub(r"\{\{job\.parameters\.([a-z_]+)\}\}", lambda m: job_parameters[m.group(1)], p) for p in arguments
        ]
        assert task_main(arguments) == 0, task["task_key"]
    rows = spark.sql(
        "SELECT business_date, flow, status FROM spark_catalog.monitoring_bundle_test.flow_daily_status"
    ).collect()
    assert {(str(r.business_date), r.flow, r.status) for r in rows} >= {
        ("2025-04-08", "Telephonie", "WARNING"),
        ("2025-04-08", "Sitecom", "WARNING"),
    }
    assert Path(values["config_path"]).exists()


@pytest.mark.parametrize("notebook", sorted((REPO / "notebooks").glob("*.py")), ids=lambda p: p.stem)
def test_notebooks_are_thin_databricks_sources(notebook):
    text = notebook.read_text(encoding="utf-8")
    assert text.startswith("# Databricks notebook source\n")
    compile(text, str(notebook), "exec")  # MAGIC cells are comments: the Python must still parse
    assert "def " not in text and "class " not in text  # no logic: calls into the package only
