"""The report's HTML: the page's parts, the heatmap, the trends, and the whole self-contained document."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitoring.gold import FlowDay, PipelineDay, reason_codes, status_color
from monitoring.report.figures import chart_figures, default_pipeline
from monitoring.report.layout import Layout, flow_label
from monitoring.report.loading import KpiRow, ReportData, pipeline_sort_key
from monitoring.report.text import (
    NO_STATUS_COLOR,
    REASON_MEANINGS,
    STATUSES_WORST_FIRST,
    age_text,
    badge,
    clock,
    esc,
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
from monitoring.rules import KO, OK, PENDING, STATUS_COLORS, STATUS_SEVERITY, WARNING

if TYPE_CHECKING:
    pass


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


# --- inline assets: package files, read once -------------------------------------------------------

STATIC = files("monitoring.report") / "static"
CSS = (STATIC / "report.css").read_text(encoding="utf-8")
APP_JS = (STATIC / "report.js").read_text(encoding="utf-8")


def css() -> str:
    colors = "".join(f"--{status.lower()}:{color};" for status, color in STATUS_COLORS.items())
    return f":root{{{colors}}}" + CSS
