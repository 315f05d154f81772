"""Fault suite, security (the parts not about alerts or HTML): SQL is never built from data.

- Catalog and schema names are validated as plain identifiers before any SQL sees them.
- Every piece of text formatted into SQL in src/monitoring (``spark.sql``, ``F.expr``, string predicates, MERGE
  conditions and ``set`` expressions, ``replaceWhere``, table names) is on an allow-list of values that are not
  data: package constants, validated identifiers, typed dates. A new formatted value fails this test until it is
  reviewed and listed here with the reason it is safe.
- Pipeline names with quotes, SQL and HTML are stored and evaluated as data: see
  test_reliability_bad_input.py::test_hostile_names_are_stored_as_data (they run through the real job there).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitoring.config import ConfigError, StorageConfig, parse_config

SOURCE = Path(__file__).resolve().parents[2] / "src" / "monitoring"

BAD_IDENTIFIERS = [
    "a;drop",
    "a; DROP SCHEMA main CASCADE",
    "`x`",
    "a`b",
    "a.b",
    "main.schema",
    "'x'",
    '"x"',
    "a b",
    "a--",
    "a/*b*/",
    "1abc",
    "ünïcode",
    "x" * 256,
    "a\u0000",
    "${var}",
    "a-b",
    "a\nb",
]
JOBS_DOCUMENT = {
    "source": {"format": "databricks_jobs"},
    "storage": {"catalog": "main", "schema": "monitoring"},
    "flows": [{"name": "F", "pipelines": ["a"]}],
}


@pytest.mark.parametrize("value", BAD_IDENTIFIERS)
@pytest.mark.parametrize("key", ["catalog", "schema"])
def test_storage_rejects_anything_but_plain_identifiers(key: str, value: str):
    other = "schema" if key == "catalog" else "catalog"
    with pytest.raises(ConfigError, match=rf"^storage\.{key}: "):
        StorageConfig(**{key: value, other: "ok_name"})
    with pytest.raises(ConfigError, match=rf"^storage\.{key}: "):
        parse_config({**JOBS_DOCUMENT, "storage": {key: value, other: "ok_name"}})
    with pytest.raises(ConfigError, match=rf"^storage\.{key}: "):
        parse_config(JOBS_DOCUMENT).with_overrides(**{key: value})


@pytest.mark.parametrize("value", ["main", "_x", "A1_b2", "x" * 255])
def test_storage_accepts_plain_identifiers(value: str):
    assert StorageConfig(catalog=value, schema=value).catalog == value


@pytest.mark.parametrize("value", [" main", "main\n", "\tmain "])
def test_the_file_strips_identifiers_the_constructor_does_not(value: str):
    """monitoring.yml values are stripped like every text value; a raw padded name never reaches SQL."""
    document = {**JOBS_DOCUMENT, "storage": {"catalog": value, "schema": "s"}}
    assert parse_config(document).storage.catalog == "main"
    with pytest.raises(ConfigError, match=r"^storage\.catalog: "):
        StorageConfig(catalog=value, schema="s")


# --- no SQL built from data ------------------------------------------------------------------------------

# Methods whose string arguments Spark or Delta parse as SQL (expressions, predicates, table names).
SQL_SINKS = {
    "sql",
    "expr",
    "selectExpr",
    "where",
    "filter",
    "merge",
    "mergeInto",
    "whenMatched",
    "whenNotMatched",
    "whenNotMatchedBySource",
    "whenMatchedUpdate",
    "whenMatchedDelete",
    "whenNotMatchedInsert",
    "whenNotMatchedBySourceUpdate",
    "whenNotMatchedBySourceDelete",
    "forName",
    "saveAsTable",
    "table",
    "tableExists",
}
# (module, function, formatted expression) -> why it is not data from logs or users.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("storage.py", "_create", "self.config.catalog"): "validated identifier (StorageConfig)",
    ("storage.py", "_create", "self.config.schema"): "validated identifier (StorageConfig)",
    ("storage.py", "_create", "self.sql_name(table)"): "catalog.schema.<package table name>, or the backquoted path",
    ("storage.py", "_create", "columns"): "the package's schemas: names, types, quoted comments",
    ("storage.py", "_create", "partitioning"): "the package's partition column names",
    ("storage.py", "_create", "properties"): "POWER_BI_PROPERTIES, quoted",
    ("storage.py", "_create", "quoted(table.comment)"): "the package's table comment, quoted",
    ("storage.py", "replace_dates", "column"): "checked against the table's own columns first",
    ("storage.py", "replace_dates", "first.isoformat()"): "a datetime.date",
    ("storage.py", "replace_dates", "last.isoformat()"): "a datetime.date",
}


@dataclass(frozen=True)
class Formatted:
    module: str
    function: str
    line: int
    sink: str
    expression: str


def _str_join_or_format(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("join", "format")
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    )


def _is_text(node: ast.AST) -> bool:
    """Whether ``node`` builds a string (so may be SQL text), as opposed to a Column or a DataFrame."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _is_text(node.left) or _is_text(node.right)
    return isinstance(node, ast.JoinedStr) or _str_join_or_format(node)


