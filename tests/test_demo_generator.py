"""The demo log generator: layout, format, determinism, and that each planted incident yields its reason.

No Spark: a small pure-Python reading of the job's rules (final run = latest start, due at the deadline
or 24:00 local, 30-day median baseline) checks the generated runs against the incidents.
"""

from __future__ import annotations

import json
import re
import statistics
import time as clock
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitoring.config import Config, clock_moment, day_span, load_config
from monitoring.demo import DemoLogs, generate_demo_logs
from monitoring.vocabulary import REASON_CODES, SUCCEEDED, TERMINAL_STATES

CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "monitoring.example.yml"
PARIS = ZoneInfo("Europe/Paris")
# A Tuesday morning; 30 days back crosses the spring DST change (2025-03-30) and a 1st of the month.
NOW = datetime(2025, 4, 8, 8, 0, tzinfo=PARIS)
JUST_AFTER_MIDNIGHT = datetime(2025, 4, 8, 0, 5, tzinfo=PARIS)
SPRING_FORWARD = date(2025, 3, 30)
BLOB = re.compile(
    r"insights-logs-pipelineruns/resourceId=/SUBSCRIPTIONS/[0-9A-F-]{36}/RESOURCEGROUPS/[^/]+/PROVIDERS/"
    r"MICROSOFT\.DATAFACTORY/FACTORIES/ADF-DEMO/y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})/m=00/PT1H\.json"
)
TIME_7_DIGITS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z")


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG_PATH)


@pytest.fixture(scope="module")
def demo(config: Config, tmp_path_factory: pytest.TempPathFactory) -> DemoLogs:
    return generate_demo_logs(config, tmp_path_factory.mktemp("demo"), days=30, now=NOW)


# --- reading the generated files ---------------------------------------------------------------------


def log_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def file_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in log_files(root)}


@dataclass(frozen=True)
class Parsed:
    records: list[tuple[str, dict]]  # (relative blob path, record)
    damaged: list[tuple[str, str]]  # (relative blob path, line)


def parse_all(root: Path) -> Parsed:
    records, damaged = [], []
    for path in log_files(root):
        relative = path.relative_to(root).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append((relative, json.loads(line)))
            except json.JSONDecodeError:
                damaged.append((relative, line))
    return Parsed(records, damaged)


def parse_time(text: str) -> datetime | None:
    if text.startswith("1601-"):
        return None
    return datetime.strptime(text[:26] + "+0000", "%Y-%m-%dT%H:%M:%S.%f%z")


@dataclass(frozen=True)
class RunView:
    pipeline: str
    status: str
    start: datetime
    end: datetime | None


def business_date(config: Config, pipeline: str, start: datetime) -> date:
    """The date whose span (config.day_span, with the pipeline's flow's day_starts_at) holds ``start``."""
    rule = next((p for p in config.pipelines if p.name == pipeline), config.defaults)
    day = start.astimezone(ZoneInfo(config.timezone)).date() + timedelta(days=1)
    while not day_span(day, config.timezone, rule.day_starts_at)[0] <= start:
        day -= timedelta(days=1)
    return day


def runs_by_day(records: list[dict], config: Config) -> dict[tuple[str, date], list[RunView]]:
    """Each run's best state (a terminal one beats the others), grouped by pipeline and business date: its
    own, or its run group's earliest run's (a rerun belongs to the night it reruns)."""
    best: dict[str, dict] = {}
    for rec in records:
        current = best.get(rec["runId"])
        rank = (rec["status"] in TERMINAL_STATES, rec["time"])
        if current is None or rank > (current["status"] in TERMINAL_STATES, current["time"]):
            best[rec["runId"]] = rec
    group_start: dict[str, datetime] = {}
    for rec in best.values():
        start = parse_time(rec["start"])
        assert start is not None
        group_start[rec["groupId"]] = min(start, group_start.get(rec["groupId"], start))
    days: dict[tuple[str, date], list[RunView]] = defaultdict(list)
    for rec in best.values():
        start = parse_time(rec["start"])
        assert start is not None
        run = RunView(rec["pipelineName"], rec["status"], start, parse_time(rec["end"]))
        days[(run.pipeline, business_date(config, run.pipeline, group_start[rec["groupId"]]))].append(run)
    for runs in days.values():
        runs.sort(key=lambda r: r.start)
    return days


def is_due_at(config: Config, pipeline: str, day: date) -> tuple[datetime, datetime | None]:
    rule = next((p for p in config.pipelines if p.name == pipeline), config.defaults)
    deadline = clock_moment(day, rule.deadline, config.timezone, rule.day_starts_at) if rule.deadline else None
    return deadline or day_span(day, config.timezone, rule.day_starts_at)[1], deadline


