"""Demo run logs: nightly ADF diagnostic logs for the configured flows, with known incidents planted.

Pure standard library, so the demo data exists before Spark starts. Deterministic: each pipeline's
night is drawn from its own generator seeded by (seed, business date, pipeline), so the same arguments
give the same bytes, and planting one incident does not reshuffle every other run.

The logs mimic what Azure Monitor writes for a factory's ``PipelineRuns`` category: one JSON line per
state change (Queued, InProgress, final), in the blob of the UTC hour of the record's ``time``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitoring.config import Config, Flow, PipelineRule
from monitoring.vocabulary import CANCELLED, FAILED, IN_PROGRESS, QUEUED, SUCCEEDED, TERMINAL_STATES

__all__ = ["DemoIncident", "DemoLogs", "generate_demo_logs"]

LOG_FOLDER = "insights-logs-pipelineruns"
SUBSCRIPTION = "6d3e0a71-5c2b-4f38-9a1e-0de000000001"
RESOURCE_GROUP = "RG-DATA-DEMO"
FACTORY = "ADF-DEMO"
LOCATION = "francecentral"
RESOURCE_ID = (
    f"/SUBSCRIPTIONS/{SUBSCRIPTION.upper()}/RESOURCEGROUPS/{RESOURCE_GROUP}"
    f"/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/{FACTORY}"
)
NOT_ENDED = "1601-01-01T00:00:00Z"  # ADF's 'end' of a run that has not ended
UNASSIGNED_PIPELINE = "adhoc_export_finance"
QUARANTINE = "QUARANTINE"
UNASSIGNED = "UNASSIGNED"

# Typical durations of the example pipelines, in minutes. Several Sitecom ones last >= 15 min so a
# run that finishes in a few minutes is FAST against a median above the 10-minute floor.
TYPICAL_MINUTES: dict[str, float] = {
    "telephonie_master": 14,
    "telephonie_ods_cti_export_incremental": 22,
    "solaris_clean_sources": 6,
    "solaris_copy_lds_table_from_lz": 12,
    "solaris_master": 25,
    "solaris_runners": 9,
    "sitecom_init_master": 4,
    "sitecom_common_master": 8,
    "sitecom_extract_master": 32,
    "sitecom_accounting_master": 18,
    "sitecom_accumulator_master": 12,
    "sitecom_accumulator_purge_master": 5,
    "sitecom_claims_master": 24,
    "sitecom_ctr_master": 9,
    "sitecom_health_master": 16,
    "SitecomHealthClaimsSecret": 3,
    "sitecom_home_master": 15,
    "sitecom_motor_master": 21,
    "sitecom_score_master": 11,
    "sitecom_external_elynx_master": 6,
    "sitecom_external_lesfurets_master": 7,
    "sitecom_external_novagile_agent_master": 5,
    "sitecom_external_novagile_competence_master": 4,
    "sitecom_external_novagile_mail_master": 3,
    "sitecom_master": 27,
    "accounting_cube_monthly_master": 35,
    "billing_extract": 40,
    "billing_load": 25,
}
# Local start of the 1st, 2nd, 3rd flow of the night (minutes after midnight); later flows follow.
FLOW_START_MINUTES = (10, 120, 180)
BATCH_SIZE = 6  # pipelines a parallel flow launches at once
DEADLINE_MARGIN = timedelta(minutes=30)  # a flow with a deadline is planned to end this much before it


@dataclass(frozen=True)
class DemoIncident:
    business_date: date
    pipeline_name: str
    reason: str  # the reason code it is meant to produce (or UNASSIGNED / QUARANTINE)
    note: str


@dataclass(frozen=True)
class DemoLogs:
    root: Path  # folder holding insights-logs-pipelineruns/...
    files: int
    records: int  # complete JSON lines written, the planted duplicate included, the damaged line not
    runs: int
    incidents: tuple[DemoIncident, ...]


# --- planning: when each pipeline normally runs, and what goes wrong when ------------------------------


def typical_seconds(pipeline: str) -> float:
    if pipeline in TYPICAL_MINUTES:
        return TYPICAL_MINUTES[pipeline] * 60
    # Unknown pipelines (another config) still get a stable duration of their own.
    return random.Random(f"typical|{pipeline}").uniform(3, 25) * 60


def in_run_order(config: Config) -> tuple[PipelineRule, ...]:
    """Every configured pipeline, each after the pipelines it depends on (the config has no cycle)."""
    rules = {p.name: p for p in config.pipelines}
    ordered: dict[str, PipelineRule] = {}

    def visit(rule: PipelineRule) -> None:
        if rule.name in ordered:
            return
        for dep in rule.predecessors:
            visit(rules[dep])
        ordered[rule.name] = rule

    for rule in config.pipelines:
        visit(rule)
    return tuple(ordered.values())


def _batch_offsets(flow: Flow) -> dict[str, float]:
    """Seconds after the flow's start, for a flow whose pipelines run in parallel batches."""
    names = [p.name for p in flow.pipelines]
    # A big flow opens with its first pipeline alone: in the example, the init step.
    rest = names[1:] if len(names) > BATCH_SIZE else names
    groups = ([names[:1]] if len(names) > BATCH_SIZE else []) + [
        rest[i : i + BATCH_SIZE] for i in range(0, len(rest), BATCH_SIZE)
    ]
    offsets: dict[str, float] = {}
    at = 0.0
    for group in groups:
        for position, name in enumerate(group):
            offsets[name] = at + 20 * position
        at += max(typical_seconds(n) for n in group) + 300
    return offsets


