"""Benchmark logs: months or years of realistic ADF diagnostic logs, written fast and deterministically.

    python bench/generate.py --out bench/data --pipelines 200 --days 365 --runs-per-day 3 --seed 1 \
        --config bench/data/monitoring.yml
    python bench/generate.py --out bench/data --pipelines 200 --runs-per-day 3 --seed 1 \
        --append-day 2026-01-01 --partial          # one new night arriving, its last blob half-written
    python bench/generate.py --out bench/data --pipelines 200 --runs-per-day 3 --seed 1 \
        --append-day 2026-01-01                    # ...and the rest of that blob

The records have the shape of ``monitoring.demo``'s and of ``tests/fixtures/adf_diagnostic_logs`` (plus
``Level``, the numeric twin of ``level`` that Azure Monitor also writes): one JSON line per state change
(Queued, InProgress, then Succeeded, Failed or Cancelled), in the blob of the UTC hour the record arrived
in, under ``insights-logs-pipelineruns/resourceId=/SUBSCRIPTIONS/.../y=/m=/d=/h=/m=00/PT1H.json``.

Each pipeline ``flowFF_pipeline_NNN`` runs ``runs_per_day`` times a day, in the slots of its flow, with
a duration drawn from its own log-normal distribution (a few runs are 3x slower or 10x faster, so
SLOW and FAST fire now and then), ~3% failures with ADF-like error messages, ~0.4% cancellations, and
~3% of final records arriving late enough to land in the next hour's blob.

Determinism is per (seed, day): day D's draws come from generators seeded by (seed, D, pipeline), and
every record of D's runs lands in a blob of UTC day D (runs start after local and UTC midnight and end
before either next midnight). So ``append_day(D)`` writes exactly the bytes a full generation writes for
D, whatever was generated before, and days could be written in any order or in parallel.

Speed: lines are built with f-strings from per-run pieces (``json.dumps`` only for error messages, once
per pipeline), times are integer 100 ns ticks formatted with a per-hour prefix, and each blob is written
with one call.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import shutil
import sys
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from monitoring.config import Config, load_config
from monitoring.demo import LOG_FOLDER, NOT_ENDED
from monitoring.vocabulary import CANCELLED, FAILED, IN_PROGRESS, QUEUED, SUCCEEDED

__all__ = [
    "DayCounts",
    "Factory",
    "GeneratedLogs",
    "append_day",
    "bench_pipelines",
    "blob_path",
    "generate_logs",
    "pipeline_names",
    "write_config",
]

TICKS_PER_SECOND = 10_000_000  # ADF writes 100 ns ticks: 7 fractional digits
TICKS_PER_HOUR = 3600 * TICKS_PER_SECOND
DAY_SECONDS = 86_400

FLOW_SIZE = 10
DEFAULT_TIMEZONE = "Europe/Paris"
MAX_RUNS_PER_DAY = 24

# Rates, per run (failures: the pipeline's own rate, 0.5% to 5.5%, 3% on average).
FAILURE_RATE_RANGE = (0.005, 0.055)
CANCEL_RATE = 0.004
SLOW_RATE = 0.003  # the run takes 3x its draw (a slow source)
FAST_RATE = 0.002  # the run takes a tenth of its draw (an empty source)
DELAYED_RATE = 0.2  # a final record that reaches storage 1 to 15 minutes after its time
DELAY_SECONDS = (60.0, 900.0)

# Durations: each pipeline's median is log-uniform in this range (seconds), its log-sd in SIGMA_RANGE.
MEDIAN_SECONDS_RANGE = (60.0, 3600.0)
SIGMA_RANGE = (0.08, 0.35)
MIN_DURATION_SECONDS = 20.0
MAX_DURATION_FACTOR = 8.0  # a run never lasts more than 8x its median

# Timetable: the runs of a day start LEAD after the later of local and UTC midnight and leave RESERVE
# before the earlier of the next midnights for the last run to finish; each flow has its own phase.
LEAD_SECONDS = 300.0
RESERVE_SECONDS = 7200.0
MAX_PHASE_SECONDS = 3 * 3600.0
STAGGER_SECONDS = 20.0  # between two pipelines of a flow launched by the same trigger
JITTER_SECONDS = 60.0
# Seconds from a state change to its record: Queued, InProgress (after the start), final (after the end).
LAG_RANGES = ((0.05, 0.4), (1.0, 3.0), (0.2, 1.5))
# The last record of a day must land before the next UTC midnight, delays included.
END_MARGIN_SECONDS = DELAY_SECONDS[1] + LAG_RANGES[2][1] + 5.0


@dataclass(frozen=True)
class Factory:
    """The data factory the logs come from; it names the blobs and every record's ``resourceId``."""

    subscription: str = "0b3e5a7c-1d2f-4a6b-8c9d-be0c40000001"
    resource_group: str = "RG-DATA-BENCH"
    name: str = "ADF-BENCH"
    location: str = "francecentral"

    @property
    def resource_id(self) -> str:
        return (
            f"/SUBSCRIPTIONS/{self.subscription.upper()}/RESOURCEGROUPS/{self.resource_group.upper()}"
            f"/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/{self.name.upper()}"
        )


