"""A local HTTPS fake of the ARM endpoints of one data factory, for azure-mgmt-datafactory's real client.

It serves the pipeline list (two pages, through ``nextLink``), the trigger list, and ``queryPipelineRuns`` with
paging by ``continuationToken`` over runs filtered on ``lastUpdated``. Faults are queued per route: a 429 with
``Retry-After``, a 500. Every request is recorded. Nothing of the SDK is mocked: it talks HTTPS to this server.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken

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
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            factory.requests.append(Request(method, url.path, query, body, time.monotonic()))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._reply(401, {"error": {"code": "AuthenticationFailed", "message": "no token"}})
            if not url.path.startswith(factory.prefix) or "api-version" not in query:
                return self._reply(404, {"error": {"code": "NotFound", "message": url.path}})
            route = url.path[len(factory.prefix) :].strip("/")
            queued = factory.faults.get(route)
            if queued:
                status, headers = queued.popleft()
                return self._reply(status, {"error": {"code": "Injected", "message": f"injected {status}"}}, headers)
            if method == "GET" and route == "pipelines":
                half = len(factory.pipelines) // 2
                if query.get("$skipToken") == "2":
                    return self._reply(200, {"value": factory.pipelines[half:]})
                link = f"{factory.url}{factory.prefix}/pipelines?api-version={query['api-version']}&$skipToken=2"
                return self._reply(200, {"value": factory.pipelines[:half], "nextLink": link})
            if method == "GET" and route == "triggers":
                return self._reply(200, {"value": factory.triggers})
            if method == "POST" and route == "queryPipelineRuns":
                if factory.broken_from and _parse((body or {})["lastUpdatedAfter"]) >= factory.broken_from:
                    return self._reply(500, {"error": {"code": "InternalServerError", "message": "down"}})
                return self._reply(200, _runs_page(factory, body or {}))
            return self._reply(404, {"error": {"code": "NotFound", "message": route}})

        def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:  # keep pytest output clean
            pass

    return Handler


@contextmanager
def serve_factory(factory: FakeFactory, cert_file: Path, key_file: Path) -> Iterator[FakeFactory]:
    """The fake on ``https://127.0.0.1:<port>`` for the ``with`` block (trust ``cert_file`` to call it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(factory))
    server.daemon_threads = True
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    factory.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-arm", daemon=True)
    thread.start()
    try:
        yield factory
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
