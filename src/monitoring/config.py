"""`monitoring.yml`, parsed once into immutable, validated objects.

Every error names the key path and the bad value (``flows[1].deadline: '25:00' is not a time HH:MM``);
unknown keys are errors too, so a typo cannot silently disable a rule. Inheritance is resolved here:
``defaults`` -> flow -> pipeline, so the rest of the code sees one fully specified rule per pipeline.

Why a hand-written parser and not pydantic v2 (strict, extra="forbid", frozen): pydantic would check shapes and
unknown keys, but its messages are its own ("Input should be a valid integer", no "did you mean"), so every
error would need translating back to the wording the tests and users rely on; and most of this module is not
shape checking but inheritance, cross-references (a pipeline in two flows, depends_on cycles, override targets),
secrets that must never be echoed and Spark's datetime-pattern rules, which would move into validators, not
go away. What pydantic does get right is deriving allowed keys from the model: alerts/config.py does that from
its dataclass fields. The checks both parsers share (key paths, "did you mean", the strict YAML reader) are in
:mod:`monitoring.config_parsing`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitoring.config_parsing import (
    ConfigError,
    as_mapping,
    as_text,
    check_keys,
    choice,
    fail,
    read_yaml,
    time_of_day,
)
from monitoring.sources import formats
from monitoring.sources.formats import SOURCE_FORMATS

if TYPE_CHECKING:
    from monitoring.alerts.config import AlertsConfig

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNASSIGNED_FLOW = "UNASSIGNED"


MAX_BASELINE_DAYS = 3660


LAST_DAY_OF_MONTH = 0  # monthly:last: 28, 29, 30 or 31 (monthly:31 is only the months that have a 31st)


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
            return "monthly:" + ",".join("last" if d == LAST_DAY_OF_MONTH else str(d) for d in self.days)
        return self.kind

    def expects(self, day: date) -> bool:
        """Whether a run is expected on ``day`` (the job's ``evaluate.is_expected`` says the same in Spark)."""
        if self.kind == "daily":
            return True
        if self.kind == "weekdays":
            return day.isoweekday() <= 5
        if self.kind == "weekly":
            return day.isoweekday() in self.days
        if self.kind == "monthly":
            is_last = (day + timedelta(days=1)).month != day.month
            return day.day in self.days or (is_last and LAST_DAY_OF_MONTH in self.days)
        return False

    @staticmethod
    def parse(text: Any, path: str) -> Schedule:
        if not isinstance(text, str):
            raise fail(path, text, SCHEDULE_HINT)
        value = text.strip().lower()
        if value in ("daily", "weekdays", "on_demand"):
            return Schedule(value)
        kind, _, arg = value.partition(":")
        items = [item.strip() for item in arg.split(",") if item.strip()]
        if kind == "weekly" and items and all(item in WEEKDAYS for item in items):
            return Schedule("weekly", tuple(sorted({WEEKDAYS.index(item) + 1 for item in items})))
        if kind == "monthly" and items and all(item == "last" or _day_of_month(item) for item in items):
            days = {LAST_DAY_OF_MONTH if item == "last" else int(item) for item in items}
            return Schedule("monthly", tuple(sorted(days)))
        raise fail(path, text, SCHEDULE_HINT)


def clock_moment(day: date, clock: time, timezone: str, day_starts_at: int) -> datetime:
    """The UTC moment within business date ``day``'s span when the local clock shows ``clock``.

    The span runs from ``day``'s midnight plus ``day_starts_at`` minutes to the next midnight plus as many, so
    with -02:00 a "23:30" is the evening before ``day`` and "02:00" is on ``day``. A clock time the clock
    skips (spring forward) is the moment as far after the gap as it was into it (02:30 -> 03:30 summer time);
    a time the clock shows twice (fall back) is its first occurrence. Spark's rules say the same
    (``evaluate.clock_moment_utc``), checked against this by the tests.
    """
    minutes = clock.hour * 60 + clock.minute
    shift = 0
    if day_starts_at < 0 and minutes >= 24 * 60 + day_starts_at:
        shift = -1
    elif day_starts_at > 0 and minutes < day_starts_at:
        shift = 1
    wall = datetime.combine(day + timedelta(days=shift), time(0)) + timedelta(minutes=minutes)
    return _local_to_utc(wall, timezone)


def day_span(day: date, timezone: str, day_starts_at: int) -> tuple[datetime, datetime]:
    """[start, end) of business date ``day`` in UTC: 23 or 25 hours on DST days (boundaries as in clock_moment)."""
    start = datetime.combine(day, time(0)) + timedelta(minutes=day_starts_at)
    return _local_to_utc(start, timezone), _local_to_utc(start + timedelta(days=1), timezone)


def offset_text(minutes: int) -> str:
    """-120 -> '-02:00' (a day_starts_at as written in the config)."""
    return f"{'-' if minutes < 0 else ''}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _local_to_utc(wall: datetime, timezone: str) -> datetime:
    # fold=0: the first of a repeated time; a skipped time keeps the offset before the gap, so it lands after it.
    return wall.replace(tzinfo=ZoneInfo(timezone), fold=0).astimezone(UTC)


SCHEDULE_HINT = "is not a schedule (daily | weekdays | weekly:mon,thu | monthly:1,15,last | on_demand)"


def _day_of_month(text: str) -> bool:
    return re.fullmatch(r"\d{1,2}", text) is not None and 1 <= int(text) <= 31


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
    depends_on: tuple[str, ...] = ()  # as written in the config: checked literally every day
    # order: sequential, for a pipeline without a depends_on: the earlier members of its flow, nearest first.
    # Its predecessor on a day is the nearest of them the schedule expects that day.
    chain: tuple[str, ...] = ()
    day_starts_at: int = 0  # minutes from midnight (-719..719) where the flow's business day starts

    @property
    def baseline_calendar(self) -> str:
        """Which days its baseline counts: 'calendar' (every day) or its schedule's text (the days it expects)."""
        if self.flow == UNASSIGNED_FLOW or self.schedule.kind in ("daily", "on_demand"):
            return CALENDAR_DAYS
        return self.schedule.text

    @property
    def predecessors(self) -> tuple[str, ...]:
        """The pipelines it follows on a day every member is expected (its chain's nearest and its depends_on)."""
        return (*self.depends_on, *self.chain[:1])


CALENDAR_DAYS = "calendar"
MAX_BASELINE_REACH_DAYS = 3660  # a baseline looks back ten years at most, whatever its schedule


@lru_cache(maxsize=256)
def _counted_schedule(calendar: str) -> Schedule | None:
    return None if calendar == CALENDAR_DAYS else Schedule.parse(calendar, "baseline")


def baseline_counts(calendar: str, day: date) -> bool:
    """Whether ``day`` is one of the days a baseline of ``calendar`` (:attr:`PipelineRule.baseline_calendar`) counts."""
    schedule = _counted_schedule(calendar)
    return schedule is None or schedule.expects(day)


@lru_cache(maxsize=4096)
def baseline_history_start(calendar: str, baseline_days: int, before: date) -> date:
    """The first of the ``baseline_days`` counted days before ``before``, or the reach's first day."""
    floor = before - timedelta(days=MAX_BASELINE_REACH_DAYS)
    day, found = before, 0
    while found < baseline_days and day > floor:
        day -= timedelta(days=1)
        found += baseline_counts(calendar, day)
    return day


@lru_cache(maxsize=256)
def _days_in_reach(calendar: str) -> int:
    reference = date(2024, 1, 1)  # any ten years hold the same counted days, give or take one
    return sum(baseline_counts(calendar, reference - timedelta(days=n)) for n in range(1, MAX_BASELINE_REACH_DAYS + 1))


def baseline_warnings(config: Config) -> list[str]:
    """Pipelines whose SLOW and FAST can never apply: the days they can count hold fewer than ``min_samples``."""
    warnings = []
    for f_index, flow in enumerate(config.flows):
        for p_index, rule in enumerate(flow.pipelines):
            days = min(rule.duration.baseline_days, _days_in_reach(rule.baseline_calendar))
            if days < rule.duration.min_samples:
                warnings.append(
                    f"flows[{f_index}].pipelines[{p_index}]: {rule.name} ({rule.schedule.text}) counts at most {days} "
                    f"day(s) in its baseline (ten years at most), fewer than min_samples ({rule.duration.min_samples}):"
                    " SLOW and FAST never apply to it"
                )
    return warnings


@dataclass(frozen=True)
class Flow:
    name: str
    ko_when: str  # all | any
    order: str  # none | sequential
    pipelines: tuple[PipelineRule, ...]
    day_starts_at: int = 0  # minutes; see PipelineRule.day_starts_at


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
    # How far back a night looks for new data: databricks_jobs lists the runs started since; adf_diagnostic
    # lists the y=/m=/d= folders of those days only (the first night, or --full-scan, lists everything).
    lookback_hours: int = 72
    # The factory's definitions (a git-integration folder, an ARM export, or /subscriptions/.../factories/NAME):
    # the job writes what the config misses of it to gold/config_drift (docs/factory.md).
    factory: str | None = None
    fetch: bool = False  # adf_rest_api + a live factory: ingest first fetches the runs updated since the last night


# A live factory's resource id, as `import-factory --factory` and source.factory take it.
FACTORY_ID = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.DataFactory/factories/(?P<factory>[^/]+)/?",
    re.IGNORECASE,
)


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
                raise fail(f"storage.{key}", value, "is not a plain identifier (letters, digits, _)")