DEFAULT_FACTORY = Factory()


@dataclass(frozen=True)
class DayCounts:
    """One day's blobs as they stand on disk after the call that wrote them."""

    day: date
    files: int
    records: int  # complete lines (a torn last line is not counted)
    runs: int  # runs generated that day, whether or not all their records are written yet
    failed_runs: int
    cancelled_runs: int
    late_records: int  # records in a later hour's blob than their own time
    bytes: int


@dataclass(frozen=True)
class GeneratedLogs:
    root: Path  # the folder holding insights-logs-pipelineruns/...
    files: int
    records: int
    runs: int
    failed_runs: int
    cancelled_runs: int
    late_records: int
    bytes: int
    days: tuple[DayCounts, ...]

    @staticmethod
    def of(root: Path, days: Sequence[DayCounts]) -> GeneratedLogs:
        return GeneratedLogs(
            root=root,
            files=sum(d.files for d in days),
            records=sum(d.records for d in days),
            runs=sum(d.runs for d in days),
            failed_runs=sum(d.failed_runs for d in days),
            cancelled_runs=sum(d.cancelled_runs for d in days),
            late_records=sum(d.late_records for d in days),
            bytes=sum(d.bytes for d in days),
            days=tuple(days),
        )


class BlobConflictError(RuntimeError):
    """An existing blob is not a prefix of what this day's generation writes there (blobs only grow)."""


# --- pipelines ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchPipeline:
    index: int
    name: str  # flowFF_pipeline_NNN
    flow: str  # flowFF
    flow_index: int
    position: int  # in its flow, from 0
    median_seconds: float
    sigma: float  # of the log of the duration
    failure_rate: float


def pipeline_names(pipelines: int, flow_size: int = FLOW_SIZE) -> tuple[tuple[str, str], ...]:
    """(flow, pipeline) names, ``flow_size`` pipelines to a flow: ("flow01", "flow01_pipeline_017")."""
    if pipelines < 1 or flow_size < 1:
        raise ValueError(f"pipelines and flow_size must be >= 1, not {pipelines} and {flow_size}")
    flow_width = max(2, len(str(math.ceil(pipelines / flow_size) - 1)))
    width = max(3, len(str(pipelines - 1)))
    names = []
    for index in range(pipelines):
        flow = f"flow{index // flow_size:0{flow_width}d}"
        names.append((flow, f"{flow}_pipeline_{index:0{width}d}"))
    return tuple(names)


def bench_pipelines(pipelines: int, seed: int, flow_size: int = FLOW_SIZE) -> tuple[BenchPipeline, ...]:
    """The pipelines and their profiles; a profile depends only on (seed, the pipeline's index)."""
    low, high = MEDIAN_SECONDS_RANGE
    result = []
    for index, (flow, name) in enumerate(pipeline_names(pipelines, flow_size)):
        rng = random.Random(f"{seed}|pipeline|{index}")
        result.append(
            BenchPipeline(
                index=index,
                name=name,
                flow=flow,
                flow_index=index // flow_size,
                position=index % flow_size,
                median_seconds=math.exp(rng.uniform(math.log(low), math.log(high))),
                sigma=rng.uniform(*SIGMA_RANGE),
                failure_rate=rng.uniform(*FAILURE_RATE_RANGE),
            )
        )
    return tuple(result)


# --- failures -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    error_code: str
    failure_type: str  # UserError | SystemError
    template: str  # with {activity}, {flow}, {position}


