"""Databricks job runs -> raw run events, read through the real SDK from a local HTTP Jobs API."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service.jobs import (
    BaseRun,
    JobParameter,
    RunLifeCycleState,
    RunLifecycleStateV2State,
    RunParameters,
    RunResultState,
    RunState,
    RunStatus,
    TerminationCodeCode,
    TerminationDetails,
    TerminationTypeType,
)

from fake_jobs_api import HOST_METADATA_PATH, FakeJobsApi, serve_jobs_api
from monitoring.ingest import latest_run_states, with_quarantine_reason
from monitoring.sources.databricks_jobs import job_run_events, run_status
from monitoring.sources.raw_events import RAW_EVENT_COLUMNS
from monitoring.vocabulary import CANCELLED, FAILED, IN_PROGRESS, QUEUED, RUN_STATES, SUCCEEDED

TOKEN = "dapi-test-token"
SINCE = datetime(2025, 4, 7, 22, 0, tzinfo=UTC)
UNTIL = datetime(2025, 4, 8, 6, 0, tzinfo=UTC)
PAGE_SIZE = 3  # 8 runs in the window: pages of 3, 3 and 2


def ms(text: str) -> int:
    """Epoch milliseconds of a UTC time, computed independently of the module under test."""
    return round(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def as_collected(text: str) -> datetime:
    """What ``collect()`` returns for a UTC time: PySpark gives naive datetimes in the local zone."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def terminated(
    result: RunResultState, message: str = "", code: TerminationCodeCode | None = None, detail: str | None = None
) -> dict[str, Any]:
    """``state`` (legacy) and, with a termination code, the newer ``status`` of a finished run."""
    fields: dict[str, Any] = {
        "state": RunState(life_cycle_state=RunLifeCycleState.TERMINATED, result_state=result, state_message=message)
    }
    if code is not None:
        details = TerminationDetails(code=code, message=detail)
        fields["status"] = RunStatus(state=RunLifecycleStateV2State.TERMINATED, termination_details=details)
    return fields


def active(life_cycle: RunLifeCycleState, **state: Any) -> dict[str, Any]:
    return {"state": RunState(life_cycle_state=life_cycle, **state), "end_time": 0}


def run(run_id: int, name: str | None, start: str, end: str | None = None, **fields: Any) -> dict[str, Any]:
    """A ``runs/list`` entry as the service sends it, built from the SDK's own model."""
    defaults: dict[str, Any] = {
        "run_id": run_id,
        "job_id": run_id // 10,
        "run_name": name,
        "number_in_job": run_id,
        "original_attempt_run_id": run_id,
        "attempt_number": 0,
        "start_time": ms(start),
        "end_time": ms(end) if end else 0,
        "creator_user_name": "etl@example.com",
        "run_page_url": f"https://adb-123.azuredatabricks.net/?o=123#job/{run_id // 10}/run/{run_id}",
    }
    return BaseRun(**{**defaults, **fields}).as_dict()


def unknown_state_run() -> dict[str, Any]:
    document = run(1070, "mystery_job", "2025-04-08 04:00:00", **active(RunLifeCycleState.RUNNING))
    document["state"]["life_cycle_state"] = "HIBERNATING"  # a state newer than the SDK
    return document


