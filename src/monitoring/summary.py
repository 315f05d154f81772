"""The terminal summary of a run: flows x days in colour, counts per status, what is KO and since when."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitoring.config import Config
from monitoring.coverage import CoverageStatus
from monitoring.nightly import ROWS_RETURNED_DAYS, JobResult
from monitoring.vocabulary import KO, OK, PENDING, STATUS_COLORS, STATUS_SEVERITY, WARNING


def _badge(status: str) -> Text:
    return Text(f" {status} ", style=f"bold white on {STATUS_COLORS[status]}")


CELL = {OK: "OK", WARNING: "WA", KO: "KO", PENDING: ".."}


def flows_by_day(result: JobResult, max_days: int = 31) -> Table:
    """A calendar strip per flow: one two-letter coloured cell per business date (newest right)."""
    days = sorted({row.business_date for row in result.flow_rows})[-max_days:]
    table = Table(
        title="Flows per business date", title_justify="left", caption=" ".join(f"{v}={k}" for k, v in CELL.items())
    )
    table.add_column("flow", style="bold", no_wrap=True)
    for day in days:
        table.add_column(day.strftime("%a")[:2] + "\n" + day.strftime("%d"), justify="center", width=2)
    cells = {(row.flow, row.business_date): row.status for row in result.flow_rows}
    for flow in sorted({row.flow for row in result.flow_rows}):
        table.add_row(
            Text(flow),
            *[
                Text(CELL[cells[flow, d]], style=f"bold white on {STATUS_COLORS[cells[flow, d]]}")
                if (flow, d) in cells
                else Text("-")
                for d in days
            ],
        )
    return table


def latest_day_detail(result: JobResult) -> Table:
    """Every flow of the newest evaluated date with its span and what is wrong."""
    assert result.evaluation is not None
    last = result.evaluation.last
    table = Table(title=f"Flows on {last:%A %d %B %Y}", title_justify="left")
    for name in ("flow", "status", "start", "end", "duration", "KO days", "detail"):
        table.add_column(name, overflow="fold")
    for row in (r for r in result.flow_rows if r.business_date == last):
        table.add_row(
            Text(row.flow),
            _badge(row.status),
            row.start_local or "-",
            row.end_local or "-",
            row.duration_hms or "-",
            str(row.consecutive_ko_days or ""),
            Text(row.detail or ""),
        )
    return table


def problems(result: JobResult, limit: int = 40) -> Table:
    """KO and WARNING pipelines, worst and newest first, with the error text."""
    rows = [r for r in result.pipeline_rows if r.status in (KO, WARNING)]
    rows.sort(key=lambda r: (STATUS_SEVERITY[r.status], -r.business_date.toordinal(), r.flow, r.pipeline_name))
    evaluated = result.evaluation
    recent = (
        f" in the last {ROWS_RETURNED_DAYS} days"
        if evaluated and (evaluated.last - evaluated.first).days >= ROWS_RETURNED_DAYS
        else ""
    )
    table = Table(title=f"Pipelines KO or WARNING{recent} ({len(rows)})", title_justify="left")
    for name in ("date", "flow", "pipeline", "status", "reason", "since", "detail / error"):
        table.add_column(name, overflow="fold")
    for row in rows[:limit]:
        error = f" - {row.error_message[:160]}" if row.error_message else ""
        since = f"{row.consecutive_ko_days} day(s)" if row.consecutive_ko_days else ""
        table.add_row(
            str(row.business_date),
            Text(row.flow),  # names and texts come from logs and configs: data, never rich markup
            Text(row.pipeline_name),
            _badge(row.status),
            row.reason or "",
            since,
            Text(f"{row.detail}{error}"),
        )
    if len(rows) > limit:
        table.caption = f"... and {len(rows) - limit} more: query gold/pipeline_daily_status"
    return table


def _local(moment: datetime | None, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if moment else "never"


def print_coverage(status: CoverageStatus, config: Config, console: Console) -> None:
    """``pipeline-monitor status``: a catch-up in progress, rather than a guess."""
    zone = config.timezone
    through = f", which evaluated through {status.evaluated_through}" if status.evaluated_through else ""
    console.print(f"Last nightly evaluation: {_local(status.last_nightly, zone)} ({zone}){through}", markup=False)
    folder = status.newest_folder_read
    console.print(
        f"Newest log folder read: {folder or 'none (no dated folder)'}; last read {_local(status.last_read, zone)}",
        markup=False,
    )
    if not status.owed:
        console.print("Nothing owed: the next night evaluates its usual window.")
        return
    start = status.catching_up_from
    if start is not None:
        console.print(f"The next nightly run evaluates from {start} (each owed date and every later one).")
    table = Table(title=f"Owed ({len(status.owed)})", title_justify="left")
    for name in ("from date", "reason", "owed", "detail"):
        table.add_column(name, overflow="fold")
    for owed in status.owed:
        when = "now" if owed.owed_now else f"from {_local(owed.due_at, zone)}" if owed.due_at else "when reached"
        table.add_row(str(owed.business_date), owed.reason, when, Text(owed.detail or ""))
    console.print(table)


def print_summary(result: JobResult, console: Console) -> None:
    if result.evaluation is not None:
        counts = result.status_counts
        console.print(flows_by_day(result))
        console.print(latest_day_detail(result))
        console.print(problems(result))
        line = Text("Pipeline-days: ")
        for status in sorted(counts, key=STATUS_SEVERITY.__getitem__):
            line.append_text(_badge(status)).append(f" {counts[status]}  ")
        console.print(line)
        console.print(f"Evaluated {result.evaluation.first} to {result.evaluation.last}")
    if result.ingest is not None:
        report = result.ingest
        console.print(
            f"Records read {report.lines_read} = kept {report.events_kept} + quarantined {report.lines_quarantined} "
            f"+ blank {report.blank_lines}; every kept run is in silver"
        )
    console.print(f"Done in {result.seconds:.1f}s")