def expected(config: Config, pipeline: str, day: date) -> bool:
    rule = next((p for p in config.pipelines if p.name == pipeline), None)
    if rule is None:
        return False
    kind, days = rule.schedule.kind, rule.schedule.days
    return kind == "daily" or (kind == "monthly" and day.day in days)


def duration_minutes(run: RunView) -> float:
    assert run.end is not None
    return (run.end - run.start).total_seconds() / 60


def reasons(config: Config, demo: DemoLogs, now: datetime) -> dict[tuple[str, date], set[str]]:
    """The job's reason codes, re-derived in plain Python from the generated logs."""
    zone = ZoneInfo(config.timezone)
    days = runs_by_day([rec for _, rec in parse_all(demo.root).records], config)
    rules = {p.name: p for p in config.pipelines}
    dates = {day for _, day in days} | {now.astimezone(zone).date()}
    keys = set(days) | {(p, d) for p in rules for d in dates if expected(config, p, d)}
    found: dict[tuple[str, date], set[str]] = {}
    for pipeline, day in keys:
        runs = days.get((pipeline, day), [])
        final = runs[-1] if runs else None
        due, deadline = is_due_at(config, pipeline, day)
        is_due = now >= due
        ended = final is not None and final.status in TERMINAL_STATES
        ok = final is not None and final.status == SUCCEEDED
        codes = set()
        if pipeline not in rules:
            codes.add("UNASSIGNED")
        if final is None and expected(config, pipeline, day):
            codes.add("MISSING" if is_due else "PENDING")
        if final is not None and not ended:
            codes.add("RUNNING" if is_due else "PENDING")
        if final is not None and final.status in ("Failed", "Cancelled"):
            codes.add("FAILED" if final.status == "Failed" else "CANCELLED")
        if ok and deadline is not None and final.end and final.end > deadline:
            codes.add("LATE")
        if ok and any(r.status in ("Failed", "Cancelled") for r in runs[:-1]):
            codes.add("RETRIED")
        for dep in rules[pipeline].predecessors if pipeline in rules else ():
            before = days.get((dep, day))
            if final and before and (before[-1].end is None or final.start < before[-1].end):
                codes.add("ORDER")
        if ok:
            history = [days.get((pipeline, day - timedelta(days=n)), []) for n in range(1, 31)]
            samples = [duration_minutes(h[-1]) for h in history if h and h[-1].status == SUCCEEDED]
            if len(samples) >= 7:
                median, took = statistics.median(samples), duration_minutes(final)
                if took > 2 * median and took >= median + 5:
                    codes.add("SLOW")
                if took < 0.2 * median and median >= 10:
                    codes.add("FAST")
        found[(pipeline, day)] = codes
    return found


# --- tests ---------------------------------------------------------------------------------------------


def test_blobs_follow_the_adf_layout_and_hold_their_hours_records(demo: DemoLogs) -> None:
    files = log_files(demo.root)
    assert len(files) == demo.files > 20
    for path in files:
        match = BLOB.fullmatch(path.relative_to(demo.root).as_posix())
        assert match, path
        hour = datetime(*map(int, match.groups()), tzinfo=UTC)
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.endswith("}"):
                event = parse_time(json.loads(line)["time"])
                assert event is not None
                # Only the planted duplicate sits in a later hour's blob than its own.
                assert hour - timedelta(hours=1) <= event < hour + timedelta(hours=1), (path, line[:60])


def test_every_line_is_json_but_the_one_truncated_line(demo: DemoLogs) -> None:
    parsed = parse_all(demo.root)
    assert len(parsed.records) == demo.records
    assert len(parsed.damaged) == 1
    damaged_file, damaged_line = parsed.damaged[0]
    for path in log_files(demo.root):
        content = path.read_text(encoding="utf-8")
        is_damaged = path.relative_to(demo.root).as_posix() == damaged_file
        assert content.endswith(damaged_line) if is_damaged else content.endswith("\n")
        assert not content.endswith("\n") if is_damaged else True
    quarantine = [i for i in demo.incidents if i.reason == "QUARANTINE"]
    assert len(quarantine) == 1 and damaged_file in quarantine[0].note


