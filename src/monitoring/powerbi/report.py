"""The report's pages and visuals in PBIR: one JSON part per page and per visual, each naming its schema.

The pages are the HTML report's views (docs/report.md): today's flows as cards, the pipelines in execution
order, a 30-day heatmap and the weekly and monthly trends, each with a date and a flow slicer. Colours come
from the `status_color` the job wrote, through field-value conditional formatting, never from DAX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitoring.kpi import GRANULARITIES
from monitoring.powerbi.model import (
    BUSINESS_DATE,
    DATE_TABLE,
    FLOW,
    FLOW_TABLE,
    PERIOD_START,
    short_name,
)
from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS

SCHEMAS = "https://developer.microsoft.com/json-schemas/fabric/item/report/definition"
PAGE_SCHEMA = f"{SCHEMAS}/page/2.0.0/schema.json"
VISUAL_SCHEMA = f"{SCHEMAS}/visualContainer/2.4.0/schema.json"
PAGES_SCHEMA = f"{SCHEMAS}/pagesMetadata/1.0.0/schema.json"
REPORT_SCHEMA = f"{SCHEMAS}/report/3.0.0/schema.json"
VERSION_SCHEMA = f"{SCHEMAS}/versionMetadata/1.0.0/schema.json"
PBIR_VERSION = "2.0.0"

PAGE_WIDTH, PAGE_HEIGHT = 1280, 720
WHITE = "#FFFFFF"
MIN = 3  # the query language's aggregation function number for Min ("First" of a text column)

FD, PD, FK = (short_name(t) for t in (FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS, FLOW_KPI))


@dataclass(frozen=True)
class Field:
    """A model field a visual queries: a column or a measure of a table."""

    entity: str
    name: str
    is_measure: bool = False

    @property
    def query_ref(self) -> str:
        return f"{self.entity}.{self.name}"

    def expression(self, source: str | None = None) -> dict[str, Any]:
        """The field in the query language, on its entity or on a filter's alias."""
        ref = {"Source": source} if source else {"Entity": self.entity}
        return {"Measure" if self.is_measure else "Column": {"Expression": {"SourceRef": ref}, "Property": self.name}}


def column(entity: str, name: str) -> Field:
    return Field(entity, name)


def measure(entity: str, name: str) -> Field:
    return Field(entity, name, is_measure=True)


def literal(value: str) -> dict[str, Any]:
    return {"expr": {"Literal": {"Value": value}}}


def text(value: str) -> dict[str, Any]:
    return literal("'" + value.replace("'", "''") + "'")


def solid(expression: dict[str, Any]) -> dict[str, Any]:
    return {"solid": {"color": expression}}


def first_value(field: Field) -> dict[str, Any]:
    """Field-value formatting on a text column: its first (min) value in each cell."""
    return {"expr": {"Aggregation": {"Expression": field.expression(), "Function": MIN}}}


EACH_VALUE = {"data": [{"dataViewWildcard": {"matchingOption": 1}}]}  # per cell / per card, not the total


def projections(fields: list[Field]) -> dict[str, Any]:
    return {
        "projections": [{"field": f.expression(), "queryRef": f.query_ref, "nativeQueryRef": f.name} for f in fields]
    }


def _where_filter(name: str, field: Field, filter_type: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "field": field.expression(),
        "type": filter_type,
        "filter": {"Version": 2, "From": [{"Name": "f", "Entity": field.entity, "Type": 0}], "Where": [condition]},
    }


def equals_filter(name: str, field: Field, value: str) -> dict[str, Any]:
    condition = {
        "Condition": {
            "In": {"Expressions": [field.expression("f")], "Values": [[{"Literal": {"Value": f"'{value}'"}}]]}
        }
    }
    return _where_filter(name, field, "Categorical", condition)


def measure_is_one_filter(name: str, field: Field) -> dict[str, Any]:
    condition = {
        "Condition": {
            "Comparison": {"ComparisonKind": 0, "Left": field.expression("f"), "Right": {"Literal": {"Value": "1L"}}}
        }
    }
    return _where_filter(name, field, "Advanced", condition)


def last_days_filter(name: str, field: Field, days: int) -> dict[str, Any]:
    """A relative date filter: the last `days` days up to today, as Desktop writes 'is in the last N days'."""
    now = {"Now": {}}
    lower = {
        "DateAdd": {
            "Expression": {"DateAdd": {"Expression": now, "Amount": 1, "TimeUnit": 0}},
            "Amount": -days,
            "TimeUnit": 0,
        }
    }
    condition = {
        "Condition": {
            "Between": {
                "Expression": field.expression("f"),
                "LowerBound": {"DateSpan": {"Expression": lower, "TimeUnit": 0}},
                "UpperBound": {"DateSpan": {"Expression": now, "TimeUnit": 0}},
            }
        }
    }
    return _where_filter(name, field, "RelativeDate", condition)


