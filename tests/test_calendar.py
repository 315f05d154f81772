"""The estates' own calendar (issue 12): days that start the evening before, next-morning reruns and their
child runs, sequential chains with members not expected every day, baselines counted in expected days."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from monitoring.cli import main
from monitoring.config import ConfigError, clock_moment, day_span
from monitoring.evaluate import (
    clock_moment_utc,
    earliest_business_date,
    local_wall_clock_to_utc,
    span_date,
    with_business_date,
)
from monitoring.ingest import latest_run_states, with_quarantine_reason
from monitoring.sources.raw_events import read_raw_events
from monitoring.tables import PIPELINE_RUNS
from support import PARIS, by_pipeline, config, evaluate, gold_history, local, runs

# --- day_starts_at: a flow whose night starts the evening before ------------------------------------------

EVENING = {
    "name": "Evening",
    "day_starts_at": "-02:00",
    "deadline": "02:00",
    "order": "sequential",
    "pipelines": ["evening_extract", "evening_load"],
}


def _evening_runs(first: date, last: date, planted: dict[date, tuple]) -> list[tuple]:
    """Each business date D: extract 22:30-23:40 the evening before, load 23:45-00:10 (or ``planted[D]``)."""
    rows = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        eve = day - timedelta(days=1)
        rows.append(("evening_extract", "Succeeded", f"{eve} 22:30:00", f"{eve} 23:40:00"))
        rows.append(planted.get(day, ("evening_load", "Succeeded", f"{eve} 23:45:00", f"{day} 00:10:00")))
    return rows


@pytest.mark.heavy  # seven months of nights in one evaluation (~1 min on 2 busy cores)
def test_a_flow_that_starts_the_evening_before_keeps_its_night_whole_across_both_dst_changes(spark):
    """Spring forward (30 March) and fall back (26 October) 2025 in Paris, one business date per night: no
    night is cut in two, the 02:00 deadline is the morning's, the first and last days are not MISSING."""
    first, last = date(2025, 3, 26), date(2025, 10, 28)
    planted = {
        # 02:00 does not exist on 30 March: the deadline is applied at 03:00 summer time.
        date(2025, 3, 30): ("evening_load", "Succeeded", "2025-03-30 03:00:00", "2025-03-30 03:10:00"),
        # 02:00 happens twice on 26 October: the first one (summer time, 00:00 UTC) is the deadline.
        date(2025, 10, 26): ("evening_load", "Succeeded", "2025-10-26 01:00:00", "2025-10-26 01:15:00"),
        date(2025, 10, 27): ("evening_load", "Succeeded", "2025-10-27 02:05:00", "2025-10-27 02:20:00"),
    }
    data = runs(spark, _evening_runs(first, last, planted))
    # The repeated hour cannot be written as local text: that run is moved to 02:15-02:30 winter time.
    moved = F.col("start_time") == local("2025-10-26 01:00:00")
    data = data.withColumns(
        {
            c: F.when(moved, F.col(c) + F.make_dt_interval(mins=F.lit(135))).otherwise(F.col(c))
            for c in ("start_time", "end_time")
        }
    )
    pipelines, flows = evaluate(spark, config([EVENING]), data, first, last, as_of="2025-10-29T12:00")
    statuses = {(r.business_date, r.pipeline_name): (r.status, r.reason) for r in pipelines}
    late = {
        (d, "evening_load"): ("WARNING", "LATE") for d in (date(2025, 3, 30), date(2025, 10, 26), date(2025, 10, 27))
    }
    assert len(statuses) == 2 * ((last - first).days + 1)
    assert {k: v for k, v in statuses.items() if v != ("OK", None)} == late
    rows = {(r.business_date, r.pipeline_name): r for r in pipelines}
    assert rows[date(2025, 3, 30), "evening_load"].detail == (
        "ended 03:10:00, deadline 02:00 (applied at 03:00: the clock skipped 02:00)"
    )
    assert rows[date(2025, 10, 26), "evening_load"].detail == (
        "ended 02:30:00, deadline 02:00 (the first of the two 02:00s)"
    )
    assert rows[date(2025, 10, 27), "evening_load"].detail == "ended 02:20:00, deadline 02:00"
    by_date = {f.business_date: f for f in flows}
    assert len(by_date) == (last - first).days + 1
    for day in (first, date(2025, 3, 31), date(2025, 6, 15), last):
        flow = by_date[day]
        assert flow.start_local == f"{day - timedelta(days=1)} 22:30:00"
        assert flow.end_local == f"{day} 00:10:00"
        assert flow.duration_hms == "01:40:00"
    # 22:30 summer time to 02:30 winter time: five hours.
    assert (by_date[date(2025, 10, 26)].end_local, by_date[date(2025, 10, 26)].duration_hms) == (
        "2025-10-26 02:30:00",
        "05:00:00",
    )


