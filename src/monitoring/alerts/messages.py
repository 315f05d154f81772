"""Messages as people read them: an e-mail (plain text + HTML) and a Teams Adaptive Card.

Every name, reason, detail and error text here comes from logs or from the YAML, so it is treated as data:

- in HTML it is escaped by the template's autoescape (Jinja2, ``templates/email/``), so ``<script>`` in an
  ADF error shows as text;
- in the card it goes into ``TextRun`` elements, which Teams shows verbatim: a ``TextBlock`` would
  interpret Markdown, so an error containing ``[click](http://...)`` would become a link;
- in headers (the e-mail subject) line breaks are removed, so text cannot add a header.

The HTML is e-mail-safe: table layout, inline styles only, no script, no external image or stylesheet,
colours from :data:`monitoring.vocabulary.STATUS_COLORS`.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitoring.alerts.plan import (
    RECOVERED,
    STREAK_EVENT,
    Digest,
    Event,
    FlowLine,
    Incident,
    Message,
    PipelineLine,
)
from monitoring.gold import reason_codes, status_color
from monitoring.vocabulary import KO, OK, PENDING, STATUS_COLORS, WARNING

ERROR_CHARS_EMAIL = 600
ERROR_CHARS_CARD = 300
CARD_MAX_PIPELINES = 25  # Teams rejects cards over ~28 KB; the e-mail digest has the full list
NO_ROW_COLOR = "#BDBDBD"
# Adaptive Cards only know named colours; these are the closest to STATUS_COLORS.
CARD_COLORS = {OK: "Good", WARNING: "Warning", KO: "Attention", PENDING: "Default"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- text helpers ----------------------------------------------------------------------------------


def one_line(text: str | None) -> str:
    """Whitespace (line breaks included) collapsed, control characters dropped: safe for headers and cells."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def reasons_text(reason: str | None) -> str:
    """'MISSING,FAILED' as people read it: 'MISSING, FAILED'."""
    return ", ".join(reason_codes(one_line(reason)))


def shorten(text: str | None, limit: int) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def incident_text(status: str, incident: Incident) -> str:
    """'KO for 3 days, since 2025-04-06' / 'since 2025-04-08' (new today) / '' (nothing to say)."""
    if incident.days <= 0:
        return ""
    if incident.since is None:  # it began before the rows read: the count is known, the first day is not
        return f"{status} for {incident.days} days"
    if incident.days == 1:
        return f"since {incident.since}"
    return f"{status} for {incident.days} days, since {incident.since}"


def since_text(line: PipelineLine | Event, status: str) -> str:
    """The 'since' of a pipeline line; for a recovery, the incident that ended ('was KO since 2025-04-06')."""
    if isinstance(line, Event) and line.kind == RECOVERED:
        since = f" since {line.incident.since}" if line.incident.since else ""
        return f"was {line.was or 'not OK'}{since}"
    return incident_text(status, line.incident)


def event_text(event: Event) -> str:
    """What happened, next to the status it is shown with: 'FAILED', 'LATE, was KO', 'FAILED, escalated',
    'recovered after 3 day(s)', 'recovered after 1 day(s) (now WARNING: RETRIED)'."""
    row = event.row
    reasons = reasons_text(row.reason)
    if event.kind == RECOVERED:
        after = f" after {event.incident.days} day(s)" if event.incident.days else ""
        now = "" if row.status == OK else f" (now {row.status}" + (f": {reasons})" if reasons else ")")
        return f"recovered{after}{now}"
    if event.kind == STREAK_EVENT:  # how long is said next to it ("KO for 3 days, since ...")
        return ", ".join(x for x in (reasons, "escalated") if x)
    return ", ".join(x for x in (reasons, f"was {event.was}" if event.was else "") if x)


def event_status(event: Event) -> str:
    return OK if event.kind == RECOVERED and event.row.status == OK else event.row.status


def _error(row_error: str | None, failure_type: str | None, limit: int) -> str:
    if not row_error:
        return ""
    return (f"{failure_type}: " if failure_type else "") + shorten(row_error, limit)


