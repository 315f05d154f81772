"""Secrets of the alert channels (SMTP password, Teams webhook URL): fetched at the point of use, never shown.

On Databricks a secret comes from a secret scope through databricks-sdk; anywhere else from an environment
variable. ``monitoring.yml`` only names where it comes from (:class:`monitoring.alerts.config.SecretRef`).

A value is wrapped in :class:`Secret`, whose ``str`` and ``repr`` are masked, so an f-string, a log line or
a dataclass repr cannot leak it; :func:`mask` scrubs it (and its encoded forms) out of any other text, such
as an exception message from a library that put the URL in it.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote, urlsplit

from monitoring.alerts.config import SecretRef

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

MASK = "***"
# Fragments shorter than this are not masked on their own: masking "a" or "https" would garble every message.
_MIN_FRAGMENT = 6


class SecretError(RuntimeError):
    """A secret could not be read. The message names where it was looked for, never a value."""


class Secret:
    """A secret value. ``str()`` and ``repr()`` are masked; :meth:`reveal` is for the one place that uses it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def fragments(self) -> tuple[str, ...]:
        """The value and the forms it can take inside other text: URL-quoted, base64, a URL's path and query."""
        value = self._value
        forms = [value, quote(value, safe=""), quote(value), base64.b64encode(value.encode()).decode()]
        if "://" in value:
            parts = urlsplit(value)
            # An HTTP library may quote only the request target ("POST /workflows/...?sig=...").
            forms += [parts.path, parts.query, f"{parts.path}?{parts.query}" if parts.query else parts.path]
            forms += [v for k, v in _query_pairs(parts.query) if k.lower() in ("sig", "signature", "token", "code")]
        return tuple(sorted({f for f in forms if len(f) >= _MIN_FRAGMENT}, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # never pickled into a Spark task, a cache or a log record
        raise TypeError("a Secret cannot be pickled")


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, _, v in (item.partition("=") for item in query.split("&")) if v]


def mask(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret (in any of its forms) replaced by ``***``. Longest forms first."""
    fragments = sorted({f for s in secrets for f in s.fragments()}, key=len, reverse=True)
    for fragment in fragments:
        text = text.replace(fragment, MASK)
    return text


WorkspaceFactory = Callable[[], "WorkspaceClient"]


def _default_workspace() -> WorkspaceClient:
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient()  # on Databricks: the job's own identity, no configuration needed


def from_scope(ref: SecretRef, workspace: WorkspaceFactory = _default_workspace) -> Secret:
    """The secret ``ref.key`` of the Databricks scope ``ref.scope`` (the API returns it base64-encoded)."""
    where = f"{ref.path}: secret {ref.key!r} of the Databricks secret scope {ref.scope!r}"
    try:
        response = workspace().secrets.get_secret(scope=ref.scope, key=ref.key)
    except Exception as error:  # the SDK's errors carry the service's message, never the value
        raise SecretError(f"{where} could not be read ({type(error).__name__}: {error})") from None
    if not response.value:
        raise SecretError(f"{where} is empty")
    try:
        value = base64.b64decode(response.value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SecretError(f"{where} is not base64-encoded UTF-8 text") from None
    return Secret(value.strip())


def from_environment(ref: SecretRef, environ: Mapping[str, str] | None = None) -> Secret:
    value = (os.environ if environ is None else environ).get(ref.env, "").strip()
    if not value:
        raise SecretError(f"{ref.path}: environment variable {ref.env} is not set (outside Databricks)")
    return Secret(value)


SecretSource = Callable[[SecretRef], Secret]


def secret_source(on_databricks: bool, workspace: WorkspaceFactory = _default_workspace) -> SecretSource:
    """Where secrets come from in this process: the scope on Databricks, the environment elsewhere."""
    if on_databricks:
        return lambda ref: from_scope(ref, workspace)
    return from_environment
