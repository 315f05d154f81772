"""`monitoring.yml` parsing (config.py) and the CLI's config / argument checks (cli.py).

No Spark: nothing here requests the `spark` fixture, and the CLI tests make `get_spark` fail loudly,
so a command that should stop on a bad config or bad arguments cannot start Spark by mistake.
"""

from __future__ import annotations

import re
import textwrap
from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoring import cli
from monitoring.config import (
    ConfigError,
    CsvOptions,
    DurationRules,
    Schedule,
    load_config,
    parse_config,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config" / "monitoring.example.yml"
SCHEDULE_HINT = "is not a schedule (daily | weekdays | weekly:mon,thu | monthly:1,15,last | on_demand)"
QUOTE_HINT = 'is not a time HH:MM (write it quoted, e.g. "01:30")'

# --- helpers: each case below is one small document -------------------------------------------------


def doc(**top: Any) -> dict[str, Any]:
    """A valid document (one flow F with pipelines a, b); keyword arguments replace top-level keys."""
    document: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "source": {"format": "adf_diagnostic", "path": "./logs"},
        "storage": {"root": "./lakehouse"},
        "flows": [{"name": "F", "pipelines": ["a", "b"]}],
    }
    document.update(top)
    return document


def without(key: str) -> dict[str, Any]:
    document = doc()
    del document[key]
    return document


def flow(*pipelines: Any, **keys: Any) -> dict[str, Any]:
    """A document whose only flow F has these keys and pipelines (default a, b)."""
    return doc(flows=[{"name": "F", "pipelines": list(pipelines) or ["a", "b"], **keys}])


def flows(*entries: dict[str, Any]) -> dict[str, Any]:
    return doc(flows=list(entries))


def source(**keys: Any) -> dict[str, Any]:
    """A document whose source is a CSV export (unless `format` says otherwise) with these extra keys."""
    return doc(source={"format": "csv", "path": "./export", **keys})


def yaml_value(text: str) -> Any:
    """What YAML makes of an unquoted scalar, e.g. 1:30 -> 90."""
    return yaml.safe_load(text)