def _flow_summary(line: FlowLine | None) -> str:
    if line is None or line.day is None:
        return ""
    day = line.day
    counts = [f"{n} {s}" for s, n in ((KO, day.pipelines_ko), (WARNING, day.pipelines_warning)) if n]
    of = f" ({', '.join(counts)} of {day.pipelines_expected} pipelines)" if counts else ""
    reasons = f": {reasons_text(day.reason)}" if day.reason else ""
    lasting = incident_text(day.status, line.incident) if day.status == KO else ""
    return f"flow {day.status}{reasons}{of}" + (f", {lasting}" if lasting else "")


# --- e-mail: subject and plain text (templates/email/message.txt.j2) -------------------------------


def email_subject(message: Message) -> str:
    return shorten(message.title, 250)


def plain_text(message: Message) -> str:
    """The e-mail's text part; also what ``notify --dry-run`` prints."""
    return _TEXT.get_template("email/message.txt.j2").render(message=message)


# --- e-mail: HTML (templates/email/message.html.j2) -------------------------------------------------

_FLOW_COLUMNS = (("Flow", 110), ("Status", 90), ("Reasons", 0), ("Start", 50), ("End", 50), ("Duration", 70))
_FLOW_COLUMNS += (("Pipelines", 170),)
_PIPELINE_COLUMNS = (("Pipeline / flow", 160), ("Status", 90), ("Since", 120), ("Detail and error", 0))
# The digest's "not monitored" block: gold/config_drift of the date (source.factory), when the factory disagrees.
NOT_MONITORED_TITLE = "Not monitored: the config and the factory disagree"
_NOT_MONITORED_COLUMNS = (("Kind", 120), ("Pipeline", 200), ("What differs", 0))


def _one_line_or_markup(value: object) -> object:
    """Every value written into the e-mail is one line of text (markup the templates made is left as it is)."""
    return value if isinstance(value, Markup) else one_line(None if value is None else str(value))