def test_a_night_before_its_deadline_is_pending_and_without_deadline_due_at_the_end_of_its_span(spark):
    cfg = config([{"name": "Evening", "day_starts_at": "-02:00", "pipelines": ["evening_extract"]}])
    data = runs(spark, [("evening_extract", "InProgress", "2025-04-07 22:30", None)])
    # 21:59 on 8 April is still in the 8th's span (which ends at 22:00): not due yet.
    (row,), _ = evaluate(spark, cfg, data, date(2025, 4, 8), as_of="2025-04-08T21:59")
    assert (row.status, row.detail) == ("PENDING", "running since 22:30:00, due by end of day")
    (row,), _ = evaluate(spark, cfg, data, date(2025, 4, 8), as_of="2025-04-08T22:00")
    assert row.reason == "RUNNING"


def test_python_and_spark_place_clock_times_and_spans_alike(spark):
    """config.clock_moment / day_span (the demo, the docs) against evaluate's Spark columns, two years of Paris
    days, offsets both ways, clock times in and around the DST gaps and overlaps."""
    offsets = [-719, -120, 0, 150, 360, 719]
    clocks = [time(0, 0), time(2, 0), time(2, 30), time(3, 0), time(5, 59), time(22, 30), time(23, 59)]
    days = [date(2025, 1, 1) + timedelta(days=n) for n in range(0, 731, 3)] + [
        date(2025, 3, 30),
        date(2025, 10, 26),
        date(2026, 3, 29),
        date(2026, 10, 25),
    ]
    rows = [(day, off, c.hour * 60 + c.minute) for day in days for off in offsets for c in clocks]
    frame = spark.createDataFrame(rows, "day date, off int, minutes int").select(
        "day",
        "off",
        "minutes",
        clock_moment_utc(F.col("day"), F.col("minutes"), F.col("off"), PARIS).alias("moment"),
        local_wall_clock_to_utc(F.col("day"), F.col("off"), PARIS).alias("span_start"),
    )
    frame = frame.withColumn("moment_date", span_date(F.col("moment"), F.col("off"), PARIS)).withColumn(
        "before_start_date", span_date(F.col("span_start") - F.expr("INTERVAL 1 SECOND"), F.col("off"), PARIS)
    )
    for r in frame.collect():
        moment = clock_moment(r.day, time(r.minutes // 60, r.minutes % 60), PARIS, r.off)
        start, end = day_span(r.day, PARIS, r.off)
        assert r.moment.replace(tzinfo=UTC) == moment, (r.day, r.off, r.minutes)
        assert r.span_start.replace(tzinfo=UTC) == start, (r.day, r.off)
        shown, opens = moment.astimezone(ZoneInfo(PARIS)), start.astimezone(ZoneInfo(PARIS))
        # Where the clock shows the time and the day's start (not one moved out of a DST gap), D's span holds it.
        if (shown.hour * 60 + shown.minute, opens.hour * 60 + opens.minute) == (r.minutes, r.off % 1440):
            assert start <= moment < end and r.moment_date == r.day, (r.day, r.off, r.minutes)
        assert r.before_start_date == r.day - timedelta(days=1)
    # A DST day's span is 23 or 25 hours, wherever it starts.
    for day, hours in ((date(2025, 3, 30), 23), (date(2025, 10, 26), 25), (date(2025, 6, 1), 24)):
        start, end = day_span(day, PARIS, 0)
        assert end - start == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("12:00", "is not strictly between -12:00 and +12:00"),
        ("-12:00", "is not strictly between -12:00 and +12:00"),
        ("02:60", "is not an offset HH:MM or -HH:MM"),
        (120, "write it quoted"),
        ("2h", "is not an offset HH:MM or -HH:MM"),
    ],
)
def test_day_starts_at_is_validated(value, error):
    with pytest.raises(ConfigError, match=r"flows\[0\]\.day_starts_at: .*" + re.escape(error)):
        config([{"name": "F", "day_starts_at": value, "pipelines": ["p"]}])


