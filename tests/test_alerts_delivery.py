"""Delivery against real servers on 127.0.0.1: SMTP with STARTTLS and AUTH, a Teams-like webhook, the
Databricks secrets API. Retries are real (a 451, a 429 with Retry-After, a refused connection); only the
sleeping is recorded instead of done. No Spark.
"""

from __future__ import annotations

import json
import logging
import pickle
import ssl
import traceback
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from databricks.sdk import WorkspaceClient

from alert_servers import (
    SMTP_USER,
    Inbox,
    Webhook,
    free_port,
    parts,
    secrets_api,
    self_signed_certificate,
    smtp_server,
    webhook_server,
)
from monitoring.alerts.channels import (
    DeliveryError,
    EmailChannel,
    Outcome,
    TeamsChannel,
    deliver,
    open_channels,
    retry_after_seconds,
)
from monitoring.alerts.config import EmailChannel as EmailSettings
from monitoring.alerts.config import RetryPolicy, SecretRef
from monitoring.alerts.plan import Message, plan_alerts
from monitoring.alerts.secrets import Secret, SecretError, from_environment, from_scope, mask, secret_source
from monitoring.config import parse_config
from monitoring.gold import PipelineDay

PASSWORD = "pw-Zq8#smtp-9f1c2d"
WEBHOOK_PATH = "/workflows/8f2c1a/triggers/manual/paths/invoke"
WEBHOOK_SIG = "sig=Sx7-TOPSECRET-signature-4e1b"
DAY = date(2025, 4, 8)
POLICY = RetryPolicy(attempts=3, backoff_seconds=2.0, max_wait_seconds=60.0)
SCRIPT = "<script>alert(1)</script>"


