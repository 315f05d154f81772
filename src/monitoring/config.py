"""`monitoring.yml`, parsed once into immutable, validated objects.

Every error names the key path and the bad value (``flows[1].deadline: '25:00' is not a time HH:MM``);
unknown keys are errors too, so a typo cannot silently disable a rule. Inheritance is resolved here:
``defaults`` -> flow -> pipeline, so the rest of the code sees one fully specified rule per pipeline.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

SOURCE_FORMATS = ("adf_diagnostic", "log_analytics", "adf_rest_api", "csv", "databricks_jobs")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNASSIGNED_FLOW = "UNASSIGNED"


class ConfigError(ValueError):
    """A configuration problem, worded for the person who wrote the file."""


def _fail(path: str, value: Any, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {value!r} {problem}")


@dataclass(frozen=True)
class Schedule:
    """When a pipeline is expected: ``kind`` plus the ISO weekdays (1=Mon) or days of month it applies to."""

    kind: str  # daily | weekdays | weekly | monthly | on_demand
    days: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        if self.kind == "weekly":
            return "weekly:" + ",".join(WEEKDAYS[d - 1] for d in self.days)
        if self.kind == "monthly":
            return "monthly:" + ",".join(str(d) for d in self.days)
        return self.kind

    @staticmethod
    def parse(text: Any, path: str) -> Schedule:
        if not isinstance(text, str):
            raise _fail(path, text, "is not a schedule (daily | weekdays | weekly:mon,thu | monthly:1 | on_demand)")
        value = text.strip().lower()
        if value in ("daily", "weekdays", "on_demand"):
            return Schedule(value)
        kind, _, arg = value.partition(":")
        items = [item.strip() for item in arg.split(",") if item.strip()]
        if kind == "weekly" and items and all(item in WEEKDAYS for item in items):
            return Schedule("weekly", tuple(sorted({WEEKDAYS.index(item) + 1 for item in items})))
        if kind == "monthly" and items and all(re.fullmatch(r"\d{1,2}", i) and 1 <= int(i) <= 31 for i in items):
            return Schedule("monthly", tuple(sorted({int(item) for item in items})))
        raise _fail(path, text, "is not a schedule (daily | weekdays | weekly:mon,thu | monthly:1 | on_demand)")


@dataclass(frozen=True)
class DurationRules:
    """How a successful run's duration is compared with its recent history (SLOW / FAST)."""

    baseline_days: int = 30
    min_samples: int = 7
    slow_factor: float = 2.0
    slow_min_delta_minutes: float = 5.0
    fast_factor: float = 0.2
    fast_min_baseline_minutes: float = 10.0


@dataclass(frozen=True)
class PipelineRule:
    """A pipeline as the rules see it, with every inherited setting resolved."""

    name: str
    flow: str
    execution_order: int  # 1-based position in its flow
    schedule: Schedule
    deadline: time | None
    duration: DurationRules
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    name: str
    ko_when: str  # all | any
    order: str  # none | sequential
    pipelines: tuple[PipelineRule, ...]


@dataclass(frozen=True)
class CsvOptions:
    """The CSV export's dialect; its times are local times in ``Config.timezone``."""

    delimiter: str = ";"
    timestamp_format: str = "dd/MM/yyyy HH:mm:ss"
    columns: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(
            {
                "pipeline_name": "PipelineName",
                "start_time": "StartTime",
                "status": "Status",
                "end_time": "EndTime",
                "duration": "Duration",
                "error_message": "Error_msg",
            }
        ),
        hash=False,
    )


@dataclass(frozen=True)
class SourceConfig:
    format: str
    path: str  # the log folder; for databricks_jobs, only a label (the workspace comes from the SDK's auth)
    csv: CsvOptions = field(default_factory=CsvOptions)
    lookback_hours: int = 72  # databricks_jobs: runs started this long ago are listed again each night


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