def _chain_offsets(flow: Flow, order: tuple[PipelineRule, ...]) -> dict[str, float]:
    """Seconds after the flow's start, for a flow whose pipelines follow one another."""
    members = {p.name for p in flow.pipelines}
    offsets: dict[str, float] = {}
    for index, rule in enumerate(p for p in order if p.name in members):
        ends = [offsets[d] + typical_seconds(d) for d in rule.predecessors if d in offsets]
        offsets[rule.name] = max(ends) + 180 if ends else 30.0 * index
    return offsets


def clock_seconds(clock: time, day_starts_at: int) -> float:
    """Seconds after midnight of the business date at which the local clock shows ``clock`` within that day's
    span (negative the evening before: 23:30 is -1800 with a day starting at -02:00)."""
    seconds = clock.hour * 3600 + clock.minute * 60
    if day_starts_at < 0 and seconds >= (24 * 60 + day_starts_at) * 60:
        return seconds - 86400.0
    if day_starts_at > 0 and seconds < day_starts_at * 60:
        return seconds + 86400.0
    return float(seconds)


EVENING_START = timedelta(minutes=30)  # a flow whose day starts the evening before starts this long after


def _flow_start_seconds(index: int, flow: Flow, offsets: dict[str, float]) -> float:
    day_start = flow.day_starts_at * 60.0
    if flow.day_starts_at < 0:  # its night opens the evening before: 22:30 for a day starting at 22:00
        start = day_start + EVENING_START.total_seconds()
    else:
        minutes = FLOW_START_MINUTES[index] if index < len(FLOW_START_MINUTES) else 180 + 150 * (index - 2)
        start = max(minutes * 60.0, day_start + 300)
    deadlines = [clock_seconds(p.deadline, flow.day_starts_at) for p in flow.pipelines if p.deadline is not None]
    if deadlines:
        span = max(offsets[p.name] + typical_seconds(p.name) for p in flow.pipelines)
        latest_start = min(deadlines) - DEADLINE_MARGIN.seconds - span
        start = max(day_start + 300.0, min(start, latest_start))
    return start


def nightly_timetable(config: Config) -> dict[str, float]:
    """Planned local start of each pipeline, in seconds after midnight of its business date."""
    order = in_run_order(config)
    planned: dict[str, float] = {}
    for index, flow in enumerate(config.flows):
        chained = any(p.predecessors for p in flow.pipelines)
        offsets = _chain_offsets(flow, order) if chained else _batch_offsets(flow)
        start = _flow_start_seconds(index, flow, offsets)
        planned.update({name: start + offset for name, offset in offsets.items()})
    return planned


@dataclass(frozen=True)
class Plant:
    """One planted incident: what happens to ``pipeline`` on ``business_date``."""

    business_date: date
    pipeline: str
    reason: str
    note: str
    failed_attempts: int = 1  # FAILED: how many runs fail that day (reruns fail too)
    kind: str = ""  # how the runs are built, when not by ``reason`` alone (NEXT_MORNING_RERUN)


@dataclass(frozen=True)
class _Spec:
    reason: str
    days_ago: int
    preferred: str
    note: str
    failed_attempts: int = 1