def error_of(raw: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return str(caught.value)


def write(tmp_path: Path, text: str, name: str = "monitoring.yml") -> Path:
    file = tmp_path / name
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


GOOD_YAML = """\
    source: {format: adf_diagnostic, path: ./logs}
    storage: {root: ./lakehouse}
    flows:
      - name: F
        pipelines: [a, b]
"""


# --- the example configuration ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    return load_config(EXAMPLE)


def test_example_flows(example):
    assert example.timezone == "Europe/Paris"
    assert (example.source.format, example.source.path, example.storage.root) == (
        "adf_diagnostic",
        "./logs",
        "./lakehouse",
    )
    assert [(f.name, f.ko_when, f.order, len(f.pipelines)) for f in example.flows] == [
        ("Telephonie", "all", "none", 2),
        ("Solaris", "all", "sequential", 4),
        ("Sitecom", "all", "none", 20),
        ("Billing", "all", "sequential", 2),
    ]
    assert len(example.pipelines) == 28


def test_example_defaults_are_the_rule_for_unassigned_pipelines(example):
    assert example.defaults.flow == "UNASSIGNED"
    assert example.defaults.schedule == Schedule("daily")
    assert example.defaults.deadline is None
    assert example.defaults.duration == DurationRules(30, 7, 2.0, 5, 0.2, 10)


def test_packaged_example_is_the_same_file(example):
    assert load_config(cli.example_config_path()) == example


@pytest.mark.parametrize(
    ("name", "flow_name", "order", "schedule", "deadline", "depends_on"),
    [
        pytest.param("telephonie_master", "Telephonie", 1, "daily", time(1, 30), (), id="telephonie-deadline"),
        pytest.param(
            "telephonie_ods_cti_export_incremental", "Telephonie", 2, "daily", time(1, 30), (), id="telephonie-2nd"
        ),
        pytest.param("solaris_clean_sources", "Solaris", 1, "daily", None, (), id="solaris-first-has-no-predecessor"),
        pytest.param(
            "solaris_copy_lds_table_from_lz",
            "Solaris",
            2,
            "daily",
            None,
            ("solaris_clean_sources",),
            id="solaris-2nd-after-1st",
        ),
        pytest.param(
            "solaris_master", "Solaris", 3, "daily", None, ("solaris_copy_lds_table_from_lz",), id="solaris-3rd"
        ),
        pytest.param("solaris_runners", "Solaris", 4, "daily", None, ("solaris_master",), id="solaris-4th"),
        pytest.param("sitecom_init_master", "Sitecom", 1, "daily", None, (), id="sitecom-first"),
        pytest.param("SitecomHealthClaimsSecret", "Sitecom", 10, "daily", None, (), id="sitecom-camel-case-name"),
        pytest.param("accounting_cube_monthly_master", "Sitecom", 20, "monthly:1", None, (), id="sitecom-monthly"),
    ],
)
def test_example_pipelines(example, name, flow_name, order, schedule, deadline, depends_on):
    rule = {p.name: p for p in example.pipelines}[name]
    assert (rule.flow, rule.execution_order, rule.schedule.text, rule.deadline, rule.predecessors) == (
        flow_name,
        order,
        schedule,
        deadline,
        depends_on,
    )
    assert rule.duration == example.defaults.duration


def test_example_execution_order_is_one_based_per_flow(example):
    for f in example.flows:
        assert [p.execution_order for p in f.pipelines] == list(range(1, len(f.pipelines) + 1)), f.name


def test_example_monthly_schedule(example):
    rule = {p.name: p for p in example.pipelines}["accounting_cube_monthly_master"]
    assert rule.schedule == Schedule("monthly", (1,))


# --- inheritance: defaults -> flow -> pipeline -------------------------------------------------------


@pytest.mark.parametrize(
    ("defaults", "flow_keys", "pipeline_keys", "expected"),
    [
        pytest.param({}, {}, {}, DurationRules(), id="built-in-defaults"),
        pytest.param({"duration": {"baseline_days": 20}}, {}, {}, DurationRules(baseline_days=20), id="from-defaults"),
        pytest.param(
            {"duration": {"baseline_days": 20}},
            {"duration": {"slow_factor": 3}},
            {},
            DurationRules(baseline_days=20, slow_factor=3),
            id="flow-merges-with-defaults",
        ),
        pytest.param(
            {"duration": {"baseline_days": 20}},
            {"duration": {"slow_factor": 3}},
            {"duration": {"min_samples": 3, "fast_factor": 0}},
            DurationRules(baseline_days=20, min_samples=3, slow_factor=3, fast_factor=0),
            id="pipeline-merges-with-flow-and-defaults",
        ),
        pytest.param(
            {"duration": {"slow_factor": 4}},
            {},
            {"duration": {"slow_factor": 1.5}},
            DurationRules(slow_factor=1.5),
            id="pipeline-wins",
        ),
        pytest.param(
            {"duration": {"baseline_days": 10, "min_samples": 10}},
            {},
            {"duration": {"baseline_days": 5, "min_samples": 3}},
            DurationRules(baseline_days=5, min_samples=3),
            id="checked-after-merging",
        ),
    ],
)
def test_duration_inheritance(defaults, flow_keys, pipeline_keys, expected):
    config = parse_config(flow({"name": "a", **pipeline_keys}, "b", **flow_keys) | {"defaults": defaults})
    assert config.pipelines[0].duration == expected


@pytest.mark.parametrize(
    ("defaults", "flow_keys", "pipeline_keys", "schedule", "deadline"),
    [
        pytest.param({}, {}, {}, "daily", None, id="built-in"),
        pytest.param({"deadline": "06:00", "schedule": "weekdays"}, {}, {}, "weekdays", time(6), id="defaults"),
        pytest.param({"deadline": "06:00"}, {"deadline": "01:30"}, {}, "daily", time(1, 30), id="flow-overrides"),
        pytest.param({"deadline": "06:00"}, {"deadline": "01:30"}, {"deadline": None}, "daily", None, id="null-resets"),
        pytest.param(
            {"schedule": "weekdays"},
            {"schedule": "weekly:fri"},
            {"schedule": "monthly:1,15", "deadline": "7:05"},
            "monthly:1,15",
            time(7, 5),
            id="pipeline-overrides",
        ),
    ],
)
def test_schedule_and_deadline_inheritance(defaults, flow_keys, pipeline_keys, schedule, deadline):
    config = parse_config(flow({"name": "a", **pipeline_keys}, **flow_keys) | {"defaults": defaults})
    (a,) = config.pipelines
    assert (a.schedule.text, a.deadline) == (schedule, deadline)


def test_defaults_do_not_leak_into_the_flow_rule():
    config = parse_config(flow("a", deadline="01:30") | {"defaults": {"deadline": "06:00"}})
    assert config.defaults.deadline == time(6)
    assert config.defaults.flow == "UNASSIGNED"
    assert config.pipelines[0].flow == "F"


@pytest.mark.parametrize(
    ("entries", "order", "expected"),
    [
        pytest.param(["a", "b", "c"], "none", [(), (), ()], id="unordered"),
        pytest.param(["a", "b", "c"], "sequential", [(), ("a",), ("b",)], id="sequential-chain"),
        pytest.param(
            ["a", {"name": "b", "depends_on": []}, "c"], "sequential", [(), (), ("b",)], id="explicit-empty-wins"
        ),
        pytest.param(["a", "b", {"name": "c", "depends_on": ["a"]}], "none", [(), (), ("a",)], id="explicit"),
        pytest.param([" a ", {"name": "b", "depends_on": [" a "]}], "none", [(), ("a",)], id="names-stripped"),
    ],
)
def test_depends_on(entries, order, expected):
    config = parse_config(flow(*entries, order=order))
    assert [p.predecessors for p in config.pipelines] == expected
    assert [p.execution_order for p in config.pipelines] == list(range(1, len(entries) + 1))


def test_depends_on_may_cross_flows():
    config = parse_config(
        flows({"name": "A", "pipelines": ["a"]}, {"name": "B", "pipelines": [{"name": "b", "depends_on": ["a"]}]})
    )
    assert config.pipelines[1].depends_on == ("a",)


def test_timezone_defaults_to_paris():
    assert parse_config(without("timezone")).timezone == "Europe/Paris"


# --- every error names the key path and the bad value ---------------------------------------------


ERROR_CASES = [
    # deadlines
    pytest.param(flow(deadline="25:00"), "flows[0].deadline: '25:00' is not a time HH:MM", id="deadline-25:00"),
    pytest.param(flow(deadline="7:60"), "flows[0].deadline: '7:60' is not a time HH:MM", id="deadline-7:60"),
    pytest.param(flow(deadline="1h30"), "flows[0].deadline: '1h30' is not a time HH:MM", id="deadline-1h30"),
    pytest.param(flow(deadline=True), "flows[0].deadline: True is not a time HH:MM", id="deadline-bool"),
    pytest.param(
        flow({"name": "a", "deadline": "24:00"}),
        "flows[0].pipelines[0].deadline: '24:00' is not a time HH:MM",
        id="deadline-on-pipeline",
    ),
    pytest.param(flow(deadline=yaml_value("1:30")), f"flows[0].deadline: 90 {QUOTE_HINT}", id="deadline-unquoted-1:30"),
    pytest.param(
        doc(defaults={"deadline": yaml_value("23:45")}),
        f"defaults.deadline: 1425 {QUOTE_HINT}",
        id="deadline-unquoted-23:45",
    ),
    # unknown keys, with a suggestion when one is close
    pytest.param(doc(flow=[]), "flow: unknown key (did you mean 'flows'?)", id="top-key-flow"),
    pytest.param(doc(timezon="UTC"), "timezon: unknown key (did you mean 'timezone'?)", id="top-key-timezon"),
    pytest.param(
        doc(owner="me"),
        "owner: unknown key (allowed: timezone, source, storage, defaults, flows, alerts)",
        id="top-key-far",
    ),
    pytest.param(flow(deadlines="01:30"), "flows[0].deadlines: unknown key (did you mean 'deadline'?)", id="flow-key"),
    pytest.param(
        flow({"name": "a", "depend_on": ["b"]}, "b"),
        "flows[0].pipelines[0].depend_on: unknown key (did you mean 'depends_on'?)",
        id="pipeline-key",
    ),
    pytest.param(
        flow({"name": "a", "ko_when": "any"}),
        "flows[0].pipelines[0].ko_when: unknown key (allowed: name, depends_on, schedule, deadline, duration)",
        id="pipeline-key-flow-only",
    ),
    pytest.param(
        flow(duration={"slow_factr": 3}),
        "flows[0].duration.slow_factr: unknown key (did you mean 'slow_factor'?)",
        id="duration-key",
    ),
    pytest.param(
        doc(defaults={"order": "sequential"}),
        "defaults.order: unknown key (allowed: schedule, deadline, duration, day_starts_at)",
        id="defaults-key",
    ),
    pytest.param(
        doc(storage={"root": "x", "path": "y"}),
        "storage.path: unknown key (allowed: root, catalog, schema)",
        id="storage-key",
    ),
    pytest.param(
        doc(source={"format": "csv", "paths": "x"}),
        "source.paths: unknown key (did you mean 'path'?)",
        id="source-key",
    ),
    # schedules
    pytest.param(flow(schedule="weekly:xyz"), f"flows[0].schedule: 'weekly:xyz' {SCHEDULE_HINT}", id="weekly:xyz"),
    pytest.param(flow(schedule="weekly:"), f"flows[0].schedule: 'weekly:' {SCHEDULE_HINT}", id="weekly-empty"),
    pytest.param(flow(schedule="monthly:32"), f"flows[0].schedule: 'monthly:32' {SCHEDULE_HINT}", id="monthly:32"),
    pytest.param(flow(schedule="monthly:0"), f"flows[0].schedule: 'monthly:0' {SCHEDULE_HINT}", id="monthly:0"),
    pytest.param(flow(schedule="hourly"), f"flows[0].schedule: 'hourly' {SCHEDULE_HINT}", id="hourly"),
    pytest.param(flow(schedule="daily:1"), f"flows[0].schedule: 'daily:1' {SCHEDULE_HINT}", id="daily-with-arg"),
    pytest.param(flow(schedule=1), f"flows[0].schedule: 1 {SCHEDULE_HINT}", id="schedule-number"),
    pytest.param(
        flow({"name": "a", "schedule": "weekly:mon,funday"}),
        f"flows[0].pipelines[0].schedule: 'weekly:mon,funday' {SCHEDULE_HINT}",
        id="schedule-on-pipeline",
    ),
    # timezone
    pytest.param(
        doc(timezone="Europe/Pariss"),
        "timezone: 'Europe/Pariss' is not an IANA time zone (e.g. Europe/Paris)",
        id="timezone-typo",
    ),
    pytest.param(
        doc(timezone="Europe"), "timezone: 'Europe' is not an IANA time zone (e.g. Europe/Paris)", id="timezone-folder"
    ),
    pytest.param(
        doc(timezone="../etc"), "timezone: '../etc' is not an IANA time zone (e.g. Europe/Paris)", id="timezone-path"
    ),
    pytest.param(doc(timezone=""), "timezone: '' is not a non-empty string", id="timezone-empty"),
    # source
    pytest.param(
        doc(source={"format": "parquet", "path": "x"}),
        "source.format: 'parquet' is not one of adf_diagnostic | log_analytics | adf_rest_api | csv | databricks_jobs",
        id="source-format",
    ),
    pytest.param(
        doc(source={"path": "x"}),
        "source.format: None is not one of adf_diagnostic | log_analytics | adf_rest_api | csv | databricks_jobs",
        id="source-format-missing",
    ),
    pytest.param(
        source(format="adf_diagnostic", delimiter=","),
        "source.delimiter: only applies to format 'csv', not 'adf_diagnostic'",
        id="csv-key-on-adf-source",
    ),
    pytest.param(
        source(format="log_analytics", columns={"status": "S"}),
        "source.columns: only applies to format 'csv', not 'log_analytics'",
        id="csv-columns-on-log-analytics",
    ),
    pytest.param(doc(source={"format": "csv"}), "source.path: None is not a non-empty string", id="source-path"),
    pytest.param(without("source"), "source: missing (format and path of the run logs)", id="missing-source"),
    pytest.param(
        without("storage"),
        "storage: missing (root folder of the Delta tables, or catalog and schema)",
        id="missing-storage",
    ),
    pytest.param(
        doc(storage={"root": "x", "catalog": "main", "schema": "s"}),
        "storage: give either root (a folder) or catalog and schema (Unity Catalog)",
        id="storage-root-and-catalog",
    ),
    pytest.param(doc(storage={"catalog": "main"}), "storage: catalog and schema go together", id="catalog-alone"),
    pytest.param(
        doc(storage={"catalog": "main", "schema": "x; DROP TABLE y"}),
        "storage.schema: 'x; DROP TABLE y' is not a plain identifier (letters, digits, _)",
        id="schema-injection",
    ),
    pytest.param(
        doc(storage={"catalog": "ma`in", "schema": "s"}),
        "storage.catalog: 'ma`in' is not a plain identifier (letters, digits, _)",
        id="catalog-backtick",
    ),
    pytest.param(doc(storage={"root": " "}), "storage.root: ' ' is not a non-empty string", id="storage-root-blank"),
    # flows and pipelines
    pytest.param(doc(flows=[]), "flows: [] is not a non-empty list of flows", id="empty-flows"),
    pytest.param(without("flows"), "flows: None is not a non-empty list of flows", id="missing-flows"),
    pytest.param(doc(flows={"name": "F"}), "flows: {'name': 'F'} is not a non-empty list of flows", id="flows-mapping"),
    pytest.param(
        flows({"name": "F", "pipelines": []}),
        "flows[0].pipelines: [] is not a non-empty list of pipelines",
        id="empty-pipelines",
    ),
    pytest.param(flows({"pipelines": ["a"]}), "flows[0].name: None is not a non-empty string", id="flow-without-name"),
    pytest.param(
        flow({"schedule": "daily"}),
        "flows[0].pipelines[0].name: None is not a non-empty string",
        id="pipeline-without-name",
    ),
    pytest.param(flow(ko_when="most"), "flows[0].ko_when: 'most' is not one of all | any", id="ko_when"),
    pytest.param(flow(order="parallel"), "flows[0].order: 'parallel' is not one of none | sequential", id="order"),
    pytest.param(
        flows({"name": "A", "pipelines": ["a"]}, {"name": "B", "pipelines": ["b", "a"]}),
        "flows[1].pipelines[1].name: 'a' is already configured at flows[0].pipelines[0]",
        id="pipeline-in-two-flows",
    ),
    pytest.param(
        flow("a", "a"),
        "flows[0].pipelines[1].name: 'a' is already configured at flows[0].pipelines[0]",
        id="pipeline-twice-in-a-flow",
    ),
    pytest.param(
        flows({"name": "F", "pipelines": ["a"]}, {"name": "F", "pipelines": ["b"]}),
        "flows[1].name: 'F' is already the name of another flow",
        id="duplicate-flow-names",
    ),
    pytest.param(
        flows({"name": "UNASSIGNED", "pipelines": ["a"]}),
        "flows[0].name: 'UNASSIGNED' is reserved for pipelines that are in no flow",
        id="reserved-flow-name",
    ),
    # dependencies
    pytest.param(
        flow("a", {"name": "b", "depends_on": ["ghost"]}),
        "flows[0].pipelines[1].depends_on: 'ghost' is not a configured pipeline",
        id="depends-on-unknown",
    ),
    pytest.param(
        flow({"name": "a", "depends_on": ["a"]}),
        "flows[0].pipelines[0].depends_on: 'a' is the pipeline itself",
        id="depends-on-itself",
    ),
    pytest.param(
        flow({"name": "a", "depends_on": "b"}, "b"),
        "flows[0].pipelines[0].depends_on: 'b' is not a list of pipeline names",
        id="depends-on-not-a-list",
    ),
    pytest.param(
        flow({"name": "a", "depends_on": ["b"]}, "b", order="sequential"),
        "flows[0].pipelines[0].depends_on: cycle a -> b -> a",
        id="cycle-through-sequential-order",
    ),
    pytest.param(
        flows(
            {"name": "A", "pipelines": [{"name": "a", "depends_on": ["b"]}]},
            {"name": "B", "pipelines": [{"name": "b", "depends_on": ["c"]}, {"name": "c", "depends_on": ["a"]}]},
        ),
        "flows[0].pipelines[0].depends_on: cycle a -> b -> c -> a",
        id="cycle-of-three-across-flows",
    ),
    # durations
    pytest.param(
        doc(defaults={"duration": {"min_samples": 40}}),
        "defaults.duration.min_samples: 40 exceeds baseline_days (30)",
        id="min_samples-over-baseline",
    ),
    pytest.param(
        flow({"name": "a", "duration": {"baseline_days": 5}}),
        "flows[0].pipelines[0].duration.min_samples: 7 exceeds baseline_days (5)",
        id="baseline-below-inherited-min_samples",
    ),
    pytest.param(
        flow(duration={"baseline_days": -1}),
        "flows[0].duration.baseline_days: -1 is not a whole number >= 1",
        id="baseline-negative",
    ),
    pytest.param(
        flow(duration={"min_samples": 0}), "flows[0].duration.min_samples: 0 is not a whole number >= 1", id="zero"
    ),
    pytest.param(
        flow(duration={"baseline_days": 7.5}),
        "flows[0].duration.baseline_days: 7.5 is not a whole number >= 1",
        id="baseline-fraction",
    ),
    pytest.param(
        flow(duration={"min_samples": True}),
        "flows[0].duration.min_samples: True is not a whole number >= 1",
        id="min_samples-bool",
    ),
    pytest.param(
        flow(duration={"slow_factor": -0.5}), "flows[0].duration.slow_factor: -0.5 is not a number >= 0", id="negative"
    ),
    pytest.param(
        flow(duration={"fast_factor": yaml_value("yes")}),
        "flows[0].duration.fast_factor: True is not a number >= 0",
        id="factor-bool",
    ),
    pytest.param(
        flow(duration={"slow_min_delta_minutes": "5"}),
        "flows[0].duration.slow_min_delta_minutes: '5' is not a number >= 0",
        id="number-as-text",
    ),
    # not a mapping
    pytest.param(["a"], "(top level): ['a'] is not a mapping", id="top-level-list"),
    pytest.param(None, "(top level): None is not a mapping", id="empty-document"),
    pytest.param(doc(flows=["Telephonie"]), "flows[0]: 'Telephonie' is not a mapping", id="flow-as-text"),
    pytest.param(flow(42), "flows[0].pipelines[0]: 42 is not a mapping", id="pipeline-as-number"),
    pytest.param(flow(duration=[30]), "flows[0].duration: [30] is not a mapping", id="duration-list"),
    pytest.param(flow(duration=None), "flows[0].duration: None is not a mapping", id="duration-null"),
    pytest.param(doc(source="./logs"), "source: './logs' is not a mapping", id="source-text"),
    pytest.param(doc(storage="./lake"), "storage: './lake' is not a mapping", id="storage-text"),
    pytest.param(doc(defaults="daily"), "defaults: 'daily' is not a mapping", id="defaults-text"),
    # CSV options
    pytest.param(source(delimiter=";;"), "source.delimiter: ';;' is not a single character", id="delimiter-two"),
    pytest.param(source(delimiter=9), "source.delimiter: 9 is not a single character", id="delimiter-number"),
    pytest.param(
        source(timestamp_format=""), "source.timestamp_format: '' is not a non-empty string", id="timestamp-empty"
    ),
    pytest.param(
        source(timestamp_format="YYYY-MM-dd"),
        "source.timestamp_format: 'YYYY-MM-dd' is not a Spark datetime pattern: 'Y' is not a pattern letter"
        " Spark can parse with (put literal text in quotes, e.g. 'T')",
        id="timestamp-week-year",
    ),
    pytest.param(
        source(timestamp_format="dd/MM/yyyy 'at HH:mm"),
        "source.timestamp_format: \"dd/MM/yyyy 'at HH:mm\" is not a Spark datetime pattern: a quote ' is not closed",
        id="timestamp-quote",
    ),
    pytest.param(source(columns=["Status"]), "source.columns: ['Status'] is not a mapping", id="columns-list"),
    pytest.param(
        source(columns={"pipeline": "Name"}),
        "source.columns.pipeline: unknown key (did you mean 'pipeline_name'?)",
        id="column-key-unknown",
    ),
    pytest.param(
        source(columns={"status": ""}), "source.columns.status: '' is not a non-empty string", id="column-empty"
    ),
]


@pytest.mark.parametrize(("raw", "message"), ERROR_CASES)
def test_config_error_names_key_and_value(raw, message):
    assert error_of(raw) == message


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize("key", ["slow_factor", "fast_factor", "slow_min_delta_minutes", "fast_min_baseline_minutes"])
def test_nan_duration_is_rejected(key):
    assert error_of(flow(duration={key: yaml_value(".nan")})) == f"flows[0].duration.{key}: nan is not a number >= 0"


# --- loading files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline_yaml", "expected"),
    [
        pytest.param('"01:30"', time(1, 30), id="quoted"),
        # PyYAML's sexagesimal ints need a first digit 1-9, so a leading zero keeps the text.
        pytest.param("01:30", time(1, 30), id="unquoted-leading-zero-stays-text"),
        pytest.param("null", None, id="null"),
    ],
)
def test_load_deadline(tmp_path, deadline_yaml, expected):
    file = write(tmp_path, GOOD_YAML + f"    defaults: {{deadline: {deadline_yaml}}}\n")
    assert load_config(file).defaults.deadline == expected


