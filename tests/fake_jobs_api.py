"""A real HTTP server that answers the Jobs API's ``runs/list`` as a Databricks workspace does.

The SDK is exercised end to end (host metadata probe, auth header, query string, pagination), so
nothing in the client is mocked. Runs are served from documents built with the SDK's own models
(``BaseRun(...).as_dict()``), newest first, filtered and paged the way the service does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from loopback_http import LoopbackHandler, serving

RUNS_LIST_PATH = "/api/2.2/jobs/runs/list"
HOST_METADATA_PATH = "/.well-known/databricks-config"
MAX_LIMIT = 25  # the service's documented maximum page size; 0 means "the maximum"
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeJobsApi:
    """What the server serves and what it saw. ``url`` is set once the server listens."""

    runs: list[dict[str, Any]]
    token: str
    workspace_id: str = "1234567890123456"
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def list_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == RUNS_LIST_PATH]


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid page token: {token}") from error


def _int_param(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError as error:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid {name}: {query[name]}") from error


def list_runs_page(api: FakeJobsApi, query: dict[str, str]) -> dict[str, Any]:
    """One page of ``runs/list``: start-time filter (both ends inclusive), newest first."""
    limit = _int_param(query, "limit")
    limit = DEFAULT_LIMIT if limit is None else (MAX_LIMIT if limit == 0 else limit)
    if not 0 < limit <= MAX_LIMIT:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"limit must be between 1 and {MAX_LIMIT}")
    start_from = _int_param(query, "start_time_from")
    start_to = _int_param(query, "start_time_to")
    selected = [
        run
        for run in api.runs
        if (start_from is None or run.get("start_time", 0) >= start_from)
        and (start_to is None or run.get("start_time", 0) <= start_to)
    ]
    selected.sort(key=lambda run: (run.get("start_time", 0), run.get("run_id", 0)), reverse=True)
    offset = _decode_token(query["page_token"]) if "page_token" in query else 0
    page = selected[offset : offset + limit]
    has_more = offset + limit < len(selected)
    body: dict[str, Any] = {"has_more": has_more}
    if page:  # the service leaves the key out of an empty page
        body["runs"] = page
    if has_more:
        body["next_page_token"] = _encode_token(offset + limit)
    if offset > 0:
        body["prev_page_token"] = _encode_token(max(offset - limit, 0))
    return body


def _handler(api: FakeJobsApi) -> type[BaseHTTPRequestHandler]:
    class Handler(LoopbackHandler):
        def do_GET(self) -> None:
            path, query = self.path_and_query(keep_blank_values=True)
            api.requests.append(Request(path, query, dict(self.headers.items())))
            try:
                self.reply(200, self._route(path, query))
            except ApiError as error:
                self.reply(error.status, {"error_code": error.error_code, "message": error.message})

        def _route(self, path: str, query: dict[str, str]) -> dict[str, Any]:
            if path == HOST_METADATA_PATH:  # probed without credentials when the client is built
                return {"workspace_id": api.workspace_id}
            if path != RUNS_LIST_PATH:
                raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for 'GET {path}'")
            if self.headers.get("Authorization") != f"Bearer {api.token}":
                raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
            return list_runs_page(api, query)

    return Handler


@contextmanager
def serve_jobs_api(runs: list[dict[str, Any]], token: str) -> Iterator[FakeJobsApi]:
    """Serves ``runs`` on 127.0.0.1 (a free port) in a background thread for the ``with`` block."""
    api = FakeJobsApi(runs=runs, token=token)
    with serving(_handler(api), "fake-jobs-api") as url:
        api.url = url
        yield api