@dataclass(frozen=True)
class Config:
    timezone: str
    source: SourceConfig
    storage: StorageConfig
    flows: tuple[Flow, ...]
    defaults: PipelineRule  # the rule an unconfigured (UNASSIGNED) pipeline gets
    alerts: AlertsConfig | None = None  # None: no `alerts:` section, notify sends nothing

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
                raise fail("source.format", source_format, f"is not one of {' | '.join(SOURCE_FORMATS)}")
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
_TOP_KEYS = ("timezone", "source", "storage", "defaults", "flows", "alerts")
_FLOW_KEYS = ("name", "pipelines", "ko_when", "order", "day_starts_at", *_OVERRIDE_KEYS)
_DEFAULT_KEYS = (*_OVERRIDE_KEYS, "day_starts_at")  # day_starts_at stops at the flow: one flow, one calendar
_PIPELINE_KEYS = ("name", "depends_on", *_OVERRIDE_KEYS)
_CSV_KEYS = ("delimiter", "timestamp_format", "columns")
_SOURCE_KEYS = ("format", "path", "lookback_hours", "factory", "fetch", *_CSV_KEYS)


# Pattern letters Spark 4 can *parse* with, and the run lengths it accepts for each (checked against
# try_to_timestamp; E, F, Q, u, w, Y... are format-only or gone since Spark 3 and fail every parse).
_PATTERN_LETTERS: dict[str, range | tuple[int, ...]] = {
    "G": range(1, 5), "y": range(1, 7), "D": range(1, 4), "M": range(1, 5), "L": range(1, 5),
    "d": (1, 2), "a": (1,), "h": (1, 2), "K": (1, 2), "k": (1, 2), "H": (1, 2), "m": (1, 2), "s": (1, 2),
    "S": range(1, 10), "V": (2,), "z": range(1, 5), "O": (1, 4), "X": range(1, 6), "x": range(1, 6),
    "Z": range(1, 6), "g": range(1, 100), "v": (1, 4),
}  # fmt: skip