@pytest.mark.parametrize(
    ("deadline_yaml", "read_as"),
    [
        pytest.param("1:30", 90, id="1:30"),
        pytest.param("10:30", 630, id="10:30"),
        pytest.param("23:45", 1425, id="23:45"),
    ],
)
def test_load_unquoted_deadline_says_to_quote_it(tmp_path, deadline_yaml, read_as):
    file = write(tmp_path, GOOD_YAML + f"    defaults: {{deadline: {deadline_yaml}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert str(caught.value) == f"defaults.deadline: {read_as} {QUOTE_HINT}"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param(
            """\
            storage: {root: ./lake}
            flows:
              - name: F
               pipelines: [a]
            """,
            "line 4, column 4",
            id="bad-indentation",
        ),
        pytest.param("storage: {root: ./lake\nflows: []\n", "line 2, column 6", id="unclosed-brace"),
        pytest.param("timezone: 'Europe/Paris\n", "line 2, column 1", id="unclosed-quote"),
        pytest.param("source:\n\tformat: csv\n", "line 2, column 1", id="tab-indent"),
    ],
)
def test_invalid_yaml_names_file_and_line(tmp_path, text, where):
    file = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert str(caught.value).startswith(f"{file}: not valid YAML at {where}: ")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda tmp: tmp / "missing.yml", "No such file or directory", id="missing"),
        pytest.param(lambda tmp: tmp, "Is a directory", id="directory"),
        pytest.param(lambda tmp: tmp / "missing" / "monitoring.yml", "No such file or directory", id="missing-folder"),
    ],
)
def test_unreadable_file(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: cannot be read ({reason})"


def test_load_accepts_str_path(tmp_path):
    assert [f.name for f in load_config(str(write(tmp_path, GOOD_YAML))).flows] == ["F"]


def test_empty_file_is_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match=r"^\(top level\): None is not a mapping$"):
        load_config(write(tmp_path, ""))


