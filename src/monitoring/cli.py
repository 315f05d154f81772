"""``pipeline-monitor``: run, demo, report, notify, status, validate-config, import-factory.

Exit codes: 0 whatever the statuses, 2 for a bad config or bad arguments (one line saying which),
1 when the job itself fails, or when notify could not deliver an alert, 3 when `validate-config --factory`
finds drift between the config and the factory.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.console import Console

from monitoring.config import Config, ConfigError, StorageConfig, baseline_warnings, load_config, offset_text
from monitoring.factory.definitions import FactoryError

if TYPE_CHECKING:  # the job pulls in pyspark: keep `validate-config` and argument errors instant
    from pyspark.sql import SparkSession

    from monitoring.nightly import DateRange
from monitoring.sources import SourceError
from monitoring.steps import STEPS
from monitoring.storage import ConcurrentRunError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3


class UsageError(ValueError):
    pass


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _non_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def parse_as_of(text: str | None, timezone: str) -> datetime | None:
    """ISO timestamp; without an offset it is a local time in the configured zone."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of: {text!r} is not a timestamp (e.g. 2025-04-08T07:00 or 2025-04-08T05:00Z)") from None
    return value.replace(tzinfo=ZoneInfo(timezone)) if value.tzinfo is None else value.astimezone(UTC)


def resolve_dates(args: argparse.Namespace, config: Config, as_of: datetime | None) -> DateRange:
    from monitoring.nightly import DateRange, local_today

    if args.date and (args.date_from or args.date_to):
        raise UsageError("--date cannot be combined with --from/--to")
    if bool(args.date_from) != bool(args.date_to):
        raise UsageError("--from and --to go together")
    if args.date_from:
        if args.date_from > args.date_to:
            raise UsageError(f"--from {args.date_from} is after --to {args.date_to}")
        return DateRange(args.date_from, args.date_to)
    if args.date:
        return DateRange.ending(args.date, args.lookback_days or 0)
    anchor = local_today(config, as_of or datetime.now(UTC))
    return DateRange.ending(anchor, 3 if args.lookback_days is None else args.lookback_days)


def _add_range_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_date, help="evaluate this business date (YYYY-MM-DD)")
    parser.add_argument("--from", dest="date_from", type=_date, help="first business date of a range")
    parser.add_argument("--to", dest="date_to", type=_date, help="last business date of a range")
    parser.add_argument(
        "--lookback-days",
        type=_non_negative,
        help="also re-evaluate this many days before the date (default 3 with no --date, 0 with --date)",
    )
    parser.add_argument(
        "--as-of", help="evaluation time deciding what is due (ISO; local time when no offset). Default: now"
    )


