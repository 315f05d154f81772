"""The `alerts:` section of monitoring.yml (see docs/alerts.md): its objects and its parser."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from email.utils import parseaddr
from types import MappingProxyType
from typing import Any

from monitoring.config import UNASSIGNED_FLOW, WEEKDAYS, Flow
from monitoring.config_parsing import ConfigError, as_mapping, as_text, check_keys, choice, fail, time_of_day
from monitoring.vocabulary import KO, REASON_CODES, WARNING

# --- the objects ------------------------------------------------------------------------------------

ALERT_CHANNELS = ("email", "teams")
ALERT_STATUSES = (KO, WARNING)  # the statuses an on_change alert can be about (OK is "recovered")
SMTP_SECURITY = ("starttls", "ssl", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SecretRef:
    """Where a secret comes from: a key of a Databricks secret scope, or an environment variable locally.

    Never the value itself: monitoring.yml is committed and deployed with the bundle.
    """

    scope: str
    key: str
    env: str
    path: str = field(default="", compare=False)  # its key path in monitoring.yml, for error messages


# The dataclasses whose fields are their YAML keys are keyword-only: their field order is the order the
# "allowed: ..." hint lists the keys in, free of the rule that fields with defaults come last.
@dataclass(frozen=True, kw_only=True)
class EmailChannel:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None = None
    password: SecretRef | None = None
    sender: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class TeamsChannel:
    webhook: SecretRef  # the incoming-webhook or Workflows URL carries its own credential: a secret


@dataclass(frozen=True)
class DigestTrigger:
    """One message per business date with every flow's status."""

    channels: tuple[str, ...]
    recipients: tuple[str, ...] = ()  # empty: the e-mail channel's recipients
    not_before: time | None = None  # local time: an earlier run leaves the digest to a later one


@dataclass(frozen=True)
class ChangeTrigger:
    """A pipeline reaches one of ``statuses`` (or a worse one), or leaves them ("recovered")."""

    channels: tuple[str, ...]
    statuses: tuple[str, ...] = (KO,)
    ignore_failure_types: tuple[str, ...] = ()
    ignore_reasons: tuple[str, ...] = ()  # a row whose reasons are all listed here does not alert


@dataclass(frozen=True)
class StreakTrigger:
    """A pipeline has been KO ``days`` rows in a row: told once, to more people."""

    channels: tuple[str, ...]
    days: int = 3
    escalate_to: tuple[str, ...] = ()  # e-mail recipients added to the channel's for this alert
    ignore_failure_types: tuple[str, ...] = ()
    ignore_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SubjectRule:
    """The alert rules of one pipeline, with ``alerts.overrides`` resolved (flow, then pipeline)."""

    mute: bool = False  # no on_change or streak alert (the digest still lists it)
    recipients: tuple[str, ...] = ()  # e-mail recipients added for alerts about this pipeline
    on_change: ChangeTrigger | None
    streak: StreakTrigger | None


@dataclass(frozen=True)
class RetryPolicy:
    """Delivery attempts within one run; what still fails is retried by the next run."""

    attempts: int = 3
    backoff_seconds: float = 2.0  # doubled after each attempt
    max_wait_seconds: float = 60.0  # a longer Retry-After is left to the next run


@dataclass(frozen=True)
class AlertsConfig:
    email: EmailChannel | None
    teams: TeamsChannel | None
    digest: DigestTrigger | None
    on_change: ChangeTrigger | None
    streak: StreakTrigger | None
    default_rule: SubjectRule  # a pipeline of an unconfigured flow
    flow_rules: Mapping[str, SubjectRule] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    pipeline_rules: Mapping[str, SubjectRule] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    quiet_weekdays: tuple[int, ...] = ()  # ISO weekdays (1 = Monday)
    quiet_dates: tuple[date, ...] = ()
    lookback_days: int = 1  # business dates before the notified one that are checked again
    report_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name in ALERT_CHANNELS if getattr(self, name) is not None)

    def is_quiet(self, day: date) -> bool:
        return day.isoweekday() in self.quiet_weekdays or day in self.quiet_dates

    def rule_for(self, pipeline: str, flow: str) -> SubjectRule:
        """The pipeline's rule; a pipeline missing from the configuration gets its flow's (or the default)."""
        return self.pipeline_rules.get(pipeline) or self.flow_rules.get(flow) or self.default_rule