class Sleeps(list[float]):
    """The injected sleep: records how long each retry would have waited."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def trusting(certificate) -> ssl.SSLContext:
    """A client context that trusts the throwaway certificate (and verifies host names as usual)."""
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture(scope="module")
def inbox_server(certificate) -> Iterator[Inbox]:
    with smtp_server(*certificate, password=PASSWORD) as inbox:
        yield inbox


@pytest.fixture
def inbox(inbox_server) -> Inbox:
    inbox_server.messages.clear()
    inbox_server.data_replies.clear()
    return inbox_server


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with webhook_server(WEBHOOK_PATH) as hook:
        yield hook


@pytest.fixture(scope="module")
def messages() -> list[Message]:
    """An on_change message for e-mail and one for Teams: a KO pipeline whose error text holds markup."""
    config = parse_config(
        {
            "source": {"format": "adf_diagnostic", "path": "./logs"},
            "storage": {"root": "./lakehouse"},
            "flows": [{"name": "Billing", "pipelines": ["bill_load"]}],
            "alerts": {
                "secret_scope": "monitoring",
                "channels": {
                    "email": {
                        "host": "127.0.0.1",
                        "username": SMTP_USER,
                        "password": {"secret": "smtp-password", "env": "SMTP_PASSWORD"},
                        "sender": f"Pipeline monitoring <{SMTP_USER}>",
                        "recipients": ["oncall@example.com", "lead@example.com"],
                    },
                    "teams": {"webhook": {"secret": "teams-webhook", "env": "TEAMS_WEBHOOK"}},
                },
                "triggers": {"on_change": {}},
                "lookback_days": 0,
            },
        }
    )
    row = PipelineDay(
        DAY, "Billing", "bill_load", "KO", "FAILED", "final run failed", 1, f"{SCRIPT} boom", "SystemError"
    )
    now = datetime.combine(DAY, time(7, 5), tzinfo=ZoneInfo("Europe/Paris"))
    return list(plan_alerts(config.alerts, ["Billing"], [row], [], [], DAY, now).messages)


def email_settings(inbox: Inbox, security: str = "starttls") -> EmailSettings:
    return EmailSettings(
        host=inbox.host,
        port=inbox.port,
        security=security,
        sender=f"Pipeline monitoring <{SMTP_USER}>",
        recipients=("oncall@example.com",),
        username=SMTP_USER,
        password=SecretRef("monitoring", "smtp-password", "SMTP_PASSWORD"),
    )


def webhook_secret(hook_url: str) -> Secret:
    return Secret(f"{hook_url}?api-version=2016-06-01&{WEBHOOK_SIG}")


# --- e-mail -----------------------------------------------------------------------------------------------


def test_email_goes_over_starttls_with_auth_as_text_and_html(inbox, trusting, messages):
    email_message = messages[0]
    outcome = deliver(EmailChannel(email_settings(inbox), Secret(PASSWORD), trusting), email_message, POLICY)
    assert outcome == Outcome(True, 1)
    (received,) = inbox.messages
    assert (received.authenticated, received.tls) == (True, True)
    assert received.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    mime = received.message
    assert mime["Subject"] == f"[KO] Billing: bill_load KO (FAILED) on {DAY}"
    assert mime["From"] == f"Pipeline monitoring <{SMTP_USER}>"
    assert mime["To"] == "oncall@example.com, lead@example.com"
    assert mime.get_content_type() == "multipart/alternative"
    bodies = parts(mime)
    assert set(bodies) == {"text/plain", "text/html"}
    assert f"error: SystemError: {SCRIPT} boom" in bodies["text/plain"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; boom" in bodies["text/html"]
    assert "<script" not in bodies["text/html"]


def test_a_wrong_password_fails_at_once_and_is_not_repeated(inbox, trusting, messages, caplog):
    wrong = "wrong-Password-12345"
    sleeps = Sleeps()
    with caplog.at_level(logging.DEBUG):
        outcome = deliver(EmailChannel(email_settings(inbox), Secret(wrong), trusting), messages[0], POLICY, sleeps)
    assert (outcome.sent, outcome.attempts, sleeps) == (False, 1, [])
    assert outcome.error.startswith("SMTP 535: ")
    assert wrong not in outcome.error and wrong not in caplog.text
    assert inbox.messages == []


def test_a_temporary_smtp_refusal_is_retried_with_backoff(inbox, trusting, messages):
    inbox.data_replies.extend(["451 4.3.0 Mail server temporarily rejected message", "452 4.3.1 Insufficient storage"])
    sleeps = Sleeps()
    outcome = deliver(EmailChannel(email_settings(inbox), Secret(PASSWORD), trusting), messages[0], POLICY, sleeps)
    assert (outcome, sleeps) == (Outcome(True, 3), [2.0, 4.0])
    assert len(inbox.messages) == 1


def test_an_untrusted_certificate_is_refused_not_retried(inbox, messages):
    sleeps = Sleeps()
    outcome = deliver(EmailChannel(email_settings(inbox), Secret(PASSWORD)), messages[0], POLICY, sleeps)
    assert (outcome.sent, outcome.attempts, sleeps) == (False, 1, [])
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert inbox.messages == []


def test_a_server_that_is_down_is_retried_then_reported(messages):
    down = EmailSettings(
        host="127.0.0.1", port=free_port(), security="starttls", sender=SMTP_USER, recipients=("oncall@example.com",)
    )
    sleeps = Sleeps()
    outcome = deliver(EmailChannel(down, None), messages[0], POLICY, sleeps)
    assert (outcome.sent, outcome.attempts, sleeps) == (False, 3, [2.0, 4.0])
    assert "unreachable: ConnectionRefusedError" in outcome.error


# --- Teams ------------------------------------------------------------------------------------------------


def test_the_card_is_posted_to_the_webhook(webhook, messages):
    teams_message = messages[1]
    assert teams_message.channel == "teams"
    outcome = deliver(TeamsChannel(webhook_secret(webhook.url)), teams_message, POLICY)
    assert outcome == Outcome(True, 1)
    (post,) = webhook.posts
    assert post.path == WEBHOOK_PATH and post.query["sig"] == WEBHOOK_SIG.removeprefix("sig=")
    assert post.headers["Content-Type"] == "application/json; charset=utf-8"
    (card,) = webhook.cards
    assert card["type"] == "AdaptiveCard"
    runs = json.dumps(card)
    assert json.dumps(f"{SCRIPT} boom")[1:-1] in runs and "&lt;" not in runs


def test_429_is_retried_after_the_time_the_server_asks(webhook, messages):
    webhook.answers.append((429, {"Retry-After": "7"}, "Too many requests"))
    sleeps = Sleeps()
    outcome = deliver(TeamsChannel(webhook_secret(webhook.url)), messages[1], POLICY, sleeps)
    assert (outcome, sleeps, len(webhook.posts)) == (Outcome(True, 2), [7.0], 1)


def test_5xx_is_retried_with_backoff_until_the_attempts_run_out(webhook, messages):
    webhook.answers.extend([(502, {}, "Bad gateway")] * 3)
    sleeps = Sleeps()
    outcome = deliver(TeamsChannel(webhook_secret(webhook.url)), messages[1], POLICY, sleeps)
    assert (outcome.sent, outcome.attempts, sleeps) == (False, 3, [2.0, 4.0])
    assert outcome.error == "Teams webhook answered HTTP 502 Bad Gateway: Bad gateway"


def test_a_retry_after_longer_than_max_wait_is_left_to_the_next_run(webhook, messages):
    webhook.answers.append((503, {"Retry-After": "3600"}, ""))
    sleeps = Sleeps()
    outcome = deliver(TeamsChannel(webhook_secret(webhook.url)), messages[1], POLICY, sleeps)
    assert (outcome.sent, outcome.attempts, sleeps) == (False, 1, [])
    assert outcome.error.endswith("(asked to wait 3600 s: left to the next run)")


def test_a_4xx_is_final_and_an_echoed_url_is_masked(webhook, messages, caplog):
    webhook.answers.append((400, {}, "Bad payload posted to {request_url}"))
    secret = webhook_secret(webhook.url)
    with caplog.at_level(logging.DEBUG):
        outcome = deliver(TeamsChannel(secret), messages[1], POLICY, Sleeps())
    assert (outcome.sent, outcome.attempts) == (False, 1)
    assert outcome.error == "Teams webhook answered HTTP 400 Bad Request: Bad payload posted to ***"
    for text in (outcome.error, caplog.text):
        assert WEBHOOK_SIG not in text and WEBHOOK_PATH not in text and secret.reveal() not in text


def test_an_exception_from_a_channel_never_shows_the_url(webhook, messages):
    webhook.answers.append((500, {}, "Internal error while posting to {request_url}"))
    secret = webhook_secret(webhook.url)
    with pytest.raises(DeliveryError) as caught:
        TeamsChannel(secret).send(messages[1])
    shown = "".join(traceback.format_exception(caught.value))
    assert "Internal error while posting to ***" in shown
    assert secret.reveal() not in shown and WEBHOOK_SIG not in shown and "HTTPError" not in shown


def test_a_webhook_that_is_down_is_retried_then_reported(messages):
    down = Secret(f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}?{WEBHOOK_SIG}")
    sleeps = Sleeps()
    outcome = deliver(TeamsChannel(down, timeout=5), messages[1], POLICY, sleeps)
    assert (outcome.sent, outcome.attempts, sleeps) == (False, 3, [2.0, 4.0])
    assert outcome.error == "Teams webhook unreachable: [Errno 111] Connection refused"


def test_legacy_connector_errors_behind_a_200_are_failures(webhook, messages):
    webhook.answers.append(
        (200, {}, "Webhook message delivery failed with error: Microsoft Teams endpoint returned 429")
    )
    outcome = deliver(TeamsChannel(webhook_secret(webhook.url)), messages[1], POLICY, Sleeps())
    assert outcome == Outcome(True, 2), "transient: the retry went through"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("120", 120.0, id="seconds"),
        pytest.param("Tue, 08 Apr 2025 07:00:30 GMT", 30.0, id="http-date"),
        pytest.param("Tue, 08 Apr 2025 06:59:00 GMT", 0.0, id="past-date"),
        pytest.param("soon", None, id="unreadable"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_retry_after_header(header, seconds):
    assert retry_after_seconds(header, datetime(2025, 4, 8, 7, 0, tzinfo=UTC)) == seconds


# --- secrets ----------------------------------------------------------------------------------------------


REF = SecretRef("monitoring", "teams-webhook", "TEAMS_WEBHOOK", path="alerts.channels.teams.webhook")


def test_a_secret_never_shows_itself():
    secret = Secret("hunter2-very-secret")
    assert str(secret) == repr(secret) == f"{secret!s:}" == "Secret('***')"
    assert "hunter2" not in repr([secret, {"password": secret}])
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_mask_covers_the_encoded_forms_of_a_url():
    secret = Secret("https://x.example.com/workflows/abc123/invoke?api-version=1&sig=S3cr3t-Sig-Value")
    leaks = [
        secret.reveal(),
        "POST /workflows/abc123/invoke?api-version=1&sig=S3cr3t-Sig-Value failed",
        "https%3A%2F%2Fx.example.com%2Fworkflows%2Fabc123%2Finvoke%3Fapi-version%3D1%26sig%3DS3cr3t-Sig-Value",
        "signature S3cr3t-Sig-Value rejected",
    ]
    for text in leaks:
        assert "S3cr3t-Sig-Value" not in mask(text, [secret]), text
    assert mask("nothing to hide", [secret]) == "nothing to hide"


def test_locally_secrets_come_from_the_environment():
    assert from_environment(REF, {"TEAMS_WEBHOOK": " https://hook.example.com/x \n"}).reveal() == (
        "https://hook.example.com/x"
    )
    with pytest.raises(SecretError) as caught:
        from_environment(REF, {})
    assert str(caught.value) == (
        "alerts.channels.teams.webhook: environment variable TEAMS_WEBHOOK is not set (outside Databricks)"
    )


@pytest.fixture
def databricks_env(monkeypatch) -> None:
    """A developer's own Databricks profile or credentials must not leak into (or break) these tests."""
    import os

    for name in [n for n in os.environ if n.startswith("DATABRICKS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def test_on_databricks_secrets_come_from_the_scope_through_the_sdk(databricks_env):
    value = "https://hook.example.com/workflows/1?sig=from-the-scope"
    with secrets_api({("monitoring", "teams-webhook"): value}, token="dapi-test") as host:
        source = secret_source(on_databricks=True, workspace=lambda: WorkspaceClient(host=host, token="dapi-test"))
        assert source(REF).reveal() == value
        missing = SecretRef("monitoring", "nope", "NOPE", path="alerts.channels.email.password")
        with pytest.raises(SecretError) as caught:
            from_scope(missing, lambda: WorkspaceClient(host=host, token="dapi-test"))
    assert str(caught.value).startswith(
        "alerts.channels.email.password: secret 'nope' of the Databricks secret scope 'monitoring' could not be read"
    )


def test_a_channel_whose_secret_is_missing_is_reported_and_the_others_open(messages):
    alerts = parse_config(
        {
            "source": {"format": "adf_diagnostic", "path": "./logs"},
            "storage": {"root": "./lakehouse"},
            "flows": [{"name": "F", "pipelines": ["a"]}],
            "alerts": {
                "secret_scope": "s",
                "channels": {
                    "email": {"host": "127.0.0.1", "sender": "a@example.com", "recipients": ["b@example.com"]},
                    "teams": {"webhook": {"secret": "k", "env": "TEAMS_WEBHOOK_NOT_SET"}},
                },
            },
        }
    ).alerts
    opened = open_channels(alerts, from_environment, ["email", "teams"])
    assert isinstance(opened["email"], EmailChannel)
    assert opened["teams"] == (
        "alerts.channels.teams.webhook: environment variable TEAMS_WEBHOOK_NOT_SET is not set (outside Databricks)"
    )
