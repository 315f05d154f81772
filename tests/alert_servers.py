"""Real servers on 127.0.0.1 for the alert tests: SMTP (aiosmtpd, STARTTLS + AUTH) and a Teams-like webhook.

Nothing in the clients is mocked: the e-mail goes through smtplib, TLS and AUTH to a real SMTP server,
the card through urllib to a real HTTP server, and the tests look at what the servers received.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import ssl
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loopback_http import LoopbackHandler, serving

SMTP_USER = "svc-monitoring@example.com"


def free_port() -> int:
    """A port nobody listens on (once closed): also the 'server is down' address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 / localhost: (cert.pem, key.pem). Trusting cert.pem trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


# --- SMTP -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool
    tls: bool


@dataclass
class Inbox:
    """What the SMTP server received, and scripted replies to the next DATA commands (e.g. a 451)."""

    password: str
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    data_replies: deque[str] = field(default_factory=deque)
    logins: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.data_replies:
            return self.data_replies.popleft()
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), message, session.authenticated, session.ssl is not None
            )
        )
        return "250 2.0.0 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append(data.login)
            ok = data.login == SMTP_USER.encode() and data.password == self.password.encode()
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)


@contextmanager
def smtp_server(cert_file: Path, key_file: Path, password: str) -> Iterator[Inbox]:
    """An SMTP server that requires STARTTLS before anything and AUTH (only over TLS) before MAIL."""
    inbox = Inbox(password=password, port=free_port())
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    controller = Controller(
        inbox,
        hostname=inbox.host,
        port=inbox.port,
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def parts(message: EmailMessage) -> dict[str, str]:
    """The text bodies of a MIME message by content type (text/plain, text/html)."""
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


# --- Teams webhook ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Webhook:
    """Posts received, and scripted answers: (status, headers, body) popped one per request, then 200."""

    url: str = ""
    posts: list[Post] = field(default_factory=list)
    answers: deque[tuple[int, dict[str, str], str]] = field(default_factory=deque)

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [post.body["attachments"][0]["content"] for post in self.posts]


def _webhook_handler(hook: Webhook) -> type[BaseHTTPRequestHandler]:
    class Handler(LoopbackHandler):
        def do_POST(self) -> None:
            raw = self.body_bytes()
            status, headers, body = hook.answers.popleft() if hook.answers else (200, {}, "1")
            if status < 300:  # like Teams, only an accepted post counts
                path, query = self.path_and_query()
                hook.posts.append(Post(path, query, dict(self.headers.items()), json.loads(raw)))
            payload = body.replace("{request_url}", f"{hook.url.split('/', 3)[0]}//{self.headers['Host']}{self.path}")
            self.reply(status, payload, headers, content_type="text/plain")

    return Handler


@contextmanager
def webhook_server(path: str) -> Iterator[Webhook]:
    """A webhook at ``http://127.0.0.1:<port><path>`` in a background thread for the ``with`` block."""
    hook = Webhook()
    with serving(_webhook_handler(hook), "fake-teams-webhook") as url:
        hook.url = url + path
        yield hook


# --- Databricks secrets API -------------------------------------------------------------------------------


@contextmanager
def secrets_api(secrets: dict[tuple[str, str], str], token: str) -> Iterator[str]:
    """``GET /api/2.0/secrets/get`` as a workspace answers it (base64 values); yields the host URL."""

    class Handler(LoopbackHandler):
        def do_GET(self) -> None:
            path, query = self.path_and_query()
            if path == "/.well-known/databricks-config":  # the SDK probes the host without credentials
                self.reply(200, {"workspace_id": "1234567890123456"})
            elif path != "/api/2.0/secrets/get":
                self.reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API for {path}"})
            elif self.headers.get("Authorization") != f"Bearer {token}":
                self.reply(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
            elif (query.get("scope"), query.get("key")) not in secrets:
                message = f"Secret does not exist with scope: {query.get('scope')} and key: {query.get('key')}"
                self.reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message})
            else:
                value = secrets[(query["scope"], query["key"])]
                self.reply(200, {"key": query["key"], "value": base64.b64encode(value.encode()).decode()})

    with serving(Handler, "fake-secrets-api") as url:
        yield url