def _add_config_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lakehouse", help="folder of the Delta tables (overrides storage.root)")
    parser.add_argument("--catalog", help="Unity Catalog catalog (overrides storage.catalog)")
    parser.add_argument("--schema", help="Unity Catalog schema (overrides storage.schema)")
    parser.add_argument("--timezone", help="overrides timezone")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline-monitor",
        description="Daily OK / WARNING / KO statuses of ADF pipelines, as Delta tables.",
    )
    parser.add_argument("--no-color", action="store_true", help="plain text output, without colours")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show Spark's own output (jar downloads, WARN lines); by default it goes to a log file"
        " (<lakehouse>/_logs, or the temp folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="ingest new logs, evaluate business dates, write the gold tables")
    run.add_argument("--config", required=True, help="monitoring.yml")
    run.add_argument("--logs", help="log folder (overrides source.path)")
    _add_config_overrides(run)
    run.add_argument("--source-format", help="overrides source.format")
    run.add_argument(
        "--only", choices=STEPS, help="run one step: ingest new logs, or evaluate dates (the Databricks tasks)"
    )
    run.add_argument(
        "--full-scan",
        action="store_true",
        help="list every log folder, not only those of source.lookback_hours"
        " (a new factory's past logs, nights missed beyond the lookback)",
    )
    _add_range_arguments(run)

    demo = sub.add_parser("demo", help="generate realistic logs for the example flows, run the job, show results")
    demo.add_argument("--days", type=_non_negative, default=30, help="days of history to generate (default 30)")
    demo.add_argument("--lakehouse", default="demo/lakehouse", help="where to write tables (default demo/lakehouse)")
    demo.add_argument("--logs", default="demo/logs", help="where to write the logs (default demo/logs)")
    demo.add_argument(
        "--config", help="the flows to generate logs for (default: the example's), e.g. a file from import-factory"
    )

    report = sub.add_parser("report", help="write the HTML status report from the gold tables")
    report.add_argument("--lakehouse", help="folder of the Delta tables (alone: no config needed)")
    report.add_argument("--config", help="monitoring.yml, for its storage (optional)")
    report.add_argument("--catalog", help="Unity Catalog catalog (with --schema)")
    report.add_argument("--schema", help="Unity Catalog schema (with --catalog)")
    report.add_argument("--date", type=_date, help="business date shown first (default: the newest evaluated)")
    report.add_argument("--days", type=_non_negative, default=30, help="business dates in the report (default 30)")
    report.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")

    notify = sub.add_parser("notify", help="send the night's alerts (e-mail digest, Teams), each only once")
    notify.add_argument("--config", required=True, help="monitoring.yml (its alerts: section)")
    _add_config_overrides(notify)
    notify.add_argument("--date", type=_date, help="business date (default: today in the configured time zone)")
    notify.add_argument(
        "--dry-run", action="store_true", help="print the digest and every alert; send and write nothing"
    )

    status = sub.add_parser(
        "status", help="what the job still owes (dates and why), the newest log folder read, the last nightly run"
    )
    status.add_argument("--config", required=True, help="monitoring.yml")
    _add_config_overrides(status)
    status.add_argument("--as-of", help="the clock deciding what is owed now (ISO; local time when no offset)")

    validate = sub.add_parser("validate-config", help="check a monitoring.yml and describe what it configures")
    validate.add_argument("config")
    validate.add_argument(
        "--factory",
        help="also compare it with the factory (git folder, ARM export or /subscriptions/.../factories/NAME);"
        " exit 3 on drift",
    )

    factory = sub.add_parser(
        "import-factory", help="write monitoring.yml's flows and schedules from the Data Factory's definitions"
    )
    factory.add_argument(
        "source", nargs="?", help="a git-integration folder, an ARMTemplateForFactory.json, or the live factory's id"
    )
    factory.add_argument("--factory", help="the live factory: /subscriptions/ID/resourceGroups/RG/.../factories/NAME")
    factory.add_argument(
        "--out", required=True, help="monitoring.yml to write; an existing one keeps its hand-set keys"
    )

    powerbi = sub.add_parser("powerbi", help="write the Power BI project (PBIP: model and report) on the gold tables")
    powerbi.add_argument("--out", required=True, help="folder to write PipelineMonitoring.pbip and its folders into")
    powerbi.add_argument("--catalog", help="default of the CatalogName parameter (Databricks connector)")
    powerbi.add_argument("--schema", help="default of the SchemaName parameter (Databricks connector)")
    powerbi.add_argument(
        "--lakehouse", help="read the path tables under this folder with the Delta Lake connector instead"
    )
    return parser


def start_spark(args: argparse.Namespace, lakehouse: str | None) -> SparkSession:
    """The session, quiet unless --verbose: Spark's own output goes to a log beside the tables."""
    from monitoring.spark import get_spark, log_folder

    return get_spark(log_dir=log_folder(lakehouse), verbose=args.verbose)


def _run(args: argparse.Namespace, console: Console) -> int:
    from monitoring.nightly import run_job
    from monitoring.summary import print_summary

    config = load_config(args.config).with_overrides(
        logs=args.logs,
        lakehouse=args.lakehouse,
        catalog=args.catalog,
        schema=args.schema,
        source_format=args.source_format,
        timezone=args.timezone,
    )
    as_of = parse_as_of(args.as_of, config.timezone)
    dates = resolve_dates(args, config, as_of)
    with console.status("Starting Spark"):
        spark = start_spark(args, config.storage.root)
    steps = (args.only,) if args.only else STEPS
    nightly = not (args.date or args.date_from)  # no dates asked: also catch up on older dates that changed
    result = run_job(
        spark,
        config,
        dates,
        as_of,
        progress=lambda m: console.log(m),
        steps=steps,
        catch_up=nightly,
        full_scan=args.full_scan,
    )
    print_summary(result, console)
    return EXIT_OK


DEMO_MARKER = ".pipeline-monitor-demo"


def example_config_path() -> Path:
    """The example configuration shipped inside the package (a link to config/monitoring.example.yml)."""
    return Path(str(resources.files("monitoring") / "resources" / "monitoring.example.yml"))


