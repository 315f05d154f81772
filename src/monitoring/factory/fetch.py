"""Pipeline runs fetched live from the factory, and kept raw.

``pipeline_runs.query_by_factory`` is asked for the runs *updated* in a window (``lastUpdatedAfter`` /
``lastUpdatedBefore``: a run that started last week and ended tonight is in tonight's window), and every page is
followed through ``continuationToken``. Each page is written as it came, in the ``adf_rest_api`` layout, under
``source.path``::

    factory=NAME/date=YYYY-MM-DD/pipelineruns-<after>-<before>-p0001.json   ({"value": [...], ...})

so ingestion reads them like any saved response, history outlives ADF's 45 days, and a rebuild reads what the nights
read. The watermark (``factory=NAME/.fetch-watermark``) moves to a window's end only once all its pages are written:
a night that dies mid-window fetches that window again, and the same file names are rewritten.

Windows are cut at UTC midnights (one ``date=`` folder each); the first asks from a few minutes before the watermark,
since ADF may stamp ``lastUpdated`` slightly before the run's record is visible. Ingestion dedups the overlap by run
id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitoring.config import Config
from monitoring.factory.live import RETRIED_METHODS, ClientFactory, FactoryId, default_client

if TYPE_CHECKING:
    from azure.mgmt.datafactory import DataFactoryManagementClient

ADF_RETENTION = timedelta(days=45)  # what ADF keeps: the first fetch goes back this far
OVERLAP = timedelta(minutes=5)
WATERMARK_FILE = ".fetch-watermark"  # not *.json: ingestion never reads it as a page


@dataclass(frozen=True)
class FetchReport:
    windows: int
    pages: int
    runs: int
    watermark: datetime  # lastUpdatedBefore of the last window written
    files: tuple[Path, ...]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def read_watermark(folder: Path) -> datetime | None:
    path = folder / WATERMARK_FILE
    if not path.exists():
        return None
    return datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["last_updated_before"])


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")  # hidden and not *.json while half-written
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at UTC midnights."""
    after = start
    while after < end:
        midnight = datetime(after.year, after.month, after.day, tzinfo=UTC) + timedelta(days=1)
        before = min(midnight, end)
        yield after, before
        after = before


def fetch_runs(
    client: DataFactoryManagementClient,
    factory: FactoryId,
    root: Path,
    now: datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> FetchReport:
    """Fetch the runs updated since the watermark (ADF's 45 days the first time) up to ``now``, page by page."""
    folder = root / f"factory={factory.name}"
    watermark = read_watermark(folder)
    start = watermark or now - ADF_RETENTION
    pages = runs = count = 0
    files: list[Path] = []
    last = start
    for day_start, before in windows(start, now):
        count += 1
        after = day_start - OVERLAP if day_start == watermark else day_start
        token: str | None = None
        page = 0
        while True:
            page += 1
            body = {"lastUpdatedAfter": _iso(after), "lastUpdatedBefore": _iso(before)}
            if token:
                body["continuationToken"] = token
            raw = client.pipeline_runs.query_by_factory(
                factory.resource_group,
                factory.name,
                body,
                retry_on_methods=RETRIED_METHODS,
                cls=lambda response, _deserialized, _headers: response.http_response.text(),
            )
            document = json.loads(raw)
            name = f"pipelineruns-{_stamp(after)}-{_stamp(before)}-p{page:04d}.json"
            path = folder / f"date={day_start:%Y-%m-%d}" / name
            _write_atomically(path, raw)  # as it came
            files.append(path)
            pages += 1
            runs += len(document.get("value") or [])
            token = document.get("continuationToken")
            if not token:
                break
        _write_atomically(folder / WATERMARK_FILE, json.dumps({"last_updated_before": before.isoformat()}))
        last = before
        progress(f"Fetched runs updated {_iso(after)} to {_iso(before)}: {page} page(s)")
    return FetchReport(count, pages, runs, last, tuple(files))


def fetch_configured_factory(
    config: Config, now: datetime, progress: Callable[[str], None], client_for: ClientFactory = default_client
) -> FetchReport:
    """The job's fetch: ``source.factory``'s runs into ``source.path`` (a local folder or a /Volumes/ path)."""
    assert config.source.factory is not None
    factory = FactoryId.parse(config.source.factory)
    progress(f"Fetching the runs of factory {factory.name} updated since the last night")
    report = fetch_runs(client_for(factory), factory, Path(config.source.path), now, progress)
    progress(f"Fetched {report.runs} run record(s) in {report.pages} page(s) under {config.source.path}")
    return report