FAILURES = (
    _Failure(
        "SqlFailedToConnect",
        "UserError",
        "Operation on target Copy_{activity} failed: ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer."
        "Common.Shared.HybridDeliveryException,Message=Cannot connect to SQL Database: 'sql-{flow}-prod.database."
        "windows.net', Database: '{flow}', User: 'svc-adf-reader'. Check the linked service configuration is "
        "correct, and make sure the SQL Database firewall allows the integration runtime to access.,Source="
        "Microsoft.DataTransfer.ClientLibrary,''Type=Microsoft.Data.SqlClient.SqlException,Message=A network-"
        "related or instance-specific error occurred while establishing a connection to SQL Server.,Source="
        "Framework Microsoft SqlClient Data Provider,SqlErrorNumber=53,Class=20,ErrorCode=-2146232060,State=0,'",
    ),
    _Failure(
        "SftpFailedToConnectToSftpServer",
        "UserError",
        "Operation on target Copy_{activity} failed: Failure happened on 'Source' side. ErrorCode="
        "SftpFailedToConnectToSftpServer,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,"
        "Message=Failed to connect to Sftp server 'sftp.{flow}-provider.example.com'.,Source=Microsoft."
        "DataTransfer.ClientLibrary.SftpConnector,''Type=Renci.SshNet.Common.SshOperationTimeoutException,"
        "Message=Socket read operation has timed out after 30000 milliseconds.,Source=Renci.SshNet,'",
    ),
    _Failure(
        "UserErrorFileNotFound",
        "UserError",
        "Operation on target Copy_{activity} failed: Failure happened on 'Source' side. ErrorCode="
        "UserErrorFileNotFound,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=ADLS "
        "Gen2 operation failed for: Operation returned an invalid status code 'NotFound'. Account: "
        "'stlanding{flow}'. FileSystem: 'landing'. Path: '{flow}/{activity}/export.csv'.,Source=Microsoft."
        "DataTransfer.ClientLibrary,'",
    ),
    _Failure(
        "DelimitedTextMoreColumnsThanDefined",
        "UserError",
        "Operation on target Copy_{activity} failed: ErrorCode=DelimitedTextMoreColumnsThanDefined,'Type="
        "Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Error found when processing "
        "'Csv/Tsv Format Text' source 'export.csv' with row number 1842: found more columns than expected "
        "column count 27.,Source=Microsoft.DataTransfer.Common,'",
    ),
    _Failure(
        "3204",
        "SystemError",
        "Operation on target Notebook_{activity} failed: Cluster 0101-030512-dm{position:02d}x7q terminated "
        "unexpectedly. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE). Parameters: azure_error_code:"
        "AllocationFailed, azure_error_message:Allocation failed. We do not have sufficient capacity for the "
        "requested VM size in this region.",
    ),
)


def _failure_tail(pipeline: BenchPipeline, failure: _Failure) -> str:
    """The end of a failed final record: ErrorCode and Message in properties, then failureType."""
    activity = f"{pipeline.flow}_{pipeline.index}"
    message = failure.template.format(activity=activity, flow=pipeline.flow, position=pipeline.position)
    return (
        f',"ErrorCode":{json.dumps(failure.error_code)},"Message":{json.dumps(message)}}}'
        f',"failureType":{json.dumps(failure.failure_type)}}}\n'
    )


# --- one day --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    pipelines: tuple[BenchPipeline, ...]
    runs_per_day: int
    seed: int
    zone: ZoneInfo
    factory: Factory
    failure_tails: tuple[tuple[str, ...], ...]  # per pipeline, per failure kind

    @staticmethod
    def of(pipelines: int, runs_per_day: int, seed: int, flow_size: int, timezone: str, factory: Factory) -> _Settings:
        if not 1 <= runs_per_day <= MAX_RUNS_PER_DAY:
            raise ValueError(f"runs_per_day must be in 1..{MAX_RUNS_PER_DAY}, not {runs_per_day}")
        bench = bench_pipelines(pipelines, seed, flow_size)
        tails = tuple(tuple(_failure_tail(p, f) for f in FAILURES) for p in bench)
        return _Settings(bench, runs_per_day, seed, ZoneInfo(timezone), factory, tails)


def blob_path(factory: Factory, day: date, hour: int) -> str:
    """Relative path of the blob of ``hour`` (UTC) on ``day``: month and minute are both ``m=``."""
    return (
        f"{LOG_FOLDER}/resourceId={factory.resource_id}"
        f"/y={day.year:04d}/m={day.month:02d}/d={day.day:02d}/h={hour:02d}/m=00/PT1H.json"
    )