RUNS: list[dict[str, Any]] = [
    run(
        1010,
        "telephonie_master",
        "2025-04-07 22:10:03.123",
        "2025-04-07 22:18:16.765",
        job_parameters=[JobParameter(name="window_start", value="2025-04-07", default="2025-01-01")],
        **terminated(RunResultState.SUCCESS, code=TerminationCodeCode.SUCCESS),
    ),
    run(
        1020,
        "claims_master",
        "2025-04-07 23:15:00",
        "2025-04-07 23:17:30",
        **terminated(
            RunResultState.FAILED,
            "Task ingest failed with message: SqlFailedToConnect.",
            TerminationCodeCode.RUN_EXECUTION_ERROR,
            "Workload failed, see run output for details",
        ),
    ),
    # The retry of 1020, described only by the newer `status` (no legacy `state`).
    run(
        1021,
        "claims_master",
        "2025-04-07 23:20:00",
        "2025-04-07 23:30:00",
        original_attempt_run_id=1020,
        attempt_number=1,
        status=RunStatus(
            state=RunLifecycleStateV2State.TERMINATED,
            termination_details=TerminationDetails(code=TerminationCodeCode.SUCCESS, type=TerminationTypeType.SUCCESS),
        ),
    ),
    run(
        1030,
        "export_nightly",
        "2025-04-08 00:00:00",
        "2025-04-08 00:05:00",
        **terminated(
            RunResultState.CANCELED, "  ", TerminationCodeCode.USER_CANCELED, "Run cancelled by etl@example.com"
        ),
    ),
    run(1040, "stream_refresh", "2025-04-08 05:00:00", **active(RunLifeCycleState.RUNNING, state_message="In run")),
    run(
        1050,
        None,  # no run name: the job id names it
        "2025-04-08 05:30:00",
        overriding_parameters=RunParameters(notebook_params={"env": "prod"}),
        **active(RunLifeCycleState.QUEUED, queue_reason="Queued due to reaching maximum concurrent runs"),
    ),
    unknown_state_run(),
    run(1080, "starts_on_since", "2025-04-07 22:00:00", "2025-04-07 23:00:00", **terminated(RunResultState.TIMEDOUT)),
    # Outside [SINCE, UNTIL): the upper bound is exclusive, the lower one inclusive.
    run(1090, "starts_on_until", "2025-04-08 06:00:00", "2025-04-08 06:10:00", **terminated(RunResultState.SUCCESS)),
    run(1100, "day_before", "2025-04-07 21:59:59.999", "2025-04-07 22:30:00", **terminated(RunResultState.SUCCESS)),
]
IN_WINDOW = {"1010", "1020", "1021", "1030", "1040", "1050", "1070", "1080"}


@pytest.fixture(scope="module")
def jobs_api() -> Iterator[FakeJobsApi]:
    with pytest.MonkeyPatch.context() as env:
        # A developer's own profile or credentials must not leak into (or break) the test.
        for name in [n for n in os.environ if n.startswith("DATABRICKS_")]:
            env.delenv(name)
        env.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent")
        env.setenv("NO_PROXY", "127.0.0.1")
        env.setenv("no_proxy", "127.0.0.1")
        with serve_jobs_api(RUNS, TOKEN) as api:
            yield api


@pytest.fixture(scope="module")
def read(spark, jobs_api):
    """One read through the SDK; raw rows (classified) and the latest state per run, collected once."""
    client = WorkspaceClient(host=jobs_api.url, token=TOKEN)
    classified = with_quarantine_reason(job_run_events(spark, client, SINCE, UNTIL, page_size=PAGE_SIZE)).cache()
    rows = {r.run_id: r for r in classified.collect()}
    runs = {r.run_id: r for r in latest_run_states(classified.where("reason IS NULL")).collect()}
    classified.unpersist()
    return rows, runs


def test_pages_are_followed_with_the_window_on_every_request(read, jobs_api):
    rows, _ = read
    assert set(rows) == IN_WINDOW
    pages = jobs_api.list_requests()
    assert len(pages) == 3
    assert [p.query.get("page_token") is None for p in pages] == [True, False, False]
    for page in pages:
        assert page.query["start_time_from"] == str(ms("2025-04-07 22:00:00"))
        assert page.query["start_time_to"] == str(ms("2025-04-08 06:00:00") - 1)
        assert (page.query["limit"], page.query["expand_tasks"], page.query["completed_only"]) == (
            "3",
            "false",
            "false",
        )


def test_requests_carry_the_token_over_real_http(read, jobs_api):
    pages = jobs_api.list_requests()
    assert pages and all(p.headers["Authorization"] == f"Bearer {TOKEN}" for p in pages)
    # The SDK's discovery probe was answered, and the workspace id it learnt is sent back.
    assert any(r.path == HOST_METADATA_PATH for r in jobs_api.requests)
    assert all(p.headers["X-Databricks-Workspace-Id"] == jobs_api.workspace_id for p in pages)


