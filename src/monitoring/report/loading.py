"""The report's data: the gold rows of a window of business dates, filtered with Spark and collected once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from monitoring.factory.drift import DriftFinding, drift_of_date
from monitoring.gold import FlowDay, PipelineDay, collect_records
from monitoring.tables import CONFIG_DRIFT, FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI

if TYPE_CHECKING:
    from monitoring.storage import Storage


KPI_WEEKS = 13  # a quarter of weekly points: enough to see a trend, few enough to read
KPI_MONTHS = 12


class NoReportDataError(ValueError):
    """The gold tables hold no business date yet: there is nothing to report on."""


# --- the data shown: plain Python values, collected once ---------------------------------------------


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
    not_monitored: tuple[DriftFinding, ...] = ()  # gold/config_drift of business_date (source.factory)

    @property
    def dates(self) -> tuple[date, ...]:
        """The window's business dates, oldest first."""
        return tuple(self.business_date - timedelta(days=offset) for offset in reversed(range(self.days)))


# --- loading: filter with Spark, collect small aggregated rows --------------------------------------


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


def load_report_data(storage: Storage, business_date: date | None, days: int) -> ReportData:
    """The gold rows of the ``days`` business dates ending at ``business_date`` (default: the newest one).

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
    drift = drift_of_date(storage.read(CONFIG_DRIFT), shown).collect()
    evaluations = [row.evaluated_at for row in (*flow_rows, *pipeline_rows)]
    return ReportData(
        business_date=shown,
        days=days,
        evaluated_at=max(evaluations, default=None),
        flows=tuple(sorted(flow_rows, key=lambda r: (r.business_date, r.flow))),
        pipelines=tuple(sorted(pipeline_rows, key=pipeline_sort_key)),
        flow_kpis=tuple(sorted(flow_kpis, key=kpi_sort_key)),
        pipeline_kpis=tuple(sorted(pipeline_kpis, key=kpi_sort_key)),
        not_monitored=tuple(DriftFinding(r.kind, r.pipeline_name, r.detail) for r in drift),
    )


def pipeline_sort_key(row: PipelineDay) -> tuple[date, str, int, str]:
    return (row.business_date, row.flow, row.execution_order or 10**6, row.pipeline_name)


def kpi_sort_key(row: KpiRow) -> tuple[str, date, str, str]:
    return (row.granularity, row.period_start, row.flow, row.pipeline_name or "")