def _start_window(day: date, zone: ZoneInfo) -> tuple[float, float]:
    """Seconds after UTC midnight of ``day`` where ``day`` is both the local and the UTC date."""
    utc_midnight = datetime.combine(day, time(), tzinfo=UTC)
    local_midnight = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    next_local_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    low = max(0.0, (local_midnight - utc_midnight).total_seconds())
    high = min(float(DAY_SECONDS), (next_local_midnight - utc_midnight).total_seconds())
    return low, high


class _Clock:
    """ADF timestamps of one UTC day, from ticks after its midnight: 2025-04-07T22:10:03.1234567Z."""

    def __init__(self, day: date) -> None:
        self.hours = [f"{day.isoformat()}T{hour:02d}:" for hour in range(24)]

    def text(self, ticks: int) -> str:
        seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
        hour, rest = divmod(seconds, 3600)
        minute, second = divmod(rest, 60)
        return f"{self.hours[hour]}{minute:02d}:{second:02d}.{fraction:07d}Z"

    def request_time(self, ticks: int) -> str:
        """SystemParameters.PipelineRunRequestTime: the start to the second, with an explicit offset."""
        return self.text(ticks - ticks % TICKS_PER_SECOND)[:-1] + "+00:00"


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _trigger_id(rng: random.Random) -> str:
    return f"0858{rng.randrange(10**25):025d}CU{rng.randrange(1, 100):02d}"


@dataclass(frozen=True, slots=True)
class _Run:
    pipeline: BenchPipeline
    slot: int  # which of the day's runs, from 0
    run_id: str
    status: str  # final state
    start: int  # ticks after the day's UTC midnight
    end: int
    record_times: tuple[int, int, int]  # Queued, InProgress, final
    final_delay: int  # ticks from the final record's time to its arrival in storage
    failure: int  # index in FAILURES, used when the run failed


def _draw_run(rng: random.Random, pipeline: BenchPipeline, slot: int, start_seconds: float, last_end: float) -> _Run:
    # Every draw happens for every run, so one run's outcome never shifts the next run's draws.
    start_seconds += rng.uniform(0.0, JITTER_SECONDS)
    outcome, anomaly = rng.random(), rng.random()
    duration = pipeline.median_seconds * math.exp(pipeline.sigma * rng.gauss(0.0, 1.0))
    cut_short = rng.uniform(0.05, 0.6)
    failure = rng.randrange(len(FAILURES))
    lags = [rng.uniform(low, high) for low, high in LAG_RANGES]
    delay = rng.uniform(*DELAY_SECONDS) if rng.random() < DELAYED_RATE else 0.0
    run_id = _uuid4(rng)

    if anomaly < SLOW_RATE:
        duration *= 3.0
    elif anomaly < SLOW_RATE + FAST_RATE:
        duration *= 0.1
    status = SUCCEEDED
    if outcome < pipeline.failure_rate:
        status, duration = FAILED, duration * cut_short  # fails early
    elif outcome < pipeline.failure_rate + CANCEL_RATE:
        status, duration = CANCELLED, duration * (1.0 - cut_short)
    duration = min(duration, MAX_DURATION_FACTOR * pipeline.median_seconds, last_end - start_seconds)
    duration = max(duration, MIN_DURATION_SECONDS)

    start = round(start_seconds * TICKS_PER_SECOND)
    end = start + round(duration * TICKS_PER_SECOND)
    queued, in_progress, final = (round(lag * TICKS_PER_SECOND) for lag in lags)
    return _Run(
        pipeline=pipeline,
        slot=slot,
        run_id=run_id,
        status=status,
        start=start,
        end=end,
        record_times=(start + queued, start + in_progress, end + final),
        final_delay=round(delay * TICKS_PER_SECOND),
        failure=failure,
    )