@dataclass(frozen=True)
class Visual:
    name: str
    x: int
    y: int
    width: int
    height: int
    visual_type: str
    query: dict[str, Any]
    title: str | None = None
    objects: dict[str, Any] | None = None
    filters: tuple[dict[str, Any], ...] = ()
    sort: tuple[tuple[Field, str], ...] = ()

    def to_json(self, z: int) -> dict[str, Any]:
        visual: dict[str, Any] = {"visualType": self.visual_type, "query": {"queryState": self.query}}
        if self.sort:
            visual["query"]["sortDefinition"] = {
                "sort": [{"field": f.expression(), "direction": direction} for f, direction in self.sort]
            }
        if self.objects:
            visual["objects"] = self.objects
        if self.title:
            visual["visualContainerObjects"] = {
                "title": [{"properties": {"show": literal("true"), "text": text(self.title)}}]
            }
        visual["drillFilterOtherVisuals"] = True
        container: dict[str, Any] = {
            "$schema": VISUAL_SCHEMA,
            "name": self.name,
            "position": {"x": self.x, "y": self.y, "z": z, "width": self.width, "height": self.height, "tabOrder": z},
            "visual": visual,
        }
        if self.filters:
            container["filterConfig"] = {"filters": list(self.filters)}
        return container


@dataclass(frozen=True)
class Page:
    name: str
    display_name: str
    visuals: tuple[Visual, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "$schema": PAGE_SCHEMA,
            "name": self.name,
            "displayName": self.display_name,
            "displayOption": "FitToPage",
            "height": PAGE_HEIGHT,
            "width": PAGE_WIDTH,
        }


def slicers(page: str) -> tuple[Visual, ...]:
    """The date range and the flow picker every page starts with."""
    date = column(DATE_TABLE, "Date")
    flow = column(FLOW_TABLE, FLOW)
    return (
        Visual(
            f"{page}DateSlicer",
            700,
            8,
            340,
            72,
            "slicer",
            {"Values": projections([date])},
            objects={"data": [{"properties": {"mode": text("Between")}}]},
        ),
        Visual(
            f"{page}FlowSlicer",
            1050,
            8,
            220,
            72,
            "slicer",
            {"Values": projections([flow])},
            objects={"data": [{"properties": {"mode": text("Dropdown")}}]},
        ),
    )


def card(name: str, x: int, field: Field, title: str) -> Visual:
    return Visual(name, x, 88, 220, 96, "cardVisual", {"Data": projections([field])}, title=title)


def status_colours(status: Field, colour: Field) -> dict[str, Any]:
    """Background of the status cells from the job's colour, white text on it."""
    selector = {**EACH_VALUE, "metadata": status.query_ref}
    return {
        "values": [
            {
                "properties": {"backColor": solid(first_value(colour)), "fontColor": solid(literal(f"'{WHITE}'"))},
                "selector": selector,
            }
        ]
    }


def today_page() -> Page:
    flow_fields = [
        column(FD, BUSINESS_DATE),
        column(FD, FLOW),
        column(FD, "status"),
        column(FD, "reason"),
        column(FD, "start_local"),
        column(FD, "end_local"),
        column(FD, "duration_hms"),
    ]
    colour = column(FD, "status_color")
    flow_cards = Visual(
        "todayFlowCards",
        16,
        200,
        1248,
        504,
        "multiRowCard",
        {"Values": projections(flow_fields)},
        title="Flows on the newest date of the selection",
        objects={
            # One card per flow: its accent bar and its status take the colour the job wrote.
            "card": [
                {
                    "properties": {"barShow": literal("true"), "barColor": solid(first_value(colour))},
                    "selector": EACH_VALUE,
                }
            ],
            "dataLabels": [
                {
                    "properties": {"color": solid(first_value(colour))},
                    "selector": {**EACH_VALUE, "metadata": column(FD, "status").query_ref},
                }
            ],
        },
        filters=(measure_is_one_filter("newestFlowDate", measure(FD, "Is newest flow date")),),
        sort=((column(FD, FLOW), "Ascending"),),
    )
    return Page(
        "today",
        "Today",
        (
            *slicers("today"),
            card("todayShownDate", 16, measure(FD, "Shown date"), "Date shown"),
            card("todayFlowsKo", 248, measure(FD, "Flows KO"), "Flows KO"),
            card("todayPipelinesKo", 480, measure(PD, "Pipelines KO"), "Pipelines KO"),
            card("todayEvaluatedAt", 712, measure(FD, "Evaluated at (UTC)"), "Evaluated at (UTC)"),
            flow_cards,
        ),
    )


