"""The report's charts: Plotly figures as plain dicts, drawn by the page's script."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from monitoring.config import UNASSIGNED_FLOW
from monitoring.gold import PipelineDay, status_color
from monitoring.report.layout import Layout
from monitoring.report.loading import KpiRow, ReportData
from monitoring.report.text import NO_STATUS_COLOR, esc, hms, percent, short_date
from monitoring.vocabulary import OK, STATUS_SEVERITY

if TYPE_CHECKING:
    pass


FLOW_PALETTE = ("#1565C0", "#6A1B9A", "#00838F", "#AD1457", "#5D4037", "#283593", "#827717", "#37474F")


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
            name: pipeline_figure(name, layout.pipeline_days(name), layout.dates)
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
