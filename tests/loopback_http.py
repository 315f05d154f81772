"""The plumbing of the tests' HTTP servers on 127.0.0.1 (the fake ARM API, Jobs API, secrets API, Teams webhook):
a background ``ThreadingHTTPServer`` on a free port for a ``with`` block, optionally behind TLS, and a handler base
with the reply and the query parsing they all need. Each fake keeps only what its service answers.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


class LoopbackHandler(BaseHTTPRequestHandler):
    """A request handler that replies in one call and logs nothing (pytest's output stays clean)."""

    def path_and_query(self, keep_blank_values: bool = False) -> tuple[str, dict[str, str]]:
        """The request's path and its query, the last value of each parameter."""
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=keep_blank_values)
        return url.path, {name: values[-1] for name, values in query.items()}

    def body_bytes(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(
        self,
        status: int,
        body: dict[str, Any] | str,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """A dict is sent as JSON, a str as it is; ``headers`` before Content-Type and Content-Length."""
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], name: str, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """``handler`` served on 127.0.0.1 (a free port) in a background thread; yields the base URL, ``https://`` when
    ``tls`` (cert.pem, key.pem) is given."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
