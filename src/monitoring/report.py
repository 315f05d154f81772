"""The HTML status report: one self-contained file the on-call engineer opens every morning.

It reads the gold tables (statuses are never recomputed here), keeps the last N business dates and renders
a card per flow, each flow's pipelines, a calendar heatmap and trend charts. CSS, JavaScript and Plotly's
offline bundle are inlined, so the file opens without network and can be mailed or archived as it is.

Every date of the window is pre-rendered: the date picker and the filters only show and hide elements, so the
statuses read the same with JavaScript off (only the charts need it). Text from the logs (names, errors,
details) is HTML-escaped where it is written into the page, and JSON embedded in a ``<script>`` block has
``<``, ``>`` and ``&`` escaped, so a ``</script>`` in an error message stays text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from statistics import median_low
from typing import TYPE_CHECKING, Any, TypeVar

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from monitoring.config import UNASSIGNED_FLOW
from monitoring.rules import KO, OK, PENDING, REASONS, STATUS_COLORS, STATUS_SEVERITY, WARNING
from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from monitoring.storage import Storage

__all__ = [
    "FlowDay",
    "KpiRow",
    "NoReportDataError",
    "PipelineDay",
    "ReportData",
    "generate_report",
    "load_report_data",
    "render_report",
    "write_report",
]

DEFAULT_DAYS = 30
STALE_AFTER = timedelta(days=1)  # the job runs every night: older data means a night was missed
KPI_WEEKS = 13  # a quarter of weekly points: enough to see a trend, few enough to read
KPI_MONTHS = 12
NO_STATUS_COLOR = "#E4E7EB"  # a day without a row: not expected, nothing to say
FLOW_PALETTE = ("#1565C0", "#6A1B9A", "#00838F", "#AD1457", "#5D4037", "#283593", "#827717", "#37474F")
STATUSES_WORST_FIRST: tuple[str, ...] = tuple(sorted(STATUS_COLORS, key=STATUS_SEVERITY.__getitem__))
REASON_MEANINGS: dict[str, str] = {reason.code: reason.meaning for reason in REASONS}


class NoReportDataError(ValueError):
    """The gold tables hold no business date yet: there is nothing to report on."""


# --- the data shown: plain Python values, collected once ---------------------------------------------


@dataclass(frozen=True)
class FlowDay:
    """One row of gold/flow_daily_status."""

    business_date: date
    flow: str
    status: str
    reason: str | None
    detail: str | None
    pipelines_expected: int
    pipelines_ok: int
    pipelines_warning: int
    pipelines_ko: int
    start_local: str | None
    end_local: str | None
    duration_seconds: int | None
    duration_hms: str | None
    consecutive_ko_days: int
    evaluated_at: datetime  # UTC


@dataclass(frozen=True)
class PipelineDay:
    """One row of gold/pipeline_daily_status."""

    business_date: date
    flow: str
    pipeline_name: str
    execution_order: int | None
    expected: bool
    status: str
    reason: str | None
    detail: str | None
    run_count: int
    failed_run_count: int
    last_run_status: str | None
    start_local: str | None
    end_local: str | None
    duration_seconds: int | None
    duration_hms: str | None
    error_message: str | None
    failure_type: str | None
    baseline_duration_seconds: float | None
    duration_ratio: float | None
    consecutive_ko_days: int
    evaluated_at: datetime  # UTC


@dataclass(frozen=True)
class KpiRow:
    """One row of gold/flow_kpi (``pipeline_name`` None) or gold/pipeline_kpi."""

    granularity: str  # week | month
    period_start: date
    period_end: date
    flow: str
    pipeline_name: str | None
    days_expected: int
    days_ok: int
    days_warning: int
    days_ko: int
    availability: float | None
    on_time_rate: float | None
    duration_mean_seconds: float | None
    duration_median_seconds: float | None
    duration_p90_seconds: float | None
    max_ko_streak: int
    availability_change: float | None
    on_time_rate_change: float | None
    duration_mean_change_seconds: float | None


@dataclass(frozen=True)
class ReportData:
    """What one report shows: the window of ``days`` business dates ending at ``business_date``."""

    business_date: date
    days: int
    evaluated_at: datetime | None  # newest evaluated_at of the rows of the window (UTC); None without rows
    flows: tuple[FlowDay, ...]
    pipelines: tuple[PipelineDay, ...]
    flow_kpis: tuple[KpiRow, ...] = ()
    pipeline_kpis: tuple[KpiRow, ...] = ()

    @property
    def dates(self) -> tuple[date, ...]:
        """The window's business dates, oldest first."""
        return tuple(self.business_date - timedelta(days=offset) for offset in reversed(range(self.days)))


# --- loading: filter with Spark, collect small aggregated rows --------------------------------------

Record = TypeVar("Record", FlowDay, PipelineDay, KpiRow)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _plain(value: Any) -> Any:
    # NaN cannot go into JSON, and means "no value" in these tables anyway.
    return None if isinstance(value, float) and math.isnan(value) else value


def collect_records(df: DataFrame, record: type[Record]) -> list[Record]:
    """The record's columns of ``df`` as dataclasses; a column the table lacks (pipeline_name in flow_kpi) is None.

    Timestamps travel as epoch microseconds: a collected TIMESTAMP becomes a naive datetime in the driver's
    local zone, which would shift evaluated_at on any machine not set to UTC.
    """
    columns = []
    for item in fields(record):
        if item.name not in df.columns:
            columns.append(F.lit(None).alias(item.name))
        elif item.name == "evaluated_at":
            columns.append(F.unix_micros(item.name).alias(item.name))
        else:
            columns.append(F.col(item.name))
    records = []
    for row in df.select(*columns).collect():
        values = {name: _plain(value) for name, value in row.asDict().items()}
        if "evaluated_at" in values:
            values["evaluated_at"] = EPOCH + timedelta(microseconds=values["evaluated_at"])
        records.append(record(**values))
    return records


def newest_business_date(flows: DataFrame) -> date | None:
    return flows.agg(F.max("business_date")).first()[0]


