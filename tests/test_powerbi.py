"""The Power BI project, checked offline: the committed copy is the generated one, every JSON part validates
against Microsoft's schema, and independent parsers from PyPI read the TMDL, M and DAX back.

Parsers: `powerbi-tmdl-tools` reads the TMDL folder as Power BI would find it (from the .pbip, through the
report's byPath reference); being a tolerant reader, it must read back exactly the model the code meant, so a
broken indentation or a missing keyword shows as a difference. `letin` parses every M expression and checks its
function names and arities against the M library; `pbi-parsers` parses every DAX expression.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import tmdl_parser
from jsonschema.validators import validator_for
from letin.m.syntax import MSyntaxError
from letin.m.validate import validate_expression
from pbi_parsers import dax
from pbi_parsers.dax.exprs import ColumnExpression, MeasureExpression
from pyspark.sql import SparkSession
from pyspark.sql import types as T
from referencing import Registry, Resource

from monitoring.cli import main
from monitoring.powerbi import PROJECT_NAME, DatabricksSource, DeltaFolderSource, build_model, project_files
from monitoring.powerbi import model as model_module
from monitoring.powerbi.model import IMPORTED_TABLES, SemanticModel, short_name
from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI, TableSpec

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "powerbi"
SCHEMAS = REPO.parent / "shared" / "powerbi-schemas"
SCHEMA_URL = "https://developer.microsoft.com/json-schemas/"
REQUIRE_SCHEMAS = "PIPELINE_MONITOR_REQUIRE_POWERBI_SCHEMAS"
SOURCES = {"databricks": DatabricksSource(), "delta": DeltaFolderSource("/data/lakehouse")}


def write(files: dict[str, str], folder: Path) -> Path:
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(content, encoding="utf-8")
    return folder


@pytest.fixture(scope="module", params=sorted(SOURCES))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SemanticModel]:
    """Each variant of the project, written to disk, with the model it was generated from."""
    source = SOURCES[request.param]
    return write(project_files(source), tmp_path_factory.mktemp(request.param)), build_model(source)


# --- the committed project ------------------------------------------------------------------------------------


def test_the_committed_project_is_the_generated_one() -> None:
    expected = project_files(DatabricksSource())
    committed = {p.relative_to(COMMITTED).as_posix() for p in COMMITTED.rglob("*") if p.is_file()}
    regenerate = "regenerate it: pipeline-monitor powerbi --out powerbi"
    assert committed == set(expected), f"powerbi/ has other files than the generator writes; {regenerate}"
    changed = [path for path, text in expected.items() if (COMMITTED / path).read_text(encoding="utf-8") != text]
    assert not changed, f"powerbi/ differs from the generated project in {changed}; {regenerate}"


def test_the_cli_writes_both_variants(tmp_path: Path) -> None:
    assert main(["powerbi", "--out", str(tmp_path / "uc"), "--catalog", "prod", "--schema", "monitoring"]) == 0
    expressions = (tmp_path / "uc" / f"{PROJECT_NAME}.SemanticModel/definition/expressions.tmdl").read_text()
    assert 'expression CatalogName = "prod"' in expressions
    assert 'expression SchemaName = "monitoring"' in expressions

    assert main(["powerbi", "--out", str(tmp_path / "lake"), "--lakehouse", str(tmp_path / "lakehouse")]) == 0
    table = (tmp_path / "lake" / f"{PROJECT_NAME}.SemanticModel/definition/tables/flow_kpi.tmdl").read_text()
    assert "DeltaLake.Table(Folder)" in table and "Databricks" not in table
    assert main(["powerbi", "--out", str(tmp_path / "x"), "--lakehouse", "l", "--catalog", "c"]) == 2


def test_a_table_or_page_removed_from_the_code_does_not_linger(tmp_path: Path) -> None:
    stale = tmp_path / f"{PROJECT_NAME}.SemanticModel/definition/tables/old_table.tmdl"
    stale.parent.mkdir(parents=True)
    stale.write_text("table old_table\n")
    main(["powerbi", "--out", str(tmp_path)])
    assert not stale.exists()


# --- JSON parts against Microsoft's schemas --------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    if not SCHEMAS.is_dir():
        if os.environ.get(REQUIRE_SCHEMAS) == "1":
            pytest.fail(f"{SCHEMAS} is missing and {REQUIRE_SCHEMAS}=1")
        pytest.skip(f"no Power BI schemas at {SCHEMAS}")

    def retrieve(uri: str) -> Resource:
        if not uri.startswith(SCHEMA_URL):
            raise LookupError(f"not a Power BI schema: {uri}")
        path = SCHEMAS / uri.removeprefix(SCHEMA_URL)
        return Resource.from_contents(json.loads(path.read_text(encoding="utf-8")))

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


def json_parts(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(folder.rglob("*")):
        if path.suffix in {".json", ".pbip", ".pbir", ".pbism"}:
            yield path, json.loads(path.read_text(encoding="utf-8"))


def test_every_json_part_validates_against_its_published_schema(
    project: tuple[Path, SemanticModel], registry: Registry
) -> None:
    folder, _ = project
    checked = 0
    for path, part in json_parts(folder):
        assert "$schema" in part, f"{path.relative_to(folder)} names no schema"
        schema = registry.get_or_retrieve(part["$schema"]).value.contents
        validator = validator_for(schema)(schema, registry=registry)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(part)]
        assert not errors, f"{path.relative_to(folder)}: {errors[:3]}"
        checked += 1
    assert checked >= 25  # .pbip, definition.pbir/.pbism, report, version, pages and every visual


def test_the_schema_check_rejects_a_broken_part(registry: Registry) -> None:
    part = json.loads(project_files(DatabricksSource())[f"{PROJECT_NAME}.Report/definition/pages/today/page.json"])
    del part["displayOption"]
    schema = registry.get_or_retrieve(part["$schema"]).value.contents
    assert list(validator_for(schema)(schema, registry=registry).iter_errors(part))


# --- TMDL read back by an independent parser -------------------------------------------------------------------


def unquote(name: str) -> str:
    return name[1:-1].replace("''", "'") if name.startswith("'") else name


def read_model(folder: Path) -> dict[str, Any]:
    """The semantic model as powerbi-tmdl-tools finds it from the .pbip (tables, relationships) plus parameters."""
    parsed = tmdl_parser.parse_pbip_report_root(str(folder))
    expressions = tmdl_parser.TmdlParser(str(folder / f"{PROJECT_NAME}.SemanticModel/definition/expressions.tmdl"))
    for table in parsed["tables"]:  # the parser keeps a quoted name's quotes
        for item in [table, *table.get("columns", []), *table.get("partitions", [])]:
            item["name"] = unquote(item["name"])
    parsed["parameters"] = {
        key.removeprefix("expression ").strip(): value
        for key, value in expressions.parse().items()
        if key.startswith("expression ")
    }
    return parsed


def model_differences(parsed: dict[str, Any], model: SemanticModel) -> list[str]:
    """What the parser read that is not the model the code meant (empty when they are the same)."""
    read: dict[str, Any] = {
        "tables": [
            {
                "name": t["name"],
                "columns": [(c["name"], c.get("dataType"), c.get("sourceColumn")) for c in t.get("columns", [])],
                "measures": [(m["name"], m.get("expression", "").strip()) for m in t.get("measures", [])],
                "partitions": [
                    (p["name"], p.get("partitionType"), p.get("mode"), p.get("source", "").strip())
                    for p in t.get("partitions", [])
                ],
                "policy": {k: str(t.get(k, "")).strip() for k in ("pollingExpression", "sourceExpression")},
            }
            for t in parsed["tables"]
        ],
        "relationships": sorted(
            (r["fromTable"], r["fromColumnName"], r["toTable"], r["toColumnName"]) for r in parsed["relationships"]
        ),
        "parameters": parsed["parameters"],
        "compatibilityLevel": parsed["database"].get("compatibilityLevel"),
    }
    meant: dict[str, Any] = {
        "tables": [
            {
                "name": t.name,
                "columns": [(c.name, c.data_type, c.source_column) for c in t.columns],
                "measures": [(m.name, m.expression) for m in t.measures],
                "partitions": [(t.name, t.source_kind, "import", t.source)],
                "policy": {
                    "pollingExpression": t.refresh_policy.polling_expression if t.refresh_policy else "",
                    "sourceExpression": t.refresh_policy.source_expression if t.refresh_policy else "",
                },
            }
            for t in sorted(model.tables, key=lambda t: t.name.lower())
        ],
        "relationships": sorted((r.from_table, r.from_column, r.to_table, r.to_column) for r in model.relationships),
        "parameters": {p.name: p.expression for p in model.parameters},
        "compatibilityLevel": "1600",
    }
    return [f"{key}: read {read[key]!r:.300} but meant {meant[key]!r:.300}" for key in meant if read[key] != meant[key]]


def test_the_tmdl_reads_back_as_the_model(project: tuple[Path, SemanticModel]) -> None:
    folder, model = project
    assert model_differences(read_model(folder), model) == []


@pytest.mark.parametrize(
    ("broken", "replacement"),
    [
        ("\tcolumn status\n\t\tdataType: string", "\tcolumn status\n\tdataType: string"),  # property dedented
        ("\tcolumn reason\n", "\tcolum reason\n"),  # misspelt keyword
        ("\tmeasure 'Flow status' = ", "\tmeasure 'Flow status' "),  # no '='
        ("\tpartition flow_daily_status = m\n\t\tmode: import", "\tpartition flow_daily_status = m\n\tmode: import"),
    ],
)
def test_a_broken_tmdl_file_does_not_read_back(tmp_path: Path, broken: str, replacement: str) -> None:
    files = project_files(DatabricksSource())
    path = f"{PROJECT_NAME}.SemanticModel/definition/tables/flow_daily_status.tmdl"
    assert broken in files[path]
    files[path] = files[path].replace(broken, replacement, 1)
    assert model_differences(read_model(write(files, tmp_path)), build_model(DatabricksSource()))


def test_descriptions_are_the_column_comments() -> None:
    files = project_files(DatabricksSource())
    for spec in IMPORTED_TABLES:
        text = files[f"{PROJECT_NAME}.SemanticModel/definition/tables/{short_name(spec)}.tmdl"]
        assert text.startswith(f"/// {spec.comment}\ntable {short_name(spec)}\n")
        for spec_field in spec.schema.fields:
            assert f"\t/// {spec_field.metadata['comment']}\n\tcolumn {spec_field.name}\n" in text


# --- M and DAX parsed by independent parsers ---------------------------------------------------------------------


def m_expressions(parsed: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name, expression in parsed["parameters"].items():
        yield f"parameter {name}", expression
    for table in parsed["tables"]:
        for partition in table.get("partitions", []):
            if partition.get("partitionType") == "m":
                yield f"{table['name']} partition", partition["source"]
        for key in ("pollingExpression", "sourceExpression"):
            if key in table:
                yield f"{table['name']} {key}", table[key]


def m_errors(expression: str, parameters: set[str]) -> list[str]:
    try:
        findings = validate_expression(expression, known_queries=parameters)
    except MSyntaxError as error:
        return [f"syntax: {error}"]
    return [f"{f['code']} {f['message']}" for f in findings if f["severity"] == "error"]


def test_every_m_expression_parses(project: tuple[Path, SemanticModel]) -> None:
    parsed = read_model(project[0])
    parameters = set(parsed["parameters"])
    expressions = list(m_expressions(parsed))
    assert len(expressions) >= len(parameters) + 4 + 2 * 2  # parameters, 4 partitions, 2 policies
    for where, expression in expressions:
        assert m_errors(expression, parameters) == [], where


@pytest.mark.parametrize(
    "broken",
    [
        "let\n    Rows = DeltaLake.Table(Folder.Contents(LakehouseFolder)\nin\n    Rows",  # unclosed call
        "let\n    Rows = DeltaLake.Table(Folder.Contents(LakehouseFolder)),\nin\n    Rows",  # trailing comma
        "let\n    Rows = Table.SelectRowz(#table({}, {}), each true)\nin\n    Rows",  # no such function
        "let\n    Rows = Date.From(RangeStart, 1, 2, 3)\nin\n    Rows",  # wrong arity
    ],
)
def test_the_m_check_rejects_broken_m(broken: str) -> None:
    assert m_errors(broken, {"LakehouseFolder", "RangeStart"})


def dax_expressions(parsed: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for table in parsed["tables"]:
        for measure in table.get("measures", []):
            yield f"{table['name']}[{measure['name']}]", measure["expression"]
        for partition in table.get("partitions", []):
            if partition.get("partitionType") == "calculated":
                yield f"{table['name']} (calculated)", partition["source"]


def dax_references(expression: str) -> tuple[set[tuple[str, str]], set[str]]:
    """(table, column) references, and bare [name] references, of a DAX expression parsed by pbi-parsers."""
    tree = dax.to_ast(expression)
    assert tree is not None, f"not DAX: {expression}"
    columns, bare = set(), set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ColumnExpression):
            columns.add((node.table.text.strip("'"), node.column.text[1:-1]))
        elif isinstance(node, MeasureExpression):
            bare.add(node.name.text[1:-1])
        pending.extend(node.children())
    return columns, bare


def test_every_dax_expression_parses_and_names_model_columns(project: tuple[Path, SemanticModel]) -> None:
    parsed = read_model(project[0])
    columns = {(t["name"], c["name"]) for t in parsed["tables"] for c in t.get("columns", [])}
    names = {c for _, c in columns} | {m["name"] for t in parsed["tables"] for m in t.get("measures", [])}
    expressions = list(dax_expressions(parsed))
    assert len(expressions) >= 15
    for where, expression in expressions:
        referenced, bare = dax_references(expression)
        assert referenced <= columns, f"{where}: no such column {referenced - columns}"
        assert bare <= names, f"{where}: no such measure or column {bare - names}"


@pytest.mark.parametrize(
    "broken",
    [
        "DIVIDE ( SUM ( flow_kpi[days_ok] ) + , SUM ( flow_kpi[days_expected] ) )",
        "SUM ( flow_kpi[days_ok] ",
        "SELECTEDVALUE ( flow_daily_status[status )",
        "VAR Newest = 1",
    ],
)
def test_the_dax_check_rejects_broken_dax(broken: str) -> None:
    with pytest.raises((ValueError, AssertionError)):
        dax_references(broken)


def test_a_measure_on_a_renamed_column_is_caught() -> None:
    referenced, _ = dax_references("SELECTEDVALUE ( flow_daily_status[state_colour] )")
    assert ("flow_daily_status", "state_colour") in referenced


# --- fields: report -> model -> gold tables ----------------------------------------------------------------------


def queried_fields(part: Any, aliases: dict[str, str] | None = None) -> Iterator[tuple[str, str, str]]:
    """(kind, entity, property) of every Column and Measure a visual or filter queries."""
    aliases = dict(aliases or {})
    if isinstance(part, dict):
        for source in part.get("From", []):  # a filter's query names its entities by alias
            aliases[source["Name"]] = source["Entity"]
        for kind in ("Column", "Measure"):
            if kind in part and "Property" in part[kind]:
                ref = part[kind]["Expression"]["SourceRef"]
                yield kind, ref.get("Entity") or aliases[ref["Source"]], part[kind]["Property"]
        for value in part.values():
            yield from queried_fields(value, aliases)
    elif isinstance(part, list):
        for value in part:
            yield from queried_fields(value, aliases)


def test_every_field_a_visual_queries_is_in_the_model(project: tuple[Path, SemanticModel]) -> None:
    folder, _ = project
    parsed = read_model(folder)
    in_model = {("Column", t["name"], c["name"]) for t in parsed["tables"] for c in t.get("columns", [])}
    in_model |= {("Measure", t["name"], m["name"]) for t in parsed["tables"] for m in t.get("measures", [])}
    queried = {f for path, part in json_parts(folder / f"{PROJECT_NAME}.Report") for f in queried_fields(part)}
    assert len(queried) >= 30
    assert queried <= in_model, f"not in the model: {sorted(queried - in_model)}"


def test_the_field_check_sees_a_visual_field_missing_from_the_model() -> None:
    visual = {
        "query": {
            "Values": {
                "projections": [
                    {
                        "field": {
                            "Column": {
                                "Expression": {"SourceRef": {"Entity": "flow_daily_status"}},
                                "Property": "status_colour",
                            }
                        }
                    }
                ]
            }
        }
    }
    assert ("Column", "flow_daily_status", "status_colour") in set(queried_fields(visual))


SPEC_TYPES = {
    "string": "string",
    "date": "dateTime",
    "timestamp": "dateTime",
    "bigint": "int64",
    "int": "int64",
    "double": "double",
    "boolean": "boolean",
}


def gold_columns(spec: TableSpec) -> list[tuple[str, str]]:
    return [(f.name, SPEC_TYPES[f.dataType.simpleString()]) for f in spec.schema.fields]


def test_every_model_column_is_a_gold_column(project: tuple[Path, SemanticModel]) -> None:
    parsed = read_model(project[0])
    imported = {t["name"]: t for t in parsed["tables"] if t["partitions"][0].get("partitionType") == "m"}
    assert set(imported) == {short_name(spec) for spec in IMPORTED_TABLES}
    for spec in IMPORTED_TABLES:
        table = imported[short_name(spec)]
        assert [(c["name"], c["dataType"]) for c in table["columns"]] == gold_columns(spec)
        assert all(c["sourceColumn"] == c["name"] for c in table["columns"])
        source = table["partitions"][0]["source"]
        assert spec.name in source or f'"{short_name(spec)}"' in source  # reads its own gold table


def test_the_daily_tables_refresh_incrementally_and_detect_changes() -> None:
    model = build_model(DatabricksSource())
    policies = {t.name: t.refresh_policy for t in model.tables if t.refresh_policy}
    assert set(policies) == {"flow_daily_status", "pipeline_daily_status"}
    for name, policy in policies.items():
        assert re.search(
            r"\[business_date\] >= Date\.From\(RangeStart\) and \[business_date\] < Date\.From\(RangeEnd\)",
            policy.source_expression,
        ), name
        assert "List.Max(InRange[evaluated_at])" in policy.polling_expression
        assert model.table(name).source == policy.source_expression


@pytest.mark.slow
def test_the_demo_variant_reads_the_demo_lakehouse_tables(demo_lakehouse, spark: SparkSession) -> None:
    """The Delta variant's folders are the lakehouse's tables, whose stored columns are the model's."""
    model = build_model(DeltaFolderSource(str(demo_lakehouse.lakehouse)))
    for spec in IMPORTED_TABLES:
        folder = demo_lakehouse.lakehouse / spec.name
        assert (folder / "_delta_log").is_dir(), folder
        assert f'Folder.Contents(LakehouseFolder & "/{spec.name}")' in model.table(short_name(spec)).source
        stored = spark.read.format("delta").load(str(folder)).schema
        assert [(f.name, SPEC_TYPES[f.dataType.simpleString()]) for f in stored] == [
            (c.name, c.data_type) for c in model.table(short_name(spec)).columns
        ]