def test_records_look_like_adf_diagnostic_logs(demo: DemoLogs) -> None:
    records = [rec for _, rec in parse_all(demo.root).records]
    for rec in records:
        assert rec["category"] == "PipelineRuns" and rec["location"] == "francecentral"
        assert rec["resourceId"].endswith("/FACTORIES/ADF-DEMO")
        assert rec["correlationId"] == rec["runId"]
        assert rec["operationName"] == f"{rec['pipelineName']} - {rec['status']}"
        assert TIME_7_DIGITS.fullmatch(rec["time"]) and TIME_7_DIGITS.fullmatch(rec["start"])
        assert {"Parameters", "SystemParameters", "Predecessors", "Annotations"} <= set(rec["properties"])
        failed = rec["status"] == "Failed"
        assert (rec["level"] == "Error") == failed
        assert ("failureType" in rec) == failed and ("Message" in rec["properties"]) == failed
        if rec["status"] in TERMINAL_STATES:
            assert rec["end"] > rec["start"] and rec["time"] > rec["end"]
        else:
            assert rec["end"] == "1601-01-01T00:00:00Z" and rec["time"] > rec["start"]
    messages = {rec["properties"]["Message"] for rec in records if rec["status"] == "Failed"}
    assert any("ErrorCode=SqlFailedToConnect" in m and "Cannot connect to SQL Database" in m for m in messages)
    assert {rec["failureType"] for rec in records if "failureType" in rec} == {"UserError", "SystemError"}


def test_one_record_is_duplicated_in_a_later_hours_blob(demo: DemoLogs) -> None:
    by_line = defaultdict(list)
    for blob, rec in parse_all(demo.root).records:
        by_line[json.dumps(rec, sort_keys=True)].append(blob)
    duplicated = {line: blobs for line, blobs in by_line.items() if len(blobs) > 1}
    assert len(duplicated) == 1
    [(line, blobs)] = duplicated.items()
    assert json.loads(line)["status"] in TERMINAL_STATES and len(set(blobs)) == 2


def test_every_reason_code_is_planted(demo: DemoLogs) -> None:
    planted = {i.reason for i in demo.incidents}
    assert {*REASON_CODES, "UNASSIGNED", "QUARANTINE"} <= planted


def test_planted_incidents_produce_their_reasons_and_nothing_else_fires(config: Config, demo: DemoLogs) -> None:
    found = reasons(config, demo, NOW)
    today = NOW.astimezone(PARIS).date()
    for incident in demo.incidents:
        if incident.reason != "QUARANTINE":
            key = (incident.pipeline_name, incident.business_date)
            assert incident.reason in found.get(key, set()), (incident, found.get(key))
    planted = {(i.pipeline_name, i.business_date, i.reason) for i in demo.incidents}
    for (pipeline, day), codes in found.items():
        for code in codes:
            # Today, whatever has not run yet or is still running is legitimately PENDING.
            if not (code == "PENDING" and day == today):
                assert (pipeline, day, code) in planted, (pipeline, day, code)


def test_failed_streak_ends_yesterday_and_telephonie_fails_entirely_one_day(config: Config, demo: DemoLogs) -> None:
    today = NOW.astimezone(PARIS).date()
    failed = defaultdict(set)
    for i in demo.incidents:
        if i.reason == "FAILED":
            failed[i.pipeline_name].add(i.business_date)
    streak = {today - timedelta(days=n) for n in (1, 2, 3)}
    assert any(days == streak for days in failed.values())
    telephonie = next(f for f in config.flows if f.name == "Telephonie")
    shared = set.intersection(*(failed[p.name] for p in telephonie.pipelines))
    assert len(shared) == 1
    slow_fast = [i for i in demo.incidents if i.reason in ("SLOW", "FAST")]
    first = today - timedelta(days=29)
    assert all((i.business_date - first).days >= 8 for i in slow_fast)


def test_same_arguments_give_identical_bytes_and_the_seed_matters(config: Config, tmp_path: Path) -> None:
    first = generate_demo_logs(config, tmp_path / "a", days=30, now=NOW)
    second = generate_demo_logs(config, tmp_path / "b", days=30, now=NOW)
    other_seed = generate_demo_logs(config, tmp_path / "c", days=30, now=NOW, seed=8)
    assert file_bytes(first.root) == file_bytes(second.root)
    assert first.incidents == second.incidents
    assert file_bytes(first.root) != file_bytes(other_seed.root)


def test_regenerating_clears_only_the_log_folder(config: Config, tmp_path: Path) -> None:
    stale = tmp_path / "insights-logs-pipelineruns" / "stale" / "PT1H.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    generate_demo_logs(config, tmp_path, days=5, now=NOW)
    assert not stale.exists() and keep.read_text() == "mine"


def test_nothing_after_now_and_a_run_in_progress_has_no_final_record(demo: DemoLogs) -> None:
    records = [rec for _, rec in parse_all(demo.root).records]
    assert all(parse_time(rec["time"]) <= NOW for rec in records)
    [pending] = [i for i in demo.incidents if i.reason == "PENDING"]
    assert pending.business_date == NOW.astimezone(PARIS).date()
    statuses_by_run = defaultdict(set)
    for rec in records:
        if rec["pipelineName"] == pending.pipeline_name:
            start = parse_time(rec["start"])
            assert start is not None
            if start.astimezone(PARIS).date() == pending.business_date:
                statuses_by_run[rec["runId"]].add(rec["status"])
    assert list(statuses_by_run.values()) == [{"Queued", "InProgress"}]


