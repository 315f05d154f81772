"""The Power BI semantic model, derived from the gold TableSpecs.

Every imported column is a column of a TableSpec, with its Power BI type and the comment as its description,
so the model cannot drift from the tables. What is Power BI's own (the Date and Flow tables, the relationships,
the measures, the refresh policy) is declared here. The columns the model itself needs are checked against the
specs when it is built, and tests/test_powerbi.py checks every column a measure or a visual names: a renamed gold
column fails there instead of breaking a visual silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI, TableSpec

# The four tables the report imports: the daily statuses (incremental) and the KPIs (small, full refresh).
DAILY_TABLES: tuple[TableSpec, ...] = (FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS)
KPI_TABLES: tuple[TableSpec, ...] = (FLOW_KPI, PIPELINE_KPI)
IMPORTED_TABLES: tuple[TableSpec, ...] = DAILY_TABLES + KPI_TABLES

BUSINESS_DATE = "business_date"  # the incremental refresh column, and the daily tables' date
EVALUATED_AT = "evaluated_at"  # change detection: the job stamps every row it rewrites
FLOW = "flow"
PERIOD_START = "period_start"  # a KPI row's period; the Date table filters the periods starting in a range

DATE_TABLE = "Date"
FLOW_TABLE = "Flow"

# Power BI has one date/time type; a Spark DATE is a dateTime at midnight, formatted without the time.
_DATA_TYPES: dict[type[T.DataType], str] = {
    T.StringType: "string",
    T.DateType: "dateTime",
    T.TimestampType: "dateTime",
    T.LongType: "int64",
    T.IntegerType: "int64",
    T.DoubleType: "double",
    T.BooleanType: "boolean",
}
_FORMATS: dict[type[T.DataType], str] = {
    T.DateType: "yyyy-mm-dd",
    T.TimestampType: "yyyy-mm-dd hh:nn:ss",
    T.LongType: "0",
    T.IntegerType: "0",
}
# Ratios stored as fractions read as percentages; checked against the specs like every other name.
PERCENT_COLUMNS = frozenset(
    {"availability", "on_time_rate", "availability_change", "on_time_rate_change", "duration_ratio"}
)
PERCENT_FORMAT = "0.0%"


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str
    source_column: str  # a gold column name, or [Name] for a calculated table's column
    format_string: str | None = None
    is_key: bool = False


@dataclass(frozen=True)
class Measure:
    name: str
    expression: str  # DAX
    description: str
    format_string: str | None = None


@dataclass(frozen=True)
class RefreshPolicy:
    """Incremental refresh: keep `rolling` periods, refresh the last `incremental` ones whose rows changed."""

    rolling_window_granularity: str
    rolling_window_periods: int
    incremental_granularity: str
    incremental_periods: int
    source_expression: str  # M, filtered on RangeStart/RangeEnd
    polling_expression: str  # M, one value per partition: a partition is refreshed when it changed


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    source_kind: str  # "m" (imported) or "calculated" (DAX)
    source: str  # the partition's M or DAX
    measures: tuple[Measure, ...] = ()
    refresh_policy: RefreshPolicy | None = None
    data_category: str | None = None  # "Time" marks the date table


@dataclass(frozen=True)
class Relationship:
    from_table: str  # the many side
    from_column: str
    to_table: str  # the one side
    to_column: str

    @property
    def name(self) -> str:
        return f"{self.to_table}_{self.from_table}_{self.from_column}"


@dataclass(frozen=True)
class Parameter:
    """A Power Query parameter (an M expression with IsParameterQuery metadata)."""

    name: str
    m_type: str  # Text, DateTime
    value: str  # M literal
    description: str

    @property
    def expression(self) -> str:
        return f'{self.value} meta [IsParameterQuery = true, Type = "{self.m_type}", IsParameterQueryRequired = true]'


@dataclass(frozen=True)
class SemanticModel:
    tables: tuple[Table, ...]
    relationships: tuple[Relationship, ...]
    parameters: tuple[Parameter, ...]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def m_text(value: str) -> str:
    """An M text literal (a double quote is doubled)."""
    return '"' + value.replace('"', '""') + '"'


@dataclass(frozen=True)
class DatabricksSource:
    """Unity Catalog tables through a SQL warehouse (Databricks.Catalogs): the filters fold into SQL."""

    server_hostname: str = "adb-0000000000000000.0.azuredatabricks.net"
    http_path: str = "/sql/1.0/warehouses/0000000000000000"
    catalog: str = "main"
    schema: str = "pipeline_monitoring"

    # Not "Catalog"/"Schema": inside the options record [Catalog = ...] that name would be the field itself.

    def parameters(self) -> tuple[Parameter, ...]:
        return (
            Parameter(
                "ServerHostname",
                "Text",
                m_text(self.server_hostname),
                "Workspace host of the SQL warehouse (its Connection details tab).",
            ),
            Parameter(
                "HttpPath", "Text", m_text(self.http_path), "HTTP path of the SQL warehouse (Connection details)."
            ),
            Parameter("CatalogName", "Text", m_text(self.catalog), "Unity Catalog catalog of the job's tables."),
            Parameter("SchemaName", "Text", m_text(self.schema), "Schema of the job's tables."),
        )

    def table_steps(self, table: TableSpec) -> list[tuple[str, str]]:
        short_name = table.name.rsplit("/", 1)[-1]
        return [
            ("Source", "Databricks.Catalogs(ServerHostname, HttpPath, [Catalog = CatalogName, Database = SchemaName])"),
            ("CatalogData", 'Source{[Name = CatalogName, Kind = "Database"]}[Data]'),
            ("SchemaData", 'CatalogData{[Name = SchemaName, Kind = "Schema"]}[Data]'),
            ("Rows", f'SchemaData{{[Name = {m_text(short_name)}, Kind = "Table"]}}[Data]'),
        ]


@dataclass(frozen=True)
class DeltaFolderSource:
    """Path tables read by the Delta Lake connector from a local folder (the demo's lakehouse)."""

    lakehouse_folder: str

    def parameters(self) -> tuple[Parameter, ...]:
        return (
            Parameter(
                "LakehouseFolder",
                "Text",
                m_text(self.lakehouse_folder),
                "Folder of the job's tables (storage.root): it holds gold/<table>/_delta_log.",
            ),
        )

    def table_steps(self, table: TableSpec) -> list[tuple[str, str]]:
        # The spec's relative name (gold/<table>) is the folder under storage.root.
        return [
            ("Folder", f"Folder.Contents(LakehouseFolder & {m_text('/' + table.name)})"),
            ("Rows", "DeltaLake.Table(Folder)"),
        ]


ModelSource = DatabricksSource | DeltaFolderSource

# RangeStart/RangeEnd are replaced per partition by the service; in Desktop they bound what is loaded, so the
# defaults take in every date a lakehouse can hold.
RANGE_PARAMETERS = (
    Parameter(
        "RangeStart",
        "DateTime",
        "#datetime(2000, 1, 1, 0, 0, 0)",
        "Incremental refresh: first business date of a partition (the service sets it).",
    ),
    Parameter(
        "RangeEnd",
        "DateTime",
        "#datetime(2100, 1, 1, 0, 0, 0)",
        "Incremental refresh: the day after a partition's last business date (the service sets it).",
    ),
)

# The job rewrites today and the 3 days before each night, and catches up changed dates up to 400 days back:
# 14 monthly partitions, polled on max(evaluated_at), cover that catch-up; only the months whose rows were
# rewritten are reloaded. Older backfills are refreshed by hand (docs/power-bi.md).
REFRESH_WINDOW = {
    "rolling_window_granularity": "year",
    "rolling_window_periods": 5,
    "incremental_granularity": "month",
    "incremental_periods": 14,
}


def _let(steps: list[tuple[str, str]]) -> str:
    body = ",\n".join(f"    {name} = {value}" for name, value in steps)
    return f"let\n{body}\nin\n    {steps[-1][0]}"


def _range_filter() -> tuple[str, str]:
    # RangeStart/RangeEnd are DateTime (Power BI requires it); business_date is a date. >= and < put each day in
    # exactly one partition.
    return (
        "InRange",
        f"Table.SelectRows(Rows, each [{BUSINESS_DATE}] >= Date.From(RangeStart) "
        f"and [{BUSINESS_DATE}] < Date.From(RangeEnd))",
    )


def _columns(spec: TableSpec) -> tuple[Column, ...]:
    columns = []
    for spec_field in spec.schema.fields:
        kind = type(spec_field.dataType)
        if kind not in _DATA_TYPES:
            raise ValueError(
                f"{spec.name}.{spec_field.name}: no Power BI type for {spec_field.dataType.simpleString()}"
            )
        format_string = PERCENT_FORMAT if spec_field.name in PERCENT_COLUMNS else _FORMATS.get(kind)
        columns.append(
            Column(
                name=spec_field.name,
                data_type=_DATA_TYPES[kind],
                description=spec_field.metadata.get("comment", ""),
                source_column=spec_field.name,
                format_string=format_string,
            )
        )
    return tuple(columns)


def _require(spec: TableSpec, *names: str) -> None:
    missing = [name for name in names if name not in spec.schema.fieldNames()]
    if missing:
        raise ValueError(f"{spec.name} has no column {', '.join(missing)}: the Power BI model needs it")


def short_name(spec: TableSpec) -> str:
    return spec.name.rsplit("/", 1)[-1]


def _imported_table(spec: TableSpec, source: ModelSource, measures: tuple[Measure, ...]) -> Table:
    steps = source.table_steps(spec)
    policy = None
    if spec in DAILY_TABLES:
        _require(spec, BUSINESS_DATE, EVALUATED_AT)
        steps = [*steps, _range_filter()]
        polling = [*steps, ("LastEvaluation", f"List.Max(InRange[{EVALUATED_AT}])")]
        policy = RefreshPolicy(source_expression=_let(steps), polling_expression=_let(polling), **REFRESH_WINDOW)
    return Table(
        name=short_name(spec),
        description=spec.comment,
        columns=_columns(spec),
        source_kind="m",
        source=_let(steps),
        measures=measures,
        refresh_policy=policy,
    )


def _date_table() -> Table:
    dates = ",\n".join(f"        DISTINCT ( {short_name(t)}[{BUSINESS_DATE}] )" for t in DAILY_TABLES)
    every_date = f"UNION (\n{dates}\n    )"
    # No status logic: a calendar over the evaluated dates (today when nothing is loaded yet), whose weeks start
    # on Monday like the KPI periods.
    dax = (
        f"VAR Dates =\n    {every_date}\n"
        f"VAR FirstDay = COALESCE ( MINX ( Dates, [{BUSINESS_DATE}] ), TODAY () )\n"
        f"VAR LastDay = COALESCE ( MAXX ( Dates, [{BUSINESS_DATE}] ), TODAY () )\n"
        # From the first period that holds FirstDay (its week may start in the month before), so every KPI
        # row's period_start has its day.
        "VAR FirstPeriod =\n"
        "    MIN ( FirstDay - WEEKDAY ( FirstDay, 2 ) + 1, DATE ( YEAR ( FirstDay ), MONTH ( FirstDay ), 1 ) )\n"
        "RETURN\n    ADDCOLUMNS (\n        CALENDAR ( FirstPeriod, LastDay ),\n"
        '        "Week start", [Date] - WEEKDAY ( [Date], 2 ) + 1,\n'
        '        "Month start", DATE ( YEAR ( [Date] ), MONTH ( [Date] ), 1 ),\n'
        '        "Weekday", FORMAT ( [Date], "ddd" ),\n'
        '        "Is weekend", WEEKDAY ( [Date], 2 ) > 5\n    )'
    )
    columns = (
        Column("Date", "dateTime", "One row per day of the evaluated dates.", "[Date]", "yyyy-mm-dd", is_key=True),
        Column(
            "Week start", "dateTime", "Monday of the week (a weekly KPI's period_start).", "[Week start]", "yyyy-mm-dd"
        ),
        Column(
            "Month start",
            "dateTime",
            "First day of the month (a monthly KPI's period_start).",
            "[Month start]",
            "yyyy-mm-dd",
        ),
        Column("Weekday", "string", "Mon, Tue, ...", "[Weekday]"),
        Column("Is weekend", "boolean", "Saturday or Sunday.", "[Is weekend]"),
    )
    return Table(
        name=DATE_TABLE,
        description="Calendar of the evaluated business dates; filters the daily tables and the KPI periods.",
        columns=columns,
        source_kind="calculated",
        source=dax,
        data_category="Time",
    )


def _flow_table() -> Table:
    with_flow = [spec for spec in IMPORTED_TABLES if FLOW in spec.schema.fieldNames()]
    values = ",\n".join(f"        DISTINCT ( {short_name(spec)}[{FLOW}] )" for spec in with_flow)
    return Table(
        name=FLOW_TABLE,
        description="The flows of every table, UNASSIGNED included; filters them all.",
        columns=(Column(FLOW, "string", "Business flow name (UNASSIGNED: pipelines in no flow).", f"[{FLOW}]"),),
        source_kind="calculated",
        source=f"DISTINCT (\n    UNION (\n{values}\n    )\n)",
    )


def _measures() -> dict[str, tuple[Measure, ...]]:
    """Thin measures: they pick, count and average what the job wrote. None of them decides a status."""
    fd, pd, fk, pk = (short_name(t) for t in (FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS, FLOW_KPI, PIPELINE_KPI))

    def rows_with_status(table: str, status: str) -> str:
        # On the newest date of the selection, the day the Today page shows.
        return (
            f"VAR Newest = MAX ( {table}[{BUSINESS_DATE}] )\n"
            f"RETURN\n    CALCULATE (\n        COUNTROWS ( {table} ),\n"
            f'        KEEPFILTERS ( {table}[status] = "{status}" ),\n'
            f"        KEEPFILTERS ( {table}[{BUSINESS_DATE}] = Newest )\n    )"
        )

    def is_newest_date(table: str) -> str:
        # Date logic only: 1 on the newest business date within the slicers' selection (the day a page shows).
        return (
            f"VAR Newest = CALCULATE ( MAX ( {table}[{BUSINESS_DATE}] ), ALLSELECTED ( {table} ) )\n"
            f"RETURN\n    IF ( MAX ( {table}[{BUSINESS_DATE}] ) = Newest, 1, 0 )"
        )

    def availability(table: str) -> str:
        return f"DIVIDE ( SUM ( {table}[days_ok] ) + SUM ( {table}[days_warning] ), SUM ( {table}[days_expected] ) )"

    flow_daily = (
        Measure("Flow status", f"SELECTEDVALUE ( {fd}[status] )", "The status the job wrote for one flow and day."),
        Measure(
            "Flow colour",
            f"SELECTEDVALUE ( {fd}[status_color] )",
            "status_color of one flow and day: the colour of its card (blank when several are selected).",
        ),
        Measure(
            "Flows KO", rows_with_status(fd, "KO"), "Flows the job marked KO on the newest date of the selection.", "0"
        ),
        Measure(
            "Flows WARNING",
            rows_with_status(fd, "WARNING"),
            "Flows the job marked WARNING on the newest date of the selection.",
            "0",
        ),
        Measure(
            "Is newest flow date",
            is_newest_date(fd),
            "1 for the rows of the newest date in the selection: the Today page filters on it.",
            "0",
        ),
        Measure(
            "Shown date", f"MAX ( {fd}[{BUSINESS_DATE}] )", "The newest evaluated date in the selection.", "yyyy-mm-dd"
        ),
        Measure(
            "Evaluated at (UTC)",
            f"MAX ( {fd}[{EVALUATED_AT}] )",
            "When the job last computed these rows.",
            "yyyy-mm-dd hh:nn:ss",
        ),
    )
    pipeline_daily = (
        Measure(
            "Pipeline status", f"SELECTEDVALUE ( {pd}[status] )", "The status the job wrote for one pipeline and day."
        ),
        Measure(
            "Pipeline colour",
            f"SELECTEDVALUE ( {pd}[status_color] )",
            "status_color of one pipeline and day (blank when several are selected).",
        ),
        Measure(
            "Pipelines KO",
            rows_with_status(pd, "KO"),
            "Pipelines the job marked KO on the newest date of the selection.",
            "0",
        ),
        Measure(
            "Pipelines WARNING",
            rows_with_status(pd, "WARNING"),
            "Pipelines the job marked WARNING on the newest date of the selection.",
            "0",
        ),
        Measure(
            "Is newest pipeline date",
            is_newest_date(pd),
            "1 for the rows of the newest date in the selection: the Pipelines page filters on it.",
            "0",
        ),
        Measure("Runs", f"SUM ( {pd}[run_count] )", "Runs that started on the selected dates.", "0"),
        Measure("Failed runs", f"SUM ( {pd}[failed_run_count] )", "Of those, runs that failed or were cancelled.", "0"),
    )

    def kpi(table: str, prefix: str) -> tuple[Measure, ...]:
        return (
            Measure(
                f"{prefix}Availability",
                availability(table),
                "(OK + WARNING days) / expected days over the selection, from the counts (rates are never averaged).",
                PERCENT_FORMAT,
            ),
            Measure(
                f"{prefix}On-time rate",
                f"DIVIDE ( SUM ( {table}[days_ok] ), SUM ( {table}[days_expected] ) )",
                "OK days / expected days over the selection, from the counts.",
                PERCENT_FORMAT,
            ),
            Measure(
                f"{prefix}Duration p90 (min)",
                f"DIVIDE ( AVERAGE ( {table}[duration_p90_seconds] ), 60 )",
                "90th percentile of the durations, in minutes (averaged when several periods are selected).",
                "0.0",
            ),
        )

    return {
        fd: flow_daily,
        pd: pipeline_daily,
        fk: kpi(fk, ""),
        pk: kpi(pk, "Pipeline "),
    }


def _relationships() -> tuple[Relationship, ...]:
    relationships = []
    for spec in IMPORTED_TABLES:
        date_column = BUSINESS_DATE if spec in DAILY_TABLES else PERIOD_START
        _require(spec, date_column, FLOW)
        relationships.append(Relationship(short_name(spec), date_column, DATE_TABLE, "Date"))
        relationships.append(Relationship(short_name(spec), FLOW, FLOW_TABLE, FLOW))
    return tuple(relationships)


def build_model(source: ModelSource) -> SemanticModel:
    """The semantic model over the four gold tables, read through `source`."""
    unknown = PERCENT_COLUMNS - {name for spec in IMPORTED_TABLES for name in spec.schema.fieldNames()}
    if unknown:
        raise ValueError(f"percentage format for unknown columns: {', '.join(sorted(unknown))}")
    measures = _measures()
    tables = (
        *(_imported_table(spec, source, measures[short_name(spec)]) for spec in IMPORTED_TABLES),
        _date_table(),
        _flow_table(),
    )
    return SemanticModel(
        tables=tables,
        relationships=_relationships(),
        parameters=(*source.parameters(), *RANGE_PARAMETERS),
    )