def test_non_utf8_file_is_a_config_error(tmp_path):
    file = tmp_path / "monitoring.yml"
    file.write_bytes(textwrap.dedent(GOOD_YAML).replace("name: F", "name: Téléphonie").encode("latin-1"))
    with pytest.raises(ConfigError, match="^" + re.escape(f"{file}: ")):
        load_config(file)


def test_duplicate_yaml_key_is_rejected(tmp_path):
    file = write(tmp_path, GOOD_YAML + "    defaults: {deadline: '01:30', deadline: '06:00'}\n")
    with pytest.raises(ConfigError, match="deadline"):
        load_config(file)


# --- CSV source options -----------------------------------------------------------------------------


DEFAULT_COLUMNS = dict(CsvOptions().columns)


@pytest.mark.parametrize(
    ("keys", "delimiter", "timestamp_format", "columns"),
    [
        pytest.param({}, ";", "dd/MM/yyyy HH:mm:ss", DEFAULT_COLUMNS, id="defaults"),
        pytest.param({"delimiter": ","}, ",", "dd/MM/yyyy HH:mm:ss", DEFAULT_COLUMNS, id="delimiter"),
        pytest.param({"delimiter": "\t"}, "\t", "dd/MM/yyyy HH:mm:ss", DEFAULT_COLUMNS, id="tab"),
        pytest.param(
            {"timestamp_format": "yyyy-MM-dd HH:mm"}, ";", "yyyy-MM-dd HH:mm", DEFAULT_COLUMNS, id="timestamp_format"
        ),
        pytest.param(
            {"columns": {"status": "RunStatus", "error_message": " Message "}},
            ";",
            "dd/MM/yyyy HH:mm:ss",
            DEFAULT_COLUMNS | {"status": "RunStatus", "error_message": "Message"},
            id="columns-merged-with-defaults",
        ),
    ],
)
def test_csv_options(keys, delimiter, timestamp_format, columns):
    csv = parse_config(source(**keys)).source.csv
    assert (csv.delimiter, csv.timestamp_format, dict(csv.columns)) == (delimiter, timestamp_format, columns)


