"""Named points of a run where a test can kill it, as a lost node would.

``PIPELINE_MONITOR_KILL_AT=<name>`` makes the process SIGKILL itself at that point: no cleanup, no exception handler,
no flush. The reliability tests use it in a subprocess to prove that the next run leaves the tables of a rebuild
whatever point a run died at. Unset (always, outside those tests), a checkpoint costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

KILL_AT_VARIABLE = "PIPELINE_MONITOR_KILL_AT"

# In the order a night passes them.
CHECKPOINTS = (
    "owed_recorded",
    "runs_merged",
    "ingested",
    "pipeline_status_written",
    "flow_status_written",
    "kpis_written",
)


def checkpoint(name: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