_LOADER = PackageLoader("monitoring.alerts", "templates")
_HTML = Environment(loader=_LOADER, autoescape=True, undefined=StrictUndefined, finalize=_one_line_or_markup)
_TEXT = Environment(
    loader=_LOADER,
    autoescape=False,  # plain text: nothing to escape, and nothing there is read as markup
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
for _environment in (_HTML, _TEXT):
    _environment.filters["one_line"] = one_line
    _environment.globals.update(
        KO=KO,
        WARNING=WARNING,
        STATUS_COLORS=STATUS_COLORS,
        NO_ROW_COLOR=NO_ROW_COLOR,
        ERROR_CHARS_EMAIL=ERROR_CHARS_EMAIL,
        FLOW_COLUMNS=_FLOW_COLUMNS,
        PIPELINE_COLUMNS=_PIPELINE_COLUMNS,
        NOT_MONITORED_TITLE=NOT_MONITORED_TITLE,
        NOT_MONITORED_COLUMNS=_NOT_MONITORED_COLUMNS,
        status_color=status_color,
        since_text=since_text,
        reasons_text=reasons_text,
        incident_text=incident_text,
        error_text=_error,
        flow_summary=_flow_summary,
        event_status=event_status,
        event_text=event_text,
    )


def message_status(message: Message) -> str:
    """The colour-giving status of a message: its worst event, or the digest's worst flow."""
    if message.digest is not None:
        statuses = [line.day.status for line in message.digest.flows if line.day]
    else:
        statuses = [event_status(e) for e in message.events]
    for status in (KO, WARNING, PENDING):
        if status in statuses:
            return status
    return OK


def email_html(message: Message) -> str:
    return _HTML.get_template("email/message.html.j2").render(message=message, status=message_status(message))


# --- Teams: Adaptive Card --------------------------------------------------------------------------
# Built as data and serialised by json.dumps, not templated: a JSON template would have to escape every value
# by hand (quotes, backslashes, control characters), which is what the e-mail templates' autoescape removed.


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _rich(*inlines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [i for i in inlines if i["text"]], **extra}


def _card_pipeline(line: PipelineLine | Event, status: str, what: str) -> dict[str, Any]:
    row = line.row
    items = [
        _rich(
            _run(one_line(row.pipeline_name), weight="Bolder"),
            _run(f"  {status}", weight="Bolder", color=CARD_COLORS.get(status, "Default")),
            _run(f"  {one_line(what)}" if what else ""),
        ),
    ]
    lasting = since_text(line, status)
    detail = " · ".join(x for x in (lasting, one_line(row.detail)) if x)
    if detail:
        items.append(_rich(_run(detail, isSubtle=True), spacing="None"))
    error = _error(row.error_message, row.failure_type, ERROR_CHARS_CARD)
    if error:
        items.append(_rich(_run(error, fontType="Monospace", color="Attention", size="Small"), spacing="None"))
    return {"type": "Container", "separator": True, "items": items}


def teams_card(message: Message) -> dict[str, Any]:
    """The webhook payload: a message with one Adaptive Card (accepted by incoming webhooks and Workflows)."""
    status = message_status(message)
    body: list[dict[str, Any]] = [
        _rich(_run(one_line(message.title), weight="Bolder", size="Medium", color=CARD_COLORS[status]))
    ]
    if message.digest is not None:
        body += _card_digest(message.digest)
    else:
        summary = _flow_summary(message.flow_line)
        body.append(
            _rich(
                _run(f"{message.business_date}  "),
                _run(one_line(message.flow), weight="Bolder"),
                _run(f"  {summary}" if summary else ""),
                spacing="Small",
            )
        )
        body += [_card_pipeline(e, event_status(e), event_text(e)) for e in message.events]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if message.report_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": message.report_url}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def _card_digest(digest: Digest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for line in digest.flows:
        day = line.day
        if day is None:
            items.append(
                _rich(_run(one_line(line.flow), weight="Bolder"), _run("  no pipeline expected", isSubtle=True))
            )
            continue
        lasting = incident_text(day.status, line.incident) if day.status == KO else ""
        extra = " · ".join(x for x in (reasons_text(day.reason), lasting) if x)
        items.append(
            _rich(
                _run(one_line(line.flow), weight="Bolder"),
                _run(f"  {day.status}", weight="Bolder", color=CARD_COLORS[day.status]),
                _run(f"  {extra}" if extra else "", isSubtle=True),
            )
        )
    blocks: list[dict[str, Any]] = [{"type": "Container", "items": items, "spacing": "Medium"}]
    if digest.pipelines:
        blocks.append(_rich(_run("KO and WARNING pipelines", weight="Bolder"), spacing="Medium"))
        shown = digest.pipelines[:CARD_MAX_PIPELINES]
        blocks += [_card_pipeline(p, p.row.status, reasons_text(p.row.reason)) for p in shown]
        if len(digest.pipelines) > len(shown):
            more = len(digest.pipelines) - len(shown)
            blocks.append(_rich(_run(f"… and {more} more in the e-mail digest and the report", isSubtle=True)))
    else:
        blocks.append(_rich(_run("No KO or WARNING pipeline."), spacing="Medium"))
    return blocks + _not_monitored_card(digest)


def _not_monitored_card(digest: Digest) -> list[dict[str, Any]]:
    if not digest.not_monitored:
        return []
    shown = digest.not_monitored[:CARD_MAX_PIPELINES]
    blocks = [_rich(_run(NOT_MONITORED_TITLE, weight="Bolder"), spacing="Medium")]
    blocks += [
        _rich(_run(one_line(f.pipeline), weight="Bolder"), _run(f"  {one_line(f.detail)}", isSubtle=True))
        for f in shown
    ]
    if len(digest.not_monitored) > len(shown):
        blocks.append(
            _rich(_run(f"… and {len(digest.not_monitored) - len(shown)} more in the e-mail digest", isSubtle=True))
        )
    return blocks
