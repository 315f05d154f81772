"""TMDL text of a SemanticModel: the files of `<Name>.SemanticModel/definition/`.

TMDL is indentation-scoped with tabs. A multi-line expression (M or DAX) sits two levels below the line that
names it, and a description is a `///` line right above its object, as Power BI Desktop saves them.
"""

from __future__ import annotations

import re

from monitoring.powerbi.model import Column, Measure, Parameter, RefreshPolicy, Relationship, SemanticModel, Table

COMPATIBILITY_LEVEL = 1600  # Power BI's level with TMDL refresh policies and calculated tables
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name(text: str) -> str:
    """A TMDL object name: quoted with single quotes (doubled inside) unless it is a plain identifier."""
    return text if _PLAIN_NAME.fullmatch(text) else "'" + text.replace("'", "''") + "'"


def _description(text: str, depth: int) -> list[str]:
    return [f"{_tabs(depth)}/// {line}" for line in text.splitlines() if line.strip()]


def _tabs(depth: int) -> str:
    return "\t" * depth


def _expression(head: str, expression: str, depth: int) -> list[str]:
    """`head = expr` on one line, or `head =` with the lines of expr two levels deeper."""
    lines = expression.splitlines()
    if len(lines) == 1:
        return [f"{_tabs(depth)}{head} = {expression}"]
    return [f"{_tabs(depth)}{head} =", *(f"{_tabs(depth + 2)}{line}" if line.strip() else "" for line in lines)]


def _column(column: Column) -> list[str]:
    lines = [*_description(column.description, 1), f"\tcolumn {name(column.name)}", f"\t\tdataType: {column.data_type}"]
    if column.is_key:
        lines.append("\t\tisKey")
    if column.format_string:
        lines.append(f"\t\tformatString: {column.format_string}")
    lines.append("\t\tsummarizeBy: none")
    if column.source_column.startswith("["):
        lines.append("\t\tisNameInferred")
    lines.append(f"\t\tsourceColumn: {column.source_column}")
    return lines


def _measure(measure: Measure) -> list[str]:
    lines = [
        *_description(measure.description, 1),
        *_expression(f"measure {name(measure.name)}", measure.expression, 1),
    ]
    if measure.format_string:
        lines.append(f"\t\tformatString: {measure.format_string}")
    return lines


def _refresh_policy(policy: RefreshPolicy) -> list[str]:
    return [
        "\trefreshPolicy",
        "\t\tpolicyType: basic",
        f"\t\trollingWindowGranularity: {policy.rolling_window_granularity}",
        f"\t\trollingWindowPeriods: {policy.rolling_window_periods}",
        f"\t\tincrementalGranularity: {policy.incremental_granularity}",
        f"\t\tincrementalPeriods: {policy.incremental_periods}",
        *_expression("pollingExpression", policy.polling_expression, 2),
        *_expression("sourceExpression", policy.source_expression, 2),
    ]


def table_file(table: Table) -> str:
    blocks = [[*_description(table.description, 0), f"table {name(table.name)}"]]
    if table.data_category:
        blocks[0].append(f"\tdataCategory: {table.data_category}")
    blocks.extend(_measure(measure) for measure in table.measures)
    blocks.extend(_column(column) for column in table.columns)
    if table.refresh_policy:
        blocks.append(_refresh_policy(table.refresh_policy))
    blocks.append(
        [
            f"\tpartition {name(table.name)} = {table.source_kind}",
            "\t\tmode: import",
            *_expression("source", table.source, 2),
        ]
    )
    return _join(blocks)


def _join(blocks: list[list[str]]) -> str:
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def database_file() -> str:
    return f"database\n\tcompatibilityLevel: {COMPATIBILITY_LEVEL}\n"


def model_file(model: SemanticModel) -> str:
    header = [
        "model Model",
        "\tculture: en-US",
        "\tdefaultPowerBIDataSourceVersion: powerBI_V3",
        "\tdiscourageImplicitMeasures",  # visuals use the measures, not an implicit SUM of a column
        "\tsourceQueryCulture: en-US",
        "\tdataAccessOptions",
        "\t\tlegacyRedirects",
        "\t\treturnErrorValuesAsNull",
    ]
    return _join([header, [f"ref table {name(table.name)}" for table in model.tables]])


def _parameter(parameter: Parameter) -> list[str]:
    return [
        *_description(parameter.description, 0),
        f"expression {name(parameter.name)} = {parameter.expression}",
        f"\tannotation PBI_ResultType = {parameter.m_type}",
    ]


def expressions_file(model: SemanticModel) -> str:
    return _join([_parameter(parameter) for parameter in model.parameters])


def _relationship(relationship: Relationship) -> list[str]:
    return [
        f"relationship {name(relationship.name)}",
        f"\tfromColumn: {name(relationship.from_table)}.{name(relationship.from_column)}",
        f"\ttoColumn: {name(relationship.to_table)}.{name(relationship.to_column)}",
    ]


def relationships_file(model: SemanticModel) -> str:
    return _join([_relationship(relationship) for relationship in model.relationships])


def definition_files(model: SemanticModel) -> dict[str, str]:
    """Relative path under `definition/` -> text."""
    files = {
        "database.tmdl": database_file(),
        "model.tmdl": model_file(model),
        "expressions.tmdl": expressions_file(model),
        "relationships.tmdl": relationships_file(model),
    }
    files.update({f"tables/{table.name}.tmdl": table_file(table) for table in model.tables})
    return files