def test_records_of_one_run_can_land_in_different_hour_blobs(demo: DemoLogs) -> None:
    blobs_by_run = defaultdict(set)
    for blob, rec in parse_all(demo.root).records:
        blobs_by_run[rec["runId"]].add(blob)
    assert sum(len(blobs) > 1 for blobs in blobs_by_run.values()) >= 10


def test_monthly_pipeline_runs_only_on_the_first(demo: DemoLogs) -> None:
    starts = {
        parse_time(rec["start"])
        for _, rec in parse_all(demo.root).records
        if rec["pipelineName"] == "accounting_cube_monthly_master"
    }
    local_days = {start.astimezone(PARIS).date() for start in starts if start}
    assert local_days == {date(2025, 4, 1)}


def test_each_flow_runs_at_its_usual_local_hours(demo: DemoLogs) -> None:
    earliest: dict[str, time] = {}
    latest: dict[str, time] = {}
    for _, rec in parse_all(demo.root).records:
        flow = rec["properties"]["Predecessors"][0]["Name"]
        start = parse_time(rec["start"])
        assert start is not None
        # 02:00 local does not exist on the spring-forward night (Solaris starts an hour later), and
        # today holds the planted PENDING run, started just before now.
        if start.astimezone(PARIS).date() in (SPRING_FORWARD, NOW.date()):
            continue
        local = start.astimezone(PARIS).time()
        earliest[flow] = min(earliest.get(flow, local), local)
        latest[flow] = max(latest.get(flow, local), local)
    assert time(0, 10) <= earliest["TR_Telephonie_Nightly"] and latest["TR_Telephonie_Nightly"] < time(1, 30)
    assert time(2, 0) <= earliest["TR_Solaris_Nightly"] and latest["TR_Solaris_Nightly"] < time(3, 30)
    assert time(3, 0) <= earliest["TR_Sitecom_Nightly"] and latest["TR_Sitecom_Nightly"] < time(6, 0)


def test_five_past_midnight_still_works(config: Config, tmp_path: Path) -> None:
    demo = generate_demo_logs(config, tmp_path, days=30, now=JUST_AFTER_MIDNIGHT)
    today = JUST_AFTER_MIDNIGHT.date()
    records = [rec for _, rec in parse_all(demo.root).records]
    assert records and all(parse_time(rec["time"]) <= JUST_AFTER_MIDNIGHT for rec in records)
    today_records = [rec for rec in records if (s := parse_time(rec["start"])) and s.astimezone(PARIS).date() == today]
    # Only the planted PENDING run, started at 00:01 and not ended: the night has barely begun.
    [pending] = [i for i in demo.incidents if i.reason == "PENDING"]
    assert {(rec["pipelineName"], rec["status"]) for rec in today_records} <= {
        (pending.pipeline_name, "Queued"),
        (pending.pipeline_name, "InProgress"),
    }
    assert {*REASON_CODES, "UNASSIGNED", "QUARANTINE"} <= {i.reason for i in demo.incidents}
    found = reasons(config, demo, JUST_AFTER_MIDNIGHT)
    expected_today = [p for p in config.pipelines if expected(config, p.name, today)]
    assert all(found[(p.name, today)] == {"PENDING"} for p in expected_today if p.day_starts_at >= 0)
    # A night that began the evening before is over by 00:05: Billing's ran 22:30-23:40.
    evening = [p for p in expected_today if p.day_starts_at < 0]
    assert evening and all(found[(p.name, today)] == set() for p in evening)


def test_a_short_range_plants_only_what_fits(config: Config, tmp_path: Path) -> None:
    demo = generate_demo_logs(config, tmp_path, days=2, now=NOW)
    first = NOW.date() - timedelta(days=1)
    assert all(i.business_date >= first for i in demo.incidents)
    assert {i.reason for i in demo.incidents} >= {"PENDING", "FAILED"}
    assert not {"SLOW", "FAST"} & {i.reason for i in demo.incidents}


def test_thirty_days_generate_quickly(config: Config, tmp_path: Path) -> None:
    started = clock.perf_counter()
    generate_demo_logs(config, tmp_path, days=30, now=NOW)
    assert clock.perf_counter() - started < 2.0


def test_now_must_be_timezone_aware(config: Config, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_demo_logs(config, tmp_path, days=3, now=NOW.replace(tzinfo=None))
