"""The status vocabulary, as data: reason codes in canonical order, the status each implies, colours.

Everything that prints, stores or compares a status or a reason takes it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

OK, WARNING, KO, PENDING = "OK", "WARNING", "KO", "PENDING"

# Worst first: a flow or a summary sorts by this.
STATUS_SEVERITY: dict[str, int] = {KO: 0, WARNING: 1, PENDING: 2, OK: 3}

STATUS_COLORS: dict[str, str] = {
    OK: "#2E7D32",
    WARNING: "#EF6C00",
    KO: "#C62828",
    PENDING: "#757575",
}


@dataclass(frozen=True)
class Reason:
    code: str
    status: str  # the status this reason implies on its own
    meaning: str  # what it means, in the words of the README


REASONS: tuple[Reason, ...] = (
    Reason("MISSING", KO, "expected, and no run by the time it was due"),
    Reason("FAILED", KO, "the final run failed"),
    Reason("CANCELLED", KO, "the final run was cancelled"),
    Reason("RUNNING", WARNING, "the final run had not ended by the time it was due"),
    Reason("PENDING", PENDING, "not due yet: no run, or the final run has not ended"),
    Reason("LATE", WARNING, "the final run succeeded but ended after the deadline"),
    Reason("ORDER", WARNING, "the final run started before a pipeline it must follow had ended"),
    Reason("RETRIED", WARNING, "the final run succeeded after an earlier run that day failed or was cancelled"),
    Reason("SLOW", WARNING, "the run took much longer than its recent median"),
    Reason("FAST", WARNING, "the run was much shorter than its recent median"),
)

REASON_CODES: tuple[str, ...] = tuple(r.code for r in REASONS)

# Run states as stored in silver (ADF's vocabulary, 'Canceled'/'Canceling' normalised).
QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELLED = "Queued", "InProgress", "Succeeded", "Failed", "Cancelled"
RUN_STATES: tuple[str, ...] = (QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELLED)
TERMINAL_STATES: tuple[str, ...] = (SUCCEEDED, FAILED, CANCELLED)

# Every spelling met in the sources, lower-cased, to the silver state.
RUN_STATE_ALIASES: dict[str, str] = {
    "queued": QUEUED,
    "inprogress": IN_PROGRESS,
    "in progress": IN_PROGRESS,
    "running": IN_PROGRESS,
    "succeeded": SUCCEEDED,
    "success": SUCCEEDED,
    "failed": FAILED,
    "failure": FAILED,
    "cancelled": CANCELLED,
    "canceled": CANCELLED,
    "canceling": CANCELLED,
    "cancelling": CANCELLED,
}