def formatted_values(node: ast.AST | None, assigned: dict[str, ast.AST], seen: frozenset[str] = frozenset()):
    """The source text of every value formatted into the SQL text ``node``."""
    if node is None or isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield ast.unparse(part.value)
    elif isinstance(node, ast.Name):
        value = assigned.get(node.id)
        if value is not None and node.id not in seen and _is_text(value):
            yield from formatted_values(value, assigned, seen | {node.id})
    elif isinstance(node, ast.BinOp) and _is_text(node):
        for side in (node.left, node.right):
            inner = list(formatted_values(side, assigned, seen))
            yield from inner or ([] if isinstance(side, ast.Constant | ast.JoinedStr) else [ast.unparse(side)])
    elif _str_join_or_format(node):
        assert isinstance(node, ast.Call)
        for arg in node.args:
            element = arg.elt if isinstance(arg, ast.GeneratorExp | ast.ListComp) else arg
            inner = list(formatted_values(element, assigned, seen))
            yield from inner or ([] if isinstance(element, ast.Constant) else [ast.unparse(element)])
    elif isinstance(node, ast.Dict):  # MERGE set={...}: every value is an SQL expression
        for value in node.values:
            yield from formatted_values(value, assigned, seen)
    elif isinstance(node, ast.DictComp):
        yield from formatted_values(node.value, assigned, seen)


def sql_formatting(source: Path) -> Iterator[Formatted]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assigned = {
            node.targets[0].id: node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        }
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            sink = call.func.attr
            arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
            first = call.args[0] if call.args else None
            if sink == "option" and isinstance(first, ast.Constant) and first.value == "replaceWhere":
                arguments = arguments[1:]
            elif sink not in SQL_SINKS:
                continue
            for argument in arguments:
                for expression in formatted_values(argument, assigned):
                    yield Formatted(source.name, function.name, call.lineno, sink, expression)


def test_the_scanner_finds_formatted_sql():
    """The scanner itself, on code that builds SQL from data in each way it must catch."""
    sample = Path(__file__).with_name("_sql_scan_sample.py.txt")
    found = {(f.function, f.sink, f.expression) for f in sql_formatting(sample)}
    assert found == {
        ("f_string", "sql", "name"),
        ("concatenated", "expr", "row.pipeline_name"),
        ("joined", "where", "n"),
        ("formatted", "filter", "value"),
        ("in_a_variable", "option", "day"),
        ("merge_set", "whenMatchedUpdate", "column"),
        ("percent", "sql", "table"),
    }


def test_sql_is_never_built_from_data():
    found = [f for path in sorted(SOURCE.rglob("*.py")) for f in sql_formatting(path)]  # subpackages too
    assert found, "the scanner found nothing: has the code moved?"
    unreviewed = [f for f in found if (f.module, f.function, f.expression) not in ALLOWED]
    assert unreviewed == []