def test_csv_default_columns():
    assert DEFAULT_COLUMNS == {
        "pipeline_name": "PipelineName",
        "start_time": "StartTime",
        "status": "Status",
        "end_time": "EndTime",
        "duration": "Duration",
        "error_message": "Error_msg",
    }


def test_csv_columns_override_does_not_change_the_defaults():
    parse_config(source(columns={"status": "RunStatus"}))
    assert CsvOptions().columns["status"] == "Status"


# --- Config.with_overrides --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "logs", "lakehouse"),
    [
        pytest.param({}, "./logs", "./lakehouse", id="none"),
        pytest.param({"logs": "/mnt/logs"}, "/mnt/logs", "./lakehouse", id="logs"),
        pytest.param({"lakehouse": "/mnt/lake"}, "./logs", "/mnt/lake", id="lakehouse"),
        pytest.param({"logs": "/mnt/logs", "lakehouse": "/mnt/lake"}, "/mnt/logs", "/mnt/lake", id="both"),
        pytest.param({"logs": None, "lakehouse": None}, "./logs", "./lakehouse", id="explicit-none"),
    ],
)
def test_with_overrides(overrides, logs, lakehouse):
    config = parse_config(doc(source={"format": "csv", "path": "./logs", "delimiter": ","}))
    changed = config.with_overrides(**overrides)
    assert (changed.source.path, changed.storage.root) == (logs, lakehouse)
    assert (changed.source.format, changed.source.csv.delimiter, changed.flows) == ("csv", ",", config.flows)
    assert (config.source.path, config.storage.root) == ("./logs", "./lakehouse"), "the original is unchanged"


