"""Databricks job runs -> raw run events, read from the Jobs API (``runs/list``) with databricks-sdk.

A second log source next to ADF's files: one raw event per job run, in the columns of
``RAW_EVENT_COLUMNS``, so validation, quarantine and ``latest_run_states`` work unchanged.

The runs of a time window are a bounded API answer (tens to thousands of rows), so rows are built
on the driver as plain tuples and handed to Spark with an explicit schema: no inference, no UDF.

State mapping (legacy ``state`` first, the newer ``status`` when ``state`` says nothing usable):

==============================================================  ===========
Databricks                                                      silver
==============================================================  ===========
PENDING, QUEUED, BLOCKED, WAITING_FOR_RETRY (v2: WAITING)       Queued
RUNNING, TERMINATING                                            InProgress
TERMINATED + SUCCESS, SUCCESS_WITH_FAILURES                     Succeeded
TERMINATED + FAILED, TIMEDOUT, MAXIMUM_CONCURRENT_RUNS_REACHED,  Failed
EXCLUDED, UPSTREAM_FAILED; INTERNAL_ERROR, SKIPPED
TERMINATED + CANCELED, UPSTREAM_CANCELED, DISABLED              Cancelled
v2 TERMINATED + termination code: SUCCESS*, *CANCELED/DISABLED  as above
v2 TERMINATED + any other termination code                      Failed
anything the SDK did not recognise                              kept as text -> quarantined
==============================================================  ===========
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import (
    BaseRun,
    RunLifeCycleState,
    RunLifecycleStateV2State,
    RunResultState,
    RunStatus,
    TerminationCodeCode,
    TerminationTypeType,
)
from pyspark.sql import DataFrame, SparkSession

from monitoring.epoch import EPOCH
from monitoring.sources.raw_events import RAW_EVENT_SCHEMA
from monitoring.vocabulary import CANCELLED, FAILED, IN_PROGRESS, QUEUED, SUCCEEDED

PAGE_SIZE = 20  # the service's default; its documented maximum (25) is not worth the risk of a 400

# Life-cycle states that decide on their own. TERMINATED is not here: its result decides.
_LIFE_CYCLE: dict[RunLifeCycleState, str] = {
    RunLifeCycleState.PENDING: QUEUED,
    RunLifeCycleState.QUEUED: QUEUED,
    RunLifeCycleState.BLOCKED: QUEUED,
    RunLifeCycleState.WAITING_FOR_RETRY: QUEUED,
    RunLifeCycleState.RUNNING: IN_PROGRESS,
    RunLifeCycleState.TERMINATING: IN_PROGRESS,
    # Both are terminal: the job did not do its work (a skip is a run that should have happened).
    RunLifeCycleState.INTERNAL_ERROR: FAILED,
    RunLifeCycleState.SKIPPED: FAILED,
}

# Listed one by one, not "anything else is Failed": a value added by a future SDK must be looked at,
# so it stays unmapped and the run is quarantined until someone decides.
_RESULT: dict[RunResultState, str] = {
    RunResultState.SUCCESS: SUCCEEDED,
    # Databricks counts it a success (the leaf tasks succeeded); failed side branches are by design.
    RunResultState.SUCCESS_WITH_FAILURES: SUCCEEDED,
    RunResultState.FAILED: FAILED,
    RunResultState.TIMEDOUT: FAILED,
    RunResultState.MAXIMUM_CONCURRENT_RUNS_REACHED: FAILED,
    RunResultState.EXCLUDED: FAILED,
    RunResultState.UPSTREAM_FAILED: FAILED,
    RunResultState.CANCELED: CANCELLED,
    RunResultState.UPSTREAM_CANCELED: CANCELLED,
    # Someone chose not to run it: closer to a cancellation than to a failure.
    RunResultState.DISABLED: CANCELLED,
}

_V2_ACTIVE: dict[RunLifecycleStateV2State, str] = {
    RunLifecycleStateV2State.PENDING: QUEUED,
    RunLifecycleStateV2State.QUEUED: QUEUED,
    RunLifecycleStateV2State.BLOCKED: QUEUED,
    RunLifecycleStateV2State.WAITING: QUEUED,
    RunLifecycleStateV2State.RUNNING: IN_PROGRESS,
    RunLifecycleStateV2State.TERMINATING: IN_PROGRESS,
}

_SUCCESS_CODES = frozenset({TerminationCodeCode.SUCCESS, TerminationCodeCode.SUCCESS_WITH_FAILURES})
_CANCEL_CODES = frozenset(
    {TerminationCodeCode.USER_CANCELED, TerminationCodeCode.CANCELED, TerminationCodeCode.DISABLED}
)


# --- the state -----------------------------------------------------------------------------------------


def _legacy_status(run: BaseRun) -> str | None:
    """Silver state from the (deprecated, still always sent) ``state``; None when it cannot tell."""
    if run.state is None or run.state.life_cycle_state is None:
        return None
    if run.state.life_cycle_state is RunLifeCycleState.TERMINATED:
        return _RESULT.get(run.state.result_state)  # None: no result yet, or one the SDK did not know
    return _LIFE_CYCLE.get(run.state.life_cycle_state)


def _termination_status(status: RunStatus) -> str | None:
    details = status.termination_details
    if details is None:
        return None
    if details.code is not None:
        # Every termination code other than success and cancellation names a cause of failure.
        if details.code in _SUCCESS_CODES:
            return SUCCEEDED
        return CANCELLED if details.code in _CANCEL_CODES else FAILED
    if details.type is not None:  # a code newer than the SDK: its coarse type still tells
        return SUCCEEDED if details.type is TerminationTypeType.SUCCESS else FAILED
    return None


def _v2_status(run: BaseRun) -> str | None:
    """Silver state from the newer ``status``; None when it cannot tell."""
    if run.status is None or run.status.state is None:
        return None
    if run.status.state is RunLifecycleStateV2State.TERMINATED:
        return _termination_status(run.status)
    return _V2_ACTIVE.get(run.status.state)


def _unrecognised_state(run: BaseRun) -> str:
    """Text for a state we cannot map, never a silver state, so the run is quarantined with it.

    The SDK turns an enum value it does not know into None, so the raw string is already lost here;
    what is left is which fields were known, e.g. ``life_cycle_state=TERMINATED, result_state=?``.
    """

    def name(value: object) -> str:
        return getattr(value, "value", None) or "?"

    state, status = run.state, run.status
    parts = [
        f"life_cycle_state={name(state and state.life_cycle_state)}",
        f"result_state={name(state and state.result_state)}",
        f"status.state={name(status and status.state)}",
    ]
    return "unrecognised Databricks run state: " + ", ".join(parts)


def run_status(run: BaseRun) -> str:
    """The silver state of a run (Queued, InProgress, Succeeded, Failed, Cancelled), else a marker text."""
    return _legacy_status(run) or _v2_status(run) or _unrecognised_state(run)


def failure_type(run: BaseRun, status: str) -> str | None:
    """Why a run failed or was cancelled: the most specific code the API gives (termination code first)."""
    if status not in (FAILED, CANCELLED):
        return None
    details = run.status.termination_details if run.status else None
    candidates = [
        details.code if details else None,
        run.state.result_state if run.state else None,
        run.state.life_cycle_state if run.state else None,  # INTERNAL_ERROR, SKIPPED carry no result
    ]
    return next((c.value for c in candidates if c is not None), None)


# --- the other fields ----------------------------------------------------------------------------------


def _blank_to_none(text: str | None) -> str | None:
    if text is None:
        return None
    return text.strip() or None


def epoch_ms(moment: datetime) -> int:
    """Aware datetime -> epoch milliseconds, exactly (no float rounding)."""
    if moment.tzinfo is None:
        # A naive datetime would silently be read in the machine's zone: refuse it.
        raise ValueError(f"{moment!r} has no time zone")
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_epoch_ms(ms: int | None) -> datetime | None:
    """Epoch milliseconds -> aware UTC datetime; None for missing or 0 (the API's 'not ended')."""
    return EPOCH + timedelta(milliseconds=ms) if ms else None


def _error_message(run: BaseRun) -> str | None:
    state_message = run.state.state_message if run.state else None
    details = run.status.termination_details if run.status else None
    return _blank_to_none(state_message) or _blank_to_none(details.message if details else None)


def _parameters(run: BaseRun) -> str | None:
    """Job parameters as one JSON object (ADF's shape), else the task-level overrides, else None."""
    if run.job_parameters:
        values = {p.name: p.value if p.value is not None else p.default for p in run.job_parameters}
        return json.dumps(values, sort_keys=True)
    if run.overriding_parameters:
        return json.dumps(run.overriding_parameters.as_dict(), sort_keys=True)
    return None


def _run_group_id(run: BaseRun) -> str | None:
    # A retry points at its first attempt, like ADF's run group id; an original attempt at itself.
    group = run.original_attempt_run_id if run.original_attempt_run_id is not None else run.job_run_id
    return str(group) if group is not None else None


def _pipeline_name(run: BaseRun) -> str | None:
    # run_name is the job's name for job runs; the job's own name would cost one more call per job.
    name = _blank_to_none(run.run_name)
    if name is None and run.job_id is not None:
        return f"job-{run.job_id}"
    return name


def workspace_host(client: WorkspaceClient) -> str:
    """Host name only: no scheme, port or user info, so nothing secret can travel into a column."""
    host = urlsplit(client.config.host or "").hostname
    if not host:
        raise ValueError(f"the Databricks client has no usable host: {client.config.host!r}")
    return host


def event_row(run: BaseRun, host: str) -> tuple:
    """One ``BaseRun`` -> one raw event tuple, in ``RAW_EVENT_COLUMNS`` order."""
    run_id = str(run.run_id) if run.run_id is not None else None
    status = run_status(run)
    start, end = from_epoch_ms(run.start_time), from_epoch_ms(run.end_time)
    return (
        f"databricks-jobs://{host}/runs/{run_id}",  # source_file
        json.dumps(run.as_dict(), sort_keys=True),  # raw_line
        None,  # parse_error: the SDK has already parsed it
        run_id,
        _pipeline_name(run),
        f"databricks:{host}",  # factory
        status,
        start,
        end,
        failure_type(run, status),
        _error_message(run),
        _run_group_id(run),
        None,  # invoked_by_run_id: a job run is started by its trigger or a person, not by a job's run
        _parameters(run),
        end or start,  # event_time
    )


# --- the edge: the API call ----------------------------------------------------------------------------


def list_runs(
    client: WorkspaceClient, since: datetime, until: datetime, page_size: int = PAGE_SIZE
) -> Iterator[BaseRun]:
    """Runs that started in ``[since, until)``, active ones included; the SDK follows the pages."""
    start_from, start_to = epoch_ms(since), epoch_ms(until) - 1  # the API's upper bound is inclusive
    if start_to < start_from:
        raise ValueError(f"empty time window: since={since.isoformat()} until={until.isoformat()}")
    return client.jobs.list_runs(
        start_time_from=start_from,
        start_time_to=start_to,
        expand_tasks=False,  # task details are not needed, and would make pages heavy
        completed_only=False,  # a run still going tonight is a state too (RUNNING)
        limit=page_size,
    )


def job_run_events(
    spark: SparkSession, client: WorkspaceClient, since: datetime, until: datetime, *, page_size: int = PAGE_SIZE
) -> DataFrame:
    """Raw events (``RAW_EVENT_COLUMNS``) of the Databricks job runs started in ``[since, until)``.

    Only runs that *start* in the window are listed: a run still active at the end of one read is seen
    again only by a later window that covers its start, so callers should overlap windows by the
    longest run they expect. A run read twice collapses downstream (``latest_run_states``, the merge).
    """
    host = workspace_host(client)
    rows = [event_row(run, host) for run in list_runs(client, since, until, page_size)]
    return spark.createDataFrame(rows, RAW_EVENT_SCHEMA)