# The example config's incidents, in days before today. Where a preferred pipeline is missing from the
# config, another pipeline of the same kind stands in (see _pick), so any config gets a demo.
STANDALONE_SPECS = (
    _Spec("FAILED", 3, "sitecom_claims_master", "1st of 3 failed nights in a row: SQL source unreachable"),
    _Spec("FAILED", 2, "sitecom_claims_master", "2nd failed night: the manual rerun fails too", 2),
    _Spec("FAILED", 1, "sitecom_claims_master", "3rd failed night: consecutive_ko_days reaches 3"),
    _Spec("CANCELLED", 4, "sitecom_home_master", "cancelled by an operator a few minutes in"),
    _Spec("MISSING", 6, "sitecom_score_master", "trigger disabled for the night: no run at all"),
    _Spec("RUNNING", 7, "sitecom_ctr_master", "hangs: Queued and InProgress records, never a final one"),
    _Spec("SLOW", 8, "sitecom_accounting_master", "takes about 3x its usual duration"),
    _Spec("FAST", 11, "sitecom_extract_master", "ends in a few minutes instead of ~half an hour (empty source)"),
    _Spec("RETRIED", 12, "sitecom_motor_master", "first run fails (cluster launch), the manual rerun succeeds"),
)
PENDING_SPEC = _Spec("PENDING", 0, "sitecom_master", "")
TOTAL_FAILURE_DAYS_AGO = 5
LATE_DAYS_AGO = 9
ORDER_SPEC = _Spec("ORDER", 10, "solaris_master", "started 6 minutes before its predecessor ended")
NEXT_MORNING_DAYS_AGO = 4
NEXT_MORNING_RERUN = "NEXT_MORNING_RERUN"  # a plant's kind: fails in the night, rerun at 09:15 the next morning
RERUN_AT = time(9, 15)
UNASSIGNED_DAYS_AGO = (13, 6, 2)
DUPLICATE_DAYS_AGO = 2
TRUNCATED_DAYS_AGO = 1
BASELINE_REASONS = ("SLOW", "FAST")
FAST_MIN_TYPICAL_SECONDS = 15 * 60


def _pick(candidates: list[PipelineRule], preferred: str, taken: set[str]) -> PipelineRule | None:
    free = [c for c in candidates if c.name not in taken]
    return next((c for c in free if c.name == preferred), free[0] if free else None)


def _standalone_candidates(config: Config) -> list[PipelineRule]:
    """Daily pipelines with no deadline, no predecessor and no successor: an incident there stays put."""
    successors = {dep for p in config.pipelines for dep in p.predecessors}
    return [
        p
        for p in config.pipelines
        if p.schedule.kind == "daily" and p.deadline is None and not p.predecessors and p.name not in successors
    ]


def _deadline_flow(config: Config) -> Flow | None:
    flows = [
        f
        for f in config.flows
        if f.day_starts_at == 0 and all(p.deadline and p.schedule.kind == "daily" for p in f.pipelines)
    ]
    return next((f for f in flows if f.name == "Telephonie"), flows[0] if flows else None)


def _specs_for_standalone(config: Config) -> Iterator[tuple[_Spec, PipelineRule]]:
    candidates = _standalone_candidates(config)
    chosen: dict[str, PipelineRule] = {}
    taken: set[str] = set()
    for spec in (*STANDALONE_SPECS, PENDING_SPEC):
        key = f"{spec.reason}|{spec.preferred}"
        if key not in chosen:
            pool = candidates
            if spec.reason == "FAST":
                pool = [c for c in candidates if typical_seconds(c.name) >= FAST_MIN_TYPICAL_SECONDS]
            rule = _pick(pool, spec.preferred, taken)
            if rule is None:
                continue
            chosen[key] = rule
            taken.add(rule.name)
        yield spec, chosen[key]


def _specs_for_deadline_flow(config: Config) -> Iterator[tuple[_Spec, PipelineRule]]:
    flow = _deadline_flow(config)
    if flow is None:
        return
    for rule in flow.pipelines:
        note = f"{flow.name} total failure: the provider's SFTP server is down, every pipeline fails"
        yield _Spec("FAILED", TOTAL_FAILURE_DAYS_AGO, rule.name, note), rule
    planned = nightly_timetable(config)
    last = max(flow.pipelines, key=lambda p: planned[p.name] + typical_seconds(p.name))
    deadline = last.deadline.strftime("%H:%M") if last.deadline else ""
    yield _Spec("LATE", LATE_DAYS_AGO, last.name, f"trigger delayed: ends ~6 min after the {deadline} deadline"), last


def _specs_for_order(config: Config) -> Iterator[tuple[_Spec, PipelineRule]]:
    rules = {p.name: p for p in config.pipelines}
    followers = [
        p
        for p in config.pipelines
        if p.predecessors
        and p.schedule.kind == "daily"
        and p.deadline is None
        and typical_seconds(p.predecessors[-1]) >= 8 * 60
        and rules[p.predecessors[-1]].schedule.kind == "daily"
    ]
    rule = _pick(followers, ORDER_SPEC.preferred, set())
    if rule is not None:
        note = f"started 6 minutes before {rule.predecessors[-1]} ended"
        yield replace(ORDER_SPEC, note=note), rule