# --- Schedule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "days", "canonical"),
    [
        pytest.param("daily", "daily", (), "daily", id="daily"),
        pytest.param(" Daily ", "daily", (), "daily", id="case-and-spaces"),
        pytest.param("weekdays", "weekdays", (), "weekdays", id="weekdays"),
        pytest.param("on_demand", "on_demand", (), "on_demand", id="on_demand"),
        pytest.param("weekly:thu,mon", "weekly", (1, 4), "weekly:mon,thu", id="weekly-sorted"),
        pytest.param("weekly: sun , mon, sun", "weekly", (1, 7), "weekly:mon,sun", id="weekly-deduplicated"),
        pytest.param("WEEKLY:FRI", "weekly", (5,), "weekly:fri", id="weekly-upper-case"),
        pytest.param("monthly:1", "monthly", (1,), "monthly:1", id="monthly"),
        pytest.param("monthly:15,01,31", "monthly", (1, 15, 31), "monthly:1,15,31", id="monthly-sorted"),
        pytest.param("monthly:Last, 15", "monthly", (0, 15), "monthly:last,15", id="monthly-last"),
    ],
)
def test_schedule_parse_and_text(text, kind, days, canonical):
    schedule = Schedule.parse(text, "x.schedule")
    assert (schedule.kind, schedule.days, schedule.text) == (kind, days, canonical)
    assert Schedule.parse(schedule.text, "x.schedule") == schedule, "text round-trips"


@pytest.mark.parametrize(
    "text", ["weekly:xyz", "monthly:32", "monthly:1-5", "monthly:0", "monthly:first", "hourly", "", None]
)
def test_schedule_parse_error_names_path(text):
    with pytest.raises(ConfigError) as caught:
        Schedule.parse(text, "flows[2].pipelines[19].schedule")
    assert str(caught.value) == f"flows[2].pipelines[19].schedule: {text!r} {SCHEDULE_HINT}"