def with_columns(spec: TableSpec, rename: dict[str, str], extra: list[T.StructField]) -> TableSpec:
    fields = [T.StructField(rename.get(f.name, f.name), f.dataType, f.nullable, f.metadata) for f in spec.schema]
    return replace(spec, schema=T.StructType(fields + extra))


def test_a_new_gold_column_flows_into_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    added = T.StructField("config_hash", T.StringType(), True, {"comment": "Hash of the flow's configuration."})
    grown = with_columns(FLOW_KPI, {}, [added])
    monkeypatch.setattr(model_module, "KPI_TABLES", (grown, PIPELINE_KPI))
    monkeypatch.setattr(model_module, "IMPORTED_TABLES", (*model_module.DAILY_TABLES, grown, PIPELINE_KPI))
    files = project_files(DatabricksSource())
    text = files[f"{PROJECT_NAME}.SemanticModel/definition/tables/flow_kpi.tmdl"]
    assert "\t/// Hash of the flow's configuration.\n\tcolumn config_hash\n\t\tdataType: string\n" in text


def test_a_renamed_gold_column_the_model_needs_stops_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    renamed = with_columns(FLOW_DAILY_STATUS, {"evaluated_at": "computed_at"}, [])
    monkeypatch.setattr(model_module, "DAILY_TABLES", (renamed, PIPELINE_DAILY_STATUS))
    monkeypatch.setattr(model_module, "IMPORTED_TABLES", (renamed, PIPELINE_DAILY_STATUS, *model_module.KPI_TABLES))
    with pytest.raises(ValueError, match="gold/flow_daily_status has no column evaluated_at"):
        build_model(DatabricksSource())