def _specs_for_next_morning_rerun(config: Config) -> Iterator[tuple[_Spec, PipelineRule]]:
    """The last pipeline of a flow whose night starts the evening before (else of any flow with a deadline)
    fails in the night; the on-call engineer reruns it at 09:15: RETRIED (and LATE) on the night's date."""
    flows = sorted(
        (f for f in config.flows if all(p.schedule.kind == "daily" for p in f.pipelines) and f.pipelines[-1].deadline),
        key=lambda f: f.day_starts_at,
    )
    if flows:
        rule = flows[0].pipelines[-1]
        note = f"fails in the night; rerun by hand at {RERUN_AT:%H:%M} the next morning: RETRIED and LATE on its night"
        yield _Spec("RETRIED", NEXT_MORNING_DAYS_AGO, rule.name, note), rule


def plan_incidents(config: Config, dates: list[date]) -> list[Plant]:
    """The planted incidents that fall in ``dates`` (oldest first, the last one is today)."""
    today = dates[-1]
    specs = [
        *_specs_for_standalone(config),
        *_specs_for_deadline_flow(config),
        *_specs_for_order(config),
        *_specs_for_next_morning_rerun(config),
    ]
    plants: list[Plant] = []
    for spec, rule in specs:
        index = len(dates) - 1 - spec.days_ago
        # SLOW/FAST need the baseline's samples before them, or they cannot fire.
        first_index = rule.duration.min_samples + 1 if spec.reason in BASELINE_REASONS else 0
        day = today - timedelta(days=spec.days_ago)
        clash = any(p.business_date == day and p.pipeline == rule.name for p in plants)
        if index >= first_index and rule.schedule.expects(day) and not clash:
            plants.append(Plant(day, rule.name, spec.reason, spec.note, spec.failed_attempts))
            if spec.days_ago == NEXT_MORNING_DAYS_AGO and spec.reason == "RETRIED" and rule.deadline is not None:
                plants[-1] = replace(plants[-1], kind=NEXT_MORNING_RERUN)
                note = f"the {RERUN_AT:%H:%M} rerun ends after the deadline"
                plants.append(Plant(day, rule.name, "LATE", note, kind=NEXT_MORNING_RERUN))
    if UNASSIGNED_PIPELINE not in {p.name for p in config.pipelines}:
        for days_ago in UNASSIGNED_DAYS_AGO:
            if days_ago < len(dates):
                note = "ad-hoc run of a pipeline that is in no flow"
                plants.append(Plant(today - timedelta(days=days_ago), UNASSIGNED_PIPELINE, UNASSIGNED, note))
    return plants


# --- runs ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    name: str
    run_id: str
    kind: str  # ScheduleTrigger | Manual


@dataclass(frozen=True)
class Run:
    pipeline: str
    business_date: date
    run_id: str
    group_id: str
    trigger: Trigger
    annotations: tuple[str, ...]
    start: datetime  # UTC
    end: datetime | None  # None: the run never ends (hangs)
    status: str  # final state; InProgress for a run that never ends
    lags: tuple[float, float, float]  # seconds from the state change to its record: queued, started, final
    message: str | None = None
    failure_type: str | None = None


def _run_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _trigger_run_id(rng: random.Random) -> str:
    return f"0858{rng.randrange(10**25):025d}CU{rng.randrange(1, 100):02d}"


@dataclass(frozen=True)
class Night:
    """What every run of one business date shares."""

    business_date: date
    zone: ZoneInfo
    seed: int
    now: datetime  # UTC

    def rng(self, *names: str) -> random.Random:
        # A str seed is hashed with SHA-512: stable across processes, unlike hash().
        return random.Random(f"{self.seed}|{self.business_date.isoformat()}|{'|'.join(names)}")

    def local(self, seconds_after_midnight: float) -> datetime:
        """UTC instant of a local wall-clock time; wall-clock arithmetic keeps DST days right."""
        midnight = datetime.combine(self.business_date, time(), tzinfo=self.zone)
        return (midnight + timedelta(seconds=seconds_after_midnight)).astimezone(UTC)

    def trigger(self, flow: str) -> Trigger:
        return Trigger(f"TR_{flow}_Nightly", _trigger_run_id(self.rng("trigger", flow)), "ScheduleTrigger")


def _manual_trigger(rng: random.Random) -> Trigger:
    return Trigger("Manual", _run_id(rng), "Manual")


def _short_name(pipeline: str) -> str:
    short = re.sub(r"_master$", "", pipeline)
    head, _, tail = short.partition("_")
    return tail or head