# --- CLI --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_spark(monkeypatch):
    """A CLI test that reaches Spark is a failing test, not a slow one."""

    def refuse(*_args: Any, **_kwargs: Any):
        raise AssertionError("Spark must not start in test_config.py")

    monkeypatch.setattr("monitoring.spark.get_spark", refuse)


@pytest.fixture
def good(tmp_path) -> str:
    return str(write(tmp_path, GOOD_YAML, "good.yml"))


@pytest.fixture
def bad(tmp_path) -> str:
    return str(write(tmp_path, GOOD_YAML.replace("name: F", "name: F\n        deadline: '25:00'"), "bad.yml"))


def run_cli(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_validate_example_prints_the_flows(capsys):
    code, out, err = run_cli(capsys, "validate-config", str(EXAMPLE))
    assert (code, err) == (0, [])
    assert out[0] == f"OK {EXAMPLE}: timezone Europe/Paris, source adf_diagnostic"
    expected = [
        "  Telephonie: 2 pipeline(s), ko_when all, order none",
        "     1. telephonie_master (daily, due 01:30)",
        "     2. telephonie_ods_cti_export_incremental (daily, due 01:30)",
        "  Solaris: 4 pipeline(s), ko_when all, order sequential",
        "     1. solaris_clean_sources (daily, due end of day)",
        "     2. solaris_copy_lds_table_from_lz (daily, due end of day, after solaris_clean_sources)",
        "  Sitecom: 20 pipeline(s), ko_when all, order none",
        "    10. SitecomHealthClaimsSecret (daily, due end of day)",
        "    20. accounting_cube_monthly_master (monthly:1, due end of day)",
    ]
    assert [line for line in out if line in expected] == expected
    alerts = [
        "  alerts: email via smtp.office365.com:587 (starttls) to 1 recipient(s); teams webhook; "
        "quiet sat, sun, 2025-12-25; lookback 1 day(s)",
        "    digest -> email, not before 06:30",
        "    on_change KO, WARNING -> email, teams, ignoring UserError, SLOW, FAST",
        "    streak 3 days KO -> email, teams, escalating to 1 more recipient(s)",
        "    overrides: flow Sitecom, pipeline accounting_cube_monthly_master",
    ]
    assert out[-len(alerts) :] == alerts
    assert len(out) == 1 + 4 + 28 + len(alerts)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        pytest.param(
            GOOD_YAML.replace("name: F", "name: F\n        deadline: '25:00'"),
            "flows[0].deadline: '25:00' is not a time HH:MM",
            id="bad-deadline",
        ),
        pytest.param(
            GOOD_YAML.replace("name: F", "name: F\n        deadline: 1:30"),
            f"flows[0].deadline: 90 {QUOTE_HINT}",
            id="unquoted-deadline",
        ),
        pytest.param(GOOD_YAML + "    flow: []\n", "flow: unknown key (did you mean 'flows'?)", id="unknown-key"),
        pytest.param(
            GOOD_YAML.replace("[a, b]", "[a, {name: b, depends_on: [c]}]"),
            "flows[0].pipelines[1].depends_on: 'c' is not a configured pipeline",
            id="unknown-dependency",
        ),
        pytest.param(
            GOOD_YAML.replace("    storage: {root: ./lakehouse}\n", ""),
            "storage: missing (root folder of the Delta tables, or catalog and schema)",
            id="missing-storage",
        ),
    ],
)
def test_validate_bad_config_is_one_error_line(tmp_path, capsys, yaml_text, message):
    code, out, err = run_cli(capsys, "validate-config", str(write(tmp_path, yaml_text)))
    assert (code, out, err) == (2, [], [f"error: {message}"])


@pytest.mark.parametrize(
    ("make", "suffix"),
    [
        pytest.param(lambda tmp: tmp / "nope.yml", ": cannot be read (No such file or directory)", id="missing"),
        pytest.param(
            lambda tmp: write(tmp, "flows: [\n"),
            ": not valid YAML at line 2, column 1: expected the node content, but found '<stream end>'",
            id="invalid-yaml",
        ),
    ],
)
def test_validate_unreadable_file(tmp_path, capsys, make, suffix):
    path = make(tmp_path)
    code, _out, err = run_cli(capsys, "validate-config", str(path))
    assert (code, err) == (2, [f"error: {path}{suffix}"])


RUN_USAGE_CASES = [
    pytest.param(["--from", "2025-04-01"], "error: --from and --to go together", id="from-without-to"),
    pytest.param(["--to", "2025-04-01"], "error: --from and --to go together", id="to-without-from"),
    pytest.param(
        ["--date", "2025-04-01", "--from", "2025-04-01"],
        "error: --date cannot be combined with --from/--to",
        id="date-with-from",
    ),
    pytest.param(
        ["--date", "2025-04-01", "--from", "2025-04-01", "--to", "2025-04-02"],
        "error: --date cannot be combined with --from/--to",
        id="date-with-range",
    ),
    pytest.param(
        ["--from", "2025-04-05", "--to", "2025-04-01"],
        "error: --from 2025-04-05 is after --to 2025-04-01",
        id="from-after-to",
    ),
    pytest.param(
        ["--as-of", "notatime"],
        "error: --as-of: 'notatime' is not a timestamp (e.g. 2025-04-08T07:00 or 2025-04-08T05:00Z)",
        id="as-of-not-a-time",
    ),
]


@pytest.mark.parametrize(("extra", "line"), RUN_USAGE_CASES)
def test_run_bad_arguments_exit_2_before_spark(capsys, good, extra, line):
    code, out, err = run_cli(capsys, "run", "--config", good, *extra)
    assert (code, out, err) == (2, [], [line])