def month_start(day: date, months_before: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_before
    return date(index // 12, index % 12 + 1, 1)


def kpi_history(shown: date) -> Column:
    """The KPI periods the charts show: the last KPI_WEEKS weeks and KPI_MONTHS months up to ``shown``."""
    first_week = shown - timedelta(days=shown.weekday(), weeks=KPI_WEEKS - 1)
    first_month = month_start(shown, KPI_MONTHS - 1)
    period = F.col("period_start")
    weeks = (F.col("granularity") == "week") & period.between(F.lit(first_week), F.lit(shown))
    months = (F.col("granularity") == "month") & period.between(F.lit(first_month), F.lit(shown))
    return weeks | months


def load_report_data(spark: SparkSession, storage: Storage, business_date: date | None, days: int) -> ReportData:
    """The gold rows of the ``days`` business dates ending at ``business_date`` (default: the newest one).

    ``spark`` is the session ``storage`` reads with; it is passed explicitly like everywhere in the package.
    KPI tables that have not been written yet read as empty, and the report says "no data yet".
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    flows = storage.read(FLOW_DAILY_STATUS)
    shown = business_date or newest_business_date(flows)
    if shown is None:
        raise NoReportDataError(
            f"no business date has been evaluated yet in {storage.location(FLOW_DAILY_STATUS)}: run the job first"
        )
    in_window = F.col("business_date").between(F.lit(shown - timedelta(days=days - 1)), F.lit(shown))
    flow_rows = collect_records(flows.where(in_window), FlowDay)
    pipeline_rows = collect_records(storage.read(PIPELINE_DAILY_STATUS).where(in_window), PipelineDay)
    flow_kpis = collect_records(storage.read(FLOW_KPI).where(kpi_history(shown)), KpiRow)
    pipeline_kpis = collect_records(storage.read(PIPELINE_KPI).where(kpi_history(shown)), KpiRow)
    evaluations = [row.evaluated_at for row in (*flow_rows, *pipeline_rows)]
    return ReportData(
        business_date=shown,
        days=days,
        evaluated_at=max(evaluations, default=None),
        flows=tuple(sorted(flow_rows, key=lambda r: (r.business_date, r.flow))),
        pipelines=tuple(sorted(pipeline_rows, key=pipeline_sort_key)),
        flow_kpis=tuple(sorted(flow_kpis, key=kpi_sort_key)),
        pipeline_kpis=tuple(sorted(pipeline_kpis, key=kpi_sort_key)),
    )


def pipeline_sort_key(row: PipelineDay) -> tuple[date, str, int, str]:
    return (row.business_date, row.flow, row.execution_order or 10**6, row.pipeline_name)


def kpi_sort_key(row: KpiRow) -> tuple[str, date, str, str]:
    return (row.granularity, row.period_start, row.flow, row.pipeline_name or "")


# --- small formatting helpers ------------------------------------------------------------------------


def esc(value: object) -> str:
    """Text for HTML content or a quoted attribute; None is empty."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value: object) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the block or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    # JSON allows these two raw; old JavaScript parsers did not.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def hms(seconds: float | None) -> str:
    """12345 -> '03:25:45' (hours may pass 24), like the tables' duration_hms."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def clock(local: str | None, business_date: date) -> str:
    """'2026-03-18 00:10:25' -> '00:10:25'; a later calendar day than the business date gets '+1d'."""
    if not local:
        return "—"
    day_text, _, time_text = local.partition(" ")
    try:
        offset = (date.fromisoformat(day_text) - business_date).days
    except ValueError:
        return local
    return time_text if offset == 0 else f"{time_text} {offset:+d}d"


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    return f"{day:%a} {day.day:02d} {day:%b %Y}"


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def age_text(age: timedelta) -> str:
    """How long ago, in the unit a reader wants: 'just now', '12 min ago', '5 h 03 min ago', '3 days ago'."""
    seconds = age.total_seconds()
    if seconds < -5 * 60:  # beyond the clock skew of two machines: say it, it is worth a look
        return "in the future"
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min ago"
    return f"{minutes // (24 * 60)} days ago"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def signed_points(change: float | None) -> str:
    """A change of rate in percentage points; nothing when there is no previous period or no change."""
    return "" if change is None or abs(change) < 0.0005 else f"{change * 100:+.1f} pt"


def reason_codes(reason: str | None) -> list[str]:
    return [code.strip() for code in (reason or "").split(",") if code.strip()]


def is_stale(evaluated_at: datetime | None, now: datetime) -> bool:
    return evaluated_at is None or now - evaluated_at > STALE_AFTER


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, STATUS_COLORS[PENDING])


def badge(status: str) -> str:
    return f'<span class="badge" style="background:{status_color(status)}">{esc(status)}</span>'


def search_text(*parts: str | None) -> str:
    return esc(" ".join(part for part in parts if part).lower())


# --- layout: which flows, in which order, which pipelines under each ---------------------------------


@dataclass(frozen=True)
class Layout:
    """The page's skeleton, derived once from the rows."""

    dates: tuple[date, ...]  # oldest first
    flows: tuple[str, ...]  # in the order they run at night; UNASSIGNED last
    pipelines: Mapping[str, tuple[str, ...]]  # flow -> its pipelines in execution order
    flow_rows: Mapping[tuple[date, str], FlowDay]
    pipeline_rows: Mapping[tuple[date, str], PipelineDay]

    @staticmethod
    def of(data: ReportData) -> Layout:
        newest: dict[str, PipelineDay] = {}
        for row in sorted(data.pipelines, key=lambda r: r.business_date):
            newest[row.pipeline_name] = row  # the newest row decides a pipeline's flow and position
        by_flow: dict[str, list[PipelineDay]] = defaultdict(list)
        for row in newest.values():
            by_flow[row.flow].append(row)
        pipelines = {
            flow: tuple(
                r.pipeline_name for r in sorted(rows, key=lambda r: (r.execution_order or 10**6, r.pipeline_name))
            )
            for flow, rows in by_flow.items()
        }
        return Layout(
            dates=data.dates,
            flows=night_order(data.flows, by_flow),
            pipelines=pipelines,
            flow_rows={(r.business_date, r.flow): r for r in data.flows},
            pipeline_rows={(r.business_date, r.pipeline_name): r for r in data.pipelines},
        )


def night_order(flows: Iterable[FlowDay], pipeline_flows: Iterable[str]) -> tuple[str, ...]:
    """Flows by their usual start time (median over the window), so the page reads like the night went."""
    starts: dict[str, list[tuple[int, str]]] = defaultdict(list)
    names = {name for name in pipeline_flows if name != UNASSIGNED_FLOW}
    for row in flows:
        names.add(row.flow)
        if row.start_local:
            # (days off the business date, clock): a night that starts the evening before comes first.
            day_text, _, clock_text = row.start_local.partition(" ")
            starts[row.flow].append(((date.fromisoformat(day_text) - row.business_date).days, clock_text))

    def key(name: str) -> tuple[tuple[int, str], str]:
        return (median_low(starts[name]) if starts[name] else (99, ""), name)

    ordered = sorted(names, key=key)
    return (*ordered, UNASSIGNED_FLOW) if UNASSIGNED_FLOW in set(pipeline_flows) else tuple(ordered)


def flow_label(flow: str) -> str:
    return "Not in any flow" if flow == UNASSIGNED_FLOW else flow


# --- the page's parts --------------------------------------------------------------------------------


def header_html(data: ReportData, now: datetime) -> str:
    evaluated = (
        f"{utc_text(data.evaluated_at)} <span class='age'>({age_text(now - data.evaluated_at)})</span>"
        if data.evaluated_at
        else "never"
    )
    return f"""<header class="topbar">
  <div class="brand">
    <h1>Pipeline monitoring</h1>
    <div class="subtitle">Daily status of the nightly Azure Data Factory flows</div>
  </div>
  <div class="meta">
    <div class="meta-item"><span class="label">Business date</span>
      <span class="value" id="shown-date">{esc(long_date(data.business_date))}</span></div>
    <div class="meta-item"><span class="label">Evaluated</span>
      <span class="value" id="evaluated-at">{evaluated}</span></div>
    <div class="meta-item"><span class="label">Report generated</span><span class="value">{utc_text(now)}</span></div>
  </div>
</header>"""


def stale_banner_html(evaluated_at: datetime | None, now: datetime) -> str:
    if not is_stale(evaluated_at, now):
        return ""
    if evaluated_at is None:
        message = "No evaluation found for this window: the statuses below are empty."
    else:
        message = (
            f"Stale data: the newest evaluation is from {utc_text(evaluated_at)}, {age_text(now - evaluated_at)}. "
            "The nightly job may not have run: check it before trusting these statuses."
        )
    return f'<div class="stale-banner" id="stale-banner" role="alert"><strong>⚠</strong> {esc(message)}</div>'


def day_summary_label(data_flows: Sequence[FlowDay]) -> str:
    counts = Counter(row.status for row in data_flows)
    if not data_flows:
        return "no status"
    if set(counts) == {OK}:
        return "all OK"
    return " · ".join(f"{counts[s]} {s}" for s in STATUSES_WORST_FIRST if counts[s] and s != OK)


def toolbar_html(data: ReportData, layout: Layout) -> str:
    options = []
    for day in reversed(layout.dates):
        flows_that_day = [layout.flow_rows[day, f] for f in layout.flows if (day, f) in layout.flow_rows]
        label = f"{short_date(day)} — {day_summary_label(flows_that_day)}"
        selected = " selected" if day == data.business_date else ""
        options.append(
            f'<option value="{day.isoformat()}" data-label="{esc(long_date(day))}"{selected}>{esc(label)}</option>'
        )
    flow_options = "".join(f'<option value="{esc(f)}">{esc(flow_label(f))}</option>' for f in layout.flows)
    chips = "".join(
        f'<label class="chip" style="--status:{status_color(s)}"><input type="checkbox" name="status" value="{s}" '
        f'checked><span class="dot"></span>{s} <span class="count" data-count="{s}"></span></label>'
        for s in STATUSES_WORST_FIRST
    )
    return f"""<nav class="toolbar" aria-label="Date and filters">
  <div class="control date-control">
    <label for="date-picker">Date</label>
    <button type="button" id="prev-day" title="Previous day" aria-label="Previous day">‹</button>
    <select id="date-picker">{"".join(options)}</select>
    <button type="button" id="next-day" title="Next day" aria-label="Next day">›</button>
  </div>
  <div class="control"><label for="flow-filter">Flow</label>
    <select id="flow-filter"><option value="">All flows</option>{flow_options}</select></div>
  <div class="control chips" role="group" aria-label="Status">{chips}</div>
  <div class="control grow"><label for="text-filter">Search</label>
    <input type="search" id="text-filter" placeholder="pipeline, reason, error text…" autocomplete="off"></div>
  <button type="button" id="reset-filters" class="link">Reset</button>
</nav>"""


def status_counts_html(title: str, statuses: Iterable[str]) -> str:
    counts = Counter(statuses)
    tiles = "".join(
        f'<span class="tile" style="--status:{status_color(s)}"><b>{counts[s]}</b> {s}</span>'
        for s in STATUSES_WORST_FIRST
    )
    return f'<div class="tally"><span class="tally-title">{esc(title)}</span>{tiles}</div>'


def reasons_html(reason: str | None) -> str:
    codes = reason_codes(reason)
    if not codes:
        return ""
    items = "".join(
        f'<li><span class="code">{esc(code)}</span> {esc(REASON_MEANINGS.get(code, "unknown reason code"))}</li>'
        for code in codes
    )
    return f'<ul class="reasons">{items}</ul>'


def member_bar_html(row: FlowDay) -> str:
    """The flow's expected pipelines as a stacked bar: how many OK, WARNING, KO, PENDING."""
    pending = max(row.pipelines_expected - row.pipelines_ok - row.pipelines_warning - row.pipelines_ko, 0)
    parts = ((KO, row.pipelines_ko), (WARNING, row.pipelines_warning), (PENDING, pending), (OK, row.pipelines_ok))
    total = max(row.pipelines_expected, 1)
    segments = "".join(
        f'<span style="width:{100 * n / total:.3f}%;background:{status_color(s)}" title="{n} {s}"></span>'
        for s, n in parts
        if n
    )
    words = ", ".join(f"{n} {s}" for s, n in parts if n)
    return (
        f'<div class="members"><div class="members-text">{row.pipelines_expected} pipeline(s) expected: '
        f'{esc(words)}</div><div class="bar">{segments}</div></div>'
    )


def streak_html(days: int) -> str:
    if not days:
        return ""
    plural = "s" if days > 1 else ""
    return f'<div class="streak" style="--status:{STATUS_COLORS[KO]}">KO {days} day{plural} in a row</div>'


def flow_card_html(row: FlowDay, members: Sequence[PipelineDay]) -> str:
    statuses = {row.status, *(m.status for m in members)}
    searchable = search_text(row.flow, row.reason, row.detail, *(m.pipeline_name for m in members))
    return f"""<article class="flow-card js-filterable" style="--status:{status_color(row.status)}"
    data-flow="{esc(row.flow)}" data-status="{esc(row.status)}" data-statuses="{esc(" ".join(sorted(statuses)))}"
    data-search="{searchable}">
  <header><h3>{esc(row.flow)}</h3>{badge(row.status)}</header>
  <dl class="times">
    <div><dt>Start</dt><dd class="start">{esc(clock(row.start_local, row.business_date))}</dd></div>
    <div><dt>End</dt><dd class="end">{esc(clock(row.end_local, row.business_date))}</dd></div>
    <div><dt>Duration</dt><dd class="duration">{esc(row.duration_hms or hms(row.duration_seconds))}</dd></div>
  </dl>
  {streak_html(row.consecutive_ko_days)}
  {member_bar_html(row)}
  {reasons_html(row.reason)}
  <p class="detail">{esc(row.detail)}</p>
</article>"""


def attention_html(rows: Sequence[PipelineDay], flow_rank: Mapping[str, int]) -> str:
    """KO and WARNING pipelines of the day, worst first: what the on-call engineer acts on."""
    problems = sorted(
        (r for r in rows if r.status in (KO, WARNING)),
        key=lambda r: (
            STATUS_SEVERITY[r.status],
            -r.consecutive_ko_days,
            flow_rank.get(r.flow, 99),
            pipeline_sort_key(r),
        ),
    )
    if not problems:
        return '<p class="quiet">Nothing KO or WARNING on this date.</p>'
    items = []
    for row in problems:
        since = f'<span class="since">KO for {row.consecutive_ko_days} day(s)</span>' if row.consecutive_ko_days else ""
        error = f'<div class="error-text">{esc(first_line(row.error_message, 240))}</div>' if row.error_message else ""
        items.append(
            f'<li class="js-filterable" data-flow="{esc(row.flow)}" data-statuses="{esc(row.status)}" '
            f'data-search="{search_text(row.flow, row.pipeline_name, row.reason, row.detail, row.error_message)}">'
            f'{badge(row.status)} <span class="name">{esc(row.pipeline_name)}</span>'
            f'<span class="flow-name">{esc(flow_label(row.flow))}</span>'
            f'<span class="codes">{esc(row.reason)}</span>{since}'
            f'<div class="detail">{esc(row.detail)}</div>{error}</li>'
        )
    empty = '<p class="js-empty quiet" hidden>No problem matches the filters.</p>'
    return f'<ul class="attention">{"".join(items)}</ul>{empty}'


def first_line(text: str | None, limit: int) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def day_overview_html(data: ReportData, layout: Layout, day: date) -> str:
    flows = [layout.flow_rows[day, f] for f in layout.flows if (day, f) in layout.flow_rows]
    pipelines = [r for r in data.pipelines if r.business_date == day]
    by_flow: dict[str, list[PipelineDay]] = defaultdict(list)
    for row in pipelines:
        by_flow[row.flow].append(row)
    cards = "".join(flow_card_html(row, by_flow[row.flow]) for row in flows)
    if not flows:
        cards = '<p class="quiet">No flow status for this date: the job has not evaluated it.</p>'
    rank = {flow: index for index, flow in enumerate(layout.flows)}
    hidden = "" if day == data.business_date else " hidden"
    return f"""<section class="day-overview" data-day="{day.isoformat()}"{hidden}>
  <div class="tallies">{status_counts_html("Flows", (r.status for r in flows))}
    {status_counts_html("Pipelines", (r.status for r in pipelines))}</div>
  <section class="panel js-scope"><h2>Flows on {esc(long_date(day))}</h2>
    <div class="cards">{cards}</div><p class="js-empty quiet" hidden>No flow matches the filters.</p></section>
  <section class="panel js-scope"><h2>Needs attention</h2>{attention_html(pipelines, rank)}</section>
</section>"""


def error_html(row: PipelineDay) -> str:
    if not row.error_message:
        return ""
    kind = f'<span class="failure-type">{esc(row.failure_type)}</span> ' if row.failure_type else ""
    return f'<div class="error-text">{kind}{esc(row.error_message)}</div>'


def baseline_html(row: PipelineDay) -> str:
    if row.baseline_duration_seconds is None:
        return '<span class="quiet">—</span>'
    ratio = f' <span class="ratio">×{row.duration_ratio:.1f}</span>' if row.duration_ratio is not None else ""
    return f"{hms(row.baseline_duration_seconds)}{ratio}"


def reason_chips_html(reason: str | None) -> str:
    return "".join(
        f'<span class="code" title="{esc(REASON_MEANINGS.get(code, ""))}">{esc(code)}</span>'
        for code in reason_codes(reason)
    )


def pipeline_row_html(row: PipelineDay) -> str:
    runs = f"{row.run_count}" + (
        f' <span class="failed">({row.failed_run_count} failed)</span>' if row.failed_run_count else ""
    )
    streak = f'<span class="streak-count">{row.consecutive_ko_days}</span>' if row.consecutive_ko_days else ""
    not_expected = (
        '<span class="not-expected" title="the schedule does not expect a run on this date">not expected</span>'
    )
    searchable = search_text(
        row.flow, row.pipeline_name, row.status, row.reason, row.detail, row.error_message, row.failure_type
    )
    return f"""<tr class="pipeline-row js-filterable" data-flow="{esc(row.flow)}"
    data-pipeline="{esc(row.pipeline_name)}" data-status="{esc(row.status)}" data-statuses="{esc(row.status)}"
    data-search="{searchable}">
  <td class="order">{esc(row.execution_order)}</td>
  <td class="pipeline">{esc(row.pipeline_name)}{"" if row.expected else not_expected}</td>
  <td>{badge(row.status)}</td>
  <td class="reason">{reason_chips_html(row.reason)}</td>
  <td class="time">{esc(clock(row.start_local, row.business_date))}</td>
  <td class="time">{esc(clock(row.end_local, row.business_date))}</td>
  <td class="time">{esc(row.duration_hms or hms(row.duration_seconds))}</td>
  <td class="time">{baseline_html(row)}</td>
  <td class="num">{runs}</td>
  <td class="num">{streak}</td>
  <td class="detail">{esc(row.detail)}{error_html(row)}</td>
</tr>"""


PIPELINE_COLUMNS = (
    ("#", "col-order"),
    ("Pipeline", "col-pipeline"),
    ("Status", "col-status"),
    ("Reason", "col-reason"),
    ("Start", "col-time"),
    ("End", "col-time"),
    ("Duration", "col-time"),
    ("Baseline", "col-baseline"),
    ("Runs", "col-num"),
    ("KO days", "col-num"),
    ("Detail / error", "col-detail"),
)


def pipeline_table_html(flow: str, rows: Sequence[PipelineDay], flow_row: FlowDay | None) -> str:
    head = "".join(f"<th>{name}</th>" for name, _ in PIPELINE_COLUMNS)
    cols = "".join(f'<col class="{css}">' for _, css in PIPELINE_COLUMNS)
    status = badge(flow_row.status) if flow_row else ""
    span = (
        f'<span class="span">{esc(clock(flow_row.start_local, flow_row.business_date))} → '
        f"{esc(clock(flow_row.end_local, flow_row.business_date))} · {esc(flow_row.duration_hms or '—')}</span>"
        if flow_row
        else ""
    )
    return f"""<div class="flow-block js-group" data-flow="{esc(flow)}">
  <h3 class="js-head">{esc(flow_label(flow))} {status}{span}</h3>
  <table class="pipelines"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>
  <tbody>{"".join(pipeline_row_html(r) for r in rows)}</tbody></table>
</div>"""


def day_pipelines_html(data: ReportData, layout: Layout, day: date) -> str:
    blocks = []
    for flow in layout.flows:
        order = {name: index for index, name in enumerate(layout.pipelines.get(flow, ()))}
        rows = sorted(
            (r for r in data.pipelines if r.business_date == day and r.flow == flow),
            key=lambda r: (order.get(r.pipeline_name, 10**6), r.pipeline_name),
        )
        if rows:
            blocks.append(pipeline_table_html(flow, rows, layout.flow_rows.get((day, flow))))
    content = "".join(blocks) or '<p class="quiet">No pipeline status for this date.</p>'
    hidden = "" if day == data.business_date else " hidden"
    return f"""<section class="panel day-pipelines js-scope" data-day="{day.isoformat()}"{hidden}>
  <h2>Pipelines on {esc(long_date(day))}, in execution order</h2>{content}
  <p class="js-empty quiet" hidden>No pipeline matches the filters.</p>
</section>"""


# --- the calendar heatmap ----------------------------------------------------------------------------


def cell_mark(status: str, streak: int) -> str:
    """What a cell shows besides its colour, so the grid also reads without colour vision."""
    if status == KO:
        return str(streak or "")
    return {WARNING: "!", PENDING: "…"}.get(status, "")


def cell_title(name: str, day: date, row: FlowDay | PipelineDay | None, kind: str) -> str:
    if row is None:
        nothing = "no pipeline of the flow expected" if kind == "flow" else "not expected and no run"
        return f"{name}\n{short_date(day)}: {nothing}"
    lines = [name, f"{short_date(day)}: {row.status}" + (f" ({row.reason})" if row.reason else "")]
    if row.consecutive_ko_days:
        lines.append(f"KO {row.consecutive_ko_days} day(s) in a row")
    if row.start_local:
        lines.append(f"{clock(row.start_local, day)} → {clock(row.end_local, day)} · {row.duration_hms or '—'}")
    if row.detail:
        lines.append(row.detail)
    return "\n".join(lines)


def heatmap_cells_html(
    name: str, kind: str, rows: Sequence[FlowDay | PipelineDay | None], dates: Sequence[date]
) -> str:
    cells = []
    for day, row in zip(dates, rows, strict=True):
        title = esc(cell_title(name, day, row, kind))
        if row is None:
            cells.append(f'<div class="hm-cell empty" data-date="{day.isoformat()}" title="{title}"></div>')
        else:
            cells.append(
                f'<div class="hm-cell" data-date="{day.isoformat()}" data-status="{esc(row.status)}" '
                f'style="background:{status_color(row.status)}" title="{title}">'
                f"{cell_mark(row.status, row.consecutive_ko_days)}</div>"
            )
    return "".join(cells)


def heatmap_header_html(dates: Sequence[date]) -> str:
    heads = ['<div class="hm-corner">Flow / pipeline</div>']
    for index, day in enumerate(dates):
        month = f'<span class="month">{day:%b}</span>' if index == 0 or day.day == 1 else ""
        weekend = " weekend" if day.weekday() >= 5 else ""
        heads.append(
            f'<div class="hm-date{weekend}" data-date="{day.isoformat()}" title="{esc(long_date(day))}">'
            f'{month}<span class="dow">{day:%a}</span><span class="dom">{day.day}</span></div>'
        )
    return "".join(heads)


def heatmap_html(layout: Layout) -> str:
    dates = layout.dates
    groups = []
    for flow in layout.flows:
        flow_rows = [layout.flow_rows.get((day, flow)) for day in dates]
        head_cells = heatmap_cells_html(flow_label(flow), "flow", flow_rows, dates)
        rows = [
            f'<div class="hm-row js-head"><div class="hm-label hm-flow">{esc(flow_label(flow))}</div>{head_cells}</div>'
        ]
        for name in layout.pipelines.get(flow, ()):
            pipeline_rows = [layout.pipeline_rows.get((day, name)) for day in dates]
            statuses = sorted({r.status for r in pipeline_rows if r is not None})
            rows.append(
                f'<div class="hm-row js-filterable" data-flow="{esc(flow)}" data-statuses="{esc(" ".join(statuses))}" '
                f'data-search="{search_text(flow, name)}"><div class="hm-label hm-pipeline" title="{esc(name)}">'
                f"{esc(name)}</div>{heatmap_cells_html(name, 'pipeline', pipeline_rows, dates)}</div>"
            )
        groups.append(f'<div class="hm-group js-group" data-flow="{esc(flow)}">{"".join(rows)}</div>')
    swatches = [(status_color(s), cell_mark(s, 0), s) for s in STATUSES_WORST_FIRST] + [
        (NO_STATUS_COLOR, "", "no status")
    ]
    legend = "".join(
        f'<span class="legend-item"><span class="swatch" style="background:{color}">{mark}</span>{label}</span>'
        for color, mark, label in swatches
    )
    return f"""<section class="panel js-scope" id="calendar">
  <h2>Last {len(dates)} days</h2>
  <p class="hint">One cell per business date; a number is the KO streak so far. Click a day to show it above
    and below.</p>
  <div class="heatmap-scroll"><div class="heatmap" id="heatmap" style="--days:{len(dates)}">
    {heatmap_header_html(dates)}{"".join(groups)}
  </div></div>
  <div class="legend">{legend}</div>
  <p class="js-empty quiet" hidden>No pipeline matches the filters.</p>
</section>"""


# --- charts (Plotly figures as plain dicts) ----------------------------------------------------------


def base_layout(y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "height": 330,
        "margin": {"l": 60, "r": 20, "t": 16, "b": 44},
        "font": {"family": "Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif", "size": 12, "color": "#1f2933"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "hoverlabel": {"align": "left"},
        "xaxis": {"type": "date", "gridcolor": "#eef0f3", "linecolor": "#c9ced6"},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eef0f3", "zeroline": False, "rangemode": "tozero"},
        **extra,
    }


def flow_color(flows: Sequence[str], flow: str) -> str:
    return FLOW_PALETTE[flows.index(flow) % len(FLOW_PALETTE)] if flow in flows else FLOW_PALETTE[-1]


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def kpi_series(kpis: Iterable[KpiRow], granularity: str, flows: Sequence[str]) -> dict[str, list[KpiRow]]:
    series: dict[str, list[KpiRow]] = {}
    for flow in flows:
        rows = sorted(
            (k for k in kpis if k.granularity == granularity and k.flow == flow), key=lambda k: k.period_start
        )
        if rows:
            series[flow] = rows
    return series


def flow_bars(
    series: dict[str, list[KpiRow]],
    flows: Sequence[str],
    value: Callable[[KpiRow], float | None],
    hover: Callable[[str, KpiRow], str],
) -> list[dict[str, Any]]:
    """One bar trace per flow over its periods, in the flow's colour, with an HTML hover text per bar."""
    return [
        {
            "type": "bar",
            "name": esc(flow),
            "meta": flow,
            "x": [r.period_start.isoformat() for r in rows],
            "y": [value(r) for r in rows],
            "text": [hover(flow, r) for r in rows],
            "textposition": "none",
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"color": flow_color(flows, flow)},
        }
        for flow, rows in series.items()
    ]


def availability_figure(kpis: Sequence[KpiRow], flows: Sequence[str]) -> dict[str, Any] | None:
    series = kpi_series(kpis, "week", flows)
    if not series:
        return None
    # Grouped bars, not lines: flows at 100 % every week would draw one line over the other.
    traces = flow_bars(
        series,
        flows,
        lambda r: None if r.availability is None else round(r.availability * 100, 2),
        lambda flow, r: (
            f"<b>{esc(flow)}</b><br>week of {r.period_start:%d %b %Y}<br>availability {percent(r.availability)} "
            f"({r.days_ok} OK · {r.days_warning} WARNING · {r.days_ko} KO of {r.days_expected} days)"
            f"<br>on time {percent(r.on_time_rate)}"
        ),
    )
    layout = base_layout("availability (%)", barmode="group")
    layout["yaxis"].update({"range": [0, 100], "ticksuffix": "%", "rangemode": "normal"})
    layout["xaxis"].update({"dtick": 7 * 24 * 3600 * 1000, "tickformat": "%d %b"})  # a tick per week
    return {"data": traces, "layout": layout}


def duration_figure(kpis: Sequence[KpiRow], flows: Sequence[str]) -> dict[str, Any] | None:
    series = kpi_series(kpis, "month", flows)
    if not series:
        return None
    traces = flow_bars(
        series,
        flows,
        lambda r: minutes(r.duration_mean_seconds),
        lambda flow, r: (
            f"<b>{esc(flow)}</b><br>{r.period_start:%B %Y}<br>mean {hms(r.duration_mean_seconds)} · "
            f"median {hms(r.duration_median_seconds)} · p90 {hms(r.duration_p90_seconds)}"
        ),
    )
    layout = base_layout("mean duration (minutes)", barmode="group")
    layout["xaxis"].update({"dtick": "M1", "tickformat": "%b %Y"})
    return {"data": traces, "layout": layout}


def pipeline_figure(name: str, rows: Sequence[PipelineDay | None], dates: Sequence[date]) -> dict[str, Any]:
    """Each day's duration as a bar in its status colour, against the baseline it was compared with."""
    x = [day.isoformat() for day in dates]
    durations = [minutes(r.duration_seconds) if r else None for r in rows]
    baselines = [minutes(r.baseline_duration_seconds) if r else None for r in rows]
    hover = [
        f"<b>{esc(name)}</b><br>{short_date(day)}: "
        + (
            f"{esc(r.status)}{' (' + esc(r.reason) + ')' if r.reason else ''}<br>duration {esc(r.duration_hms or '—')}"
            f" · baseline {hms(r.baseline_duration_seconds)}"
            if r
            else "no status"
        )
        for day, r in zip(dates, rows, strict=True)
    ]
    bars = {
        "type": "bar",
        "name": "duration (coloured by status)",
        "showlegend": False,  # its colours are the statuses', explained by the heatmap's legend
        "x": x,
        "y": durations,
        "text": hover,
        "textposition": "none",
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {"color": [status_color(r.status) if r else NO_STATUS_COLOR for r in rows]},
    }
    baseline = {
        "type": "scatter",
        "mode": "lines",
        "name": "baseline (median of recent successful runs)",
        "x": x,
        "y": baselines,
        "hoverinfo": "skip",
        "line": {"color": "#1f2933", "width": 2, "dash": "dash", "shape": "hv"},
    }
    layout = base_layout("duration (minutes)", bargap=0.25, showlegend=True)
    # Half a day of margin each side, so the first and last bars are whole.
    layout["xaxis"]["range"] = [f"{dates[0] - timedelta(days=1)} 12:00", f"{dates[-1]} 12:00"]
    return {"data": [bars, baseline], "layout": layout}


def chart_figures(data: ReportData, layout: Layout) -> dict[str, Any]:
    flows = [f for f in layout.flows if f != UNASSIGNED_FLOW]
    return {
        "availability": availability_figure(data.flow_kpis, flows),
        "duration": duration_figure(data.flow_kpis, flows),
        "pipelines": {
            name: pipeline_figure(name, [layout.pipeline_rows.get((day, name)) for day in layout.dates], layout.dates)
            for flow in layout.flows
            for name in layout.pipelines.get(flow, ())
        },
    }


def default_pipeline(data: ReportData, layout: Layout) -> str | None:
    """The chart opens on the worst pipeline of the shown date (the one worth a look), else the first."""
    shown = [r for r in data.pipelines if r.business_date == data.business_date]
    if shown:
        worst = min(shown, key=lambda r: (STATUS_SEVERITY.get(r.status, 9), -r.consecutive_ko_days))
        if worst.status != OK:
            return worst.pipeline_name
    names = [name for flow in layout.flows for name in layout.pipelines.get(flow, ())]
    return names[0] if names else None


NO_KPI_YET = "No data yet: the KPI table {table} has not been written for this period."


def chart_box_html(chart_id: str, title: str, figure: dict[str, Any] | None, empty: str) -> str:
    body = (
        f'<div class="chart" id="{chart_id}"></div>'
        if figure
        else f'<div class="chart no-data" id="{chart_id}" data-empty="true"><p>{esc(empty)}</p></div>'
    )
    return f'<div class="chart-box"><h3>{esc(title)}</h3>{body}</div>'


def pipeline_picker_html(layout: Layout, selected: str | None) -> str:
    groups = []
    for flow in layout.flows:
        options = "".join(
            f'<option value="{esc(name)}" data-flow="{esc(flow)}"{" selected" if name == selected else ""}>'
            f"{esc(name)}</option>"
            for name in layout.pipelines.get(flow, ())
        )
        if options:
            groups.append(f'<optgroup label="{esc(flow_label(flow))}">{options}</optgroup>')
    return f'<select id="pipeline-picker">{"".join(groups)}</select>'


MIN_DAYS_FOR_A_MONTH = 7  # a month younger than this says little: the table opens on the previous one


def kpi_period_key(row: KpiRow) -> str:
    return f"{row.granularity}:{row.period_start.isoformat()}"


def kpi_period_label(row: KpiRow) -> str:
    if row.granularity == "month":
        return f"{row.period_start:%B %Y}"
    return f"week of {row.period_start.day} {row.period_start:%b %Y}"


def default_kpi_period(periods: Sequence[KpiRow], shown: date) -> str:
    """The newest month, or the one before it while the newest has under a week of days."""
    months = sorted((p for p in periods if p.granularity == "month"), key=lambda p: p.period_start, reverse=True)
    if not months:
        return kpi_period_key(max(periods, key=lambda p: p.period_start))
    newest = months[0]
    young = (shown - newest.period_start).days + 1 < MIN_DAYS_FOR_A_MONTH
    return kpi_period_key(months[1] if young and len(months) > 1 else newest)


def kpi_row_html(k: KpiRow, shown_period: str) -> str:
    period = kpi_period_key(k)
    hidden = "" if period == shown_period else " hidden"
    change = signed_points(k.availability_change)
    return (
        f'<tr class="js-filterable" data-flow="{esc(k.flow)}" data-period="{period}"{hidden} '
        f'data-search="{search_text(k.flow, k.pipeline_name)}">'
        f'<td>{esc(flow_label(k.flow))}</td><td class="pipeline">{esc(k.pipeline_name)}</td>'
        f'<td class="num">{k.days_expected}</td><td class="num">{k.days_ok}</td>'
        f'<td class="num">{k.days_warning}</td><td class="num">{k.days_ko}</td>'
        f'<td class="num">{percent(k.availability)} <span class="change">{change}</span></td>'
        f'<td class="num">{percent(k.on_time_rate)}</td><td class="num">{hms(k.duration_median_seconds)}</td>'
        f'<td class="num">{hms(k.duration_p90_seconds)}</td><td class="num">{k.max_ko_streak or ""}</td></tr>'
    )


def kpi_table_html(data: ReportData, layout: Layout) -> str:
    """Each pipeline's KPIs for one period; a select switches between the months and weeks in the file."""
    rows = [k for k in data.pipeline_kpis if k.period_start <= data.business_date]
    if not rows:
        return (
            f'<p class="quiet no-data" id="pipeline-kpi-empty">{esc(NO_KPI_YET.format(table="gold/pipeline_kpi"))}</p>'
        )
    periods = list({kpi_period_key(k): k for k in rows}.values())
    shown = default_kpi_period(periods, data.business_date)
    months_first = sorted(periods, key=lambda p: (p.granularity == "month", p.period_start), reverse=True)
    options = "".join(
        f'<option value="{kpi_period_key(p)}"{" selected" if kpi_period_key(p) == shown else ""}>'
        f"{esc(kpi_period_label(p))}</option>"
        for p in months_first
    )
    position = {name: i for i, name in enumerate(n for f in layout.flows for n in layout.pipelines.get(f, ()))}
    body = "".join(
        kpi_row_html(k, shown)
        for k in sorted(rows, key=lambda k: (kpi_period_key(k), position.get(k.pipeline_name, 10**6)))
    )
    text_columns = ("Flow", "Pipeline")
    numeric_columns = ("Days", "OK", "WARNING", "KO", "Availability (vs previous period)", "On time", "Median")
    head = "".join(f"<th>{name}</th>" for name in text_columns) + "".join(
        f'<th class="num">{name}</th>' for name in (*numeric_columns, "P90", "Longest KO streak")
    )
    return (
        f'<h3 class="kpi-title">Pipelines in <select id="kpi-period">{options}</select></h3>'
        f'<table class="kpis" id="pipeline-kpis"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def trends_html(data: ReportData, layout: Layout, figures: Mapping[str, Any]) -> str:
    no_flow_kpi = NO_KPI_YET.format(table="gold/flow_kpi")
    return f"""<section class="panel js-scope" id="trends">
  <h2>Trends</h2>
  <div class="chart-grid">
    {chart_box_html("chart-availability", "Availability per week", figures["availability"], no_flow_kpi)}
    {chart_box_html("chart-duration", "Mean duration per month", figures["duration"], no_flow_kpi)}
  </div>
  <div class="chart-box wide">
    <h3>Pipeline duration over the last {len(layout.dates)} days, against its baseline
      <span class="picker">{pipeline_picker_html(layout, default_pipeline(data, layout))}</span></h3>
    <div class="chart" id="chart-pipeline"></div>
  </div>
  {kpi_table_html(data, layout)}
</section>"""


def footer_html(data: ReportData, now: datetime) -> str:
    return f"""<footer>Generated by <code>pipeline-monitor report</code> at {utc_text(now)} from
  gold/flow_daily_status, gold/pipeline_daily_status, gold/flow_kpi and gold/pipeline_kpi
  ({data.days} business dates up to {data.business_date.isoformat()}). Statuses are computed by the nightly job,
  never by this page.</footer>"""


# --- the page ----------------------------------------------------------------------------------------


@cache  # 4.8 MB read and scanned once per process, not once per report
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # The bundle has no '</script' today; if a future one did, it would end the inline block early.
    return re.sub(r"</(script)", r"<\\/\1", get_plotlyjs(), flags=re.IGNORECASE)


def csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(scripts: Iterable[str]) -> str:
    """No network at all, and only this page's own scripts run: a markup injection could not execute."""
    hashes = " ".join(csp_hash(script) for script in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data: blob:; "
        "font-src data:; base-uri 'none'; form-action 'none'"
    )


def render_report(data: ReportData, now: datetime) -> str:
    """The whole report as one HTML document (about 5 MB, most of it Plotly's bundle)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    layout = Layout.of(data)
    figures = chart_figures(data, layout)
    scripts = (plotly_js(), APP_JS)
    newest_first = tuple(reversed(layout.dates))
    body = "\n".join(
        [
            header_html(data, now),
            stale_banner_html(data.evaluated_at, now),
            toolbar_html(data, layout),
            "<main>",
            *(day_overview_html(data, layout, day) for day in newest_first),
            heatmap_html(layout),
            *(day_pipelines_html(data, layout, day) for day in newest_first),
            trends_html(data, layout, figures),
            footer_html(data, now),
            "</main>",
        ]
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{esc(content_security_policy(scripts))}">
<meta name="generator" content="pipeline-monitor report">
<title>Pipeline monitoring — {esc(data.business_date.isoformat())}</title>
<link rel="icon" href="data:,">
<style>{css()}</style>
</head>
<body>
{body}
<script type="application/json" id="report-charts">{script_json(figures)}</script>
<script>{scripts[0]}</script>
<script>{scripts[1]}</script>
</body>
</html>
"""


def write_report(html_text: str, out: Path) -> Path:
    """Writes the report (creating its folder) and returns its absolute path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out.resolve()


def generate_report(
    spark: SparkSession,
    storage: Storage,
    out: Path,
    business_date: date | None = None,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> Path:
    """Load, render, write: what `pipeline-monitor report` and the demo do."""
    data = load_report_data(spark, storage, business_date, days)
    return write_report(render_report(data, now or datetime.now(UTC)), out)


# --- inline assets -----------------------------------------------------------------------------------


def css() -> str:
    colors = "".join(f"--{status.lower()}:{color};" for status, color in STATUS_COLORS.items())
    return f":root{{{colors}}}" + CSS


CSS = """
*{box-sizing:border-box}
[hidden]{display:none!important}
html{scroll-padding-top:72px}
body{margin:0;font:14px/1.45 "Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:#f2f4f7;color:#1f2933}
code,.error-text,.code{font-family:"SFMono-Regular",Consolas,"Liberation Mono",Menlo,monospace}
.topbar{background:#0b2545;color:#fff;padding:18px 32px;display:flex;justify-content:space-between;
  align-items:flex-end;gap:24px;flex-wrap:wrap}
.topbar h1{margin:0;font-size:21px;font-weight:600;letter-spacing:.2px}
.subtitle{color:#aebcd1;font-size:13px;margin-top:2px}
.meta{display:flex;gap:32px;flex-wrap:wrap}
.meta-item .label{display:block;font-size:11px;text-transform:uppercase;letter-spacing:.07em;color:#aebcd1}
.meta-item .value{font-size:15px;font-weight:600}
.meta-item .age{font-weight:400;color:#d4dceb}
.stale-banner{background:#fff3e0;border-bottom:2px solid #ef6c00;color:#7a3300;padding:12px 32px;font-weight:600}
.toolbar{position:sticky;top:0;z-index:20;background:rgba(255,255,255,.97);border-bottom:1px solid #dde2e8;
  padding:10px 32px;display:flex;flex-wrap:wrap;gap:18px;align-items:center;box-shadow:0 1px 4px rgba(15,23,42,.06)}
.control{display:flex;align-items:center;gap:6px}
.control>label{font-size:12px;font-weight:600;color:#52606d;text-transform:uppercase;letter-spacing:.05em}
.control.grow{flex:1;min-width:220px}
.control.grow input{flex:1}
select,input[type=search],button{font:inherit;font-size:13px;border:1px solid #c6ccd5;border-radius:6px;
  padding:5px 8px;background:#fff;color:inherit}
button{cursor:pointer}
button:hover,select:hover{border-color:#8a94a3}
button.link{border:none;background:none;color:#1565c0;padding:4px}
#prev-day,#next-day{padding:4px 10px;font-weight:700}
.chips{gap:6px}
.chip{display:inline-flex;align-items:center;gap:5px;border:1px solid #c6ccd5;border-radius:999px;padding:3px 10px;
  font-size:12px;font-weight:600;cursor:pointer;user-select:none;background:#fff}
.chip input{position:absolute;opacity:0;pointer-events:none}
.chip .dot{width:9px;height:9px;border-radius:50%;background:var(--status)}
.chip .count{color:#52606d;font-weight:400}
.chip:has(input:checked){border-color:var(--status);box-shadow:inset 0 0 0 1px var(--status)}
.chip:has(input:not(:checked)){opacity:.45}
.chip:has(input:focus-visible){outline:2px solid #1565c0}
main{max-width:1440px;margin:0 auto;padding:20px 32px 40px}
.panel{background:#fff;border:1px solid #dde2e8;border-radius:10px;padding:16px 20px;margin-bottom:20px}
h2{font-size:16px;margin:0 0 12px;font-weight:650}
h3{font-size:14px;margin:0}
.quiet{color:#6b7785}
.hint{color:#6b7785;margin:-6px 0 12px;font-size:12.5px}
.tallies{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
.tally{display:flex;align-items:center;gap:8px;background:#fff;border:1px solid #dde2e8;border-radius:10px;
  padding:8px 14px}
.tally-title{font-weight:650;margin-right:4px}
.tile{border-left:4px solid var(--status);padding:0 8px;font-size:12.5px;color:#3e4c59}
.tile b{font-size:16px;color:#1f2933}
.badge{display:inline-block;color:#fff;font-weight:700;font-size:11.5px;letter-spacing:.04em;border-radius:999px;
  padding:2px 9px;line-height:1.5;vertical-align:middle}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:16px}
.flow-card{border:1px solid #dde2e8;border-top:5px solid var(--status);border-radius:10px;padding:14px 16px;
  background:linear-gradient(180deg,color-mix(in srgb,var(--status) 6%,#fff) 0,#fff 70px)}
.flow-card header{display:flex;justify-content:space-between;align-items:center;margin-bottom:10px}
.flow-card h3{font-size:17px}
.times{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;margin:0 0 10px}
.times div{background:#f5f7fa;border-radius:6px;padding:6px 8px}
.times dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#6b7785}
.times dd{margin:0;font-size:15px;font-weight:600;font-variant-numeric:tabular-nums}
.streak{display:inline-block;background:var(--status);color:#fff;font-weight:700;border-radius:6px;padding:2px 8px;
  margin-bottom:8px;font-size:12.5px}
.members-text{font-size:12.5px;color:#52606d;margin-bottom:4px}
.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#e4e7eb;margin-bottom:10px}
.bar span{display:block;height:100%}
.reasons{list-style:none;margin:0 0 8px;padding:0}
.reasons li{margin:3px 0;font-size:13px}
.code{display:inline-block;font-size:11px;font-weight:600;background:#eef1f5;border:1px solid #d7dde5;border-radius:4px;
  padding:0 5px;margin-right:4px;color:#243b53}
.flow-card .detail{margin:0;color:#52606d;font-size:12.5px}
.attention{list-style:none;margin:0;padding:0}
.attention li{padding:8px 0;border-top:1px solid #eef0f3;display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px}
.attention li:first-child{border-top:none}
.attention .name{font-weight:650}
.attention .flow-name{color:#6b7785;font-size:12.5px}
.attention .codes{font-family:Consolas,monospace;font-size:12px;color:#243b53}
.attention .since{color:#c62828;font-weight:650;font-size:12.5px}
.attention .detail{flex-basis:100%;color:#3e4c59;font-size:13px}
.attention .error-text{flex-basis:100%}
.error-text{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11.5px;background:#fdf2f2;border:1px solid #f3d4d4;
  color:#7f1d1d;border-radius:6px;padding:5px 8px;margin-top:5px;max-height:12em;overflow:auto}
.failure-type{font-weight:700}
.flow-block{margin-bottom:18px}
.flow-block h3{font-size:15px;margin:8px 0;display:flex;align-items:center;gap:10px}
.flow-block h3 .span{font-weight:400;color:#6b7785;font-size:12.5px;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%}
table.pipelines{table-layout:fixed}
th.num{text-align:right}
th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#6b7785;font-weight:650;
  padding:6px 8px;border-bottom:2px solid #dde2e8;background:#fafbfc}
td{padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top;font-size:13px}
tbody tr:hover td{background:#f7f9fc}
td.pipeline{font-weight:600;overflow-wrap:anywhere}
td.time,td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
td.num{text-align:right}
td.detail{color:#3e4c59;overflow-wrap:anywhere}
td .failed{color:#c62828}
.streak-count{display:inline-block;min-width:22px;text-align:center;background:#c62828;color:#fff;border-radius:4px;
  font-weight:700;padding:0 4px}
.not-expected{display:block;font-weight:400;font-size:11px;color:#6b7785}
.ratio{color:#6b7785;font-size:12px}
col.col-order{width:36px}col.col-pipeline{width:25%}col.col-status{width:84px}col.col-reason{width:110px}
col.col-time{width:80px}col.col-baseline{width:104px}col.col-num{width:74px}col.col-detail{width:auto}
td .badge{vertical-align:top}
.heatmap-scroll{overflow-x:auto}
.heatmap{display:grid;grid-template-columns:minmax(240px,300px) repeat(var(--days),minmax(22px,1fr));gap:2px;
  min-width:calc(260px + var(--days) * 24px)}
.hm-group,.hm-row{display:contents}
.hm-corner{font-size:11px;color:#6b7785;align-self:end;padding:0 6px 4px;text-transform:uppercase;letter-spacing:.05em}
.hm-date{display:flex;flex-direction:column;align-items:center;justify-content:flex-end;font-size:10.5px;color:#52606d;
  line-height:1.15;padding-bottom:3px;cursor:pointer;border-radius:4px 4px 0 0}
.hm-date.weekend{color:#9aa5b1}
.hm-date .month{font-weight:700;color:#1f2933}
.hm-date .dom{font-weight:650;font-size:11.5px}
.hm-date.is-selected{background:#0b2545;color:#fff}
.hm-date.is-selected .month{color:#fff}
.hm-label{font-size:12.5px;padding:0 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;align-self:center}
.hm-flow{font-weight:700;font-size:13px;padding-top:6px}
.hm-pipeline{padding-left:18px;color:#3e4c59}
.hm-cell{height:22px;border-radius:3px;color:#fff;font-size:11px;font-weight:700;display:flex;align-items:center;
  justify-content:center;cursor:pointer}
.hm-flow+.hm-cell,.hm-flow~.hm-cell{margin-top:6px}
.hm-cell.empty{background:#e4e7eb}
.hm-cell:hover{outline:2px solid #1f2933;outline-offset:-1px}
.hm-cell.is-selected{box-shadow:inset 0 0 0 2px #0b2545, 0 0 0 1px #0b2545}
.legend{display:flex;gap:16px;margin-top:12px;font-size:12.5px;color:#52606d;flex-wrap:wrap}
.legend-item{display:inline-flex;align-items:center;gap:6px}
.swatch{display:inline-flex;width:18px;height:16px;border-radius:3px;color:#fff;font-size:10px;font-weight:700;
  align-items:center;justify-content:center}
.chart-grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}
.chart-box{border:1px solid #eef0f3;border-radius:8px;padding:12px 14px;margin-bottom:20px}
.chart-box h3{display:flex;align-items:center;justify-content:space-between;gap:12px;margin-bottom:6px}
.chart{min-height:330px}
.chart.no-data{display:flex;align-items:center;justify-content:center;background:#f7f9fc;border-radius:6px;color:#6b7785}
table.kpis td,table.kpis th{white-space:nowrap}
.kpi-title{margin:4px 0 8px;display:flex;align-items:center;gap:8px}
.kpis .change{color:#6b7785;font-size:11.5px}
footer{color:#6b7785;font-size:12px;margin-top:8px}
@media (max-width:900px){.chart-grid{grid-template-columns:1fr}
  .topbar,.toolbar,main{padding-left:14px;padding-right:14px}}
"""

APP_JS = """
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var picker = $("#date-picker"), flowFilter = $("#flow-filter"), textFilter = $("#text-filter");
  var pipelinePicker = $("#pipeline-picker"), kpiPeriod = $("#kpi-period");
  var statusBoxes = $$("input[name=status]");
  var figures = JSON.parse($("#report-charts").textContent);
  var plotConfig = {displaylogo: false, responsive: true,
                    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]};
  var hasPlotly = typeof window.Plotly !== "undefined";

  function filters() {
    return {
      day: picker.value,
      flow: flowFilter.value,
      statuses: statusBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }),
      text: textFilter.value.trim().toLowerCase()
    };
  }

  // An element without data-statuses (a KPI row) ignores the status filter.
  function matches(el, f) {
    if (f.flow && el.dataset.flow !== f.flow) { return false; }
    if (f.text && (el.dataset.search || "").indexOf(f.text) < 0) { return false; }
    if (el.dataset.period && kpiPeriod && el.dataset.period !== kpiPeriod.value) { return false; }
    if (el.dataset.statuses === undefined) { return true; }
    return el.dataset.statuses.split(" ").some(function (s) { return f.statuses.indexOf(s) >= 0; });
  }

  function visible(el) { return !el.hidden; }

  function updateCounts(day) {
    var counts = {};
    $$("tr.pipeline-row").forEach(function (row) {
      if (row.closest("[data-day]").dataset.day === day) {
        counts[row.dataset.status] = (counts[row.dataset.status] || 0) + 1;
      }
    });
    $$("[data-count]").forEach(function (el) { el.textContent = counts[el.dataset.count] || 0; });
  }

  function showPipeline(name) {
    var figure = figures.pipelines[name];
    if (!hasPlotly || !figure) { return; }
    Plotly.react("chart-pipeline", figure.data, figure.layout, plotConfig);
  }

  function updateCharts(flow) {
    if (!hasPlotly) { return; }
    ["chart-availability", "chart-duration"].forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !el.data) { return; }
      var shown = el.data.map(function (t) { return !flow || t.meta === flow ? true : "legendonly"; });
      Plotly.restyle(el, {visible: shown});
    });
    if (!pipelinePicker) { return; }
    var options = $$("option", pipelinePicker);
    options.forEach(function (o) { o.hidden = Boolean(flow) && o.dataset.flow !== flow; });
    var current = pipelinePicker.selectedOptions[0];
    if (current && current.hidden) {
      var first = options.filter(function (o) { return !o.hidden; })[0];
      if (first) { pipelinePicker.value = first.value; showPipeline(first.value); }
    }
  }

  function apply() {
    var f = filters();
    $$("[data-day]").forEach(function (el) { el.hidden = el.dataset.day !== f.day; });
    $$(".js-filterable").forEach(function (el) { el.hidden = !matches(el, f); });
    $$(".js-group").forEach(function (group) {
      var shown = $$(".js-filterable", group).some(visible);
      group.hidden = !shown;
      $$(".js-head", group).forEach(function (head) { head.hidden = !shown; });
    });
    $$(".js-scope").forEach(function (scope) {
      var empty = $(".js-empty", scope);
      var items = $$(".js-filterable", scope);
      if (empty) { empty.hidden = items.length === 0 || items.some(visible); }
    });
    $$(".hm-cell, .hm-date").forEach(function (c) { c.classList.toggle("is-selected", c.dataset.date === f.day); });
    var option = picker.selectedOptions[0];
    if (option) { $("#shown-date").textContent = option.dataset.label; }
    $("#prev-day").disabled = picker.selectedIndex >= picker.options.length - 1;
    $("#next-day").disabled = picker.selectedIndex <= 0;
    updateCounts(f.day);
    updateCharts(f.flow);
  }

  function showDay(day) {
    if (!$$("option", picker).some(function (o) { return o.value === day; })) { return; }
    picker.value = day;
    apply();
  }

  picker.addEventListener("change", apply);
  flowFilter.addEventListener("change", apply);
  textFilter.addEventListener("input", apply);
  statusBoxes.forEach(function (b) { b.addEventListener("change", apply); });
  $("#prev-day").addEventListener("click", function () {
    if (picker.selectedIndex < picker.options.length - 1) { picker.selectedIndex += 1; apply(); }
  });
  $("#next-day").addEventListener("click", function () {
    if (picker.selectedIndex > 0) { picker.selectedIndex -= 1; apply(); }
  });
  $("#reset-filters").addEventListener("click", function () {
    flowFilter.value = "";
    textFilter.value = "";
    statusBoxes.forEach(function (b) { b.checked = true; });
    apply();
  });
  $("#heatmap").addEventListener("click", function (event) {
    var cell = event.target.closest("[data-date]");
    if (cell) { showDay(cell.dataset.date); }
  });
  if (pipelinePicker) {
    pipelinePicker.addEventListener("change", function () { showPipeline(pipelinePicker.value); });
  }
  if (kpiPeriod) { kpiPeriod.addEventListener("change", apply); }

  if (hasPlotly) {
    [["chart-availability", figures.availability], ["chart-duration", figures.duration]].forEach(function (pair) {
      if (pair[1]) { Plotly.newPlot(pair[0], pair[1].data, pair[1].layout, plotConfig); }
    });
    if (pipelinePicker && pipelinePicker.value) { showPipeline(pipelinePicker.value); }
  }
  apply();
  document.documentElement.dataset.ready = "true";
})();
"""