def test_day_starts_at_goes_from_defaults_to_flows_and_not_to_pipelines():
    cfg = config(
        [{"name": "A", "pipelines": ["a"]}, {"name": "B", "day_starts_at": "06:00", "pipelines": ["b"]}],
        defaults={"day_starts_at": "-11:59"},
    )
    assert [(f.day_starts_at, f.pipelines[0].day_starts_at) for f in cfg.flows] == [(-719, -719), (360, 360)]
    assert cfg.defaults.day_starts_at == -719
    with pytest.raises(ConfigError, match=r"flows\[0\]\.pipelines\[0\]\.day_starts_at: set it on the flow"):
        config([{"name": "F", "pipelines": [{"name": "p", "day_starts_at": "01:00"}]}])


# --- reruns and child runs: the next-morning rerun -----------------------------------------------------------

FACTORY = "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF"
NIGHT = {"name": "Night", "deadline": "01:30", "pipelines": ["master", "child", "la_master", "rest_master"]}


def _utc(local_text: str) -> str:
    return local(local_text).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _diagnostic(run_id, pipeline, status, start, end, group, invoked_by=None) -> str:
    predecessors = [{"Name": "TR_Nightly", "Id": "trigger-run", "InvokedByType": "ScheduleTrigger"}]
    if invoked_by:
        predecessors = [{"Name": "Execute child", "Id": invoked_by, "InvokedByType": "PipelineActivity"}]
    return json.dumps(
        {
            "time": _utc(end),
            "resourceId": FACTORY,
            "runId": run_id,
            "groupId": group,
            "pipelineName": pipeline,
            "start": _utc(start),
            "end": _utc(end),
            "status": status,
            "properties": {"Parameters": {}, "Predecessors": predecessors},
        }
    )


def _log_analytics(run_id, pipeline, status, start, end, group) -> str:
    predecessors = json.dumps([{"Name": "Manual", "InvokedByType": "Manual"}])
    return json.dumps(
        {
            "TimeGenerated": _utc(end),
            "ResourceId": FACTORY,
            "RunId": run_id,
            "GroupId": group,
            "PipelineName": pipeline,
            "Start": _utc(start),
            "End": _utc(end),
            "Status": status,
            "Predecessors": predecessors,
        }
    )


def _rest(run_id, pipeline, status, start, end, group, invoked_by=None) -> dict:
    invoker = {"id": "t", "name": "Manual", "invokedByType": "Manual"}
    if invoked_by:
        invoker = {"id": "a", "name": "Execute", "invokedByType": "PipelineActivity", "pipelineRunId": invoked_by}
    return {
        "id": f"{FACTORY}/pipelineruns/{run_id}",
        "runId": run_id,
        "runGroupId": group,
        "pipelineName": pipeline,
        "invokedBy": invoker,
        "runStart": _utc(start),
        "runEnd": _utc(end),
        "status": status,
        "lastUpdated": _utc(end),
    }


def _silver(spark, folder: Path, source_format: str):
    cfg = config([NIGHT], source={"format": source_format, "path": str(folder)})
    files = [str(p) for p in sorted(folder.rglob("*.json"))]
    events = with_quarantine_reason(read_raw_events(spark, files, cfg.source, PARIS))
    assert events.where(F.col("reason").isNotNull()).count() == 0
    kept = latest_run_states(events).withColumn("ingested_at", F.current_timestamp())
    return kept.withColumn("start_month", F.trunc(F.to_date("start_time"), "month")).select(
        *PIPELINE_RUNS.schema.fieldNames()
    )


