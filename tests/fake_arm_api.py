"""A local HTTPS fake of the ARM endpoints of one data factory, for azure-mgmt-datafactory's real client.

It serves the pipeline list (two pages, through ``nextLink``), the trigger list, and ``queryPipelineRuns`` with
paging by ``continuationToken`` over runs filtered on ``lastUpdated``. Faults are queued per route: a 429 with
``Retry-After``, a 500. Every request is recorded. Nothing of the SDK is mocked: it talks HTTPS to this server.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken

from loopback_http import LoopbackHandler, serving
from monitoring.factory.live import RetrySettings, management_client

TOKEN = "fake-arm-token"
FAST_RETRIES = RetrySettings(total=3, backoff_factor=0.05, backoff_max=0.2)
RESOURCE_ID = (
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/RG-DATA"
    "/providers/Microsoft.DataFactory/factories/ADF-PROD"
)

RUNS_PAGE_SIZE = 2


class StaticToken:
    """A TokenCredential (the protocol azure-core calls) that hands out a fixed bearer token."""

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes = scopes
        return AccessToken(TOKEN, int(time.time()) + 3600)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    at: float


@dataclass
class FakeFactory:
    prefix: str  # /subscriptions/.../factories/NAME
    pipelines: list[dict[str, Any]]
    triggers: list[dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=dict)  # route -> (status, headers)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    broken_from: datetime | None = None  # run queries for windows starting at or after this answer 500

    def fail_next(self, route: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.faults.setdefault(route, deque()).append((status, headers or {}))

    def calls(self, route: str) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/" + route)]


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _runs_page(factory: FakeFactory, body: dict[str, Any]) -> dict[str, Any]:
    after, before = _parse(body["lastUpdatedAfter"]), _parse(body["lastUpdatedBefore"])
    matching = [r for r in factory.runs if after <= _parse(r["lastUpdated"]) < before]
    offset = int(body.get("continuationToken") or 0)
    page = {"value": matching[offset : offset + RUNS_PAGE_SIZE]}
    if offset + RUNS_PAGE_SIZE < len(matching):
        page["continuationToken"] = str(offset + RUNS_PAGE_SIZE)
    return page


def _handler(factory: FakeFactory) -> type[BaseHTTPRequestHandler]:
    class Handler(LoopbackHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            path, query = self.path_and_query()
            raw = self.body_bytes()
            body = json.loads(raw) if raw else None
            factory.requests.append(Request(method, path, query, body, time.monotonic()))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.reply(401, {"error": {"code": "AuthenticationFailed", "message": "no token"}})
            if not path.startswith(factory.prefix) or "api-version" not in query:
                return self.reply(404, {"error": {"code": "NotFound", "message": path}})
            route = path[len(factory.prefix) :].strip("/")
            queued = factory.faults.get(route)
            if queued:
                status, headers = queued.popleft()
                return self.reply(status, {"error": {"code": "Injected", "message": f"injected {status}"}}, headers)
            if method == "GET" and route == "pipelines":
                half = len(factory.pipelines) // 2
                if query.get("$skipToken") == "2":
                    return self.reply(200, {"value": factory.pipelines[half:]})
                link = f"{factory.url}{factory.prefix}/pipelines?api-version={query['api-version']}&$skipToken=2"
                return self.reply(200, {"value": factory.pipelines[:half], "nextLink": link})
            if method == "GET" and route == "triggers":
                return self.reply(200, {"value": factory.triggers})
            if method == "POST" and route == "queryPipelineRuns":
                if factory.broken_from and _parse((body or {})["lastUpdatedAfter"]) >= factory.broken_from:
                    return self.reply(500, {"error": {"code": "InternalServerError", "message": "down"}})
                return self.reply(200, _runs_page(factory, body or {}))
            return self.reply(404, {"error": {"code": "NotFound", "message": route}})

    return Handler


@contextmanager
def serve_factory(factory: FakeFactory, cert_file: Path, key_file: Path) -> Iterator[FakeFactory]:
    """The fake on ``https://127.0.0.1:<port>`` for the ``with`` block (trust ``cert_file`` to call it)."""
    with serving(_handler(factory), "fake-arm", tls=(cert_file, key_file)) as url:
        factory.url = url
        yield factory


def client_for(fake: FakeFactory, cert_file: Path, retry: RetrySettings = FAST_RETRIES):
    return lambda factory: management_client(
        factory, StaticToken(), retry, endpoint=fake.url, connection_verify=str(cert_file)
    )


# --- sample runs: one factory night -------------------------------------------------------------------


def pipeline_run(run_id: str, pipeline: str, updated: datetime) -> dict:
    start = updated - timedelta(minutes=20)
    return {
        "id": f"{RESOURCE_ID}/pipelineruns/{run_id}",
        "runId": run_id,
        "runGroupId": run_id,
        "isLatest": True,
        "pipelineName": pipeline,
        "parameters": {},
        "invokedBy": {"id": "08585", "name": "TR_Telephonie_Nightly", "invokedByType": "ScheduleTrigger"},
        "runStart": start.isoformat().replace("+00:00", "Z"),
        "runEnd": updated.isoformat().replace("+00:00", "Z"),
        "durationInMs": 1_200_000,
        "status": "Succeeded",
        "message": "",
        "lastUpdated": updated.isoformat().replace("+00:00", "Z"),
    }


SAMPLE_NOW = datetime(2025, 4, 9, 6, 0, tzinfo=UTC)
SAMPLE_RUNS = [
    pipeline_run("r0-before-watermark", "telephonie_master", datetime(2025, 4, 7, 10, 0, tzinfo=UTC)),
    pipeline_run("r1", "telephonie_master", datetime(2025, 4, 7, 22, 30, tzinfo=UTC)),
    pipeline_run("r2", "telephonie_master", datetime(2025, 4, 8, 0, 30, tzinfo=UTC)),
    pipeline_run("r3", "telephonie_ods_cti_export_incremental", datetime(2025, 4, 8, 0, 55, tzinfo=UTC)),
    pipeline_run("r4", "solaris_master", datetime(2025, 4, 8, 1, 40, tzinfo=UTC)),
    pipeline_run("r5", "sitecom_master", datetime(2025, 4, 8, 23, 10, tzinfo=UTC)),
    pipeline_run("r6-after-now", "sitecom_master", datetime(2025, 4, 9, 6, 30, tzinfo=UTC)),
]
