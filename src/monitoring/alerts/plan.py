"""Which alerts a business date calls for, as pure functions of gold rows, the rules and what was already sent.

No Spark and no I/O: :mod:`monitoring.alerts.notify` reads the rows and delivers the messages. Statuses are never
recomputed here; the gold tables' ``status``, ``reason``, ``consecutive_ko_days`` are taken as they are.

Vocabulary:

- an **event** is one pipeline's news on one business date: it turned ``KO`` or ``WARNING``, it
  ``RECOVERED``, or its KO ``STREAK`` reached the threshold. Each event is sent once per channel; its
  :class:`AlertKey` is the row of ``alerts_sent`` that proves it.
- a **message** is what a channel receives: the events of one flow (users asked for one message per flow,
  not one per pipeline), or the night's digest.
- the **reference** row of a pipeline on date D is its latest row before D that is not on a quiet day and
  not PENDING: "did it change?" compares with it, so days without a row (weekends of a ``weekdays``
  schedule) and quiet days neither hide nor repeat an incident.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from monitoring.alerts.config import AlertsConfig, ChangeTrigger, StreakTrigger
from monitoring.config import WEEKDAYS
from monitoring.factory.drift import DriftFinding
from monitoring.gold import FlowDay, PipelineDay
from monitoring.vocabulary import KO, OK, PENDING, STATUS_SEVERITY, WARNING

DIGEST, ON_CHANGE, STREAK = "digest", "on_change", "streak"  # triggers
RECOVERED, STREAK_EVENT, DIGEST_EVENT = "RECOVERED", "STREAK", "DIGEST"  # events, besides KO and WARNING
SENT, FAILED = "sent", "failed"  # alerts_sent.status
DIGEST_SUBJECT = "*"
NO_ALERTS = "No alerts configured (no `alerts:` section in the configuration): nothing to send."
HISTORY_DAYS = 35  # rows read before the first checked date: references, and "since when" for up to 5 weeks


_Row = TypeVar("_Row", PipelineDay, FlowDay)


@dataclass(frozen=True)
class AlertKey:
    """The identity of one alert on one channel: the key of ``alerts_sent``."""

    business_date: date
    trigger: str
    event: str
    subject_kind: str  # digest | pipeline
    subject: str
    channel: str


@dataclass(frozen=True)
class SentRecord:
    """An ``alerts_sent`` row, as far as planning uses it."""

    key: AlertKey
    status: str  # sent | failed
    attempts: int
    sent_at: datetime | None


@dataclass(frozen=True)
class Incident:
    """Since when a status holds: the first business date of the run of rows, and how many rows."""

    since: date | None  # None: it started before the rows read (more than HISTORY_DAYS ago)
    days: int


@dataclass(frozen=True)
class Event:
    trigger: str  # on_change | streak
    kind: str  # KO | WARNING | RECOVERED | STREAK
    row: PipelineDay  # the pipeline on the business date
    incident: Incident  # the current one; for RECOVERED, the one that just ended
    was: str | None = None  # the level alerted before (KO or WARNING), None when it was fine

    def key(self, channel: str) -> AlertKey:
        return AlertKey(self.row.business_date, self.trigger, self.kind, "pipeline", self.row.pipeline_name, channel)


@dataclass(frozen=True)
class FlowLine:
    flow: str
    day: FlowDay | None  # None: no member expected that day
    incident: Incident


@dataclass(frozen=True)
class PipelineLine:
    row: PipelineDay
    incident: Incident


@dataclass(frozen=True)
class Digest:
    business_date: date
    flows: tuple[FlowLine, ...]  # every flow, worst first
    pipelines: tuple[PipelineLine, ...]  # KO pipelines, then WARNING ones
    not_monitored: tuple[DriftFinding, ...] = ()  # gold/config_drift of the date (source.factory): drift kind order

    def flow_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for line in self.flows:
            if line.day is not None:
                counts[line.day.status] += 1
        return {status: counts[status] for status in STATUS_SEVERITY if counts[status]}


@dataclass(frozen=True)
class Message:
    """What one channel receives: the digest, or one flow's events of one trigger on one date."""

    trigger: str
    business_date: date
    channel: str | None  # None: no channel is configured (a dry run still shows it)
    title: str
    keys: tuple[AlertKey, ...]  # the alerts it carries (for the digest, one)
    recipients: tuple[str, ...] = ()  # e-mail only
    flow: str | None = None
    flow_line: FlowLine | None = None
    events: tuple[Event, ...] = ()
    digest: Digest | None = None
    report_url: str | None = None


