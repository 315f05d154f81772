"""The page's skeleton: which flows, in which order, which pipelines under each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from statistics import median_low
from typing import TYPE_CHECKING

from monitoring.config import UNASSIGNED_FLOW
from monitoring.gold import FlowDay, PipelineDay
from monitoring.report.loading import ReportData

if TYPE_CHECKING:
    pass


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

    def flows_on(self, day: date) -> list[FlowDay]:
        """The day's flow rows, in night order."""
        return [self.flow_rows[day, flow] for flow in self.flows if (day, flow) in self.flow_rows]

    def flow_days(self, flow: str) -> list[FlowDay | None]:
        """The flow's row on each date of the window (None: no member expected)."""
        return [self.flow_rows.get((day, flow)) for day in self.dates]

    def pipeline_days(self, name: str) -> list[PipelineDay | None]:
        """The pipeline's row on each date of the window (None: not expected and no run)."""
        return [self.pipeline_rows.get((day, name)) for day in self.dates]


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