def _sql_failure(pipeline: str, flow: str) -> tuple[str, str]:
    server = f"sql-{flow.lower()}-prod.database.windows.net"
    return (
        f"Operation on target Copy_{_short_name(pipeline)} failed: ErrorCode=SqlFailedToConnect,"
        f"'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Cannot connect to SQL "
        f"Database: '{server}', Database: '{flow.lower()}', User: 'svc-adf-reader'. Check the linked service "
        "configuration is correct, and make sure the SQL Database firewall allows the integration runtime to "
        "access.,Source=Microsoft.DataTransfer.ClientLibrary,''Type=Microsoft.Data.SqlClient.SqlException,"
        "Message=A network-related or instance-specific error occurred while establishing a connection to SQL "
        "Server. The server was not found or was not accessible.,Source=Framework Microsoft SqlClient Data "
        "Provider,SqlErrorNumber=53,Class=20,ErrorCode=-2146232060,State=0,'",
        "UserError",
    )


def _sftp_failure(pipeline: str, flow: str) -> tuple[str, str]:
    host = f"sftp.{flow.lower()}-provider.example.com"
    return (
        f"Operation on target Copy_{_short_name(pipeline)} failed: Failure happened on 'Source' side. "
        "ErrorCode=SftpFailedToConnectToSftpServer,'Type=Microsoft.DataTransfer.Common.Shared."
        f"HybridDeliveryException,Message=Failed to connect to Sftp server '{host}'.,Source=Microsoft."
        "DataTransfer.ClientLibrary.SftpConnector,''Type=Renci.SshNet.Common.SshOperationTimeoutException,"
        "Message=Socket read operation has timed out after 30000 milliseconds.,Source=Renci.SshNet,'",
        "UserError",
    )


def _cluster_failure(pipeline: str, business_date: date) -> tuple[str, str]:
    cluster = f"{business_date:%m%d}-030512-dm{len(pipeline):02d}x7q"
    return (
        f"Operation on target Notebook_{_short_name(pipeline)} failed: Cluster {cluster} terminated "
        "unexpectedly. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE). Parameters: azure_error_code:"
        "AllocationFailed, azure_error_message:Allocation failed. We do not have sufficient capacity for the "
        "requested VM size in this region.",
        "SystemError",
    )


@dataclass(frozen=True)
class RunContext:
    """One pipeline on one night: where its run would start and how long it would take."""

    night: Night
    rule: PipelineRule
    rng: random.Random
    start: datetime  # UTC, jitter included
    duration: timedelta
    trigger: Trigger
    predecessor_end: datetime | None

    def run(
        self,
        start: datetime,
        duration: timedelta | None,
        status: str,
        failure: tuple[str, str] | None = None,
        trigger: Trigger | None = None,
        group_id: str | None = None,
    ) -> Run:
        run_id = _run_id(self.rng)
        lags = (self.rng.uniform(0.05, 0.4), self.rng.uniform(1.0, 3.0), self.rng.uniform(0.2, 1.5))
        return Run(
            pipeline=self.rule.name,
            business_date=self.night.business_date,
            run_id=run_id,
            group_id=group_id or run_id,
            trigger=trigger or self.trigger,
            annotations=("nightly", self.rule.flow.lower()),
            start=start,
            end=None if duration is None else start + duration,
            status=status,
            lags=lags,
            message=failure[0] if failure else None,
            failure_type=failure[1] if failure else None,
        )

    def succeeded(self, start: datetime | None = None, duration: timedelta | None = None) -> list[Run]:
        return [self.run(start or self.start, duration or self.duration, SUCCEEDED)]


def _normal(ctx: RunContext, _: Plant) -> list[Run]:
    return ctx.succeeded()


def _missing(_: RunContext, __: Plant) -> list[Run]:
    return []


def _failed(ctx: RunContext, plant: Plant) -> list[Run]:
    flow = ctx.rule.flow
    deadline_flow = ctx.rule.deadline is not None
    failure = _sftp_failure(ctx.rule.name, flow) if deadline_flow else _sql_failure(ctx.rule.name, flow)
    runs: list[Run] = []
    start = ctx.start
    for attempt in range(plant.failed_attempts):
        trigger = ctx.trigger if attempt == 0 else _manual_trigger(ctx.rng)
        group = runs[0].group_id if runs else None
        run = ctx.run(start, timedelta(seconds=ctx.rng.uniform(60, 150)), FAILED, failure, trigger, group)
        runs.append(run)
        start = (run.end or start) + timedelta(minutes=ctx.rng.uniform(15, 25))
    return runs


def _cancelled(ctx: RunContext, _: Plant) -> list[Run]:
    return [ctx.run(ctx.start, ctx.duration * 0.4, CANCELLED)]


def _hanging(ctx: RunContext, _: Plant) -> list[Run]:
    return [ctx.run(ctx.start, None, IN_PROGRESS)]


