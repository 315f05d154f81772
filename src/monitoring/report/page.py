"""The report's HTML: Jinja2 templates (``templates/``, autoescaped) fed with views of the rows, and the whole
self-contained document with its inline CSS, scripts and Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitoring.gold import FlowDay, PipelineDay, reason_codes, status_color
from monitoring.report.figures import chart_figures, default_pipeline
from monitoring.report.layout import Layout, flow_label
from monitoring.report.loading import KpiRow, ReportData, pipeline_sort_key
from monitoring.report.text import (
    NO_STATUS_COLOR,
    REASON_MEANINGS,
    STATUSES_WORST_FIRST,
    age_text,
    clock,
    hms,
    is_stale,
    long_date,
    percent,
    script_json,
    search_text,
    short_date,
    signed_points,
    utc_text,
)
from monitoring.vocabulary import KO, OK, PENDING, STATUS_COLORS, STATUS_SEVERITY, WARNING

# --- what the templates read besides the rows ----------------------------------------------------------


def day_summary_label(data_flows: Sequence[FlowDay]) -> str:
    counts = Counter(row.status for row in data_flows)
    if not data_flows:
        return "no status"
    if set(counts) == {OK}:
        return "all OK"
    return " · ".join(f"{counts[s]} {s}" for s in STATUSES_WORST_FIRST if counts[s] and s != OK)


def stale_message(evaluated_at: datetime | None, now: datetime) -> str | None:
    """The banner's text when the newest evaluation is missing or older than a night; None when it is fresh."""
    if not is_stale(evaluated_at, now):
        return None
    if evaluated_at is None:
        return "No evaluation found for this window: the statuses below are empty."
    return (
        f"Stale data: the newest evaluation is from {utc_text(evaluated_at)}, {age_text(now - evaluated_at)}. "
        "The nightly job may not have run: check it before trusting these statuses."
    )


def member_counts(row: FlowDay) -> list[tuple[str, int]]:
    """The flow's expected pipelines by status, worst first, without the empty ones (the card's stacked bar)."""
    pending = max(row.pipelines_expected - row.pipelines_ok - row.pipelines_warning - row.pipelines_ko, 0)
    parts = ((KO, row.pipelines_ko), (WARNING, row.pipelines_warning), (PENDING, pending), (OK, row.pipelines_ok))
    return [(status, count) for status, count in parts if count]


def statuses_text(rows: Iterable[FlowDay | PipelineDay | None]) -> str:
    """The distinct statuses of the rows, for a data-statuses attribute the filters match."""
    return " ".join(sorted({row.status for row in rows if row is not None}))


def first_line(text: str | None, limit: int) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


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


LEGEND = [(status_color(s), cell_mark(s, 0), s) for s in STATUSES_WORST_FIRST] + [(NO_STATUS_COLOR, "", "no status")]
NO_KPI_YET = "No data yet: the KPI table {table} has not been written for this period."

KPI_NUMERIC_COLUMNS = (
    "Days",
    "OK",
    "WARNING",
    "KO",
    "Availability (vs previous period)",
    "On time",
    "Median",
    "P90",
    "Longest KO streak",
)


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


# --- views: the rows grouped as the page shows them ---------------------------------------------------


@dataclass(frozen=True)
class DayView:
    """One business date as the page shows it: its overview (cards, what needs attention) and pipeline tables."""

    date: date
    shown: bool  # the date the page opens on; the others are hidden until picked
    flows: list[FlowDay]
    pipelines: list[PipelineDay]
    members: dict[str, list[PipelineDay]]  # flow -> its pipelines' rows that day
    problems: list[PipelineDay]  # KO and WARNING, worst first
    tables: list[tuple[str, list[PipelineDay], FlowDay | None]]  # flow, its rows in execution order, its row


def day_view(data: ReportData, layout: Layout, day: date) -> DayView:
    pipelines = [r for r in data.pipelines if r.business_date == day]
    members: dict[str, list[PipelineDay]] = defaultdict(list)
    for row in pipelines:
        members[row.flow].append(row)
    flow_rank = {flow: index for index, flow in enumerate(layout.flows)}
    problems = sorted(
        (r for r in pipelines if r.status in (KO, WARNING)),
        key=lambda r: (
            STATUS_SEVERITY[r.status],
            -r.consecutive_ko_days,
            flow_rank.get(r.flow, 99),
            pipeline_sort_key(r),
        ),
    )
    tables = []
    for flow in layout.flows:
        order = {name: index for index, name in enumerate(layout.pipelines.get(flow, ()))}
        rows = sorted(members.get(flow, []), key=lambda r: (order.get(r.pipeline_name, 10**6), r.pipeline_name))
        if rows:
            tables.append((flow, rows, layout.flow_rows.get((day, flow))))
    return DayView(
        date=day,
        shown=day == data.business_date,
        flows=layout.flows_on(day),
        pipelines=pipelines,
        members=dict(members),
        problems=problems,
        tables=tables,
    )