def _fresh_demo_folder(folder: Path) -> None:
    """Empty a folder the demo made before; refuse to touch anything else."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / DEMO_MARKER).exists():
            raise UsageError(f"{folder} is not empty and was not made by the demo: choose another folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).touch()


def _demo(args: argparse.Namespace, console: Console) -> int:
    from monitoring.demo import generate_demo_logs
    from monitoring.nightly import DateRange, local_today, run_job
    from monitoring.report import DEFAULT_DAYS, generate_report
    from monitoring.storage import Storage
    from monitoring.summary import print_summary

    if args.days < 1:
        raise UsageError("--days must be at least 1")
    logs, lakehouse = Path(args.logs), Path(args.lakehouse)
    config = load_config(args.config or example_config_path()).with_overrides(logs=str(logs), lakehouse=str(lakehouse))
    now = datetime.now(UTC)
    for folder in (logs, lakehouse):
        _fresh_demo_folder(folder)
    generated = generate_demo_logs(config, logs, args.days, now)
    console.log(
        f"Generated {generated.records} log records of {generated.runs} runs in {generated.files} hourly blobs "
        f"under {logs}, with {len(generated.incidents)} planted incidents"
    )
    with console.status("Starting Spark (the first start downloads Delta's jars from Maven Central)"):
        spark = start_spark(args, config.storage.root)
    dates = DateRange.ending(local_today(config, now), args.days - 1)
    result = run_job(spark, config, dates, now, progress=lambda m: console.log(m))
    print_summary(result, console)
    console.print(
        f"\nDelta tables under [bold]{lakehouse}[/bold]: silver/pipeline_runs, silver/quarantine, "
        "gold/pipeline_daily_status, gold/flow_daily_status, gold/flow_kpi, gold/pipeline_kpi.\n"
        f'Query them: spark.read.format("delta").load("{lakehouse}/gold/pipeline_daily_status")'
    )
    out = lakehouse.parent / "report.html"  # next to the lakehouse: demo/report.html by default
    report = generate_report(Storage(spark, config.storage), out, days=min(args.days, DEFAULT_DAYS))
    console.print(f"HTML report: {report}", markup=False)
    from monitoring.powerbi import DeltaFolderSource, write_project

    pbip = write_project(lakehouse.parent / "powerbi", DeltaFolderSource(str(lakehouse.resolve())))
    console.print(f"Power BI project on this lakehouse (Delta Lake connector): {pbip}", markup=False)
    return EXIT_OK


def report_storage(args: argparse.Namespace) -> StorageConfig:
    """Where `report` reads: --lakehouse alone, --catalog/--schema alone, or a config with those as overrides."""
    if args.lakehouse and (args.catalog or args.schema):
        raise UsageError("--lakehouse cannot be combined with --catalog/--schema")
    if args.config:
        config = load_config(args.config)
        return config.with_overrides(lakehouse=args.lakehouse, catalog=args.catalog, schema=args.schema).storage
    if args.lakehouse:
        return StorageConfig(root=args.lakehouse)
    if args.catalog or args.schema:
        return StorageConfig(catalog=args.catalog, schema=args.schema)
    raise UsageError("report: give --lakehouse DIR, --catalog C --schema S, or --config FILE")


def _report(args: argparse.Namespace, console: Console) -> int:
    from monitoring.report import NoReportDataError, generate_report
    from monitoring.storage import Storage

    if args.days < 1:
        raise UsageError("--days must be at least 1")
    storage_config = report_storage(args)  # argument errors before Spark starts
    with console.status("Starting Spark"):
        spark = start_spark(args, storage_config.root)
    try:
        out = generate_report(Storage(spark, storage_config), Path(args.out), args.date, args.days)
    except NoReportDataError as error:
        raise UsageError(str(error)) from None
    console.print(f"HTML report: {out}", markup=False)
    return EXIT_OK


def _notify(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config).with_overrides(
        lakehouse=args.lakehouse, catalog=args.catalog, schema=args.schema, timezone=args.timezone
    )
    from monitoring.alerts.plan import NO_ALERTS  # pure Python: this path never imports pyspark

    if config.alerts is None and not args.dry_run:  # nothing to read: don't start Spark
        console.print(NO_ALERTS, markup=False)
        return EXIT_OK
    from monitoring.alerts.notify import notify, report_lines
    from monitoring.nightly import local_today

    now = datetime.now(UTC)
    with console.status("Starting Spark"):
        spark = start_spark(args, config.storage.root)
    report = notify(spark, config, args.date or local_today(config, now), now=now, dry_run=args.dry_run)
    for line in report_lines(report):  # names and errors come from logs: text, never rich markup
        console.print(line, markup=False, soft_wrap=True)  # an error text stays on its line, unfolded
    # An alert that could not be delivered fails the task, so the job's own failure e-mail tells someone.
    return EXIT_FAILED if report.failed else EXIT_OK


def _status(args: argparse.Namespace, console: Console) -> int:
    from monitoring.coverage import coverage_status
    from monitoring.ingest import newest_folder_read
    from monitoring.nightly import local_today
    from monitoring.storage import Storage
    from monitoring.summary import print_coverage

    config = load_config(args.config).with_overrides(
        lakehouse=args.lakehouse, catalog=args.catalog, schema=args.schema, timezone=args.timezone
    )
    as_of = parse_as_of(args.as_of, config.timezone) or datetime.now(UTC)
    with console.status("Starting Spark"):
        spark = start_spark(args, config.storage.root)
    storage = Storage(spark, config.storage)
    today = local_today(config, as_of)
    print_coverage(coverage_status(storage, today, as_of, newest_folder_read(storage, as_of)), config, console)
    return EXIT_OK


def _powerbi(args: argparse.Namespace, console: Console) -> int:
    from monitoring.powerbi import DatabricksSource, DeltaFolderSource, ModelSource, write_project

    source: ModelSource
    if args.lakehouse:
        if args.catalog or args.schema:
            raise UsageError("--lakehouse cannot be combined with --catalog/--schema")
        source = DeltaFolderSource(str(Path(args.lakehouse).resolve()))
    else:
        defaults = DatabricksSource()
        source = DatabricksSource(catalog=args.catalog or defaults.catalog, schema=args.schema or defaults.schema)
    pbip = write_project(Path(args.out), source)
    console.print(f"Power BI project: {pbip} (open it in Power BI Desktop, set the parameters, refresh)", markup=False)
    return EXIT_OK


def _validate(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    # Names come from the user's file: printed as text, never as rich markup.
    console.print(f"OK {args.config}: timezone {config.timezone}, source {config.source.format}", markup=False)
    for flow in config.flows:
        line = f"  {flow.name}: {len(flow.pipelines)} pipeline(s), ko_when {flow.ko_when}, order {flow.order}"
        if flow.day_starts_at:
            line += f", day starts at {offset_text(flow.day_starts_at)}"
        console.print(line, markup=False)
        for p in flow.pipelines:
            deadline = p.deadline.strftime("%H:%M") if p.deadline else "end of day"
            after = f", after {', '.join(p.predecessors)}" if p.predecessors else ""
            console.print(
                f"    {p.execution_order:>2}. {p.name} ({p.schedule.text}, due {deadline}{after})", markup=False
            )
    from monitoring.alerts.plan import describe_alerts  # pure Python: validate-config stays instant

    for line in describe_alerts(config.alerts):
        console.print(line, markup=False)
    for warning in baseline_warnings(config):  # stderr, exit 0: the config works, a rule of it never fires
        print(f"warning: {warning}", file=sys.stderr)
    if args.factory:
        from monitoring.factory import drift_against

        findings = drift_against(config, args.factory)
        for finding in findings:
            console.print(f"drift: {finding.line}", markup=False, soft_wrap=True)
        console.print(f"{len(findings)} difference(s) with factory {args.factory}", markup=False)
        return EXIT_DRIFT if findings else EXIT_OK
    return EXIT_OK


def _import_factory(args: argparse.Namespace, console: Console) -> int:
    from monitoring.factory import import_factory

    if bool(args.source) == bool(args.factory):
        raise UsageError("import-factory: give SOURCE (a folder or an ARM export) or --factory ID, one of them")
    result = import_factory(args.source or args.factory, Path(args.out))
    for line in result.changes:  # names come from the factory: text, never markup
        console.print(f"changed: {line}", markup=False, soft_wrap=True)
    flows = ", ".join(f.name for f in result.config.flows)
    console.print(f"Wrote {args.out}: {len(result.config.flows)} flow(s) ({flows})", markup=False, soft_wrap=True)
    return EXIT_OK


COMMANDS = {
    "run": _run,
    "demo": _demo,
    "report": _report,
    "notify": _notify,
    "status": _status,
    "validate-config": _validate,
    "import-factory": _import_factory,
    "powerbi": _powerbi,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse prints its own one-line reason
        return EXIT_USAGE if exit_.code else EXIT_OK
    # Piped output (CI logs, job logs) is plain text (rich's default off a TTY, or NO_COLOR) at a width
    # people read, not a folded 80 columns.
    plain = {"no_color": True} if args.no_color else {}
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160, **plain)
    errors = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160, **plain)
    try:
        return COMMANDS[args.command](args, console)
    except (ConfigError, UsageError, SourceError, FactoryError) as error:
        print(f"error: {error}", file=sys.stderr)  # one line, never wrapped: scripts grep it
        return EXIT_USAGE
    except ConcurrentRunError as error:  # not a bug: one line, like the usage errors, but exit 1
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:
        errors.print(traceback.format_exc(), markup=False)
        errors.print(f"error: the job failed: {type(error).__name__}: {error}", markup=False)
        _point_at_spark_log(errors)
        return EXIT_FAILED


def _point_at_spark_log(errors: Console) -> None:
    if "monitoring.spark" in sys.modules:  # only if Spark was started: a config error never imports pyspark
        from monitoring.spark import spark_log_file

        if (log := spark_log_file()) is not None:
            errors.print(f"Spark's own log: {log}", markup=False)


if __name__ == "__main__":
    sys.exit(main())