# --- parsing ---------------------------------------------------------------------------------------


def _keys(record: type) -> tuple[str, ...]:
    """A section's allowed keys: the fields of the dataclass it is parsed into, so a new option is added once."""
    return tuple(item.name for item in fields(record))


# Two sections are shaped unlike their dataclass, so their keys are listed: `alerts:` groups its fields under
# channels, triggers and overrides, and a secret reference's `secret:` is SecretRef.key (its path is no key).
_ALERTS_KEYS = (
    "secret_scope",
    "report_url",
    "lookback_days",
    "quiet_days",
    "retry",
    "channels",
    "triggers",
    "overrides",
)
_SECRET_KEYS = ("secret", "env", "scope")
_TRIGGERS: dict[str, type[DigestTrigger | ChangeTrigger | StreakTrigger]] = {
    "digest": DigestTrigger,
    "on_change": ChangeTrigger,
    "streak": StreakTrigger,
}
_ALERT_OVERRIDE_KEYS = ("flow", "pipeline", *_keys(SubjectRule))
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Deliberately loose (the SMTP server has the last word), but never a list, a display name or a line break.
_ADDRESS = re.compile(r"[^@\s<>,;\"']+@[^@\s<>,;\"']+")


def _whole(value: Any, path: str, minimum: int, maximum: int | None = None) -> int:
    too_big = maximum is not None and isinstance(value, int) and value > maximum
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or too_big:
        bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise fail(path, value, f"is not a whole number {bounds}")
    return value