def test_a_next_morning_rerun_belongs_to_the_night_it_reruns_in_every_format_with_groups(spark, tmp_path):
    """Last night's failed master, rerun by the on-call engineer at 09:15, with its child run moving with it
    (diagnostic logs); the same rerun in Log Analytics and in REST API responses."""
    diagnostic = tmp_path / "diagnostic"
    diagnostic.mkdir()
    (diagnostic / "PT1H.json").write_text(
        "\n".join(
            [
                _diagnostic("m1", "master", "Failed", "2025-04-08 00:10", "2025-04-08 00:20", "m1"),
                _diagnostic("c1", "child", "Failed", "2025-04-08 00:11", "2025-04-08 00:15", "c1", invoked_by="m1"),
                _diagnostic("m2", "master", "Succeeded", "2025-04-09 09:15", "2025-04-09 09:25", "m1"),
                _diagnostic("c2", "child", "Succeeded", "2025-04-09 09:16", "2025-04-09 09:20", "c2", invoked_by="m2"),
            ]
        )
        + "\n"
    )
    analytics = tmp_path / "analytics"
    analytics.mkdir()
    (analytics / "PT05M.json").write_text(
        _log_analytics("l1", "la_master", "Failed", "2025-04-08 00:10", "2025-04-08 00:20", "l1")
        + "\n"
        + _log_analytics("l2", "la_master", "Succeeded", "2025-04-09 09:15", "2025-04-09 09:25", "l1")
        + "\n"
    )
    rest = tmp_path / "rest"
    rest.mkdir()
    response = {
        "value": [
            _rest("r1", "rest_master", "Failed", "2025-04-08 00:10", "2025-04-08 00:20", "r1"),
            _rest("r2", "rest_master", "Succeeded", "2025-04-09 09:15", "2025-04-09 09:25", "r1"),
            _rest("r3", "child_of_rest", "Succeeded", "2025-04-09 09:16", "2025-04-09 09:17", "r3", invoked_by="r2"),
        ]
    }
    (rest / "pipelineruns.json").write_text(json.dumps(response))
    silver = (
        _silver(spark, diagnostic, "adf_diagnostic")
        .unionByName(_silver(spark, analytics, "log_analytics"))
        .unionByName(_silver(spark, rest, "adf_rest_api"))
    )
    invoked = {r.run_id: r.invoked_by_run_id for r in silver.collect()}
    assert (invoked["c1"], invoked["c2"], invoked["r3"], invoked["m2"], invoked["l2"]) == ("m1", "m2", "r2", None, None)
    day = date(2025, 4, 8)
    pipelines, flows = evaluate(spark, config([NIGHT]), silver, day, day + timedelta(days=1), as_of="2025-04-09T12:00")
    night, morning = by_pipeline(pipelines, day), by_pipeline(pipelines, day + timedelta(days=1))
    for name, rerun, ended in (
        ("master", "m2", "09:25"),
        ("child", "c2", "09:20"),
        ("la_master", "l2", "09:25"),
        ("rest_master", "r2", "09:25"),
    ):
        row = night[name]
        assert (row.status, row.reason, row.run_id) == ("WARNING", "LATE,RETRIED", rerun), name
        assert (row.run_count, row.failed_run_count, row.end_local) == (2, 1, f"2025-04-09 {ended}:00"), name
        assert (morning[name].reason, morning[name].run_count) == ("MISSING", 0), name
    assert night["master"].detail == "ended 09:25:00, deadline 01:30; succeeded after 1 failed or cancelled run(s)"
    assert night["child_of_rest"].business_date == day and night["child_of_rest"].flow == "UNASSIGNED"
    assert "child_of_rest" not in morning
    # The flow's span is the night's runs; the rerun counts for the status only.
    flow = {f.business_date: f for f in flows}[day]
    assert (flow.start_local, flow.end_local, flow.status) == ("2025-04-08 00:10:00", "2025-04-08 00:20:00", "WARNING")


def test_csv_runs_have_no_group_and_keep_their_own_date(spark):
    data = runs(
        spark,
        [
            ("master", "Failed", "2025-04-08 00:10", "2025-04-08 00:20"),
            ("master", "Succeeded", "2025-04-09 09:15", "2025-04-09 09:25"),
        ],
    )
    pipelines, _ = evaluate(spark, config([NIGHT]), data, date(2025, 4, 8), date(2025, 4, 9))
    master = [(r.business_date.day, r.reason) for r in pipelines if r.pipeline_name == "master"]
    assert master == [(8, "FAILED"), (9, "LATE")]


# --- a sequential chain with a monthly member ----------------------------------------------------------------