@dataclass(frozen=True)
class Plan:
    business_date: date
    dates: tuple[date, ...]  # the business dates checked (the date and its lookback)
    quiet: tuple[date, ...]  # of those, the quiet ones (nothing sent)
    digest: Digest  # the business date's digest, also when it is not (or not yet) to be sent
    messages: tuple[Message, ...]  # still to deliver
    already_sent: int  # alerts of the checked dates that alerts_sent says were delivered by earlier runs
    notes: tuple[str, ...] = ()  # why something expected is not in ``messages``


# --- small rules -----------------------------------------------------------------------------------


def _ignored(row: PipelineDay, trigger: ChangeTrigger | StreakTrigger) -> bool:
    """The trigger's filters: a listed failure type, or reasons that are all listed."""
    if row.failure_type and row.failure_type in trigger.ignore_failure_types:
        return True
    reasons = row.reasons
    return bool(reasons) and set(reasons) <= set(trigger.ignore_reasons)


def alert_level(row: PipelineDay, trigger: ChangeTrigger) -> str | None:
    """KO or WARNING when this row alerts under ``trigger``; None when it is fine (or only ignored reasons)."""
    if row.status not in trigger.statuses or _ignored(row, trigger):
        return None
    return row.status


def current_incident(history: Sequence[PipelineDay | FlowDay]) -> Incident:
    """How long the last row's status has held. ``history`` is one subject's rows by date, ending with it."""
    last = history[-1]
    if last.status == KO:  # the gold streak is the authority: it was counted over all history, not our window
        days = max(last.consecutive_ko_days, 1)
    else:
        days = len(_trailing(history, lambda r: r.status == last.status))
    return Incident(history[-days].business_date if days <= len(history) else None, days)


def ended_incident(before: Sequence[PipelineDay]) -> Incident:
    """The run of not-OK rows just before a recovery (PENDING rows neither count nor break it)."""
    rows = [r for r in before if r.status != PENDING]
    if rows and rows[-1].status == KO:
        return current_incident(rows)
    run = _trailing(rows, lambda r: r.status != OK)
    return Incident(run[0].business_date if run else None, len(run))


def _trailing(rows: Sequence[_Row], keep: Callable[[_Row], bool]) -> list[_Row]:
    run: list[_Row] = []
    for row in reversed(rows):
        if not keep(row):
            break
        run.append(row)
    return run[::-1]


def reference_row(before: Sequence[PipelineDay], is_quiet: Callable[[date], bool]) -> PipelineDay | None:
    for row in reversed(before):
        if row.status != PENDING and not is_quiet(row.business_date):
            return row
    return None


def _last_sent_level(sent: Iterable[SentRecord]) -> tuple[bool, str | None]:
    """(found, level) of the newest on_change alert delivered for one pipeline, date and channel."""
    delivered = [r for r in sent if r.status == SENT and r.key.trigger == ON_CHANGE]
    if not delivered:
        return False, None
    newest = max(delivered, key=lambda r: (r.sent_at is not None, r.sent_at))
    return True, None if newest.key.event == RECOVERED else newest.key.event


def change_event(
    history: Sequence[PipelineDay],
    previous_level: str | None,
    trigger: ChangeTrigger,
    reference: PipelineDay | None = None,
) -> Event | None:
    """The on_change event of ``history[-1]`` given the level last alerted (or the ``reference`` row's)."""
    row = history[-1]
    level = alert_level(row, trigger)
    if level == previous_level or row.status == PENDING:
        return None
    if level is None:
        if row.status != OK and row.status in trigger.statuses:
            return None  # still bad, for a reason this trigger ignores: not a recovery
        # The incident that ended is the one the reference row was in (it may have ended on a quiet day).
        before = history[: history.index(reference) + 1] if reference in history else history[:-1]
        return Event(ON_CHANGE, RECOVERED, row, ended_incident(before), was=previous_level)
    return Event(ON_CHANGE, level, row, current_incident(history), was=previous_level)