def pipelines_page() -> Page:
    names = [
        BUSINESS_DATE,
        FLOW,
        "execution_order",
        "pipeline_name",
        "status",
        "reason",
        "consecutive_ko_days",
        "error_message",
        "failure_type",
        "start_local",
        "end_local",
        "duration_hms",
        "detail",
    ]
    table = Visual(
        "pipelinesTable",
        16,
        88,
        1248,
        616,
        "tableEx",
        {"Values": projections([column(PD, n) for n in names])},
        title="Pipelines in execution order, on the newest date of the selection",
        objects=status_colours(column(PD, "status"), column(PD, "status_color")),
        filters=(measure_is_one_filter("newestPipelineDate", measure(PD, "Is newest pipeline date")),),
        sort=((column(PD, FLOW), "Ascending"), (column(PD, "execution_order"), "Ascending")),
    )
    return Page("pipelines", "Pipelines", (*slicers("pipelines"), table))


def last_30_days_page() -> Page:
    status, colour = measure(PD, "Pipeline status"), column(PD, "status_color")
    heatmap = Visual(
        "last30DaysMatrix",
        16,
        88,
        1248,
        616,
        "pivotTable",
        {
            "Rows": projections([column(PD, FLOW), column(PD, "pipeline_name")]),
            "Columns": projections([column(DATE_TABLE, "Date")]),
            "Values": projections([status]),
        },
        title="Status per pipeline and day, last 30 days",
        objects=status_colours(status, colour),
        filters=(last_days_filter("last30Days", column(DATE_TABLE, "Date"), 30),),
        sort=((column(PD, FLOW), "Ascending"),),
    )
    return Page("last30days", "Last 30 days", (*slicers("last30days"), heatmap))


def trends_page() -> Page:
    period = column(FK, PERIOD_START)
    granularity = column(FK, "granularity")
    visuals = []
    for row, grain in enumerate(GRANULARITIES):
        y = 88 + row * 312
        only = (equals_filter(f"{grain}Only", granularity, grain),)
        visuals.append(
            Visual(
                f"trends{grain.title()}Rates",
                16,
                y,
                616,
                300,
                "lineChart",
                {
                    "Category": projections([period]),
                    "Y": projections([measure(FK, "Availability"), measure(FK, "On-time rate")]),
                },
                title=f"Availability and on-time rate per {grain}",
                filters=only,
                sort=((period, "Ascending"),),
            )
        )
        visuals.append(
            Visual(
                f"trends{grain.title()}Duration",
                648,
                y,
                616,
                300,
                "lineChart",
                {
                    "Category": projections([period]),
                    "Series": projections([column(FK, FLOW)]),
                    "Y": projections([measure(FK, "Duration p90 (min)")]),
                },
                title=f"Duration p90 per {grain} (minutes)",
                filters=only,
                sort=((period, "Ascending"),),
            )
        )
    return Page("trends", "Trends", (*slicers("trends"), *visuals))


def pages() -> tuple[Page, ...]:
    return (today_page(), pipelines_page(), last_30_days_page(), trends_page())


def report_parts() -> dict[str, dict[str, Any]]:
    """Relative path under `definition/` -> JSON part."""
    all_pages = pages()
    parts: dict[str, dict[str, Any]] = {
        "version.json": {"$schema": VERSION_SCHEMA, "version": PBIR_VERSION},
        # No base theme file is shipped: Power BI Desktop applies its default theme.
        "report.json": {
            "$schema": REPORT_SCHEMA,
            "themeCollection": {},
            "settings": {"useStylableVisualContainerHeader": True, "defaultDrillFilterOtherVisuals": True},
        },
        "pages/pages.json": {
            "$schema": PAGES_SCHEMA,
            "pageOrder": [page.name for page in all_pages],
            "activePageName": all_pages[0].name,
        },
    }
    for page in all_pages:
        parts[f"pages/{page.name}/page.json"] = page.to_json()
        for z, visual in enumerate(page.visuals):
            parts[f"pages/{page.name}/visuals/{visual.name}/visual.json"] = visual.to_json(z * 1000)
    return parts