def test_a_sequential_chain_skips_the_monthly_member_on_the_days_it_is_not_expected(spark):
    cfg = config(
        [
            {
                "name": "Accounting",
                "order": "sequential",
                "pipelines": ["extract", {"name": "cube", "schedule": "monthly:1"}, "load"],
            }
        ]
    )
    assert [(p.name, p.depends_on, p.chain) for p in cfg.pipelines] == [
        ("extract", (), ()),
        ("cube", (), ("extract",)),
        ("load", (), ("cube", "extract")),
    ]
    data = runs(
        spark,
        [
            # 1 April, the cube's day: load starts before the cube ended.
            ("extract", "Succeeded", "2025-04-01 01:00", "2025-04-01 01:10"),
            ("cube", "Succeeded", "2025-04-01 01:15", "2025-04-01 01:30"),
            ("load", "Succeeded", "2025-04-01 01:20", "2025-04-01 01:40"),
            # 2 April, no cube: load's predecessor is extract, and load started before it ended.
            ("extract", "Succeeded", "2025-04-02 01:00", "2025-04-02 01:10"),
            ("load", "Succeeded", "2025-04-02 01:05", "2025-04-02 01:40"),
            # 3 April, the cube run ad hoc, before extract ended: neither gets nor causes ORDER.
            ("extract", "Succeeded", "2025-04-03 01:00", "2025-04-03 01:10"),
            ("cube", "Succeeded", "2025-04-03 01:05", "2025-04-03 01:50"),
            ("load", "Succeeded", "2025-04-03 01:15", "2025-04-03 01:40"),
        ],
    )
    pipelines, _ = evaluate(spark, cfg, data, date(2025, 4, 1), date(2025, 4, 3))
    reasons = {(r.business_date.day, r.pipeline_name): r.reason for r in pipelines}
    assert reasons == {
        (1, "extract"): None,
        (1, "cube"): None,
        (1, "load"): "ORDER",
        (2, "extract"): None,
        (2, "load"): "ORDER",
        (3, "extract"): None,
        (3, "cube"): None,
        (3, "load"): None,
    }
    details = {(r.business_date.day, r.pipeline_name): r.detail for r in pipelines}
    assert details[1, "load"] == "started 01:20:00 before cube ended 01:30:00"
    assert details[2, "load"] == "started 01:05:00 before extract ended 01:10:00"


def test_depends_on_stays_literal_in_a_sequential_flow(spark):
    cfg = config(
        [
            {
                "name": "F",
                "order": "sequential",
                "pipelines": ["a", {"name": "m", "schedule": "monthly:1"}, {"name": "b", "depends_on": ["m"]}, "c"],
            }
        ]
    )
    assert [(p.name, p.depends_on, p.chain) for p in cfg.pipelines][2:] == [
        ("b", ("m",), ()),
        ("c", (), ("b", "m", "a")),
    ]
    data = runs(
        spark,
        [
            ("a", "Succeeded", "2025-04-03 01:00", "2025-04-03 01:10"),
            ("m", "Succeeded", "2025-04-03 01:00", "2025-04-03 01:30"),  # ad hoc
            ("b", "Succeeded", "2025-04-03 01:15", "2025-04-03 01:40"),
        ],
    )
    pipelines, _ = evaluate(spark, cfg, data, date(2025, 4, 3))
    assert by_pipeline(pipelines)["b"].reason == "ORDER"  # written by hand: checked whatever the day


# --- baselines in the days the schedule expects ---------------------------------------------------------------


def test_a_weekly_pipeline_turns_slow_against_its_previous_mondays_read_from_gold(spark):
    monday = date(2025, 4, 7)
    cfg = config([{"name": "Weekly", "pipelines": [{"name": "weekly", "schedule": "weekly:mon"}]}])
    history = [("weekly", monday - timedelta(weeks=n), "Succeeded", 20 * 60) for n in range(1, 11)]
    # A run on a day the schedule does not expect is no sample: it would pull the median up to 30 minutes.
    history += [("weekly", monday - timedelta(days=n), "Succeeded", 300 * 60) for n in (2, 9, 16, 23, 30, 37, 44)]
    data = runs(spark, [("weekly", "Succeeded", f"{monday} 03:00", f"{monday} 03:55")])
    pipelines, _ = evaluate(spark, cfg, data, monday, stored_pipelines=gold_history(spark, history, "Weekly"))
    (row,) = pipelines
    assert (row.reason, row.baseline_duration_seconds) == ("SLOW", 1200.0)
    assert row.detail == "took 00:55:00, 2.8x its median 00:20:00"