def _late(ctx: RunContext, _: Plant) -> list[Run]:
    day_start = ctx.rule.day_starts_at * 60
    end = ctx.night.local(
        clock_seconds(ctx.rule.deadline or time(23, 0), ctx.rule.day_starts_at) + ctx.rng.uniform(300, 420)
    )
    # Never before the business day began: the run must stay on its date (and then ends later still).
    return ctx.succeeded(start=max(end - ctx.duration, ctx.night.local(day_start + 60)))


def _next_morning_rerun(ctx: RunContext, _: Plant) -> list[Run]:
    """Fails in the night; rerun by hand the next morning, in the failed run's group (as ADF does)."""
    failure = _sql_failure(ctx.rule.name, ctx.rule.flow)
    first = ctx.run(ctx.start, timedelta(seconds=ctx.rng.uniform(60, 150)), FAILED, failure)
    morning = max(
        ctx.night.local(RERUN_AT.hour * 3600 + RERUN_AT.minute * 60), (first.end or ctx.start) + timedelta(hours=6)
    )
    rerun = ctx.run(morning, ctx.duration, SUCCEEDED, trigger=_manual_trigger(ctx.rng), group_id=first.group_id)
    return [first, rerun]


def _out_of_order(ctx: RunContext, _: Plant) -> list[Run]:
    if ctx.predecessor_end is None:
        return ctx.succeeded()
    return ctx.succeeded(start=ctx.predecessor_end - timedelta(minutes=6))


def _retried(ctx: RunContext, _: Plant) -> list[Run]:
    failure = _cluster_failure(ctx.rule.name, ctx.night.business_date)
    first = ctx.run(ctx.start, ctx.duration * 0.35, FAILED, failure)
    rerun_start = (first.end or ctx.start) + timedelta(minutes=ctx.rng.uniform(10, 14))
    rerun = ctx.run(rerun_start, ctx.duration, SUCCEEDED, trigger=_manual_trigger(ctx.rng), group_id=first.group_id)
    return [first, rerun]


def _slow(ctx: RunContext, _: Plant) -> list[Run]:
    return ctx.succeeded(duration=ctx.duration * 3)


def _fast(ctx: RunContext, _: Plant) -> list[Run]:
    return ctx.succeeded(duration=max(timedelta(minutes=1), ctx.duration * 0.08))


def pending_start(night: Night) -> datetime:
    """Ten minutes before ``now``, but never before the business date began (``now`` may be 00:05)."""
    return max(night.now - timedelta(minutes=10), night.local(60))


def _pending(ctx: RunContext, _: Plant) -> list[Run]:
    # Long enough to still be running at now: only its Queued/InProgress records reach the logs.
    return ctx.succeeded(start=pending_start(ctx.night), duration=max(ctx.duration, timedelta(minutes=25)))


RUN_BUILDERS: dict[str, Callable[[RunContext, Plant], list[Run]]] = {
    "MISSING": _missing,
    "FAILED": _failed,
    "CANCELLED": _cancelled,
    "RUNNING": _hanging,
    "PENDING": _pending,
    "LATE": _late,
    "ORDER": _out_of_order,
    "RETRIED": _retried,
    "SLOW": _slow,
    "FAST": _fast,
    NEXT_MORNING_RERUN: _next_morning_rerun,
}


def _planned_start(night: Night, rule: PipelineRule, planned: float, ends: dict[str, datetime | None]) -> datetime:
    """Chained pipelines start a few minutes after their predecessors ended; others on their trigger."""
    rng = night.rng("start", rule.name)
    dep_ends = [ends.get(dep) for dep in rule.predecessors]
    if dep_ends and all(end is not None for end in dep_ends):
        return max(e for e in dep_ends if e is not None) + timedelta(seconds=rng.uniform(120, 240))
    return night.local(planned + rng.uniform(0, 45))


@dataclass(frozen=True)
class Timetable:
    order: tuple[PipelineRule, ...]  # predecessors first
    planned: dict[str, float]  # local start, seconds after midnight

    @staticmethod
    def of(config: Config) -> Timetable:
        return Timetable(in_run_order(config), nightly_timetable(config))


def nightly_runs(timetable: Timetable, night: Night, plants: dict[tuple[date, str], Plant]) -> list[Run]:
    planned = timetable.planned
    ends: dict[str, datetime | None] = {}
    runs: list[Run] = []
    normal = Plant(night.business_date, "", "", "")
    for rule in timetable.order:
        if not rule.schedule.expects(night.business_date):
            continue
        rng = night.rng("run", rule.name)
        ctx = RunContext(
            night=night,
            rule=rule,
            rng=rng,
            start=_planned_start(night, rule, planned[rule.name], ends),
            duration=timedelta(seconds=typical_seconds(rule.name) * rng.uniform(0.94, 1.06)),
            trigger=night.trigger(rule.flow),
            predecessor_end=ends.get(rule.predecessors[-1]) if rule.predecessors else None,
        )
        plant = plants.get((night.business_date, rule.name), normal)
        pipeline_runs = RUN_BUILDERS.get(plant.kind or plant.reason, _normal)(ctx, plant)
        ends[rule.name] = pipeline_runs[-1].end if pipeline_runs else None
        runs.extend(pipeline_runs)
    return runs