@dataclass(frozen=True)
class _Night:
    """What the runs of one day share: its clock, its timetable and its triggers."""

    day_iso: str
    clock: _Clock
    slot_starts: tuple[float, ...]  # seconds after UTC midnight, before the flow's phase
    flow_phases: dict[int, float]  # seconds, per flow index
    max_stagger: float
    last_end: float  # seconds after UTC midnight
    triggers: dict[tuple[str, int], str]  # (flow, slot) -> the schedule trigger's run id

    @staticmethod
    def of(settings: _Settings, day: date) -> _Night:
        low, high = _start_window(day, settings.zone)
        spacing = (high - low - LEAD_SECONDS - RESERVE_SECONDS) / settings.runs_per_day
        max_phase = min(0.5 * spacing, MAX_PHASE_SECONDS)
        flows = sorted({(p.flow_index, p.flow) for p in settings.pipelines})
        triggers: dict[tuple[str, int], str] = {}
        for _, flow in flows:
            rng = random.Random(f"{settings.seed}|{day.isoformat()}|trigger|{flow}")
            for slot in range(settings.runs_per_day):
                triggers[(flow, slot)] = _trigger_id(rng)
        return _Night(
            day_iso=day.isoformat(),
            clock=_Clock(day),
            slot_starts=tuple(low + LEAD_SECONDS + slot * spacing for slot in range(settings.runs_per_day)),
            flow_phases={i: random.Random(f"{settings.seed}|flow|{i}").random() * max_phase for i, _ in flows},
            max_stagger=0.2 * spacing,
            last_end=DAY_SECONDS - END_MARGIN_SECONDS,
            triggers=triggers,
        )

    def start_seconds(self, pipeline: BenchPipeline, slot: int) -> float:
        stagger = min(pipeline.position * STAGGER_SECONDS, self.max_stagger)
        return self.slot_starts[slot] + self.flow_phases[pipeline.flow_index] + stagger


def _run_lines(run: _Run, night: _Night, settings: _Settings) -> list[tuple[int, str]]:
    """The run's three records as (arrival ticks, JSON line), keys in the order Azure Monitor writes them."""
    text = night.clock.text
    name, run_id, start = run.pipeline.name, run.run_id, text(run.start)
    factory = settings.factory
    head = f'","resourceId":"{factory.resource_id}","category":"PipelineRuns","level":"'
    ids = f'","correlationId":"{run_id}","runId":"{run_id}","groupId":"{run_id}","pipelineName":"{name}"'
    flow, trigger = run.pipeline.flow, night.triggers[(run.pipeline.flow, run.slot)]
    properties = (
        f'"location":"{factory.location}","properties":{{"Parameters":{{"window_start":"{night.day_iso}"}},'
        f'"SystemParameters":{{"ExecutionStart":"{start}","TriggerId":"{trigger}",'
        f'"SubscriptionId":"{factory.subscription}","PipelineRunRequestTime":"{night.clock.request_time(run.start)}"}},'
        f'"Predecessors":[{{"Name":"TR_{flow}_{run.slot + 1}","Id":"{trigger}","InvokedByType":"ScheduleTrigger"}}],'
        f'"Annotations":["bench","{flow}"]'
    )
    lines = []
    for index, (state, at) in enumerate(zip((QUEUED, IN_PROGRESS, run.status), run.record_times, strict=True)):
        final = index == 2
        end = text(run.end) if final else NOT_ENDED
        if final and state == FAILED:
            level, level_name, closing = 2, "Error", settings.failure_tails[run.pipeline.index][run.failure]
        else:
            level, level_name, closing = 4, "Informational", "}}\n"
        line = (
            f'{{"Level":{level},"time":"{text(at)}{head}{level_name}{ids},"operationName":"{name} - {state}",'
            f'"start":"{start}","end":"{end}","status":"{state}",{properties}{closing}'
        )
        lines.append((at + run.final_delay if final else at, line))
    return lines


