"""Alert rules, their configuration and their rendering: pure Python, no Spark, no network.

Each rule is shown on a few days of one pipeline's gold rows, written as ``(date, status, ...)``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitoring.alerts.config import (
    ChangeTrigger,
    DigestTrigger,
    RetryPolicy,
    SecretRef,
    StreakTrigger,
    default_alerts,
)
from monitoring.alerts.messages import email_html, email_subject, plain_text, teams_card
from monitoring.alerts.plan import (
    DIGEST,
    ON_CHANGE,
    RECOVERED,
    SENT,
    STREAK,
    Incident,
    Message,
    Plan,
    SentRecord,
    describe_alerts,
    plan_alerts,
)
from monitoring.config import ConfigError, load_config, parse_config
from monitoring.gold import FlowDay, PipelineDay
from monitoring.vocabulary import STATUS_COLORS
from support import REPO

PARIS = ZoneInfo("Europe/Paris")
MON = date(2025, 4, 7)  # a Monday
TUE, WED, THU, FRI, SAT, SUN = (MON + timedelta(days=n) for n in range(1, 7))
NEXT_MON = MON + timedelta(days=7)
MORNING = time(7, 5)
SCRIPT = "<script>alert('x')</script>"


# --- builders ---------------------------------------------------------------------------------------------


def document(alerts: Any = None, **top: Any) -> dict[str, Any]:
    doc = {
        "timezone": "Europe/Paris",
        "source": {"format": "adf_diagnostic", "path": "./logs"},
        "storage": {"root": "./lakehouse"},
        "flows": [
            {"name": "Billing", "pipelines": ["bill_extract", "bill_load", "bill_cube"]},
            {"name": "Claims", "pipelines": ["claims_master"]},
        ],
        **top,
    }
    if alerts is not None:
        doc["alerts"] = alerts
    return doc


EMAIL = {
    "host": "smtp.example.com",
    "username": "svc@example.com",
    "password": {"secret": "smtp-password", "env": "SMTP_PASSWORD"},
    "sender": "Monitoring <svc@example.com>",
    "recipients": ["oncall@example.com"],
}
TEAMS = {"webhook": {"secret": "teams-webhook", "env": "TEAMS_WEBHOOK"}}


def alerts_config(**alerts: Any):
    """An AlertsConfig with e-mail and Teams channels; keyword arguments replace keys of `alerts:`."""
    section = {"secret_scope": "monitoring", "channels": {"email": EMAIL, "teams": TEAMS}, **alerts}
    return parse_config(document(section)).alerts


def error_of(alerts: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(document(alerts))
    return str(caught.value)


def day(
    when: date, status: str, reason: str | None = None, ko_days: int = 0, name: str = "bill_load", **extra: Any
) -> PipelineDay:
    flow = {"claims_master": "Claims"}.get(name, "Billing" if name.startswith("bill") else "UNASSIGNED")
    if status == "KO" and not ko_days:
        ko_days = 1
    return PipelineDay(when, flow, name, status, reason, consecutive_ko_days=ko_days, **extra)


def plan(alerts, rows, on: date, sent=(), flows=(), at: time = MORNING) -> Plan:
    now = datetime.combine(on, at, tzinfo=PARIS)
    return plan_alerts(alerts, ["Billing", "Claims"], rows, list(flows), list(sent), on, now)


def events(result: Plan, channel: str = "email") -> list[tuple[date, str, str, str]]:
    """(date, trigger, event, pipeline) of the non-digest messages of one channel."""
    return [
        (key.business_date, key.trigger, key.event, key.subject)
        for message in result.messages
        if message.channel == channel and message.trigger != DIGEST
        for key in message.keys
    ]


def sent_records(result: Plan, status: str = SENT, at: datetime | None = None) -> list[SentRecord]:
    """What alerts_sent holds once ``result`` was delivered with ``status``."""
    when = at or datetime(2025, 4, 1, tzinfo=UTC)
    return [SentRecord(key, status, 1, when if status == SENT else None) for m in result.messages for key in m.keys]


ONLY_CHANGES = {"triggers": {"on_change": {}}}
KO_AND_WARNING = {"triggers": {"on_change": {"statuses": ["KO", "WARNING"]}}}


# --- configuration ----------------------------------------------------------------------------------------


def test_example_configuration_alerts():
    alerts = load_config(REPO / "config" / "monitoring.example.yml").alerts
    assert alerts is not None
    assert (alerts.email.host, alerts.email.port, alerts.email.security) == ("smtp.office365.com", 587, "starttls")
    assert alerts.email.password == SecretRef("pipeline-monitoring", "smtp-password", "PIPELINE_MONITOR_SMTP_PASSWORD")
    assert alerts.teams.webhook == SecretRef(
        "pipeline-monitoring", "teams-webhook-url", "PIPELINE_MONITOR_TEAMS_WEBHOOK"
    )
    assert alerts.digest == DigestTrigger(
        ("email",), ("data-engineering@contoso.com", "bi-team@contoso.com"), time(6, 30)
    )
    assert alerts.on_change == ChangeTrigger(("email", "teams"), ("KO", "WARNING"), ("UserError",), ("SLOW", "FAST"))
    assert alerts.streak == StreakTrigger(("email", "teams"), 3, ("data-engineering-lead@contoso.com",))
    assert (alerts.quiet_weekdays, alerts.quiet_dates) == ((6, 7), (date(2025, 12, 25),))
    sitecom = alerts.rule_for("sitecom_master", "Sitecom")
    assert (sitecom.on_change.statuses, sitecom.recipients) == (("KO",), ("sitecom-support@contoso.com",))
    monthly = alerts.rule_for("accounting_cube_monthly_master", "Sitecom")
    assert (monthly.streak.days, monthly.on_change.statuses, monthly.recipients) == (
        1,
        ("KO",),
        ("sitecom-support@contoso.com",),
    ), "a pipeline override inherits its flow's"
    assert alerts.rule_for("telephonie_master", "Telephonie") == alerts.default_rule
    assert alerts.rule_for("not_configured", "UNASSIGNED") == alerts.default_rule


def test_no_alerts_section_or_an_empty_one_means_no_alerts():
    assert parse_config(document()).alerts is None
    assert parse_config(document(None) | {"alerts": None}).alerts is None


def test_empty_mapping_enables_every_trigger_without_channels():
    alerts = parse_config(document({})).alerts
    assert alerts == default_alerts()
    assert (alerts.channels, alerts.digest, alerts.on_change, alerts.streak) == (
        (),
        DigestTrigger(()),
        ChangeTrigger(()),
        StreakTrigger(()),
    )
    assert (alerts.lookback_days, alerts.retry) == (1, RetryPolicy(3, 2.0, 60.0))


def test_listed_triggers_only_and_channels_default_to_all_configured():
    alerts = alerts_config(triggers={"digest": None, "streak": {"days": 2}})
    assert alerts.digest == DigestTrigger(("email", "teams"))
    assert (alerts.on_change, alerts.streak) == (None, StreakTrigger(("email", "teams"), 2))


def test_an_override_can_enable_a_trigger_for_one_flow():
    alerts = alerts_config(
        triggers={"digest": {}}, overrides=[{"flow": "Claims", "on_change": {"channels": ["teams"]}}]
    )
    assert alerts.rule_for("bill_load", "Billing").on_change is None
    assert alerts.rule_for("claims_master", "Claims").on_change == ChangeTrigger(("teams",))


def test_secret_scope_per_secret_and_ports_per_security():
    email = {**EMAIL, "security": "ssl", "password": {"secret": "pw", "env": "PW", "scope": "other"}}
    alerts = parse_config(document({"channels": {"email": email}})).alerts
    assert (alerts.email.port, alerts.email.password.scope) == (465, "other")


ALERT_ERRORS = [
    pytest.param({"chanels": {}}, "alerts.chanels: unknown key (did you mean 'channels'?)", id="alerts-key"),
    pytest.param(
        {"triggers": {"on_chnge": {}}},
        "alerts.triggers.on_chnge: unknown key (did you mean 'on_change'?)",
        id="trigger-name",
    ),
    pytest.param(
        {"triggers": {"streak": {"day": 3}}},
        "alerts.triggers.streak.day: unknown key (did you mean 'days'?)",
        id="streak-key",
    ),
    pytest.param(
        {"channels": {"email": {**EMAIL, "password": None}}, "secret_scope": "s"},
        "alerts.channels.email.password: is a secret: name where it comes from, e.g. "
        "{secret: <key in the secret scope>, env: <ENVIRONMENT_VARIABLE>}, never its value",
        id="secret-null",
    ),
    pytest.param(
        {"channels": {"email": {**EMAIL, "password": {"secret": "pw", "env": "PW"}}}},
        "alerts.channels.email.password.scope: missing (the Databricks secret scope: here or as alerts.secret_scope)",
        id="secret-without-scope",
    ),
    pytest.param(
        {"secret_scope": "s", "channels": {"teams": {"webhook": {"secret": "k", "env": "TEAMS-URL"}}}},
        "alerts.channels.teams.webhook.env: 'TEAMS-URL' is not an environment variable name (letters, digits, _)",
        id="env-name",
    ),
    pytest.param(
        {"secret_scope": "s", "channels": {"teams": {"webhook": {"secret": "k", "env": "T", "url": "x"}}}},
        "alerts.channels.teams.webhook.url: unknown key (allowed: secret, env, scope)",
        id="secret-key",
    ),
    pytest.param(
        {"channels": {"email": {**EMAIL, "password": {"secret": "p", "env": "P", "scope": "s"}, "security": "none"}}},
        "alerts.channels.email.security: 'none' would send the password in clear text (use starttls or ssl)",
        id="password-in-clear",
    ),
    pytest.param(
        {"channels": {"email": {k: v for k, v in EMAIL.items() if k != "password"}}},
        "alerts.channels.email: username and password go together",
        id="username-alone",
    ),
    pytest.param(
        {"secret_scope": "s", "channels": {"email": {**EMAIL, "port": 70000}}},
        "alerts.channels.email.port: 70000 is not a TCP port (1 to 65535)",
        id="port",
    ),
    pytest.param(
        {"secret_scope": "s", "channels": {"email": {**EMAIL, "recipients": ["oncall@example.com", "a, b@x"]}}},
        "alerts.channels.email.recipients[1]: 'a, b@x' is not an e-mail address (name@domain)",
        id="recipient",
    ),
    pytest.param(
        {"secret_scope": "s", "channels": {"email": {**EMAIL, "sender": "Monitoring"}}},
        "alerts.channels.email.sender: 'Monitoring' is not an e-mail address ('name@domain' or 'Name <name@domain>')",
        id="sender",
    ),
    pytest.param(
        {"secret_scope": "s", "channels": {"email": EMAIL}, "triggers": {"on_change": {"channels": ["teams"]}}},
        "alerts.triggers.on_change.channels[0]: 'teams' is not configured under alerts.channels",
        id="channel-not-configured",
    ),
    pytest.param(
        {"triggers": {"digest": {"channels": ["slack"]}}},
        "alerts.triggers.digest.channels[0]: 'slack' is not a channel (email | teams)",
        id="channel-unknown",
    ),
    pytest.param(
        {"triggers": {"on_change": {"statuses": ["KO", "OK"]}}},
        "alerts.triggers.on_change.statuses[1]: 'OK' is not one of KO | WARNING",
        id="status",
    ),
    pytest.param(
        {"triggers": {"on_change": {"ignore_reasons": ["SLOWER"]}}},
        "alerts.triggers.on_change.ignore_reasons[0]: 'SLOWER' is not a reason code (MISSING, FAILED, CANCELLED, "
        "RUNNING, PENDING, LATE, ORDER, RETRIED, SLOW, FAST)",
        id="reason-code",
    ),
    pytest.param(
        {"triggers": {"streak": {"days": 0}}}, "alerts.triggers.streak.days: 0 is not a whole number >= 1", id="days"
    ),
    pytest.param(
        {"triggers": {"digest": {"not_before": 390}}},
        'alerts.triggers.digest.not_before: 390 is not a time HH:MM (write it quoted, e.g. "01:30")',
        id="not-before-unquoted",
    ),
    pytest.param(
        {"triggers": {"streak": {"escalate_to": ["lead@example.com"]}}},
        "alerts.triggers.streak.escalate_to: needs the e-mail channel (alerts.channels.email)",
        id="escalation-without-email",
    ),
    pytest.param({"triggers": None}, "alerts.triggers: None is not a mapping", id="triggers-null"),
    pytest.param(
        {"overrides": [{"pipeline": "bill_lod", "mute": True}]},
        "alerts.overrides[0].pipeline: 'bill_lod' is not a configured pipeline (did you mean 'bill_load'?)",
        id="override-unknown-pipeline",
    ),
    pytest.param(
        {"overrides": [{"flow": "Billing", "pipeline": "bill_load"}]},
        "alerts.overrides[0]: give either flow or pipeline (what the override applies to)",
        id="override-two-targets",
    ),
    pytest.param(
        {"overrides": [{"flow": "Claims"}, {"flow": "Claims", "mute": True}]},
        "alerts.overrides[1].flow: 'Claims' already has an override at alerts.overrides[0]",
        id="override-twice",
    ),
    pytest.param(
        {"overrides": [{"flow": "Claims", "mute": "yes"}]},
        "alerts.overrides[0].mute: 'yes' is not true or false",
        id="override-mute",
    ),
    pytest.param(
        {"overrides": [{"flow": "Claims", "on_change": {"statuses": ["WARNING"], "days": 2}}]},
        "alerts.overrides[0].on_change.days: unknown key (allowed: channels, statuses, ignore_failure_types, "
        "ignore_reasons)",
        id="override-trigger-key",
    ),
    pytest.param(
        {"quiet_days": ["sat", "sunday"]},
        "alerts.quiet_days[1]: 'sunday' is not a weekday (mon ... sun) or a date (YYYY-MM-DD)",
        id="quiet-day",
    ),
    pytest.param({"quiet_days": ["2025-02-30"]}, "alerts.quiet_days[0]: '2025-02-30' is not a date YYYY-MM-DD", id="q"),
    pytest.param({"lookback_days": 40}, "alerts.lookback_days: 40 is not a whole number from 0 to 31", id="lookback"),
    pytest.param({"retry": {"attempts": 0}}, "alerts.retry.attempts: 0 is not a whole number from 1 to 10", id="tries"),
    pytest.param(
        {"retry": {"max_wait_seconds": -1}}, "alerts.retry.max_wait_seconds: -1 is not a number >= 0", id="wait"
    ),
    pytest.param(
        {"report_url": "javascript:alert(1)"}, "alerts.report_url: 'javascript:alert(1)' is not an http(s) URL"
    ),
]


@pytest.mark.parametrize(("alerts", "message"), ALERT_ERRORS)
def test_alert_errors_name_the_key_path(alerts, message):
    assert error_of(alerts) == message


@pytest.mark.parametrize("field", ["password", "webhook"])
def test_a_secret_written_in_the_file_is_rejected_without_echoing_it(field):
    value = "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/0123456789abcdef/SECRET-SIG"
    channels = {"email": {**EMAIL, "password": value}} if field == "password" else {"teams": {"webhook": value}}
    message = error_of({"secret_scope": "s", "channels": channels})
    assert "is a secret: name where it comes from" in message
    assert value not in message and "SECRET-SIG" not in message


def test_an_override_can_clear_inherited_filters():
    alerts = alerts_config(
        triggers={"on_change": {"ignore_failure_types": ["UserError"]}},
        overrides=[{"flow": "Claims", "on_change": {"ignore_failure_types": []}}],
    )
    assert alerts.rule_for("claims_master", "Claims").on_change.ignore_failure_types == ()
    assert alerts.rule_for("bill_load", "Billing").on_change.ignore_failure_types == ("UserError",)


@pytest.mark.parametrize("document_path", ["docs/alerts.md", "README.md"])
def test_documented_examples_are_valid(document_path):
    text = (REPO / document_path).read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(alerts:.*?)```", text, re.S)
    assert blocks, f"no alerts: example in {document_path}"
    for block in blocks:
        section = yaml.safe_load(block.replace("/01ef...", "/01ef"))["alerts"]
        pipelines = ["accounting_cube_monthly_master", "sitecom_external_elynx_master"]
        assert parse_config(document(section, flows=[{"name": "Sitecom", "pipelines": pipelines}])).alerts


def test_describe_alerts_for_validate_config():
    assert describe_alerts(None) == ["  alerts: none configured (notify sends nothing)"]
    lines = describe_alerts(alerts_config(quiet_days=["sat"], triggers={"streak": {"days": 2}}))
    assert lines == [
        "  alerts: email via smtp.example.com:587 (starttls) to 1 recipient(s); teams webhook; quiet sat; "
        "lookback 1 day(s)",
        "    streak 2 days KO -> email, teams",
    ]


# --- on_change ---------------------------------------------------------------------------------------------


def test_a_new_ko_alerts_once_and_not_again_while_it_lasts():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    rows = [day(MON, "OK"), day(TUE, "KO", "FAILED"), day(WED, "KO", "FAILED", 2)]
    assert events(plan(alerts, rows, TUE)) == [(TUE, ON_CHANGE, "KO", "bill_load")]
    assert events(plan(alerts, rows, WED)) == []


def test_recovered_after_n_days_says_since_when():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    rows = [day(MON, "OK"), day(TUE, "KO", "FAILED", 1), day(WED, "KO", "MISSING", 2), day(THU, "OK")]
    result = plan(alerts, rows, THU)
    assert events(result) == [(THU, ON_CHANGE, RECOVERED, "bill_load")]
    (event,) = result.messages[0].events
    assert (event.incident, event.was) == (Incident(TUE, 2), "KO")
    assert result.messages[0].title == f"[RECOVERED] Billing: bill_load recovered after 2 day(s) on {THU}"


def test_warning_level_before_ko_and_back():
    alerts = alerts_config(**KO_AND_WARNING, lookback_days=0)
    rows = [day(MON, "OK"), day(TUE, "WARNING", "LATE"), day(WED, "KO", "FAILED"), day(THU, "WARNING", "RETRIED")]
    assert events(plan(alerts, rows, TUE)) == [(TUE, ON_CHANGE, "WARNING", "bill_load")]
    assert events(plan(alerts, rows, WED)) == [(WED, ON_CHANGE, "KO", "bill_load")]
    result = plan(alerts, rows, THU)
    assert events(result) == [(THU, ON_CHANGE, "WARNING", "bill_load")]
    assert result.messages[0].events[0].was == "KO"


def test_with_ko_only_a_warning_after_a_ko_is_a_recovery():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    rows = [day(MON, "KO", "FAILED"), day(TUE, "WARNING", "RETRIED")]
    assert events(plan(alerts, rows, TUE)) == [(TUE, ON_CHANGE, RECOVERED, "bill_load")]
    assert "recovered after 1 day(s) (now WARNING: RETRIED)" in plain_text(plan(alerts, rows, TUE).messages[0])


def test_user_errors_get_no_immediate_alert_but_do_escalate():
    alerts = alerts_config(
        triggers={"on_change": {"ignore_failure_types": ["UserError"]}, "streak": {"days": 3}}, lookback_days=0
    )
    rows = [
        day(MON, "OK"),
        day(TUE, "KO", "FAILED", 1, failure_type="UserError"),
        day(WED, "KO", "FAILED", 2, failure_type="UserError"),
        day(THU, "KO", "FAILED", 3, failure_type="UserError"),
        day(FRI, "KO", "FAILED", 4, failure_type="SystemError"),
    ]
    assert [events(plan(alerts, rows, d)) for d in (TUE, WED)] == [[], []]
    assert events(plan(alerts, rows, THU)) == [(THU, STREAK, "STREAK", "bill_load")]
    # Still KO, now for a reason that alerts: an on_change alert, since nothing was told before.
    assert events(plan(alerts, rows, FRI)) == [(FRI, ON_CHANGE, "KO", "bill_load")]


def test_still_ko_for_an_ignored_reason_is_not_a_recovery():
    alerts = alerts_config(triggers={"on_change": {"ignore_failure_types": ["UserError"]}}, lookback_days=0)
    rows = [day(MON, "KO", "FAILED", failure_type="SystemError"), day(TUE, "KO", "FAILED", 2, failure_type="UserError")]
    assert events(plan(alerts, rows, TUE)) == []


def test_ignored_reasons_alone_do_not_alert():
    alerts = alerts_config(triggers={"on_change": {"statuses": ["WARNING"], "ignore_reasons": ["SLOW", "FAST"]}})
    rows = [day(MON, "WARNING", "SLOW"), day(TUE, "WARNING", "LATE,SLOW")]
    assert events(plan(alerts, rows, MON)) == []
    assert events(plan(alerts, rows, TUE)) == [(TUE, ON_CHANGE, "WARNING", "bill_load")]


def test_pending_says_nothing():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    assert events(plan(alerts, [day(MON, "KO", "FAILED"), day(TUE, "PENDING", "PENDING")], TUE)) == []


def test_days_without_a_row_neither_repeat_nor_hide_an_incident():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    weekdays = [day(FRI, "KO", "FAILED", 1), day(NEXT_MON, "KO", "FAILED", 2)]  # no weekend rows
    assert events(plan(alerts, weekdays, NEXT_MON)) == []


def test_quiet_days_hold_alerts_until_the_next_working_day():
    alerts = alerts_config(**ONLY_CHANGES, quiet_days=["sat", "sun"], lookback_days=2)
    rows = [day(FRI, "OK"), day(SAT, "KO", "FAILED", 1), day(SUN, "KO", "FAILED", 2), day(NEXT_MON, "KO", "FAILED", 3)]
    saturday = plan(alerts, rows, SAT)
    assert (events(saturday), saturday.quiet) == ([], (THU, FRI, SAT)[2:])
    monday = plan(alerts, rows, NEXT_MON)
    assert monday.quiet == (SAT, SUN)
    assert events(monday) == [(NEXT_MON, ON_CHANGE, "KO", "bill_load")]
    assert monday.messages[0].events[0].incident == Incident(SAT, 3)


def test_a_recovery_during_quiet_days_is_told_after_them_with_its_length():
    alerts = alerts_config(**ONLY_CHANGES, quiet_days=["sat", "sun"], lookback_days=0)
    rows = [
        day(THU, "KO", "FAILED", 1),
        day(FRI, "KO", "FAILED", 2),
        day(SAT, "OK"),
        day(SUN, "OK"),
        day(NEXT_MON, "OK"),
    ]
    result = plan(alerts, rows, NEXT_MON)
    assert events(result) == [(NEXT_MON, ON_CHANGE, RECOVERED, "bill_load")]
    assert result.messages[0].events[0].incident == Incident(THU, 2)


def test_lookback_catches_a_status_that_became_ko_after_midnight():
    """A pipeline due at 24:00 is MISSING only once the next day has begun: notify checks the day before too."""
    alerts = alerts_config(**ONLY_CHANGES)  # lookback_days: 1 by default
    rows = [day(MON, "OK"), day(TUE, "KO", "MISSING"), day(WED, "PENDING", "PENDING")]
    assert events(plan(alerts, rows, WED)) == [(TUE, ON_CHANGE, "KO", "bill_load")]


# --- streaks, grouping, recipients, overrides -------------------------------------------------------------


def test_a_streak_is_told_once_the_day_it_reaches_the_threshold():
    alerts = alerts_config(triggers={"streak": {"days": 3, "escalate_to": ["lead@example.com"]}}, lookback_days=0)
    rows = [day(d, "KO", "FAILED", n) for n, d in enumerate((MON, TUE, WED, THU), start=1)]
    assert [events(plan(alerts, rows, d)) for d in (TUE, THU)] == [[], []]
    result = plan(alerts, rows, WED)
    assert events(result) == [(WED, STREAK, "STREAK", "bill_load")]
    email = next(m for m in result.messages if m.channel == "email")
    assert email.recipients == ("oncall@example.com", "lead@example.com")
    assert email.title == f"[STREAK] Billing: bill_load KO 3 days in a row since {MON}"


def test_one_message_per_flow_and_channel():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    rows = [
        day(TUE, "KO", "FAILED", name="bill_extract", execution_order=1, error_message="timeout"),
        day(TUE, "KO", "MISSING", name="bill_load", execution_order=2),
        day(TUE, "KO", "CANCELLED", name="claims_master"),
    ]
    flows = [FlowDay(TUE, "Billing", "WARNING", "MISSING,FAILED", pipelines_expected=3, pipelines_ok=1, pipelines_ko=2)]
    result = plan(alerts, rows, TUE, flows=flows)
    by_channel_flow = {(m.channel, m.flow): [k.subject for k in m.keys] for m in result.messages if m.trigger != DIGEST}
    assert by_channel_flow == {
        ("email", "Billing"): ["bill_extract", "bill_load"],
        ("teams", "Billing"): ["bill_extract", "bill_load"],
        ("email", "Claims"): ["claims_master"],
        ("teams", "Claims"): ["claims_master"],
    }
    billing = next(m for m in result.messages if m.flow == "Billing" and m.channel == "email")
    assert billing.title == f"[KO] Billing: 2 KO on {TUE}"
    text = plain_text(billing)
    assert f"Business date {TUE}, flow WARNING: MISSING, FAILED (2 KO of 3 pipelines):" in text
    assert "error: timeout" in text


def test_overrides_mute_add_recipients_and_restrict_channels():
    alerts = alerts_config(
        **ONLY_CHANGES,
        lookback_days=0,
        overrides=[
            {"flow": "Billing", "recipients": ["billing@example.com"], "on_change": {"channels": ["email"]}},
            {"pipeline": "bill_cube", "mute": True},
        ],
    )
    rows = [day(TUE, "KO", "FAILED", name="bill_load"), day(TUE, "KO", "FAILED", name="bill_cube")]
    result = plan(alerts, rows, TUE)
    assert [(m.channel, m.recipients, [k.subject for k in m.keys]) for m in result.messages if m.flow] == [
        ("email", ("oncall@example.com", "billing@example.com"), ["bill_load"])
    ]
    assert {line.row.pipeline_name for line in result.digest.pipelines} == {"bill_load", "bill_cube"}, "muted: listed"


def test_unassigned_pipelines_alert_under_their_own_heading():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    result = plan(alerts, [day(TUE, "KO", "FAILED", name="adhoc_copy")], TUE)
    assert {m.flow for m in result.messages} == {"UNASSIGNED"}


# --- never twice, never lost ------------------------------------------------------------------------------


def test_what_was_sent_is_not_planned_again_and_what_failed_is():
    alerts = alerts_config(lookback_days=0)
    rows = [day(MON, "OK"), day(TUE, "KO", "FAILED")]
    first = plan(alerts, rows, TUE)
    assert {(m.trigger, m.channel) for m in first.messages} == {
        (DIGEST, "email"),
        (DIGEST, "teams"),
        (ON_CHANGE, "email"),
        (ON_CHANGE, "teams"),
    }
    email_sent = [r for r in sent_records(first) if r.key.channel == "email"]
    teams_failed = [r for r in sent_records(first, "failed") if r.key.channel == "teams"]
    second = plan(alerts, rows, TUE, sent=email_sent + teams_failed)
    assert {(m.trigger, m.channel) for m in second.messages} == {(DIGEST, "teams"), (ON_CHANGE, "teams")}
    assert second.already_sent == 2
    third = plan(alerts, rows, TUE, sent=sent_records(first))
    assert (third.messages, third.already_sent) == ((), 4)


def test_a_ko_told_by_an_earlier_run_that_recovered_since_is_told_too():
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0)
    at_two = plan(alerts, [day(MON, "OK"), day(TUE, "KO", "FAILED")], TUE, at=time(2, 5))
    sent = sent_records(at_two, at=datetime(2025, 4, 8, 0, 5, tzinfo=UTC))
    rerun_fixed_it = [day(MON, "OK"), day(TUE, "OK")]
    at_seven = plan(alerts, rerun_fixed_it, TUE, sent=sent)
    assert events(at_seven) == [(TUE, ON_CHANGE, RECOVERED, "bill_load")]
    told_too = sent + sent_records(at_seven, at=datetime(2025, 4, 8, 5, 5, tzinfo=UTC))
    assert events(plan(alerts, rerun_fixed_it, TUE, sent=told_too)) == []


# --- digest -----------------------------------------------------------------------------------------------


def test_digest_lists_every_flow_worst_first_then_ko_and_warning_pipelines():
    alerts = alerts_config(triggers={"digest": {}})
    rows = [
        day(TUE, "WARNING", "LATE", name="bill_extract", execution_order=1),
        day(TUE, "OK", name="bill_load", execution_order=2),
        day(TUE, "KO", "FAILED", name="bill_cube", execution_order=3),
    ]
    flows = [FlowDay(TUE, "Billing", "WARNING", "FAILED,LATE", pipelines_expected=3, pipelines_ok=1)]
    result = plan(alerts, rows, TUE, flows=flows)
    digest = result.digest
    assert [(line.flow, line.day.status if line.day else None) for line in digest.flows] == [
        ("Billing", "WARNING"),
        ("Claims", None),
    ]
    assert [line.row.pipeline_name for line in digest.pipelines] == ["bill_cube", "bill_extract"]
    (email,) = [m for m in result.messages if m.channel == "email"]
    assert email.title == f"Pipeline monitoring {TUE}: 1 WARNING"
    assert "Claims: no pipeline expected" in plain_text(email)


def test_digest_waits_for_not_before_today_but_not_for_a_past_date():
    alerts = alerts_config(triggers={"digest": {"not_before": "06:30"}})
    at_two = plan(alerts, [], TUE, at=time(2, 5))
    assert (at_two.messages, at_two.notes) == ((), ("digest: waits until 06:30 (a later run sends it)",))
    assert len(plan(alerts, [], TUE, at=time(7, 5)).messages) == 2
    next_day = plan_alerts(alerts, [], [], [], [], TUE, datetime.combine(WED, time(2, 5), tzinfo=PARIS))
    assert len(next_day.messages) == 2


def test_no_digest_on_a_quiet_day():
    alerts = alerts_config(triggers={"digest": {}}, quiet_days=[str(TUE)])
    assert plan(alerts, [], TUE).notes == (f"digest: {TUE} is a quiet day",)


def test_without_channels_a_dry_run_still_has_every_message():
    result = plan(default_alerts(), [day(MON, "OK"), day(TUE, "KO", "FAILED")], TUE)
    assert [(m.trigger, m.channel, m.flow) for m in result.messages] == [
        (DIGEST, None, None),
        (ON_CHANGE, None, "Billing"),
    ]


# --- rendering: escaping, colours, card ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Message:
    """A night whose pipeline name and error text try to inject markup, links and headers."""
    alerts = alerts_config(**ONLY_CHANGES, lookback_days=0, report_url="https://reports.example.com/flows?a=1&b=2")
    error = f"{SCRIPT} failed: see [here](http://evil.example.com) & {'x' * 2000}"
    row = day(TUE, "KO", "FAILED", name=f"bill_{SCRIPT}\r\nBcc: victim@example.com", error_message=error)
    (message, _teams) = plan(alerts, [row], TUE).messages
    return message


def test_html_escapes_log_text_and_uses_the_status_colours(hostile):
    page = email_html(hostile)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page  # MarkupSafe's entities (Jinja2 autoescape)
    assert STATUS_COLORS["KO"] in page
    assert 'href="https://reports.example.com/flows?a=1&amp;b=2"' in page
    assert "<style" not in page and "class=" not in page, "inline styles only: mail clients drop the rest"
    assert "x" * 600 not in page and "x" * 500 in page, "the error is shortened"


def test_plain_text_and_subject_keep_text_verbatim_on_one_line(hostile):
    assert SCRIPT in plain_text(hostile)
    subject = email_subject(hostile)
    assert "\n" not in subject and "\r" not in subject
    assert subject == f"[KO] Billing: bill_{SCRIPT} Bcc: victim@example.com KO (FAILED) on {TUE}"


def texts(node: Any) -> list[tuple[str, str]]:
    """(element type, text) of every element of a card that has a text."""
    if isinstance(node, dict):
        found = [(node.get("type", ""), node["text"])] if "text" in node else []
        return found + [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    return []


def test_card_puts_log_text_in_plain_text_runs(hostile):
    payload = json.loads(json.dumps(teams_card(hostile)))  # what goes on the wire
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the report", "url": "https://reports.example.com/flows?a=1&b=2"}
    ]
    runs = texts(card)
    assert {kind for kind, _ in runs} == {"TextRun"}, "TextBlock would render Markdown links from log text"
    error = next(text for _, text in runs if "failed: see" in text)
    assert error.startswith(f"{SCRIPT} failed: see [here](http://evil.example.com) & xxx")
    assert len(error) <= 300 and error.endswith("…")
    assert any(text == f"bill_{SCRIPT} Bcc: victim@example.com" for _, text in runs)
    assert "&lt;" not in json.dumps(card)


def test_digest_html_and_card_show_every_flow():
    alerts = alerts_config(triggers={"digest": {}})
    rows = [day(TUE, "KO", "FAILED", name="bill_cube", ko_days=4, error_message=SCRIPT)]
    flows = [
        FlowDay(TUE, "Billing", "KO", "FAILED", pipelines_expected=1, pipelines_ko=1, consecutive_ko_days=4),
        FlowDay(TUE, "Claims", "OK", pipelines_expected=1, pipelines_ok=1, start_local="2025-04-08 00:10:00"),
    ]
    digest = plan(alerts, rows, TUE, flows=flows).messages[0]
    page = email_html(digest)
    assert re.search(r"Billing</strong>.*KO.*Claims</strong>.*OK", page, re.S)
    assert "KO for 4 days<" in page, "the streak began before the rows read: no first day to show"
    assert "&lt;script&gt;" in page and "<script" not in page
    card_text = " ".join(text for _, text in texts(teams_card(digest)))
    assert "Billing" in card_text and "Claims" in card_text and SCRIPT in card_text


# --- docs/samples: generated from a realistic night, kept current by this test ------------------------------

SAMPLES = REPO / "docs" / "samples"


def sample_night() -> Plan:
    """The example configuration's flows on Tuesday 8 April 2025 at 07:05, the morning run.

    Solaris has failed since Sunday (a quiet day, so Monday's run told it); Sitecom and Telephonie break today.
    """
    config = load_config(REPO / "config" / "monitoring.example.yml")
    sun = date(2025, 4, 6)
    sql_timeout = (
        "Operation on target Copy_LDS_Tables failed: ErrorCode=SqlOperationFailed,"
        "'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=A database operation failed "
        "with the following error: 'Execution Timeout Expired. The timeout period elapsed prior to completion of "
        "the operation or the server is not responding.',Source=,''Type=System.Data.SqlClient.SqlException'"
    )
    pipelines = [
        PipelineDay(
            sun, "Solaris", "solaris_master", "KO", "FAILED", "final run Failed", 1, sql_timeout, "SystemError"
        ),
        PipelineDay(
            MON, "Solaris", "solaris_master", "KO", "FAILED", "final run Failed", 2, sql_timeout, "SystemError"
        ),
        PipelineDay(MON, "Sitecom", "sitecom_home_master", "OK", execution_order=11),
        PipelineDay(MON, "Telephonie", "telephonie_master", "OK", execution_order=1),
        PipelineDay(
            TUE,
            "Telephonie",
            "telephonie_master",
            "WARNING",
            "LATE",
            "ended 01:42:10, deadline 01:30",
            start_local="2025-04-08 00:10:03",
            end_local="2025-04-08 01:42:10",
            execution_order=1,
        ),
        PipelineDay(
            TUE,
            "Solaris",
            "solaris_master",
            "KO",
            "FAILED",
            "final run Failed",
            3,
            sql_timeout,
            "SystemError",
            execution_order=3,
        ),
        PipelineDay(
            TUE, "Solaris", "solaris_runners", "KO", "MISSING", "expected, no run by 24:00", 1, execution_order=4
        ),
        PipelineDay(
            TUE,
            "Sitecom",
            "sitecom_home_master",
            "KO",
            "CANCELLED",
            "final run Cancelled",
            1,
            "Pipeline run was cancelled by user svc-adf-operator@contoso.com",
            execution_order=11,
        ),
        PipelineDay(
            TUE,
            "Sitecom",
            "sitecom_claims_master",
            "WARNING",
            "RETRIED",
            "succeeded after 1 failed run",
            execution_order=7,
        ),
    ]
    flows = [
        FlowDay(sun, "Solaris", "WARNING", "FAILED", pipelines_expected=4, pipelines_ok=3, pipelines_ko=1),
        FlowDay(MON, "Solaris", "WARNING", "FAILED", pipelines_expected=4, pipelines_ok=3, pipelines_ko=1),
        FlowDay(
            TUE,
            "Telephonie",
            "WARNING",
            "LATE",
            "telephonie_master: LATE",
            2,
            1,
            1,
            0,
            "2025-04-08 00:10:03",
            "2025-04-08 01:42:10",
            "01:32:07",
        ),
        FlowDay(
            TUE,
            "Solaris",
            "WARNING",
            "MISSING,FAILED",
            "solaris_master: FAILED; solaris_runners: MISSING",
            4,
            2,
            0,
            2,
            "2025-04-08 02:00:12",
            "2025-04-08 02:41:55",
            "00:41:43",
        ),
        FlowDay(
            TUE,
            "Sitecom",
            "WARNING",
            "CANCELLED,RETRIED",
            "sitecom_home_master: CANCELLED",
            19,
            17,
            1,
            1,
            "2025-04-08 00:30:00",
            "2025-04-08 05:12:48",
            "04:42:48",
        ),
    ]
    flow_names = [flow.name for flow in config.flows]

    def run(on: date, sent: list[SentRecord]) -> Plan:
        now = datetime.combine(on, time(7, 5), tzinfo=PARIS)
        return plan_alerts(config.alerts, flow_names, pipelines, flows, sent, on, now)

    return run(TUE, sent_records(run(MON, [])))


def sample_files() -> dict[str, str]:
    night = sample_night()
    digest = next(m for m in night.messages if m.trigger == DIGEST)
    sitecom = next(m for m in night.messages if m.flow == "Sitecom" and m.channel == "teams")
    return {
        "digest-email.html": email_html(digest) + "\n",
        "digest-email.txt": plain_text(digest),
        "teams-card.json": json.dumps(teams_card(sitecom), indent=2, ensure_ascii=False) + "\n",
    }


def test_docs_samples_are_generated_from_the_current_code():
    """Regenerate with: .venv/bin/python tests/test_alerts.py"""
    for name, text in sample_files().items():
        assert (SAMPLES / name).read_text(encoding="utf-8") == text, f"docs/samples/{name} is stale"


if __name__ == "__main__":
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for name, text in sample_files().items():
        (SAMPLES / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/samples/{name}")
