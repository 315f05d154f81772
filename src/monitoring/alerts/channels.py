"""Delivery: e-mail over SMTP and Teams through an incoming webhook (or a Workflows URL), with bounded retries.

A delivery attempt either succeeds or raises :class:`DeliveryError`, which says whether trying again can
help (SMTP 4xx, HTTP 429 and 5xx, a refused or dropped connection) and how long the server asked to wait
(``Retry-After``). :func:`deliver` retries with exponential backoff within one run; what still fails is
recorded in ``alerts_sent`` and retried by the next run. Sleeping is injected, so tests do not wait.

Every error text leaving this module has been through :func:`monitoring.alerts.secrets.mask`: an HTTP library
or an SMTP server may quote the URL or the credentials it was given.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr, parsedate_to_datetime
from typing import Protocol

from monitoring.alerts import config
from monitoring.alerts.messages import email_html, email_subject, one_line, plain_text, shorten, teams_card
from monitoring.alerts.plan import Message
from monitoring.alerts.secrets import Secret, SecretError, SecretSource, mask

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
Sleep = Callable[[float], None]


class DeliveryError(Exception):
    """One failed attempt. ``transient``: another attempt may succeed. The text is safe to show and store."""

    def __init__(self, text: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.transient = transient
        self.retry_after = retry_after


def _masked(error: DeliveryError, secrets: tuple[Secret, ...]) -> DeliveryError:
    """The same error with the channel's secrets masked: a server may echo the URL or credentials it got."""
    return DeliveryError(mask(str(error), secrets), transient=error.transient, retry_after=error.retry_after)


class Channel(Protocol):
    name: str

    @property
    def secrets(self) -> tuple[Secret, ...]: ...

    def send(self, message: Message) -> None: ...


@dataclass(frozen=True)
class Outcome:
    sent: bool
    attempts: int
    error: str | None = None  # masked


def deliver(channel: Channel, message: Message, policy: config.RetryPolicy, sleep: Sleep = time.sleep) -> Outcome:
    """Send with up to ``policy.attempts`` attempts; never raises (a broken channel must not stop the others)."""
    wait = policy.backoff_seconds
    for attempt in range(1, policy.attempts + 1):
        try:
            channel.send(message)
            log.info("sent %r via %s", message.title, channel.name)
            return Outcome(True, attempt)
        except DeliveryError as error:
            text, transient, retry_after = str(error), error.transient, error.retry_after
        except Exception as error:  # an unexpected library error: report it, don't crash the night
            text, transient, retry_after = f"{type(error).__name__}: {error}", False, None
        text = mask(text, channel.secrets)
        log.warning(
            "%s: attempt %d of %d failed for %r: %s", channel.name, attempt, policy.attempts, message.title, text
        )
        if not transient or attempt == policy.attempts:
            return Outcome(False, attempt, text)
        delay = wait if retry_after is None else retry_after
        if delay > policy.max_wait_seconds:
            return Outcome(False, attempt, f"{text} (asked to wait {delay:.0f} s: left to the next run)")
        sleep(delay)
        wait *= 2
    raise AssertionError("unreachable: policy.attempts >= 1")


# --- e-mail ----------------------------------------------------------------------------------------