def _seconds(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise fail(path, value, "is not a number >= 0")
    return float(value)


def _texts(value: Any, path: str, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not (value or allow_empty):
        raise fail(path, value, "is not a list" if allow_empty else "is not a non-empty list")
    return tuple(as_text(item, f"{path}[{index}]") for index, item in enumerate(value))


def _addresses(value: Any, path: str) -> tuple[str, ...]:
    addresses = _texts(value, path)
    for index, address in enumerate(addresses):
        if not _ADDRESS.fullmatch(address):
            raise fail(f"{path}[{index}]", address, "is not an e-mail address (name@domain)")
    return addresses


def _sender(value: Any, path: str) -> str:
    text = as_text(value, path)
    _, address = parseaddr(text)
    if "\n" in text or "\r" in text or not _ADDRESS.fullmatch(address):
        raise fail(path, text, "is not an e-mail address ('name@domain' or 'Name <name@domain>')")
    return text


def _secret_ref(value: Any, path: str, default_scope: str | None) -> SecretRef:
    if not isinstance(value, Mapping):
        # Never echo the value: it may be the secret itself, pasted here by mistake.
        raise ConfigError(
            f"{path}: is a secret: name where it comes from, e.g. {{secret: <key in the secret scope>, "
            "env: <ENVIRONMENT_VARIABLE>}, never its value"
        )
    check_keys(value, _SECRET_KEYS, path)
    key = as_text(value.get("secret"), f"{path}.secret")
    env = as_text(value.get("env"), f"{path}.env")
    if not _ENV_NAME.fullmatch(env):
        raise fail(f"{path}.env", env, "is not an environment variable name (letters, digits, _)")
    if value.get("scope", default_scope) is None:
        raise ConfigError(f"{path}.scope: missing (the Databricks secret scope: here or as alerts.secret_scope)")
    scope = as_text(value.get("scope", default_scope), f"{path}.scope")
    return SecretRef(scope=scope, key=key, env=env, path=path)


def _email_channel(raw: Any, default_scope: str | None) -> EmailChannel:
    path = "alerts.channels.email"
    mapping = as_mapping(raw, path)
    check_keys(mapping, _keys(EmailChannel), path)
    security = choice(mapping, "security", SMTP_SECURITY, path)
    port = mapping.get("port", SMTP_DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise fail(f"{path}.port", port, "is not a TCP port (1 to 65535)")
    username = as_text(mapping["username"], f"{path}.username") if "username" in mapping else None
    password = _secret_ref(mapping["password"], f"{path}.password", default_scope) if "password" in mapping else None
    if (username is None) != (password is None):
        raise ConfigError(f"{path}: username and password go together")
    if password is not None and security == "none":
        raise ConfigError(f"{path}.security: 'none' would send the password in clear text (use starttls or ssl)")
    return EmailChannel(
        host=as_text(mapping.get("host"), f"{path}.host"),
        port=port,
        security=security,
        sender=_sender(mapping.get("sender"), f"{path}.sender"),
        recipients=_addresses(mapping.get("recipients"), f"{path}.recipients"),
        username=username,
        password=password,
    )


def _teams_channel(raw: Any, default_scope: str | None) -> TeamsChannel:
    path = "alerts.channels.teams"
    mapping = as_mapping(raw, path)
    check_keys(mapping, _keys(TeamsChannel), path)
    if "webhook" not in mapping:
        raise ConfigError(f"{path}.webhook: missing (where the webhook URL comes from: {{secret: ..., env: ...}})")
    return TeamsChannel(webhook=_secret_ref(mapping["webhook"], f"{path}.webhook", default_scope))


def _channel_names(value: Any, path: str, configured: tuple[str, ...]) -> tuple[str, ...]:
    names = _texts(value, path)
    for index, name in enumerate(names):
        if name not in ALERT_CHANNELS:
            raise fail(f"{path}[{index}]", name, f"is not a channel ({' | '.join(ALERT_CHANNELS)})")
        if name not in configured:
            raise fail(f"{path}[{index}]", name, "is not configured under alerts.channels")
    return tuple(dict.fromkeys(names))


def _trigger_updates(raw: Any, path: str, record: type, configured: tuple[str, ...]) -> dict[str, Any]:
    """The validated keys of a trigger mapping (whole, or partial in an override), ready for ``replace``."""
    mapping = as_mapping({} if raw is None else raw, path)  # `digest:` with nothing after it: all defaults
    check_keys(mapping, _keys(record), path)
    updates: dict[str, Any] = {}
    for key, value in mapping.items():
        key_path = f"{path}.{key}"
        if key == "channels":
            updates[key] = _channel_names(value, key_path, configured)
        elif key == "statuses":
            statuses = _texts(value, key_path)
            for index, status in enumerate(statuses):
                if status not in ALERT_STATUSES:
                    raise fail(f"{key_path}[{index}]", status, f"is not one of {' | '.join(ALERT_STATUSES)}")
            updates[key] = tuple(s for s in ALERT_STATUSES if s in statuses)
        elif key == "ignore_reasons":  # [] is allowed: an override can clear the filters it inherits
            codes = _texts(value, key_path, allow_empty=True)
            for index, code in enumerate(codes):
                if code not in REASON_CODES:
                    raise fail(f"{key_path}[{index}]", code, f"is not a reason code ({', '.join(REASON_CODES)})")
            updates[key] = codes
        elif key == "ignore_failure_types":
            updates[key] = _texts(value, key_path, allow_empty=True)
        elif key in ("recipients", "escalate_to"):
            if "email" not in configured:
                raise ConfigError(f"{key_path}: needs the e-mail channel (alerts.channels.email)")
            updates[key] = _addresses(value, key_path)
        elif key == "days":
            updates[key] = _whole(value, key_path, 1)
        elif key == "not_before":
            updates[key] = time_of_day(value, key_path)
    return updates


def _triggers(
    mapping: Mapping[str, Any], configured: tuple[str, ...]
) -> tuple[DigestTrigger | None, ChangeTrigger | None, StreakTrigger | None]:
    if "triggers" not in mapping:  # no `triggers:` at all: every trigger with its defaults
        return DigestTrigger(configured), ChangeTrigger(configured), StreakTrigger(configured)
    triggers = as_mapping(mapping["triggers"], "alerts.triggers")
    check_keys(triggers, tuple(_TRIGGERS), "alerts.triggers")

    def trigger(key: str) -> Any:
        if key not in triggers:
            return None
        record = _TRIGGERS[key]
        return replace(
            record(configured), **_trigger_updates(triggers[key], f"alerts.triggers.{key}", record, configured)
        )

    return trigger("digest"), trigger("on_change"), trigger("streak")


def _quiet_days(value: Any, path: str) -> tuple[tuple[int, ...], tuple[date, ...]]:
    problem = "is not a list of weekdays (mon ... sun) or dates (YYYY-MM-DD)"
    if not isinstance(value, list):
        raise fail(path, value, problem)
    weekdays: set[int] = set()
    dates: set[date] = set()
    for index, item in enumerate(value):
        if isinstance(item, date) and not isinstance(item, datetime):  # YAML reads 2025-12-25 as a date
            dates.add(item)
        elif isinstance(item, str) and item.strip().lower() in WEEKDAYS:
            weekdays.add(WEEKDAYS.index(item.strip().lower()) + 1)
        elif isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.strip()):
            try:
                dates.add(date.fromisoformat(item.strip()))
            except ValueError:
                raise fail(f"{path}[{index}]", item, "is not a date YYYY-MM-DD") from None
        else:
            raise fail(f"{path}[{index}]", item, "is not a weekday (mon ... sun) or a date (YYYY-MM-DD)")
    return tuple(sorted(weekdays)), tuple(sorted(dates))


def _retry(value: Any) -> RetryPolicy:
    mapping = as_mapping(value, "alerts.retry")
    check_keys(mapping, _keys(RetryPolicy), "alerts.retry")
    policy = RetryPolicy()
    if "attempts" in mapping:
        policy = replace(policy, attempts=_whole(mapping["attempts"], "alerts.retry.attempts", 1, 10))
    for key in ("backoff_seconds", "max_wait_seconds"):
        if key in mapping:
            policy = replace(policy, **{key: _seconds(mapping[key], f"alerts.retry.{key}")})
    return policy


def _override_rule(
    inherited: SubjectRule, mapping: Mapping[str, Any], path: str, configured: tuple[str, ...]
) -> SubjectRule:
    """``inherited`` with one override entry applied; a trigger set here is enabled even if it was not."""
    rule = inherited
    if "mute" in mapping:
        if not isinstance(mapping["mute"], bool):
            raise fail(f"{path}.mute", mapping["mute"], "is not true or false")
        rule = replace(rule, mute=mapping["mute"])
    if "recipients" in mapping:
        if "email" not in configured:
            raise ConfigError(f"{path}.recipients: needs the e-mail channel (alerts.channels.email)")
        added = _addresses(mapping["recipients"], f"{path}.recipients")
        rule = replace(rule, recipients=tuple(dict.fromkeys((*rule.recipients, *added))))
    if "on_change" in mapping:
        updates = _trigger_updates(mapping["on_change"], f"{path}.on_change", ChangeTrigger, configured)
        rule = replace(rule, on_change=replace(rule.on_change or ChangeTrigger(configured), **updates))
    if "streak" in mapping:
        updates = _trigger_updates(mapping["streak"], f"{path}.streak", StreakTrigger, configured)
        rule = replace(rule, streak=replace(rule.streak or StreakTrigger(configured), **updates))
    return rule


def _alert_overrides(
    value: Any, flows: tuple[Flow, ...], default_rule: SubjectRule, configured: tuple[str, ...]
) -> tuple[dict[str, SubjectRule], dict[str, SubjectRule]]:
    """Rules per flow and per pipeline: defaults -> flow override -> pipeline override, as for the status rules."""
    if not isinstance(value, list):
        raise fail("alerts.overrides", value, "is not a list of overrides ({flow: ...} or {pipeline: ...})")
    known = {
        "flow": [*(flow.name for flow in flows), UNASSIGNED_FLOW],
        "pipeline": [p.name for flow in flows for p in flow.pipelines],
    }
    entries: dict[str, dict[str, tuple[str, Mapping[str, Any]]]] = {"flow": {}, "pipeline": {}}
    for index, entry in enumerate(value):
        path = f"alerts.overrides[{index}]"
        mapping = as_mapping(entry, path)
        check_keys(mapping, _ALERT_OVERRIDE_KEYS, path)
        targets = [key for key in ("flow", "pipeline") if key in mapping]
        if len(targets) != 1:
            raise ConfigError(f"{path}: give either flow or pipeline (what the override applies to)")
        kind = targets[0]
        name = as_text(mapping[kind], f"{path}.{kind}")
        if name not in known[kind]:
            near = difflib.get_close_matches(name, known[kind], n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise fail(f"{path}.{kind}", name, f"is not a configured {kind}{hint}")
        if name in entries[kind]:
            raise fail(f"{path}.{kind}", name, f"already has an override at {entries[kind][name][0]}")
        entries[kind][name] = (path, mapping)
    flow_rules: dict[str, SubjectRule] = {}
    for name, (path, mapping) in entries["flow"].items():
        flow_rules[name] = _override_rule(default_rule, mapping, path, configured)
    pipeline_rules: dict[str, SubjectRule] = {}
    for flow in flows:
        for pipeline in flow.pipelines:
            if pipeline.name in entries["pipeline"]:
                path, mapping = entries["pipeline"][pipeline.name]
                inherited = flow_rules.get(flow.name, default_rule)
                pipeline_rules[pipeline.name] = _override_rule(inherited, mapping, path, configured)
    return flow_rules, pipeline_rules


def parse_alerts(raw: Any, flows: tuple[Flow, ...]) -> AlertsConfig | None:
    if raw is None:  # `alerts:` left empty, like no section: nothing is sent
        return None
    mapping = as_mapping(raw, "alerts")
    check_keys(mapping, _ALERTS_KEYS, "alerts")
    scope = as_text(mapping["secret_scope"], "alerts.secret_scope") if "secret_scope" in mapping else None
    channels = as_mapping(mapping.get("channels") or {}, "alerts.channels")
    check_keys(channels, ALERT_CHANNELS, "alerts.channels")
    email = _email_channel(channels["email"], scope) if "email" in channels else None
    teams = _teams_channel(channels["teams"], scope) if "teams" in channels else None
    configured = tuple(name for name, channel in (("email", email), ("teams", teams)) if channel is not None)
    digest, on_change, streak = _triggers(mapping, configured)
    default_rule = SubjectRule(on_change=on_change, streak=streak)
    flow_rules, pipeline_rules = _alert_overrides(mapping.get("overrides", []), flows, default_rule, configured)
    quiet_weekdays, quiet_dates = _quiet_days(mapping.get("quiet_days", []), "alerts.quiet_days")
    report_url = None
    if "report_url" in mapping:
        report_url = as_text(mapping["report_url"], "alerts.report_url")
        if not re.fullmatch(r"https?://[^\s]+", report_url):
            raise fail("alerts.report_url", report_url, "is not an http(s) URL")
    return AlertsConfig(
        email=email,
        teams=teams,
        digest=digest,
        on_change=on_change,
        streak=streak,
        default_rule=default_rule,
        flow_rules=MappingProxyType(flow_rules),
        pipeline_rules=MappingProxyType(pipeline_rules),
        quiet_weekdays=quiet_weekdays,
        quiet_dates=quiet_dates,
        lookback_days=_whole(mapping.get("lookback_days", 1), "alerts.lookback_days", 0, 31),
        report_url=report_url,
        retry=_retry(mapping.get("retry", {})),
    )


def default_alerts() -> AlertsConfig:
    """The rules of an empty ``alerts:`` section (every trigger, no channel): what a dry run shows without one."""
    alerts = parse_alerts({}, ())
    assert alerts is not None
    return alerts