def unassigned_runs(night: Night, plants: Iterable[Plant]) -> list[Run]:
    runs: list[Run] = []
    for plant in plants:
        if plant.reason != UNASSIGNED or plant.business_date != night.business_date:
            continue
        rng = night.rng("adhoc", plant.pipeline)
        start = night.local(14 * 3600 + 30 * 60 + rng.uniform(0, 1800))
        lags = (rng.uniform(0.05, 0.4), rng.uniform(1.0, 3.0), rng.uniform(0.2, 1.5))
        run_id = _run_id(rng)
        runs.append(
            Run(
                pipeline=plant.pipeline,
                business_date=night.business_date,
                run_id=run_id,
                group_id=run_id,
                trigger=_manual_trigger(rng),
                annotations=("adhoc",),
                start=start,
                end=start + timedelta(seconds=rng.uniform(180, 300)),
                status=SUCCEEDED,
                lags=lags,
            )
        )
    return runs


# --- records and blobs ---------------------------------------------------------------------------------


def adf_time(at: datetime) -> str:
    """ADF writes 100 ns ticks (7 digits); the 7th digit, below Spark's microsecond, is filler."""
    at = at.astimezone(UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond:06d}{(at.second + at.microsecond) % 10}Z"


def _properties(run: Run, status: str) -> dict[str, object]:
    properties: dict[str, object] = {
        "Parameters": {"window_start": run.business_date.isoformat()},
        "SystemParameters": {
            "ExecutionStart": adf_time(run.start),
            "TriggerId": run.trigger.run_id,
            "SubscriptionId": SUBSCRIPTION,
            "PipelineRunRequestTime": f"{run.start.replace(microsecond=0):%Y-%m-%dT%H:%M:%S}.0000000+00:00",
        },
        "Predecessors": [{"Name": run.trigger.name, "Id": run.trigger.run_id, "InvokedByType": run.trigger.kind}],
        "Annotations": list(run.annotations),
    }
    if status == FAILED and run.message:
        properties["Message"] = run.message
    return properties


def record(run: Run, status: str, at: datetime) -> dict[str, object]:
    """One diagnostic record, keys in the order Azure Monitor writes them."""
    ended = status in TERMINAL_STATES and run.end is not None
    entry: dict[str, object] = {
        "time": adf_time(at),
        "resourceId": RESOURCE_ID,
        "category": "PipelineRuns",
        "level": "Error" if status == FAILED else "Informational",
        "correlationId": run.run_id,
        "runId": run.run_id,
        "groupId": run.group_id,
        "pipelineName": run.pipeline,
        "operationName": f"{run.pipeline} - {status}",
        "start": adf_time(run.start),
        "end": adf_time(run.end) if ended and run.end else NOT_ENDED,
        "status": status,
        "location": LOCATION,
        "properties": _properties(run, status),
    }
    if status == FAILED and run.failure_type:
        entry["failureType"] = run.failure_type
    return entry


@dataclass(frozen=True)
class Line:
    at: datetime  # UTC time of the record
    text: str
    run: Run
    status: str


def run_lines(run: Run, now: datetime) -> list[Line]:
    """The run's records that exist at ``now``: a run still going has no final record yet."""
    events = [(QUEUED, run.start + timedelta(seconds=run.lags[0]))]
    events.append((IN_PROGRESS, run.start + timedelta(seconds=run.lags[1])))
    if run.status in TERMINAL_STATES and run.end is not None:
        events.append((run.status, run.end + timedelta(seconds=run.lags[2])))
    return [
        Line(at, json.dumps(record(run, status, at), separators=(",", ":")), run, status)
        for status, at in events
        if at <= now
    ]