class EmailChannel:
    name = "email"

    def __init__(
        self,
        settings: config.EmailChannel,
        password: Secret | None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.settings = settings
        self._password = password
        # The system's trust store (or SSL_CERT_FILE): certificates and host names are always verified.
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._timeout = timeout

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return (self._password,) if self._password else ()

    def build(self, message: Message) -> EmailMessage:
        """The MIME message: a plain-text part and its HTML alternative."""
        email = EmailMessage()
        email["Subject"] = email_subject(message)
        email["From"] = self.settings.sender
        email["To"] = ", ".join(message.recipients)
        email["Date"] = format_datetime(datetime.now(UTC))
        email["Message-ID"] = make_msgid(domain=parseaddr(self.settings.sender)[1].partition("@")[2] or None)
        email.set_content(plain_text(message))
        email.add_alternative(email_html(message), subtype="html")
        return email

    def send(self, message: Message) -> None:
        try:
            self._send(message)
        except DeliveryError as error:
            raise _masked(error, self.secrets) from None

    def _send(self, message: Message) -> None:
        if not message.recipients:
            raise DeliveryError("no e-mail recipient", transient=False)
        email = self.build(message)
        settings = self.settings
        try:
            smtp = (
                smtplib.SMTP_SSL(settings.host, settings.port, timeout=self._timeout, context=self._ssl_context)
                if settings.security == "ssl"
                else smtplib.SMTP(settings.host, settings.port, timeout=self._timeout)
            )
            with smtp:
                if settings.security == "starttls":
                    smtp.starttls(context=self._ssl_context)
                if settings.username and self._password:
                    smtp.login(settings.username, self._password.reveal())
                smtp.send_message(email, to_addrs=list(message.recipients))
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(
                f"SMTP refused the recipients (codes {sorted(set(codes))})",
                transient=all(400 <= c < 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as error:  # a server reply: 4xx is "try later", 5xx is final
            reply = (
                error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
            )
            raise DeliveryError(
                f"SMTP {error.smtp_code}: {shorten(str(reply), 300)}", transient=400 <= error.smtp_code < 500
            ) from None
        except smtplib.SMTPServerDisconnected as error:
            raise DeliveryError(f"SMTP server {settings.host} closed the connection: {error}", transient=True) from None
        except smtplib.SMTPException as error:  # e.g. STARTTLS or AUTH not offered: configuration, not luck
            raise DeliveryError(f"SMTP server {settings.host}: {error}", transient=False) from None
        except ssl.SSLError as error:  # a certificate problem does not fix itself
            raise DeliveryError(f"TLS with {settings.host}:{settings.port} failed: {error}", transient=False) from None
        except OSError as error:  # refused, reset, timed out, name not resolved (yet)
            raise DeliveryError(
                f"SMTP server {settings.host}:{settings.port} unreachable: {type(error).__name__}: {error}",
                transient=True,
            ) from None


# --- Teams -----------------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After``: delay-seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class TeamsChannel:
    name = "teams"

    def __init__(self, webhook: Secret, timeout: float = TIMEOUT_SECONDS) -> None:
        self._webhook = webhook
        self._timeout = timeout

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return (self._webhook,)

    def send(self, message: Message) -> None:
        try:
            self._post(message)
        except DeliveryError as error:
            raise _masked(error, self.secrets) from None

    def _post(self, message: Message) -> None:
        payload = json.dumps(teams_card(message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self._webhook.reveal(),
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                answer = response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            body = one_line(error.read(500).decode("utf-8", "replace"))
            transient = error.code == 429 or error.code >= 500
            raise DeliveryError(
                f"Teams webhook answered HTTP {error.code} {error.reason}"
                + (f": {shorten(body, 300)}" if body else ""),
                transient=transient,
                retry_after=retry_after_seconds(error.headers.get("Retry-After")),
            ) from None
        except urllib.error.URLError as error:
            raise DeliveryError(f"Teams webhook unreachable: {error.reason}", transient=True) from None
        except OSError as error:  # a timeout or a reset while reading the answer
            raise DeliveryError(f"Teams webhook unreachable: {type(error).__name__}: {error}", transient=True) from None
        # Legacy Office 365 connectors answer 200 with an error text instead of an error status.
        if "delivery failed" in answer.lower():
            raise DeliveryError(f"Teams webhook: {shorten(answer, 300)}", transient="429" in answer)


# --- opening the configured channels ---------------------------------------------------------------


def open_channels(
    alerts: config.AlertsConfig,
    secrets: SecretSource,
    names: Iterable[str],
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, Channel | str]:
    """The named channels, ready to send; a channel whose secret cannot be read maps to the reason instead."""
    opened: dict[str, Channel | str] = {}
    for name in sorted(set(names)):
        try:
            if name == "email" and alerts.email is not None:
                password = secrets(alerts.email.password) if alerts.email.password else None
                opened[name] = EmailChannel(alerts.email, password, ssl_context)
            elif name == "teams" and alerts.teams is not None:
                opened[name] = TeamsChannel(secrets(alerts.teams.webhook))
            else:
                opened[name] = f"channel {name!r} is not configured under alerts.channels"
        except SecretError as error:  # its message names the scope and key (or variable), never a value
            opened[name] = str(error)
    return opened