def test_run_bad_config_exits_2_before_spark(capsys, bad):
    code, out, err = run_cli(capsys, "run", "--config", bad, "--date", "2025-04-01")
    assert (code, out, err) == (2, [], ["error: flows[0].deadline: '25:00' is not a time HH:MM"])


def test_run_bad_config_is_reported_before_bad_arguments(capsys, bad):
    code, _out, err = run_cli(capsys, "run", "--config", bad, "--from", "2025-04-01")
    assert (code, err) == (2, ["error: flows[0].deadline: '25:00' is not a time HH:MM"])


def test_notify_without_alerts_section_does_nothing_and_starts_no_spark(capsys, good):
    code, out, err = run_cli(capsys, "notify", "--config", good, "--date", "2025-04-08")
    assert (code, out, err) == (
        0,
        ["No alerts configured (no `alerts:` section in the configuration): nothing to send."],
        [],
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(["notify"], "the following arguments are required: --config", id="without-config"),
        pytest.param(["notify", "--config", "x.yml", "--date", "08/04/2025"], "is not a date YYYY-MM-DD", id="date"),
        pytest.param(["notify", "--config", "x.yml", "--from", "2025-04-01"], "unrecognized arguments", id="range"),
    ],
)
def test_notify_bad_arguments_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, [])
    assert fragment in err[-1], err


def test_notify_bad_config_exits_2_before_spark(capsys, bad):
    code, out, err = run_cli(capsys, "notify", "--config", bad, "--dry-run")
    assert (code, out, err) == (2, [], ["error: flows[0].deadline: '25:00' is not a time HH:MM"])


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(["frobnicate"], "invalid choice: 'frobnicate'", id="unknown-subcommand"),
        pytest.param([], "the following arguments are required: command", id="no-subcommand"),
        pytest.param(["run"], "the following arguments are required: --config", id="run-without-config"),
        pytest.param(["validate-config"], "the following arguments are required: config", id="validate-without-file"),
        pytest.param(["run", "--config", "x.yml", "--date", "2025-13-01"], "is not a date YYYY-MM-DD", id="bad-date"),
        pytest.param(
            ["run", "--config", "x.yml", "--lookback-days", "-1"], "is not a whole number >= 0", id="negative-lookback"
        ),
        pytest.param(["demo", "--days", "x"], "is not a whole number >= 0", id="demo-days-not-a-number"),
    ],
)
def test_argparse_errors_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, [])
    assert fragment in err[-1], err


def test_help_exits_0(capsys):
    code, out, _err = run_cli(capsys, "--help")
    assert code == 0
    assert any("validate-config" in line for line in out)


def test_long_error_stays_on_one_line(tmp_path, capsys):
    first, second = "sitecom_external_novagile_competence_master", "sitecom_external_novagile_mail_master"
    file = write(
        tmp_path,
        GOOD_YAML.replace(
            "[a, b]", f"[{{name: {first}, depends_on: [{second}]}}, {{name: {second}, depends_on: [{first}]}}]"
        ),
    )
    code, _out, err = run_cli(capsys, "validate-config", str(file))
    assert (code, err) == (2, [f"error: flows[0].pipelines[0].depends_on: cycle {first} -> {second} -> {first}"])


def test_validate_prints_names_verbatim(tmp_path, capsys):
    file = write(tmp_path, GOOD_YAML.replace("name: F", "name: 'Billing [legacy]'"))
    code, out, _err = run_cli(capsys, "validate-config", str(file))
    assert code == 0
    assert out[1] == "  Billing [legacy]: 2 pipeline(s), ko_when all, order none"


def test_unity_catalog_storage_and_overrides():
    config = parse_config(doc(storage={"catalog": "main", "schema": "pipeline_monitoring"}))
    assert (config.storage.root, config.storage.catalog, config.storage.schema) == (
        None,
        "main",
        "pipeline_monitoring",
    )
    moved = config.with_overrides(schema="dev_me", source_format="log_analytics", timezone="UTC")
    assert (moved.storage.catalog, moved.storage.schema, moved.source.format, moved.timezone) == (
        "main",
        "dev_me",
        "log_analytics",
        "UTC",
    )
    assert config.with_overrides(lakehouse="/tmp/lake").storage.root == "/tmp/lake"
    with pytest.raises(ConfigError, match=r"storage.schema: 'a.b' is not a plain identifier"):
        config.with_overrides(schema="a.b")
    with pytest.raises(ConfigError, match=r"timezone: 'Mars/Base' is not an IANA time zone"):
        config.with_overrides(timezone="Mars/Base")


def test_databricks_jobs_source_needs_no_path():
    config = parse_config(doc(source={"format": "databricks_jobs", "lookback_hours": 48}))
    assert (config.source.format, config.source.lookback_hours, config.source.path) == (
        "databricks_jobs",
        48,
        "databricks-jobs",
    )
    only_some = r"source.lookback_hours: only applies to formats 'adf_diagnostic' and 'databricks_jobs', not 'csv'"
    with pytest.raises(ConfigError, match=only_some):
        parse_config(doc(source={"format": "csv", "path": "x", "lookback_hours": 48}))
    diagnostic = parse_config(doc(source={"format": "adf_diagnostic", "path": "x", "lookback_hours": 24}))
    assert diagnostic.source.lookback_hours == 24
    with pytest.raises(ConfigError, match=r"source.lookback_hours: 0 is not a whole number >= 1"):
        parse_config(doc(source={"format": "databricks_jobs", "lookback_hours": 0}))
