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

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitoring.gold import FlowDay, PipelineDay
from monitoring.report.loading import KpiRow, NoReportDataError, ReportData, load_report_data
from monitoring.report.page import render_report, write_report

if TYPE_CHECKING:
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


def generate_report(
    storage: Storage,
    out: Path,
    business_date: date | None = None,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> Path:
    """Load, render, write: what `pipeline-monitor report` and the demo do."""
    data = load_report_data(storage, business_date, days)
    return write_report(render_report(data, now or datetime.now(UTC)), out)