@dataclass(frozen=True)
class KpiView:
    """Each pipeline's KPIs for one period; a select switches between the months and weeks in the file."""

    rows: list[KpiRow]  # by period, then in the page's pipeline order
    periods: list[KpiRow]  # one row per period, months first, newest first
    shown: str  # the period the table opens on


def kpi_view(data: ReportData, layout: Layout) -> KpiView:
    rows = [k for k in data.pipeline_kpis if k.period_start <= data.business_date]
    if not rows:
        return KpiView(rows=[], periods=[], shown="")
    periods = list({kpi_period_key(k): k for k in rows}.values())
    position = {name: i for i, name in enumerate(n for f in layout.flows for n in layout.pipelines.get(f, ()))}
    return KpiView(
        rows=sorted(rows, key=lambda k: (kpi_period_key(k), position.get(k.pipeline_name, 10**6))),
        periods=sorted(periods, key=lambda p: (p.granularity == "month", p.period_start), reverse=True),
        shown=default_kpi_period(periods, data.business_date),
    )


# --- the page ----------------------------------------------------------------------------------------

TEMPLATES = Environment(
    loader=PackageLoader("monitoring.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt name fails the render instead of printing nothing
    finalize=lambda value: "" if value is None else value,  # a missing value shows as nothing, never "None"
    keep_trailing_newline=True,
)
TEMPLATES.globals.update(
    KO=KO,
    STATUS_COLORS=STATUS_COLORS,
    STATUSES_WORST_FIRST=STATUSES_WORST_FIRST,
    REASON_MEANINGS=REASON_MEANINGS,
    PIPELINE_COLUMNS=PIPELINE_COLUMNS,
    LEGEND=LEGEND,
    NO_KPI_YET=NO_KPI_YET,
    KPI_NUMERIC_COLUMNS=KPI_NUMERIC_COLUMNS,
    age_text=age_text,
    cell_mark=cell_mark,
    cell_title=cell_title,
    clock=clock,
    day_summary_label=day_summary_label,
    first_line=first_line,
    flow_label=flow_label,
    hms=hms,
    kpi_period_key=kpi_period_key,
    kpi_period_label=kpi_period_label,
    long_date=long_date,
    member_counts=member_counts,
    percent=percent,
    reason_codes=reason_codes,
    search_text=search_text,
    short_date=short_date,
    signed_points=signed_points,
    status_color=status_color,
    statuses_text=statuses_text,
    utc_text=utc_text,
    count=Counter,
    zip=zip,
)


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
    return TEMPLATES.get_template("page.html.j2").render(
        data=data,
        now=now,
        layout=layout,
        days=[day_view(data, layout, day) for day in reversed(layout.dates)],
        stale_message=stale_message(data.evaluated_at, now),
        figures=figures,
        selected_pipeline=default_pipeline(data, layout),
        kpis=kpi_view(data, layout),
        content_security_policy=content_security_policy(scripts),
        # Trusted text for raw-text elements, where entities are not decoded: the package's own CSS and
        # scripts, and the charts' JSON, escaped for a <script> block by script_json.
        css=Markup(css()),
        charts_json=Markup(script_json(figures)),
        plotly_js=Markup(scripts[0]),
        app_js=Markup(scripts[1]),
    )


def write_report(html_text: str, out: Path) -> Path:
    """Writes the report (creating its folder) and returns its absolute path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out.resolve()


# --- inline assets: package files, read once -------------------------------------------------------

STATIC = files("monitoring.report") / "static"
CSS = (STATIC / "report.css").read_text(encoding="utf-8")
APP_JS = (STATIC / "report.js").read_text(encoding="utf-8")


def css() -> str:
    colors = "".join(f"--{status.lower()}:{color};" for status, color in STATUS_COLORS.items())
    return f":root{{{colors}}}" + CSS