def _day_lines(settings: _Settings, day: date) -> tuple[list[list[tuple[int, int, str]]], list[_Run]]:
    """The day's lines by UTC hour of arrival, as (arrival ticks, sequence, line); and its runs."""
    night = _Night.of(settings, day)
    blobs: list[list[tuple[int, int, str]]] = [[] for _ in range(24)]
    runs: list[_Run] = []
    sequence = itertools.count()
    for pipeline in settings.pipelines:
        rng = random.Random(f"{settings.seed}|{night.day_iso}|{pipeline.index}")
        for slot in range(settings.runs_per_day):
            run = _draw_run(rng, pipeline, slot, night.start_seconds(pipeline, slot), night.last_end)
            runs.append(run)
            for arrival, line in _run_lines(run, night, settings):
                # The sequence number orders records arriving at the same tick by generation order.
                blobs[arrival // TICKS_PER_HOUR].append((arrival, next(sequence), line))
    return blobs, runs


# --- writing --------------------------------------------------------------------------------------------


def _write_blob(path: Path, content: bytes, keep: int, fresh: bool) -> None:
    """Writes ``content[:keep]``; an existing shorter prefix of it is grown by appending, like an append blob."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not fresh and path.exists():
        existing = path.read_bytes()
        if existing == content[:keep]:
            return
        if len(existing) < keep and content.startswith(existing):
            with path.open("ab") as blob:
                blob.write(content[len(existing) : keep])
            return
        raise BlobConflictError(
            f"{path}: its {len(existing)} bytes are not the start of what this day writes there "
            "(another seed, other settings, or a complete blob being written partially)"
        )
    path.write_bytes(content[:keep])


def _write_day(root: Path, settings: _Settings, day: date, fresh: bool, partial: bool, torn_line: bool) -> DayCounts:
    blobs, runs = _day_lines(settings, day)
    hours = [hour for hour in range(24) if blobs[hour]]
    records = size = 0
    for hour in hours:
        lines = [line for _, _, line in sorted(blobs[hour])]
        content = "".join(lines).encode("utf-8")
        keep = len(content)
        if partial and hour == hours[-1]:
            # The blob as a reader finds it while ADF is still appending: the first half of its lines,
            # and with torn_line the beginning of the next one (no newline).
            half = len(lines) // 2
            keep = len("".join(lines[:half]).encode("utf-8"))
            if torn_line:
                keep += len(lines[half].encode("utf-8")) * 3 // 5
        _write_blob(root / blob_path(settings.factory, day, hour), content, keep, fresh)
        records += content.count(b"\n", 0, keep)
        size += keep
    finals = [(run.record_times[2], run.record_times[2] + run.final_delay) for run in runs]
    late = sum(at // TICKS_PER_HOUR != arrival // TICKS_PER_HOUR for at, arrival in finals)
    return DayCounts(
        day=day,
        files=len(hours),
        records=records,
        runs=len(runs),
        failed_runs=sum(run.status == FAILED for run in runs),
        cancelled_runs=sum(run.status == CANCELLED for run in runs),
        late_records=late,
        bytes=size,
    )


# --- entry points ---------------------------------------------------------------------------------------


def generate_logs(
    out_dir: Path,
    pipelines: int,
    days: int,
    runs_per_day: int,
    seed: int,
    first_day: date,
    *,
    flow_size: int = FLOW_SIZE,
    timezone: str = DEFAULT_TIMEZONE,
    factory: Factory = DEFAULT_FACTORY,
) -> GeneratedLogs:
    """Writes ``days`` days from ``first_day`` under ``out_dir``, replacing its ``insights-logs-pipelineruns``.

    ``pipelines`` pipelines in flows of ``flow_size`` run ``runs_per_day`` times a day: P x D x R runs,
    3 records each. The same arguments give the same bytes.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, not {days}")
    settings = _Settings.of(pipelines, runs_per_day, seed, flow_size, timezone, factory)
    target = out_dir / LOG_FOLDER
    if target.exists():
        shutil.rmtree(target)
    counts = [
        _write_day(out_dir, settings, first_day + timedelta(days=n), fresh=True, partial=False, torn_line=False)
        for n in range(days)
    ]
    return GeneratedLogs.of(out_dir, counts)


def append_day(
    out_dir: Path,
    day: date,
    pipelines: int,
    runs_per_day: int,
    seed: int,
    *,
    partial: bool = False,
    torn_line: bool = False,
    flow_size: int = FLOW_SIZE,
    timezone: str = DEFAULT_TIMEZONE,
    factory: Factory = DEFAULT_FACTORY,
) -> GeneratedLogs:
    """Writes one more day next to existing ones: the bytes ``generate_logs`` writes for ``day``.

    With ``partial``, the day's last blob gets only the first half of its lines, rounded down (with
    ``torn_line``, plus the first 60% of the next line, without its newline): a blob caught while ADF is
    still appending to it (a one-line blob is then created empty, as an append blob exists before its
    first block).
    A later call without ``partial`` appends the rest, so the blob ends up equal to the full one. Other
    existing blobs are left untouched when they already hold their content; a blob that is not a prefix of
    its content raises :class:`BlobConflictError` (e.g. a different seed). The counts are the day's.
    """
    if torn_line and not partial:
        raise ValueError("torn_line only applies to a partial write")
    settings = _Settings.of(pipelines, runs_per_day, seed, flow_size, timezone, factory)
    counts = _write_day(out_dir, settings, day, fresh=False, partial=partial, torn_line=torn_line)
    return GeneratedLogs.of(out_dir, [counts])


def write_config(
    path: Path,
    pipelines: int,
    *,
    logs: Path,
    lakehouse: Path,
    flow_size: int = FLOW_SIZE,
    timezone: str = DEFAULT_TIMEZONE,
) -> Config:
    """Writes the ``monitoring.yml`` of the generated pipelines (daily, one flow per ``flowFF``) and loads it.

    ``logs`` is the folder given to ``generate_logs`` as ``out_dir``; relative paths stay relative (to the
    working directory of the job), as the README's configuration section says.
    """
    flows: dict[str, list[str]] = {}
    for flow, name in pipeline_names(pipelines, flow_size):
        flows.setdefault(flow, []).append(name)
    document = {
        "timezone": timezone,
        "source": {"format": "adf_diagnostic", "path": str(logs)},
        "storage": {"root": str(lakehouse)},
        "defaults": {"schedule": "daily"},
        "flows": [{"name": flow, "pipelines": names} for flow, names in flows.items()],
    }
    header = (
        f"# Benchmark config written by bench/generate.py: {pipelines} pipelines in {len(flows)} flows.\n"
        "# Reference: README.md, 'Configuration'.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, width=120), encoding="utf-8")
    return load_config(path)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/generate.py",
        description="Generate large, realistic ADF diagnostic logs (PipelineRuns) for the benchmark.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write insights-logs-pipelineruns/ into")
    parser.add_argument("--pipelines", type=int, required=True)
    parser.add_argument("--days", type=int, help="days to generate (replaces the folder's logs)")
    parser.add_argument("--runs-per-day", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2025, 1, 1), help="default 2025-01-01")
    parser.add_argument("--flow-size", type=int, default=FLOW_SIZE, help=f"pipelines per flow (default {FLOW_SIZE})")
    parser.add_argument("--timezone", default=DEFAULT_TIMEZONE, help=f"of the config (default {DEFAULT_TIMEZONE})")
    parser.add_argument("--config", type=Path, help="also write the matching monitoring.yml here")
    parser.add_argument("--lakehouse", type=Path, default=Path("lakehouse"), help="storage.root of the config")
    parser.add_argument("--append-day", type=date.fromisoformat, help="write only this day, next to existing logs")
    parser.add_argument("--partial", action="store_true", help="with --append-day: half of the day's last blob")
    parser.add_argument("--torn-line", action="store_true", help="with --partial: and a cut-off line")
    args = parser.parse_args(argv)
    if (args.days is None) == (args.append_day is None):
        parser.error("give either --days (full generation) or --append-day (one more day)")
    if args.partial and args.append_day is None:
        parser.error("--partial only applies to --append-day")
    if args.torn_line and not args.partial:
        parser.error("--torn-line only applies to --partial")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    started = clock.perf_counter()
    if args.append_day is not None:
        logs = append_day(
            args.out,
            args.append_day,
            args.pipelines,
            args.runs_per_day,
            args.seed,
            partial=args.partial,
            torn_line=args.torn_line,
            flow_size=args.flow_size,
            timezone=args.timezone,
        )
    else:
        logs = generate_logs(
            args.out,
            args.pipelines,
            args.days,
            args.runs_per_day,
            args.seed,
            args.first_day,
            flow_size=args.flow_size,
            timezone=args.timezone,
        )
    seconds = clock.perf_counter() - started
    megabytes = logs.bytes / 1e6
    print(
        f"{logs.files} files, {logs.records} records ({logs.runs} runs, {logs.failed_runs} failed, "
        f"{logs.cancelled_runs} cancelled, {logs.late_records} late records), {megabytes:.1f} MB "
        f"in {seconds:.2f} s: {logs.records / seconds:,.0f} records/s, {megabytes / seconds:.1f} MB/s"
    )
    if args.config is not None:
        write_config(
            args.config,
            args.pipelines,
            logs=args.out,
            lakehouse=args.lakehouse,
            flow_size=args.flow_size,
            timezone=args.timezone,
        )
        print(f"config: {args.config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