def test_runs_map_to_the_silver_vocabulary(read):
    rows, runs = read
    assert {i: r.status for i, r in runs.items()} == {
        "1010": SUCCEEDED,
        "1020": FAILED,
        "1021": SUCCEEDED,  # from `status` alone
        "1030": CANCELLED,
        "1040": IN_PROGRESS,
        "1050": QUEUED,
        "1080": FAILED,
    }
    ok = runs["1010"]
    assert (ok.pipeline_name, ok.factory) == ("telephonie_master", "databricks:127.0.0.1")
    assert (ok.start_time, ok.end_time) == (
        as_collected("2025-04-07 22:10:03.123"),
        as_collected("2025-04-07 22:18:16.765"),
    )
    assert (ok.duration_seconds, ok.failure_type, ok.error_message) == (493, None, None)
    assert json.loads(ok.parameters) == {"window_start": "2025-04-07"}
    assert ok.source_file == "databricks-jobs://127.0.0.1/runs/1010"
    assert json.loads(rows["1010"].raw_line)["run_id"] == 1010

    failed = runs["1020"]
    assert (failed.failure_type, failed.duration_seconds) == ("RUN_EXECUTION_ERROR", 150)
    assert failed.error_message == "Task ingest failed with message: SqlFailedToConnect."  # state message first
    assert (failed.run_group_id, runs["1021"].run_group_id) == ("1020", "1020")  # a retry joins its original

    cancelled = runs["1030"]
    # A blank state message gives way to the termination message.
    assert (cancelled.failure_type, cancelled.error_message) == ("USER_CANCELED", "Run cancelled by etl@example.com")
    assert runs["1080"].failure_type == "TIMEDOUT"

    running = runs["1040"]
    assert (running.end_time, running.duration_seconds) == (None, None)  # end_time 0: not ended
    assert running.last_event_time == as_collected("2025-04-08 05:00:00")
    queued = runs["1050"]
    assert (queued.pipeline_name, queued.end_time) == ("job-105", None)
    assert json.loads(queued.parameters) == {"notebook_params": {"env": "prod"}}


def test_an_unknown_state_is_quarantined(read):
    rows, runs = read
    assert "1070" not in runs
    assert rows["1070"].reason == (
        "unknown status 'unrecognised Databricks run state: life_cycle_state=?, result_state=?, status.state=?'"
    )


def test_the_token_never_reaches_a_column(read):
    rows, _ = read
    cells = [str(value) for row in rows.values() for value in row]
    assert not [cell for cell in cells if TOKEN in cell]


def test_an_empty_window_has_the_raw_event_columns(spark, jobs_api):
    client = WorkspaceClient(host=jobs_api.url, token=TOKEN)
    events = job_run_events(spark, client, UNTIL + timedelta(days=1), UNTIL + timedelta(days=2))
    assert tuple(events.columns) == RAW_EVENT_COLUMNS
    assert events.count() == 0


def test_a_rejected_token_fails_the_read(spark, jobs_api):
    client = WorkspaceClient(host=jobs_api.url, token="dapi-wrong-token")
    with pytest.raises(DatabricksError, match="Invalid access token"):
        job_run_events(spark, client, SINCE, UNTIL)


def test_window_must_be_aware_and_non_empty(spark, jobs_api):
    client = WorkspaceClient(host=jobs_api.url, token=TOKEN)
    with pytest.raises(ValueError, match="no time zone"):
        job_run_events(spark, client, SINCE.replace(tzinfo=None), UNTIL)
    with pytest.raises(ValueError, match="empty time window"):
        job_run_events(spark, client, UNTIL, SINCE)


# --- the state mapping, every value the SDK knows (no Spark, no server) ----------------------------------

L, R, V2, C = RunLifeCycleState, RunResultState, RunLifecycleStateV2State, TerminationCodeCode

LIFE_CYCLE_CASES = {
    L.PENDING: QUEUED,
    L.QUEUED: QUEUED,
    L.BLOCKED: QUEUED,
    L.WAITING_FOR_RETRY: QUEUED,
    L.RUNNING: IN_PROGRESS,
    L.TERMINATING: IN_PROGRESS,
    L.INTERNAL_ERROR: FAILED,
    L.SKIPPED: FAILED,
}
RESULT_CASES = {
    R.SUCCESS: SUCCEEDED,
    R.SUCCESS_WITH_FAILURES: SUCCEEDED,
    R.FAILED: FAILED,
    R.TIMEDOUT: FAILED,
    R.MAXIMUM_CONCURRENT_RUNS_REACHED: FAILED,
    R.EXCLUDED: FAILED,
    R.UPSTREAM_FAILED: FAILED,
    R.CANCELED: CANCELLED,
    R.UPSTREAM_CANCELED: CANCELLED,
    R.DISABLED: CANCELLED,
}