@dataclass(frozen=True)
class StorageConfig:
    """Either a folder of path-based Delta tables (``root``) or a Unity Catalog ``catalog.schema``."""

    root: str | None = None
    catalog: str | None = None
    schema: str | None = None

    def __post_init__(self) -> None:
        if (self.root is None) == (self.catalog is None):
            raise ConfigError("storage: give either root (a folder) or catalog and schema (Unity Catalog)")
        if (self.catalog is None) != (self.schema is None):
            raise ConfigError("storage: catalog and schema go together")
        for key in ("catalog", "schema"):
            value = getattr(self, key)
            # Identifiers end up in SQL: only plain names, never quotes, dots or spaces.
            if value is not None and not IDENTIFIER.fullmatch(value):
                raise _fail(f"storage.{key}", value, "is not a plain identifier (letters, digits, _)")


@dataclass(frozen=True)
class Config:
    timezone: str
    source: SourceConfig
    storage: StorageConfig
    flows: tuple[Flow, ...]
    defaults: PipelineRule  # the rule an unconfigured (UNASSIGNED) pipeline gets

    @property
    def pipelines(self) -> tuple[PipelineRule, ...]:
        return tuple(p for flow in self.flows for p in flow.pipelines)

    def with_overrides(
        self,
        logs: str | None = None,
        lakehouse: str | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        source_format: str | None = None,
        timezone: str | None = None,
    ) -> Config:
        """The same configuration with command-line or job-parameter overrides, validated again."""
        source = self.source
        if logs:
            source = replace(source, path=logs)
        if source_format:
            if source_format not in SOURCE_FORMATS:
                raise _fail("source.format", source_format, f"is not one of {' | '.join(SOURCE_FORMATS)}")
            source = replace(source, format=source_format)
        storage = self.storage
        if lakehouse:
            storage = StorageConfig(root=lakehouse)
        elif catalog or schema:
            storage = StorageConfig(catalog=catalog or self.storage.catalog, schema=schema or self.storage.schema)
        if timezone:
            _check_timezone(timezone)
        return replace(self, source=source, storage=storage, timezone=timezone or self.timezone)


# --- parsing ---------------------------------------------------------------------------------------

_OVERRIDE_KEYS = ("schedule", "deadline", "duration")
_TOP_KEYS = ("timezone", "source", "storage", "defaults", "flows")
_FLOW_KEYS = ("name", "pipelines", "ko_when", "order", *_OVERRIDE_KEYS)
_PIPELINE_KEYS = ("name", "depends_on", *_OVERRIDE_KEYS)
_CSV_KEYS = ("delimiter", "timestamp_format", "columns")
_SOURCE_KEYS = ("format", "path", "lookback_hours", *_CSV_KEYS)


def _check_keys(mapping: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in mapping:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (allowed: {', '.join(allowed)})"
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown key{hint}")


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, value, "is not a mapping")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, value, "is not a non-empty string")
    return value.strip()


def _deadline(value: Any, path: str) -> time | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 01:30 as the sexagesimal number 90.
        raise _fail(path, value, 'is not a time HH:MM (write it quoted, e.g. "01:30")')
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if not isinstance(value, str) or not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise _fail(path, value, "is not a time HH:MM")
    return time(int(match[1]), int(match[2]))


def _duration(value: Any, path: str, inherited: DurationRules) -> DurationRules:
    mapping = _mapping(value, path)
    allowed = tuple(f.name for f in fields(DurationRules))
    _check_keys(mapping, allowed, path)
    updates: dict[str, Any] = {}
    for key, raw in mapping.items():
        key_path = f"{path}.{key}"
        if key in ("baseline_days", "min_samples"):
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                raise _fail(key_path, raw, "is not a whole number >= 1")
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < 0:
            raise _fail(key_path, raw, "is not a number >= 0")
        updates[key] = raw
    rules = replace(inherited, **updates)
    if rules.min_samples > rules.baseline_days:
        raise _fail(f"{path}.min_samples", rules.min_samples, f"exceeds baseline_days ({rules.baseline_days})")
    return rules


