"""Databricks task entry points: ``<task> --key=value ...``, the arguments a bundle's wheel task passes, and
``run_notebook_task``, what the job's notebooks call with their widgets' values.

Thin by design: the arguments are translated into the ``pipeline-monitor run`` (or ``notify``) command
line, so a task and the CLI are one code path. Job parameters left empty (``--from=`` when no backfill is
asked for) mean "not given".
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from monitoring.cli import EXIT_USAGE
from monitoring.cli import main as cli_main
from monitoring.config import load_config
from monitoring.steps import STEPS

if TYPE_CHECKING:  # pyspark only when a notebook asks for the summary
    from pyspark.sql import DataFrame

    from monitoring.storage import Storage
    from monitoring.tables import TableSpec

TASKS = (*STEPS, "run", "notify")
OWN_COMMANDS = ("run", "notify")  # tasks that are a CLI subcommand of their own, not a step of `run`
# task argument -> CLI option
OPTIONS = {
    "config": "--config",
    "logs": "--logs",
    "lakehouse": "--lakehouse",
    "catalog": "--catalog",
    "schema": "--schema",
    "source_format": "--source-format",
    "timezone": "--timezone",
    "date": "--date",
    "from": "--from",
    "to": "--to",
    "lookback_days": "--lookback-days",
    "as_of": "--as-of",
}
# task argument -> CLI flag: `--dry-run=true` adds the flag, `false` or empty leaves it out (a bundle variable)
FLAGS = {"dry_run": "--dry-run", "full_scan": "--full-scan"}
NOTEBOOK_ONLY_WIDGET = "wheel"  # the notebook installs it; not a task argument


class TaskArgumentError(ValueError):
    pass


def cli_arguments(argv: Sequence[str]) -> list[str]:
    """``["evaluate", "--config=x", "--from="]`` -> ``["run", "--only", "evaluate", "--config", "x"]``."""
    if not argv or argv[0] not in TASKS:
        raise TaskArgumentError(f"first argument must be a task: {' | '.join(TASKS)}")
    task, arguments = argv[0], [argv[0]] if argv[0] in OWN_COMMANDS else ["run", "--only", argv[0]]
    for item in argv[1:]:
        key, equals, value = item.removeprefix("--").partition("=")
        if not item.startswith("--") or not equals:
            raise TaskArgumentError(f"{item!r}: task arguments are --key=value")
        name = key.replace("-", "_")
        if name in FLAGS:
            if value.strip().lower() not in ("true", "false", ""):
                raise TaskArgumentError(f"{item!r}: {key} is true or false")
            if value.strip().lower() == "true":
                arguments.append(FLAGS[name])
            continue
        if name not in OPTIONS:
            known = ", ".join([*OPTIONS, *FLAGS])
            raise TaskArgumentError(f"{item!r}: unknown argument for task {task} (known: {known})")
        if value.strip():
            arguments += [OPTIONS[key.replace("-", "_")], value.strip()]
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    try:
        arguments = cli_arguments(sys.argv[1:] if argv is None else argv)
    except TaskArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return cli_main(arguments)


def entry_point() -> None:
    """The wheel's entry point: Databricks ignores a return value, so a failure must raise."""
    code = main()
    if code:
        raise SystemExit(code)


# --- the notebook tasks ------------------------------------------------------------------------------------

# Columns a person opening a night's run wants first.
PROBLEM_COLUMNS = (
    "business_date",
    "flow",
    "pipeline_name",
    "status",
    "reason",
    "consecutive_ko_days",
    "start_local",
    "end_local",
    "duration_hms",
    "failure_type",
    "error_message",
    "detail",
)
FLOW_COLUMNS = ("business_date", "flow", "status", "reason", "start_local", "end_local", "duration_hms", "detail")
QUARANTINE_COLUMNS = ("source_file", "reason", "occurrences", "raw_line", "quarantined_at")


def run_notebook_task(task: str, widgets: Mapping[str, str]) -> dict[str, DataFrame]:
    """A notebook task: run ``task`` with the widgets' values (the wheel task's arguments, same code path),
    then return the night's summary for ``display()``. A failed task raises, so the job run fails."""
    arguments = [f"--{name}={value}" for name, value in widgets.items() if name != NOTEBOOK_ONLY_WIDGET]
    code = main([task, *arguments])
    if code:
        raise RuntimeError(f"task {task} failed (exit code {code}): see its output above")
    from monitoring.spark import get_spark
    from monitoring.storage import Storage

    config = load_config(widgets["config"]).with_overrides(
        lakehouse=widgets.get("lakehouse") or None,
        catalog=widgets.get("catalog") or None,
        schema=widgets.get("schema") or None,
    )
    return night_summary(Storage(get_spark(), config.storage))


def night_summary(storage: Storage) -> dict[str, DataFrame]:
    """What the latest run did: its KO and WARNING pipelines, its flows, and what its ingest quarantined.

    The latest evaluation's rows are those of its ``evaluated_at`` (one timestamp per run); the latest ingest's
    quarantine rows those of its ``quarantined_at``. Each frame is small: at most a few days of the configured flows.
    """
    from pyspark.sql import functions as F

    from monitoring.tables import FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS, QUARANTINE
    from monitoring.vocabulary import KO, WARNING

    def latest(table: TableSpec, stamp: str) -> DataFrame:
        rows = storage.read(table)
        return rows.where(F.col(stamp) == rows.agg(F.max(stamp)).first()[0])

    severity = F.when(F.col("status") == KO, 0).otherwise(1)
    return {
        "KO and WARNING pipelines": latest(PIPELINE_DAILY_STATUS, "evaluated_at")
        .where(F.col("status").isin(KO, WARNING))
        .orderBy(F.col("business_date").desc(), severity, "flow", "execution_order")
        .select(*PROBLEM_COLUMNS),
        "Flows": latest(FLOW_DAILY_STATUS, "evaluated_at")
        .orderBy(F.col("business_date").desc(), "flow")
        .select(*FLOW_COLUMNS),
        "Quarantined by the last ingest": latest(QUARANTINE, "quarantined_at")
        .orderBy("source_file")
        .select(*QUARANTINE_COLUMNS),
    }