def test_every_life_cycle_state_and_result_is_mapped():
    # Fails when an SDK upgrade brings a value nobody has classified yet (it would be quarantined).
    assert set(LIFE_CYCLE_CASES) | {L.TERMINATED} == set(L)
    assert set(RESULT_CASES) == set(R)
    for life_cycle, expected in LIFE_CYCLE_CASES.items():
        assert run_status(BaseRun(state=RunState(life_cycle_state=life_cycle))) == expected, life_cycle
    for result, expected in RESULT_CASES.items():
        state = RunState(life_cycle_state=L.TERMINATED, result_state=result)
        assert run_status(BaseRun(state=state)) == expected, result


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RunStatus(state=V2.QUEUED), QUEUED),
        (RunStatus(state=V2.WAITING), QUEUED),
        (RunStatus(state=V2.BLOCKED), QUEUED),
        (RunStatus(state=V2.RUNNING), IN_PROGRESS),
        (RunStatus(state=V2.TERMINATING), IN_PROGRESS),
        (RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(code=C.SUCCESS)), SUCCEEDED),
        (
            RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(code=C.SUCCESS_WITH_FAILURES)),
            SUCCEEDED,
        ),
        (RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(code=C.USER_CANCELED)), CANCELLED),
        (RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(code=C.DISABLED)), CANCELLED),
        (RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(code=C.CLUSTER_ERROR)), FAILED),
        (RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(code=C.SKIPPED)), FAILED),
        # A code newer than the SDK arrives as None: the coarse type still decides.
        (
            RunStatus(state=V2.TERMINATED, termination_details=TerminationDetails(type=TerminationTypeType.SUCCESS)),
            SUCCEEDED,
        ),
        (
            RunStatus(
                state=V2.TERMINATED, termination_details=TerminationDetails(type=TerminationTypeType.CLOUD_FAILURE)
            ),
            FAILED,
        ),
    ],
)
def test_the_newer_status_decides_when_state_cannot(status, expected):
    assert run_status(BaseRun(status=status)) == expected
    # A legacy TERMINATED whose result the SDK did not know defers to `status` too.
    assert run_status(BaseRun(state=RunState(life_cycle_state=L.TERMINATED), status=status)) == expected


def test_a_terminated_run_without_a_known_result_is_never_a_silver_state():
    undecided = BaseRun(state=RunState(life_cycle_state=L.TERMINATED), status=RunStatus(state=V2.TERMINATED))
    assert run_status(undecided) not in RUN_STATES
    assert "life_cycle_state=TERMINATED, result_state=?, status.state=TERMINATED" in run_status(undecided)


@pytest.mark.heavy  # a whole night end to end: make test-heavy
def test_job_runs_reach_the_gold_tables(spark, jobs_api, tmp_path, monkeypatch):
    """The whole night with `source.format: databricks_jobs`: SDK auth from the environment, as on Databricks."""
    from monitoring.config import parse_config
    from monitoring.nightly import DateRange, run_job

    monkeypatch.setenv("DATABRICKS_HOST", jobs_api.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    config = parse_config(
        {
            "timezone": "Europe/Paris",
            "source": {"format": "databricks_jobs", "lookback_hours": 24 * 365 * 5},
            "storage": {"root": str(tmp_path / "lake")},
            "flows": [
                {
                    "name": "Jobs",
                    "deadline": "06:00",
                    "pipelines": ["telephonie_master", "claims_master", "export_nightly", "stream_refresh"],
                }
            ],
        }
    )
    day = UNTIL.date()
    result = run_job(spark, config, DateRange(day, day), as_of=datetime(2025, 4, 8, 5, 30, tzinfo=UTC))
    statuses = {r.pipeline_name: (r.status, r.reason) for r in result.pipeline_rows}
    assert statuses["telephonie_master"] == ("OK", None)
    assert statuses["claims_master"] == ("WARNING", "RETRIED")
    assert statuses["export_nightly"] == ("KO", "CANCELLED")
    assert statuses["stream_refresh"] == ("WARNING", "RUNNING")  # 07:30 local, after the 06:00 deadline
    assert result.ingest.lines_quarantined == 1  # the unknown state
    (flow,) = result.flow_rows
    assert (flow.flow, flow.status) == ("Jobs", "WARNING")
    stored = spark.read.format("delta").load(str(tmp_path / "lake" / "silver" / "pipeline_runs"))
    assert stored.where("factory = 'databricks:127.0.0.1'").count() == stored.count() > 0