def _overrides(mapping: Mapping[str, Any], path: str, inherited: PipelineRule) -> PipelineRule:
    rule = inherited
    if "schedule" in mapping:
        rule = replace(rule, schedule=Schedule.parse(mapping["schedule"], f"{path}.schedule"))
    if "deadline" in mapping:
        rule = replace(rule, deadline=_deadline(mapping["deadline"], f"{path}.deadline"))
    if "duration" in mapping:
        rule = replace(rule, duration=_duration(mapping["duration"], f"{path}.duration", rule.duration))
    return rule


def _choice(mapping: Mapping[str, Any], key: str, choices: tuple[str, ...], path: str) -> str:
    value = mapping.get(key, choices[0])
    if value not in choices:
        raise _fail(f"{path}.{key}", value, f"is not one of {' | '.join(choices)}")
    return value


def _flow(raw: Any, path: str, defaults: PipelineRule) -> Flow:
    mapping = _mapping(raw, path)
    _check_keys(mapping, _FLOW_KEYS, path)
    name = _text(mapping.get("name"), f"{path}.name")
    if name == UNASSIGNED_FLOW:
        raise _fail(f"{path}.name", name, "is reserved for pipelines that are in no flow")
    ko_when = _choice(mapping, "ko_when", ("all", "any"), path)
    order = _choice(mapping, "order", ("none", "sequential"), path)
    flow_rule = _overrides(mapping, path, replace(defaults, flow=name))
    entries = mapping.get("pipelines")
    if not isinstance(entries, list) or not entries:
        raise _fail(f"{path}.pipelines", entries, "is not a non-empty list of pipelines")
    pipelines: list[PipelineRule] = []
    for index, entry in enumerate(entries):
        entry_path = f"{path}.pipelines[{index}]"
        entry_map = {"name": entry} if isinstance(entry, str) else _mapping(entry, entry_path)
        _check_keys(entry_map, _PIPELINE_KEYS, entry_path)
        rule = _overrides(entry_map, entry_path, flow_rule)
        depends = entry_map.get("depends_on")
        if depends is None:
            depends_on = (pipelines[-1].name,) if order == "sequential" and pipelines else ()
        elif isinstance(depends, list) and all(isinstance(d, str) and d.strip() for d in depends):
            depends_on = tuple(d.strip() for d in depends)
        else:
            raise _fail(f"{entry_path}.depends_on", depends, "is not a list of pipeline names")
        pipelines.append(
            replace(
                rule,
                name=_text(entry_map.get("name"), f"{entry_path}.name"),
                execution_order=index + 1,
                depends_on=depends_on,
            )
        )
    return Flow(name=name, ko_when=ko_when, order=order, pipelines=tuple(pipelines))


def _check_pipeline_graph(flows: tuple[Flow, ...]) -> None:
    where: dict[str, str] = {}
    for f_index, flow in enumerate(flows):
        for p_index, rule in enumerate(flow.pipelines):
            path = f"flows[{f_index}].pipelines[{p_index}]"
            if rule.name in where:
                raise _fail(f"{path}.name", rule.name, f"is already configured at {where[rule.name]}")
            where[rule.name] = path
    rules = {p.name: p for flow in flows for p in flow.pipelines}
    for name, rule in rules.items():
        for dep in rule.depends_on:
            if dep not in rules:
                raise _fail(f"{where[name]}.depends_on", dep, "is not a configured pipeline")
            if dep == name:
                raise _fail(f"{where[name]}.depends_on", dep, "is the pipeline itself")
    # A cycle would make ORDER fire every night whatever happens.
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*trail[trail.index(name) :], name])
            raise ConfigError(f"{where[name]}.depends_on: cycle {cycle}")
        state[name] = 1
        for dep in rules[name].depends_on:
            visit(dep, [*trail, name])
        state[name] = 2

    for name in rules:
        visit(name, [])