@pytest.mark.heavy  # years of monthly runs; the weekly baseline read from gold stays in make test
def test_a_monthly_baseline_reaches_back_years_and_counts_missed_months(spark):
    first = date(2025, 4, 1)
    cfg = config(
        [
            {
                "name": "M",
                "duration": {"baseline_days": 12, "min_samples": 10},
                "pipelines": [{"name": "cube", "schedule": "monthly:1"}],
            }
        ]
    )
    month_numbers = [2025 * 12 + 2 - n for n in range(24)]  # two years of 1sts, newest first
    months = [date(m // 12, m % 12 + 1, 1) for m in month_numbers]
    assert months[0] == date(2025, 3, 1) and months[2] == date(2025, 1, 1) and months[-1] == date(2023, 4, 1)
    history = [("cube", day, "Succeeded", 20 * 60) for day in months]
    data = runs(spark, [("cube", "Succeeded", f"{first} 03:00", f"{first} 04:00")])
    (row,), _ = evaluate(spark, cfg, data, first, stored_pipelines=gold_history(spark, history, "M"))
    assert row.reason == "SLOW"
    # Three of the last twelve 1sts failed: 9 samples in 12 expected days, fewer than min_samples 10.
    failed = {months[0], months[4], months[8]}
    history = [("cube", day, "Failed" if day in failed else "Succeeded", 20 * 60) for day in months]
    (row,), _ = evaluate(spark, cfg, data, first, stored_pipelines=gold_history(spark, history, "M"))
    assert (row.reason, row.baseline_duration_seconds) == (None, None)


def test_validate_config_warns_about_a_pipeline_that_can_never_reach_min_samples(tmp_path, capsys):
    path = tmp_path / "monitoring.yml"
    path.write_text(
        "source: {format: adf_diagnostic, path: ./logs}\n"
        "storage: {root: ./lakehouse}\n"
        "flows:\n"
        "  - name: Cube\n"
        "    duration: {baseline_days: 400, min_samples: 200}\n"
        "    pipelines: [{name: cube, schedule: 'monthly:1'}, daily_one]\n"
    )
    assert main(["validate-config", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "flows[0].pipelines[0]: cube (monthly:1) counts at most 120 day(s)" in err
    assert "fewer than min_samples (200)" in err


# --- the first business date with a run, without dating every run ---------------------------------------------


@st.composite
def linked_runs(draw: st.DrawFn) -> list[tuple]:
    """Runs of three pipelines (days starting at 22:00 the evening before, at midnight, at 06:00) over three days,
    each maybe a rerun in the group of an earlier run or a child invoked by one: as in ADF, a run hangs on runs
    that started before it (a group's earliest run, the run that invoked it)."""
    minutes = sorted(draw(st.lists(st.integers(0, 3 * 24 * 4), min_size=1, max_size=8)))
    rows: list[tuple] = []
    for index, quarter in enumerate(minutes):
        pipeline = draw(st.sampled_from(["evening_extract", "midnight_load", "morning_report"]))
        start = datetime(2025, 4, 7, 20) + timedelta(minutes=15 * quarter)
        link = draw(st.sampled_from(["none", "group", "invoked"])) if rows else "none"
        target = rows[draw(st.integers(0, len(rows) - 1))] if link != "none" else None
        group = target[6] if target and link == "group" else f"group-{index}"
        invoked_by = target[5] if target and link == "invoked" else None
        end = start + timedelta(minutes=5)
        rows.append((pipeline, "Succeeded", f"{start}", f"{end}", None, f"r{index}", group, invoked_by))
    return rows


# Found by this test: a rerun group across pipelines whose days start at different times. r1 starts at 22:00 on
# 7 April (its own date), but counts for the group's earliest run, r0, whose evening day is 8 April.
CROSS_OFFSET_GROUP = [
    ("evening_extract", "Succeeded", "2025-04-07 22:00:00", "2025-04-07 22:05:00", None, "r0", "group-0", None),
    ("midnight_load", "Succeeded", "2025-04-07 22:00:00", "2025-04-07 22:05:00", None, "r1", "group-0", None),
]


@pytest.mark.heavy  # eight generated histories, each dated twice
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(rows=CROSS_OFFSET_GROUP)
@given(rows=linked_runs())
def test_the_earliest_business_date_is_the_earliest_of_the_runs_dates(spark, rows):
    cfg = config(
        [
            {"name": "Evening", "day_starts_at": "-02:00", "pipelines": ["evening_extract"]},
            {"name": "Midnight", "pipelines": ["midnight_load"]},
            {"name": "Morning", "day_starts_at": "06:00", "pipelines": ["morning_report"]},
        ]
    )
    data = runs(spark, rows)
    expected = with_business_date(data, cfg).agg(F.min("business_date")).first()[0]
    assert earliest_business_date(data, cfg).first()[0] == expected
