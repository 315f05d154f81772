"""ADF diagnostic logs written the way a factory writes them: one append blob per UTC hour of the record's time,
under ``resourceId=/…/FACTORIES/<name>/y=/m=/d=/h=/m=00/PT1H.json``, a record at a run's start and one at its end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESOURCE = "/SUBSCRIPTIONS/SUB-1/RESOURCEGROUPS/RG-DATA/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF-TEST"


@dataclass(frozen=True)
class Run:
    run_id: str
    pipeline: str
    status: str  # the final state: Succeeded, Failed, Cancelled, or InProgress (no end record)
    start: datetime  # aware
    end: datetime | None = None
    group_id: str | None = None

    def records(self) -> list[tuple[datetime, dict[str, Any]]]:
        """(when it is logged, the record)."""
        started = (self.start, self._record("InProgress", self.start, end=None))
        if self.status == "InProgress" or self.end is None:
            return [started]
        return [started, (self.end, self._record(self.status, self.end, end=self.end))]

    def _record(self, status: str, at: datetime, end: datetime | None) -> dict[str, Any]:
        return {
            "time": _iso(at),
            "resourceId": RESOURCE,
            "category": "PipelineRuns",
            "runId": self.run_id,
            "groupId": self.group_id or self.run_id,
            "pipelineName": self.pipeline,
            "status": status,
            "start": _iso(self.start),
            "end": _iso(end) if end else "1601-01-01T00:00:00Z",
            "failureType": "UserError" if status == "Failed" else "",
            "properties": {"Message": "boom" if status == "Failed" else ""},
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def blob_path(root: Path, at: datetime) -> Path:
    at = at.astimezone(UTC)
    return (
        root
        / "insights-logs-pipelineruns"
        / ("resourceId=" + RESOURCE)
        / f"y={at:%Y}"
        / f"m={at:%m}"
        / f"d={at:%d}"
        / f"h={at:%H}"
        / "m=00"
        / "PT1H.json"
    )


def write_records(root: Path, records: list[tuple[datetime, dict[str, Any]]]) -> list[Path]:
    """Append each record to the blob of its time's hour; returns the blobs written."""
    written = []
    for at, record in records:
        path = blob_path(root, at)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as blob:
            blob.write(json.dumps(record) + "\n")
        written.append(path)
    return written


def write_runs(root: Path, runs: list[Run]) -> list[Path]:
    return write_records(root, [record for run in runs for record in run.records()])