def datetime_pattern_problem(pattern: str) -> str | None:
    """What makes ``pattern`` fail every parse in Spark (and so every night), or None."""
    i, optional_sections = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char in "[]":
            optional_sections += 1 if char == "[" else -1
            if optional_sections < 0:
                return "']' closes no optional section '['"
            i += 1
            continue
        if char == "'":  # a quoted literal; '' inside it is a quote
            end = i + 1
            while True:
                end = pattern.find("'", end)
                if end == -1:
                    return "a quote ' is not closed"
                if pattern[end + 1 : end + 2] != "'":
                    break
                end += 2
            i = end + 1
            continue
        run = len(pattern[i:]) - len(pattern[i:].lstrip(char))
        if char in "#{}":
            return f"{char!r} is reserved"
        if char.isascii() and char.isalpha():
            if char not in _PATTERN_LETTERS:
                return f"{char!r} is not a pattern letter Spark can parse with (put literal text in quotes, e.g. 'T')"
            if run not in _PATTERN_LETTERS[char]:
                return f"{char * run!r} is not a valid count of {char!r}"
        i += run
    return None


MAX_DAY_START_MINUTES = 12 * 60  # exclusive: a business day starts within 12 hours of its midnight


def _day_starts_at(value: Any, path: str) -> int:
    """``"HH:MM"`` or ``"-HH:MM"`` -> signed minutes from midnight, strictly between -12:00 and +12:00."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise fail(path, value, 'is not an offset HH:MM or -HH:MM (write it quoted, e.g. "-02:00")')
    match = re.fullmatch(r"([+-]?)(\d{1,2}):(\d{2})", value.strip()) if isinstance(value, str) else None
    if not match or int(match[3]) > 59:
        raise fail(path, value, "is not an offset HH:MM or -HH:MM")
    minutes = int(match[2]) * 60 + int(match[3])
    if minutes >= MAX_DAY_START_MINUTES:
        raise fail(path, value, "is not strictly between -12:00 and +12:00")
    return -minutes if match[1] == "-" else minutes


def _duration(value: Any, path: str, inherited: DurationRules) -> DurationRules:
    mapping = as_mapping(value, path)
    allowed = tuple(f.name for f in fields(DurationRules))
    check_keys(mapping, allowed, path)
    updates: dict[str, Any] = {}
    for key, raw in mapping.items():
        key_path = f"{path}.{key}"
        if key in ("baseline_days", "min_samples"):
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                raise fail(key_path, raw, "is not a whole number >= 1")
            if raw > MAX_BASELINE_DAYS:
                raise fail(key_path, raw, f"is more than {MAX_BASELINE_DAYS} days (10 years)")
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < 0:
            raise fail(key_path, raw, "is not a number >= 0")
        updates[key] = raw
    rules = replace(inherited, **updates)
    if rules.min_samples > rules.baseline_days:
        raise fail(f"{path}.min_samples", rules.min_samples, f"exceeds baseline_days ({rules.baseline_days})")
    return rules


def _overrides(mapping: Mapping[str, Any], path: str, inherited: PipelineRule) -> PipelineRule:
    rule = inherited
    if "schedule" in mapping:
        rule = replace(rule, schedule=Schedule.parse(mapping["schedule"], f"{path}.schedule"))
    if "deadline" in mapping:
        rule = replace(rule, deadline=time_of_day(mapping["deadline"], f"{path}.deadline"))
    if "duration" in mapping:
        rule = replace(rule, duration=_duration(mapping["duration"], f"{path}.duration", rule.duration))
    return rule


def _flow(raw: Any, path: str, defaults: PipelineRule) -> Flow:
    mapping = as_mapping(raw, path)
    check_keys(mapping, _FLOW_KEYS, path)
    name = as_text(mapping.get("name"), f"{path}.name")
    if name == UNASSIGNED_FLOW:
        raise fail(f"{path}.name", name, "is reserved for pipelines that are in no flow")
    ko_when = choice(mapping, "ko_when", ("all", "any"), path)
    order = choice(mapping, "order", ("none", "sequential"), path)
    flow_rule = _overrides(mapping, path, replace(defaults, flow=name))
    if "day_starts_at" in mapping:
        flow_rule = replace(flow_rule, day_starts_at=_day_starts_at(mapping["day_starts_at"], f"{path}.day_starts_at"))
    entries = mapping.get("pipelines")
    if not isinstance(entries, list) or not entries:
        raise fail(f"{path}.pipelines", entries, "is not a non-empty list of pipelines")
    pipelines: list[PipelineRule] = []
    for index, entry in enumerate(entries):
        entry_path = f"{path}.pipelines[{index}]"
        entry_map = {"name": entry} if isinstance(entry, str) else as_mapping(entry, entry_path)
        if "day_starts_at" in entry_map:
            raise ConfigError(
                f"{entry_path}.day_starts_at: set it on the flow (or in defaults): one flow, one calendar"
            )
        check_keys(entry_map, _PIPELINE_KEYS, entry_path)
        rule = _overrides(entry_map, entry_path, flow_rule)
        depends = entry_map.get("depends_on")
        depends_on: tuple[str, ...] = ()
        chain: tuple[str, ...] = ()
        if depends is None:
            # The chain stays apart from depends_on: which of its members is the predecessor depends on the day.
            chain = tuple(p.name for p in reversed(pipelines)) if order == "sequential" else ()
        elif isinstance(depends, list) and all(isinstance(d, str) and d.strip() for d in depends):
            depends_on = tuple(d.strip() for d in depends)
        else:
            raise fail(f"{entry_path}.depends_on", depends, "is not a list of pipeline names")
        pipelines.append(
            replace(
                rule,
                name=as_text(entry_map.get("name"), f"{entry_path}.name"),
                execution_order=index + 1,
                depends_on=depends_on,
                chain=chain,
            )
        )
    return Flow(
        name=name, ko_when=ko_when, order=order, pipelines=tuple(pipelines), day_starts_at=flow_rule.day_starts_at
    )


def _check_pipeline_graph(flows: tuple[Flow, ...]) -> None:
    where: dict[str, str] = {}
    for f_index, flow in enumerate(flows):
        for p_index, rule in enumerate(flow.pipelines):
            path = f"flows[{f_index}].pipelines[{p_index}]"
            if rule.name in where:
                raise fail(f"{path}.name", rule.name, f"is already configured at {where[rule.name]}")
            where[rule.name] = path
    rules = {p.name: p for flow in flows for p in flow.pipelines}
    for name, rule in rules.items():
        for dep in rule.depends_on:
            if dep not in rules:
                raise fail(f"{where[name]}.depends_on", dep, "is not a configured pipeline")
            if dep == name:
                raise fail(f"{where[name]}.depends_on", dep, "is the pipeline itself")
    # A cycle would make ORDER fire every night whatever happens. Depth-first with an explicit stack: a chain
    # of thousands of pipelines must not hit Python's recursion limit.
    done: set[str] = set()
    for root in rules:
        trail: list[str] = []  # the path being explored, root first
        stack: list[tuple[str, int]] = [(root, 0)]  # (pipeline, index of its next dependency to visit)
        while stack:
            name, next_dep = stack.pop()
            if next_dep == 0:
                if name in done:
                    continue
                if name in trail:
                    cycle = " -> ".join([*trail[trail.index(name) :], name])
                    raise ConfigError(f"{where[name]}.depends_on: cycle {cycle}")
                trail.append(name)
            deps = rules[name].predecessors
            if next_dep < len(deps):
                stack.append((name, next_dep + 1))
                stack.append((deps[next_dep], 0))
            else:
                trail.pop()
                done.add(name)


def _formats_where(option: str) -> str:
    """ "format 'csv'" or "formats 'adf_diagnostic' and 'databricks_jobs'": those whose record has ``option``."""
    names = [repr(f.name) for f in formats.FORMATS if getattr(f, option)]
    return f"format {names[0]}" if len(names) == 1 else f"formats {', '.join(names[:-1])} and {names[-1]}"


def _source(raw: Any) -> SourceConfig:
    mapping = as_mapping(raw, "source")
    check_keys(mapping, _SOURCE_KEYS, "source")
    fmt = mapping.get("format")
    if fmt not in SOURCE_FORMATS:
        raise fail("source.format", fmt, f"is not one of {' | '.join(SOURCE_FORMATS)}")
    spec = formats.source_format(fmt)
    csv_keys = [key for key in _CSV_KEYS if key in mapping]
    if csv_keys and not spec.csv_options:
        raise ConfigError(f"source.{csv_keys[0]}: only applies to {_formats_where('csv_options')}, not {fmt!r}")
    csv = CsvOptions()
    if "delimiter" in mapping:
        delimiter = mapping["delimiter"]
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise fail("source.delimiter", delimiter, "is not a single character")
        csv = replace(csv, delimiter=delimiter)
    if "timestamp_format" in mapping:
        timestamp_format = as_text(mapping["timestamp_format"], "source.timestamp_format")
        problem = datetime_pattern_problem(timestamp_format)
        if problem:
            raise fail("source.timestamp_format", timestamp_format, f"is not a Spark datetime pattern: {problem}")
        csv = replace(csv, timestamp_format=timestamp_format)
    if "columns" in mapping:
        columns = as_mapping(mapping["columns"], "source.columns")
        check_keys(columns, tuple(csv.columns), "source.columns")
        merged = dict(csv.columns)
        merged.update({k: as_text(v, f"source.columns.{k}") for k, v in columns.items()})
        csv = replace(csv, columns=MappingProxyType(merged))
    lookback = mapping.get("lookback_hours", 72)
    if "lookback_hours" in mapping and not spec.lookback:
        raise ConfigError(f"source.lookback_hours: only applies to {_formats_where('lookback')}, not {fmt!r}")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise fail("source.lookback_hours", lookback, "is not a whole number >= 1")
    path = mapping.get("path", spec.default_path)
    factory = as_text(mapping["factory"], "source.factory") if "factory" in mapping else None
    if factory and factory.lower().startswith("/subscriptions/") and not FACTORY_ID.fullmatch(factory):
        raise fail(
            "source.factory",
            factory,
            "is not /subscriptions/ID/resourceGroups/RG/providers/Microsoft.DataFactory/factories/NAME",
        )
    fetch = mapping.get("fetch", False)
    if not isinstance(fetch, bool):
        raise fail("source.fetch", fetch, "is not true or false")
    if fetch and (not spec.fetch or not (factory or "").lower().startswith("/subscriptions/")):
        raise ConfigError(
            f"source.fetch: needs {_formats_where('fetch')} and a live source.factory (/subscriptions/...)"
        )
    if fetch and "://" in str(path):  # the pages are written with file I/O: a URL would become a local folder
        raise fail("source.path", path, "is a URL: with fetch, give a folder or a /Volumes/... path")
    return SourceConfig(
        format=fmt, path=as_text(path, "source.path"), csv=csv, lookback_hours=lookback, factory=factory, fetch=fetch
    )


def _check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the tzdata package ("Europe")
        raise fail("timezone", timezone, "is not an IANA time zone (e.g. Europe/Paris)") from None
    return timezone


def _storage(raw: Any) -> StorageConfig:
    storage = as_mapping(raw, "storage")
    check_keys(storage, ("root", "catalog", "schema"), "storage")
    values = {key: as_text(storage[key], f"storage.{key}") for key in ("root", "catalog", "schema") if key in storage}
    return StorageConfig(**values)


def parse_config(raw: Any) -> Config:
    """Validate a loaded YAML document; raises :class:`ConfigError` naming the first bad key."""
    from monitoring.alerts.config import parse_alerts  # it builds on this module's helpers: imported when used

    document = as_mapping(raw, "(top level)")
    check_keys(document, _TOP_KEYS, "")
    timezone = _check_timezone(as_text(document.get("timezone", "Europe/Paris"), "timezone"))
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
    check_keys(as_mapping(defaults_raw, "defaults"), _DEFAULT_KEYS, "defaults")
    defaults = _overrides(defaults_raw, "defaults", base)
    if "day_starts_at" in defaults_raw:
        defaults = replace(
            defaults, day_starts_at=_day_starts_at(defaults_raw["day_starts_at"], "defaults.day_starts_at")
        )
    flows_raw = document.get("flows")
    if not isinstance(flows_raw, list) or not flows_raw:
        raise fail("flows", flows_raw, "is not a non-empty list of flows")
    flows = tuple(_flow(f, f"flows[{i}]", defaults) for i, f in enumerate(flows_raw))
    names = [flow.name for flow in flows]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise fail(f"flows[{index}].name", name, "is already the name of another flow")
    _check_pipeline_graph(flows)
    return Config(
        timezone=timezone,
        source=_source(document["source"]),
        storage=_storage(document["storage"]),
        flows=flows,
        defaults=defaults,
        alerts=parse_alerts(document.get("alerts"), flows),
    )


def load_config(path: str | Path) -> Config:
    """The configuration of a monitoring.yml file; raises :class:`ConfigError` naming the file, line or key."""
    return parse_config(read_yaml(path))