def _source(raw: Any) -> SourceConfig:
    mapping = _mapping(raw, "source")
    _check_keys(mapping, _SOURCE_KEYS, "source")
    fmt = mapping.get("format")
    if fmt not in SOURCE_FORMATS:
        raise _fail("source.format", fmt, f"is not one of {' | '.join(SOURCE_FORMATS)}")
    csv_keys = [key for key in _CSV_KEYS if key in mapping]
    if csv_keys and fmt != "csv":
        raise ConfigError(f"source.{csv_keys[0]}: only applies to format 'csv', not {fmt!r}")
    csv = CsvOptions()
    if "delimiter" in mapping:
        delimiter = mapping["delimiter"]
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise _fail("source.delimiter", delimiter, "is not a single character")
        csv = replace(csv, delimiter=delimiter)
    if "timestamp_format" in mapping:
        csv = replace(csv, timestamp_format=_text(mapping["timestamp_format"], "source.timestamp_format"))
    if "columns" in mapping:
        columns = _mapping(mapping["columns"], "source.columns")
        _check_keys(columns, tuple(csv.columns), "source.columns")
        merged = dict(csv.columns)
        merged.update({k: _text(v, f"source.columns.{k}") for k, v in columns.items()})
        csv = replace(csv, columns=MappingProxyType(merged))
    lookback = mapping.get("lookback_hours", 72)
    if "lookback_hours" in mapping and fmt != "databricks_jobs":
        raise ConfigError(f"source.lookback_hours: only applies to format 'databricks_jobs', not {fmt!r}")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise _fail("source.lookback_hours", lookback, "is not a whole number >= 1")
    path = mapping.get("path", "databricks-jobs") if fmt == "databricks_jobs" else mapping.get("path")
    return SourceConfig(format=fmt, path=_text(path, "source.path"), csv=csv, lookback_hours=lookback)


def _check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("timezone", timezone, "is not an IANA time zone (e.g. Europe/Paris)") from None
    return timezone


def _storage(raw: Any) -> StorageConfig:
    storage = _mapping(raw, "storage")
    _check_keys(storage, ("root", "catalog", "schema"), "storage")
    values = {key: _text(storage[key], f"storage.{key}") for key in ("root", "catalog", "schema") if key in storage}
    return StorageConfig(**values)


def parse_config(raw: Any) -> Config:
    """Validate a loaded YAML document; raises :class:`ConfigError` naming the first bad key."""
    document = _mapping(raw, "(top level)")
    _check_keys(document, _TOP_KEYS, "")
    timezone = _check_timezone(_text(document.get("timezone", "Europe/Paris"), "timezone"))
    if "source" not in document:
        raise ConfigError("source: missing (format and path of the run logs)")
    if "storage" not in document:
        raise ConfigError("storage: missing (root folder of the Delta tables, or catalog and schema)")
    base = PipelineRule(
        name="",
        flow=UNASSIGNED_FLOW,
        execution_order=0,
        schedule=Schedule("daily"),
        deadline=None,
        duration=DurationRules(),
    )
    defaults_raw = document.get("defaults") or {}
    _check_keys(_mapping(defaults_raw, "defaults"), _OVERRIDE_KEYS, "defaults")
    defaults = _overrides(defaults_raw, "defaults", base)
    flows_raw = document.get("flows")
    if not isinstance(flows_raw, list) or not flows_raw:
        raise _fail("flows", flows_raw, "is not a non-empty list of flows")
    flows = tuple(_flow(f, f"flows[{i}]", defaults) for i, f in enumerate(flows_raw))
    names = [flow.name for flow in flows]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise _fail(f"flows[{index}].name", name, "is already the name of another flow")
    _check_pipeline_graph(flows)
    return Config(
        timezone=timezone,
        source=_source(document["source"]),
        storage=_storage(document["storage"]),
        flows=flows,
        defaults=defaults,
    )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice: YAML would silently keep only the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (line {line})", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> Config:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{file}: is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = f": {error.problem}" if getattr(error, "problem", None) else ""
        raise ConfigError(f"{file}: not valid YAML{where}{problem}") from None
    return parse_config(raw)
