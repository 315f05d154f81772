"""Databricks task entry point: ``<task> --key=value ...``, the arguments a bundle's task passes.

Thin by design: the arguments are translated into the ``pipeline-monitor run`` (or ``notify``) command
line, so a task and the CLI are one code path. Job parameters left empty (``--from=`` when no backfill is
asked for) mean "not given".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from monitoring.cli import EXIT_USAGE, STEPS
from monitoring.cli import main as cli_main

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