def streak_event(history: Sequence[PipelineDay], reference: PipelineDay | None, trigger: StreakTrigger) -> Event | None:
    """A KO streak that reached ``trigger.days`` since the reference row: told once, on the day it gets there."""
    row = history[-1]
    if row.status != KO or _ignored(row, trigger) or row.consecutive_ko_days < trigger.days:
        return None
    if reference is not None and reference.status == KO and reference.consecutive_ko_days >= trigger.days:
        return None  # already reached by the reference day, and announced then
    return Event(STREAK, STREAK_EVENT, row, current_incident(history))


# --- the digest ------------------------------------------------------------------------------------


def _flow_order(flows: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    position = {name: index for index, name in enumerate(flows)}
    return lambda flow: (position.get(flow, len(position)), flow)


def build_digest(
    business_date: date,
    configured_flows: Sequence[str],
    pipelines: Sequence[PipelineDay],
    flows: Sequence[FlowDay],
    not_monitored: Sequence[DriftFinding] = (),
) -> Digest:
    """Every flow of the date (worst first, then in configuration order), then its KO and WARNING pipelines."""
    order = _flow_order(configured_flows)
    flow_history = _by_subject(flows, lambda r: r.flow, business_date)
    names = sorted({*configured_flows, *flow_history}, key=order)
    lines = []
    for name in names:
        history = flow_history.get(name, [])
        today = history[-1] if history and history[-1].business_date == business_date else None
        lines.append(FlowLine(name, today, current_incident(history) if today else Incident(None, 0)))
    lines.sort(key=lambda line: STATUS_SEVERITY[line.day.status] if line.day else len(STATUS_SEVERITY))
    pipeline_history = _by_subject(pipelines, lambda r: r.pipeline_name, business_date)
    broken = [
        PipelineLine(history[-1], current_incident(history))
        for history in pipeline_history.values()
        if history[-1].business_date == business_date and history[-1].status in (KO, WARNING)
    ]
    broken.sort(
        key=lambda line: (
            STATUS_SEVERITY[line.row.status],
            order(line.row.flow),
            line.row.execution_order or 0,
            line.row.pipeline_name,
        )
    )
    return Digest(business_date, tuple(lines), tuple(broken), tuple(not_monitored))


def digest_title(digest: Digest) -> str:
    counts = digest.flow_counts()
    summary = ", ".join(f"{count} {status}" for status, count in counts.items()) or "no flow expected"
    return f"Pipeline monitoring {digest.business_date}: {summary}"


# --- planning --------------------------------------------------------------------------------------


def _by_subject(rows: Iterable[_Row], subject: Callable[[_Row], str], until: date) -> dict[str, list[_Row]]:
    """Each subject's rows up to ``until`` (inclusive), by date."""
    grouped: dict[str, list[_Row]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.business_date):
        if row.business_date <= until:
            grouped[subject(row)].append(row)
    return grouped


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _events_of_date(
    alerts: AlertsConfig,
    day: date,
    pipelines: Sequence[PipelineDay],
    sent: dict[tuple[str, date, str], list[SentRecord]],
) -> list[tuple[str, Event]]:
    """(channel, event) pairs the rules call for on ``day``, before removing what was already sent."""
    pairs: list[tuple[str, Event]] = []
    for name, history in _by_subject(pipelines, lambda r: r.pipeline_name, day).items():
        row = history[-1]
        if row.business_date != day or row.status == PENDING:
            continue  # no row that day, or not due yet: nothing to say
        rule = alerts.rule_for(name, row.flow)
        if rule.mute:
            continue
        reference = reference_row(history[:-1], alerts.is_quiet)
        if rule.on_change is not None:
            for channel in rule.on_change.channels or (None,):
                # A change already told today (an earlier run) is the baseline; else the reference day.
                found, level = _last_sent_level(sent.get((name, day, channel or ""), []))
                if not found:
                    level = alert_level(reference, rule.on_change) if reference else None
                event = change_event(history, level, rule.on_change, None if found else reference)
                if event is not None:
                    pairs.append((channel or "", event))
        if rule.streak is not None:
            event = streak_event(history, reference, rule.streak)
            if event is not None:
                pairs += [(channel or "", event) for channel in rule.streak.channels or (None,)]
    return pairs


def _event_title(trigger: str, flow: str, events: Sequence[Event], day: date) -> str:
    if trigger == STREAK:
        if len(events) == 1:
            event = events[0]
            since = f" since {event.incident.since}" if event.incident.since else ""
            days = event.row.consecutive_ko_days
            return f"[STREAK] {flow}: {event.row.pipeline_name} KO {days} days in a row{since}"
        shortest = min(e.row.consecutive_ko_days for e in events)
        return f"[STREAK] {flow}: {len(events)} pipelines KO {shortest} days or more in a row"
    worst = min((e.kind for e in events if e.kind != RECOVERED), key=STATUS_SEVERITY.get, default=RECOVERED)
    if len(events) == 1:
        event = events[0]
        if event.kind == RECOVERED:
            what = f"recovered after {event.incident.days} day(s)" if event.incident.days else "recovered"
        else:
            what = event.kind + (f" ({event.row.reason.replace(',', ', ')})" if event.row.reason else "")
        return f"[{worst}] {flow}: {event.row.pipeline_name} {what} on {day}"
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        counts[event.kind] += 1
    parts = [f"{counts[k]} {k if k != RECOVERED else 'recovered'}" for k in (KO, WARNING, RECOVERED) if counts[k]]
    return f"[{worst}] {flow}: {', '.join(parts)} on {day}"


def _digest_messages(
    alerts: AlertsConfig, digest: Digest, quiet: bool, now_local: datetime, delivered: set[AlertKey]
) -> tuple[list[Message], list[str]]:
    """The digest, once per channel not yet sent; or the note saying why it is held back."""
    trigger = alerts.digest
    if trigger is None:
        return [], []
    if quiet:
        return [], [f"digest: {digest.business_date} is a quiet day"]
    today = digest.business_date >= now_local.date()  # a past date's digest is late already: never held
    if trigger.not_before and today and now_local.time() < trigger.not_before:
        return [], [f"digest: waits until {trigger.not_before:%H:%M} (a later run sends it)"]
    recipients = trigger.recipients or (alerts.email.recipients if alerts.email else ())
    messages = []
    for channel in trigger.channels or (None,):
        key = AlertKey(digest.business_date, DIGEST, DIGEST_EVENT, DIGEST, DIGEST_SUBJECT, channel or "")
        if key not in delivered:
            email_to = recipients if channel == "email" else ()
            title = digest_title(digest)
            messages.append(
                Message(
                    DIGEST,
                    digest.business_date,
                    channel,
                    title,
                    (key,),
                    email_to,
                    digest=digest,
                    report_url=alerts.report_url,
                )
            )
    return messages, []


def _event_messages(
    alerts: AlertsConfig,
    day: date,
    events: Sequence[tuple[str, Event]],
    flow_history: dict[str, list[FlowDay]],
    order: Callable[[str], tuple[int, str]],
) -> list[Message]:
    """One message per (trigger, flow, channel): users asked for alerts grouped per flow."""
    groups: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    for channel, event in events:
        groups[(event.trigger, event.row.flow, channel)].append(event)
    messages = []
    for (trigger, flow, channel), grouped in sorted(
        groups.items(), key=lambda item: (order(item[0][1]), item[0][0] != ON_CHANGE, item[0][2])
    ):
        grouped.sort(key=lambda e: (e.kind == RECOVERED, STATUS_SEVERITY.get(e.kind, 0), e.row.execution_order or 0))
        history = [r for r in flow_history.get(flow, []) if r.business_date <= day]
        flow_line = None
        if history and history[-1].business_date == day:
            flow_line = FlowLine(flow, history[-1], current_incident(history))
        messages.append(
            Message(
                trigger,
                day,
                channel or None,
                _event_title(trigger, flow, grouped, day),
                tuple(e.key(channel) for e in grouped),
                _event_recipients(alerts, grouped) if channel == "email" else (),
                flow=flow,
                flow_line=flow_line,
                events=tuple(grouped),
                report_url=alerts.report_url,
            )
        )
    return messages


def plan_alerts(
    alerts: AlertsConfig,
    configured_flows: Sequence[str],
    pipelines: Sequence[PipelineDay],
    flows: Sequence[FlowDay],
    sent: Sequence[SentRecord],
    business_date: date,
    now_local: datetime,
    not_monitored: Sequence[DriftFinding] = (),
) -> Plan:
    """Every message to deliver for ``business_date`` and its lookback days, minus what was delivered already.

    ``pipelines`` and ``flows`` are the gold rows from ``HISTORY_DAYS`` before the first checked date up to
    ``business_date``; ``sent`` the ``alerts_sent`` rows of the checked dates; ``now_local`` the local time
    (it decides the digest's ``not_before``).
    """
    dates = tuple(business_date - timedelta(days=n) for n in range(alerts.lookback_days, -1, -1))
    quiet = tuple(d for d in dates if alerts.is_quiet(d))
    delivered = {record.key for record in sent if record.status == SENT}
    sent_by_subject: dict[tuple[str, date, str], list[SentRecord]] = defaultdict(list)
    for record in sent:
        sent_by_subject[(record.key.subject, record.key.business_date, record.key.channel)].append(record)
    flow_history = _by_subject(flows, lambda r: r.flow, business_date)

    digest = build_digest(business_date, configured_flows, pipelines, flows, not_monitored)
    messages, notes = _digest_messages(alerts, digest, business_date in quiet, now_local, delivered)
    for day in dates:
        if day in quiet:
            continue
        events = [
            (channel, event)
            for channel, event in _events_of_date(alerts, day, pipelines, sent_by_subject)
            # Same key reached again the same date (WARNING, KO, WARNING again): told once.
            if event.key(channel) not in delivered
        ]
        messages += _event_messages(alerts, day, events, flow_history, _flow_order(configured_flows))
    already_sent = sum(1 for key in delivered if key.business_date in dates)
    return Plan(business_date, dates, quiet, digest, tuple(messages), already_sent, tuple(notes))


def _event_recipients(alerts: AlertsConfig, events: Sequence[Event]) -> tuple[str, ...]:
    """The channel's recipients, plus those the overrides add, plus the streak's escalation list."""
    recipients = list(alerts.email.recipients if alerts.email else ())
    for event in events:
        rule = alerts.rule_for(event.row.pipeline_name, event.row.flow)
        recipients += rule.recipients
        if event.trigger == STREAK and rule.streak is not None:
            recipients += rule.streak.escalate_to
    return _unique(recipients)


# --- description, for validate-config --------------------------------------------------------------


def describe_alerts(alerts: AlertsConfig | None) -> list[str]:
    """One line per configured part of the ``alerts:`` section, for ``pipeline-monitor validate-config``."""
    if alerts is None:
        return ["  alerts: none configured (notify sends nothing)"]
    channels = []
    if alerts.email:
        email = alerts.email
        channels.append(
            f"email via {email.host}:{email.port} ({email.security}) to {len(email.recipients)} recipient(s)"
        )
    if alerts.teams:
        channels.append("teams webhook")
    quiet = [WEEKDAYS[d - 1] for d in alerts.quiet_weekdays]
    quiet += [str(d) for d in alerts.quiet_dates]
    lines = [
        f"  alerts: {'; '.join(channels) or 'no channel (dry-run only)'}"
        + (f"; quiet {', '.join(quiet)}" if quiet else "")
        + f"; lookback {alerts.lookback_days} day(s)"
    ]

    def to(channels: tuple[str, ...]) -> str:
        return ", ".join(channels) or "no channel"

    if alerts.digest:
        after = f", not before {alerts.digest.not_before:%H:%M}" if alerts.digest.not_before else ""
        lines.append(f"    digest -> {to(alerts.digest.channels)}{after}")
    for name, trigger in (("on_change", alerts.on_change), ("streak", alerts.streak)):
        if trigger is None:
            continue
        what = ", ".join(trigger.statuses) if isinstance(trigger, ChangeTrigger) else f"{trigger.days} days KO"
        ignoring = [*trigger.ignore_failure_types, *trigger.ignore_reasons]
        extra = f", ignoring {', '.join(ignoring)}" if ignoring else ""
        if isinstance(trigger, StreakTrigger) and trigger.escalate_to:
            extra += f", escalating to {len(trigger.escalate_to)} more recipient(s)"
        lines.append(f"    {name} {what} -> {to(trigger.channels)}{extra}")
    overridden = [f"flow {n}" for n in alerts.flow_rules] + [f"pipeline {n}" for n in alerts.pipeline_rules]
    if overridden:
        lines.append(f"    overrides: {', '.join(overridden)}")
    return lines