def blob_path(at: datetime) -> str:
    at = at.astimezone(UTC)
    return f"{LOG_FOLDER}/resourceId={RESOURCE_ID}/y={at:%Y}/m={at:%m}/d={at:%d}/h={at:%H}/m=00/PT1H.json"


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _duplicate(lines: list[Line], blobs: dict[str, list[Line]], day: date, now: datetime) -> Line | None:
    """A final record to write again in the next hour's blob, as Azure Monitor sometimes does."""
    eligible = [
        line
        for line in lines
        if line.status in TERMINAL_STATES
        and _hour(line.at) + timedelta(hours=1) <= now
        and blob_path(_hour(line.at) + timedelta(hours=1)) in blobs
    ]
    on_day = [line for line in eligible if line.run.business_date == day]
    if on_day:
        return min(on_day, key=lambda line: (line.at, line.text))
    return max(eligible, key=lambda line: (line.at, line.text)) if eligible else None


def _truncated_blob(lines: list[Line], day: date) -> str | None:
    """The blob whose last line gets a cut-off copy: the last blob of ``day``'s night if any."""
    on_day = [line for line in lines if line.run.business_date == day] or lines
    if not on_day:
        return None
    return blob_path(max(on_day, key=lambda line: (line.at, line.text)).at)


def _write_blobs(root: Path, blobs: dict[str, list[Line]], truncated: str | None) -> tuple[int, int, str | None]:
    """Writes every blob in time order; returns (files, records, damaged line) and the cut copy's text."""
    records = 0
    damaged: str | None = None
    for relative in sorted(blobs):
        lines = sorted(blobs[relative], key=lambda line: (line.at, line.text))
        content = "".join(line.text + "\n" for line in lines)
        records += len(lines)
        if relative == truncated:
            # A record cut mid-write, like the real sample: no closing brace, no newline.
            damaged = lines[-1].text[: len(lines[-1].text) * 3 // 5]
            content += damaged
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8"))
    return len(blobs), records, damaged


# --- the entry point -----------------------------------------------------------------------------------


def business_dates(today: date, days: int) -> list[date]:
    return [today - timedelta(days=days - 1 - index) for index in range(days)]


def _incidents(plants: list[Plant], now: datetime, zone: ZoneInfo) -> list[DemoIncident]:
    incidents = []
    for plant in plants:
        note = plant.note
        if plant.reason == "PENDING":
            night = Night(plant.business_date, zone, 0, now)
            start = pending_start(night)
            local = start.astimezone(zone).strftime("%H:%M")
            note = (
                f"started {local}, still in progress at now (due 24:00)"
                if start <= now
                else "no run yet at now (the night has not started; due 24:00)"
            )
        incidents.append(DemoIncident(plant.business_date, plant.pipeline, plant.reason, note))
    return incidents


def generate_demo_logs(config: Config, out_dir: Path, days: int, now: datetime, seed: int = 7) -> DemoLogs:
    """Writes ``days`` business dates of diagnostic logs up to ``now`` under ``out_dir``.

    Business dates run from ``today - days + 1`` to today, today being the local date of ``now`` in
    ``config.timezone``. Nothing after ``now`` is written: today's later runs are absent and a run in
    progress at ``now`` has only its Queued/InProgress records.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if days < 1:
        raise ValueError(f"days must be >= 1, not {days}")
    zone = ZoneInfo(config.timezone)
    now_utc = now.astimezone(UTC)
    dates = business_dates(now.astimezone(zone).date(), days)
    today = dates[-1]
    plants = plan_incidents(config, dates)
    by_key = {(p.business_date, p.pipeline): p for p in plants}

    timetable = Timetable.of(config)
    lines: list[Line] = []
    for day in dates:
        night = Night(day, zone, seed, now_utc)
        for run in [*nightly_runs(timetable, night, by_key), *unassigned_runs(night, plants)]:
            lines.extend(run_lines(run, now_utc))

    blobs: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        blobs[blob_path(line.at)].append(line)
    duplicate = _duplicate(lines, blobs, today - timedelta(days=DUPLICATE_DAYS_AGO), now_utc)
    if duplicate is not None:
        blobs[blob_path(_hour(duplicate.at) + timedelta(hours=1))].append(duplicate)
    truncated = _truncated_blob(lines, today - timedelta(days=TRUNCATED_DAYS_AGO))

    target = out_dir / LOG_FOLDER
    if target.exists():
        shutil.rmtree(target)
    files, records, damaged = _write_blobs(out_dir, blobs, truncated)

    incidents = _incidents(plants, now_utc, zone)
    if truncated is not None and damaged is not None:
        cut = max(blobs[truncated], key=lambda line: (line.at, line.text))
        note = f"last line of {truncated} is cut off mid-record (no trailing newline)"
        incidents.append(DemoIncident(cut.run.business_date, cut.run.pipeline, QUARANTINE, note))
    incidents.sort(key=lambda i: (i.business_date, i.pipeline_name, i.reason))
    return DemoLogs(
        root=out_dir,
        files=files,
        records=records,
        runs=len({line.run.run_id for line in lines}),
        incidents=tuple(incidents),
    )
