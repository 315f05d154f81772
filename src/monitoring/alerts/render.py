"""Messages as people read them: an e-mail (plain text + HTML) and a Teams Adaptive Card.

Every name, reason, detail and error text here comes from logs or from the YAML, so it is treated as data:

- in HTML it is escaped (``html.escape``), so ``<script>`` in an ADF error shows as text;
- in the card it goes into ``TextRun`` elements, which Teams shows verbatim: a ``TextBlock`` would
  interpret Markdown, so an error containing ``[click](http://...)`` would become a link;
- in headers (the e-mail subject) line breaks are removed, so text cannot add a header.

The HTML is e-mail-safe: table layout, inline styles only, no script, no external image or stylesheet,
colours from :data:`monitoring.rules.STATUS_COLORS`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

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
from monitoring.rules import KO, OK, PENDING, STATUS_COLORS, WARNING

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


# --- e-mail: subject and plain text ----------------------------------------------------------------


def email_subject(message: Message) -> str:
    return shorten(message.title, 250)


def plain_text(message: Message) -> str:
    """The e-mail's text part; also what ``notify --dry-run`` prints."""
    lines = [one_line(message.title), ""]
    if message.digest is not None:
        lines += _digest_text(message.digest)
    else:
        lines += _events_text(message)
    if message.report_url:
        lines += ["", f"Report: {message.report_url}"]
    return "\n".join(lines) + "\n"


def _digest_text(digest: Digest) -> list[str]:
    lines = [f"Flows on {digest.business_date}:"]
    for line in digest.flows:
        if line.day is None:
            lines.append(f"  {one_line(line.flow)}: no pipeline expected")
            continue
        day = line.day
        span = f", {day.start_local[11:16]}-{day.end_local[11:16]}" if day.start_local and day.end_local else ""
        duration = f" ({day.duration_hms})" if day.duration_hms else ""
        lasting = incident_text(day.status, line.incident) if day.status in (KO, WARNING) else ""
        details = ", ".join(x for x in (reasons_text(day.reason), lasting) if x)
        lines.append(f"  {day.status:<7} {one_line(line.flow)}{span}{duration}" + (f" - {details}" if details else ""))
    lines += ["", "KO and WARNING pipelines:" if digest.pipelines else "No KO or WARNING pipeline."]
    lines += [_pipeline_text(p, p.row.status, reasons_text(p.row.reason)) for p in digest.pipelines]
    return lines


def _pipeline_text(line: PipelineLine | Event, status: str, what: str) -> str:
    """'  KO      Flow / pipeline - what - since when', then its detail and error on their own lines."""
    row = line.row
    parts = [
        f"  {status:<7} {one_line(row.flow)} / {one_line(row.pipeline_name)}",
        what,
        since_text(line, status),
    ]
    text = " - ".join(p for p in parts if p)
    if row.detail:
        text += f"\n          {one_line(row.detail)}"
    error = _error(row.error_message, row.failure_type, ERROR_CHARS_EMAIL)
    if error:
        text += f"\n          error: {error}"
    return text


def _events_text(message: Message) -> list[str]:
    summary = _flow_summary(message.flow_line)
    lines = [f"Business date {message.business_date}" + (f", {summary}" if summary else "") + ":"]
    lines += [_pipeline_text(event, event_status(event), event_text(event)) for event in message.events]
    return lines


# --- e-mail: HTML ----------------------------------------------------------------------------------

_FONT = "font-family:'Segoe UI',Arial,Helvetica,sans-serif;"
_CELL = "padding:6px 8px;border-bottom:1px solid #e0e0e0;vertical-align:top;font-size:13px;"
_HEAD = "padding:6px 8px;border-bottom:2px solid #9e9e9e;text-align:left;font-size:12px;color:#616161;"


_FLOW_COLUMNS = (("Flow", 110), ("Status", 90), ("Reasons", 0), ("Start", 50), ("End", 50), ("Duration", 70))
_FLOW_COLUMNS += (("Pipelines", 170),)
_PIPELINE_COLUMNS = (("Pipeline / flow", 160), ("Status", 90), ("Since", 120), ("Detail and error", 0))


def _e(text: object) -> str:
    return html.escape(one_line(str(text)) if text is not None else "", quote=True)


def _badge(status: str, label: str | None = None) -> str:
    color = status_color(status, unknown=NO_ROW_COLOR)
    return (
        f'<span style="display:inline-block;padding:2px 8px;border-radius:3px;background-color:{color};'
        f'color:#ffffff;font-weight:bold;font-size:12px;white-space:nowrap;">{_e(label or status)}</span>'
    )


def _table(headers: Sequence[tuple[str, int]], rows: Sequence[Sequence[str]]) -> str:
    """A table of (header, width in px; 0 = the rest) columns: fixed widths keep dates and badges on one line."""
    head = "".join(
        f'<th align="left"{f" width={width!r}" if width else ""} style="{_HEAD}{f"width:{width}px;" if width else ""}">'
        f"{_e(name)}</th>"
        for name, width in headers
    )
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>" for row in rows)
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;width:100%;{_FONT}"><tr>{head}</tr>{body}</table>'
    )


def _error_html(row_error: str | None, failure_type: str | None) -> str:
    error = _error(row_error, failure_type, ERROR_CHARS_EMAIL)
    if not error:
        return ""
    # ADF errors hold long unbroken tokens (ErrorCode=...,'Type=...'): let them wrap instead of widening the mail.
    style = "margin-top:4px;font-family:Consolas,monospace;font-size:12px;color:#b71c1c;"
    style += "overflow-wrap:anywhere;word-break:break-word;"
    return f'<div style="{style}">{_e(error)}</div>'


def _pipeline_cells(line: PipelineLine | Event, status: str, what: str) -> list[str]:
    row = line.row
    detail = _e(row.detail) + _error_html(row.error_message, row.failure_type)
    return [
        f'<strong>{_e(row.pipeline_name)}</strong><div style="color:#757575;font-size:12px;">{_e(row.flow)}</div>',
        _badge(status) + (f'<div style="margin-top:4px;">{_e(what)}</div>' if what else ""),
        _e(since_text(line, status)),
        detail,
    ]


def _digest_html(digest: Digest) -> str:
    flow_rows = []
    for line in digest.flows:
        day = line.day
        if day is None:
            flow_rows.append([f"<strong>{_e(line.flow)}</strong>", _badge("", "none expected"), "", "", "", "", ""])
            continue
        counts = f"{day.pipelines_ok} OK, {day.pipelines_warning} WARNING, {day.pipelines_ko} KO"
        flow_rows.append(
            [
                f"<strong>{_e(line.flow)}</strong>",
                _badge(day.status),
                _e(reasons_text(day.reason)),
                _e((day.start_local or "")[11:16]),
                _e((day.end_local or "")[11:16]),
                _e(day.duration_hms or ""),
                _e(counts) + (f"<br>{_e(incident_text(day.status, line.incident))}" if day.status == KO else ""),
            ]
        )
    broken = [p.row.status for p in digest.pipelines]
    summary = f"{broken.count(KO)} KO and {broken.count(WARNING)} WARNING pipeline(s)." if broken else ""
    parts = [
        _section_title(f"Flows on {digest.business_date:%A %d %B %Y}"),
        _table(_FLOW_COLUMNS, flow_rows),
        _section_title("KO and WARNING pipelines"),
    ]
    if digest.pipelines:
        rows = [_pipeline_cells(p, p.row.status, reasons_text(p.row.reason)) for p in digest.pipelines]
        parts.append(f'<p style="margin:0 0 8px;{_FONT}font-size:13px;">{_e(summary)}</p>')
        parts.append(_table(_PIPELINE_COLUMNS, rows))
    else:
        parts.append(f'<p style="margin:0;{_FONT}font-size:13px;">No KO or WARNING pipeline.</p>')
    return "".join(parts)


def _section_title(text: str) -> str:
    return f'<h2 style="margin:20px 0 8px;{_FONT}font-size:15px;color:#212121;">{_e(text)}</h2>'


def _events_html(message: Message) -> str:
    summary = _flow_summary(message.flow_line)
    intro = f"Business date {message.business_date}" + (f", {summary}" if summary else "")
    rows = [_pipeline_cells(e, event_status(e), event_text(e)) for e in message.events]
    return f'<p style="margin:0 0 12px;{_FONT}font-size:13px;">{_e(intro)}</p>' + _table(_PIPELINE_COLUMNS, rows)


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
    color = STATUS_COLORS[message_status(message)]
    body = _digest_html(message.digest) if message.digest is not None else _events_html(message)
    link = ""
    if message.report_url:
        href = html.escape(message.report_url, quote=True)
        link = (
            f'<p style="margin:20px 0 0;{_FONT}font-size:13px;">'
            f'<a href="{href}" style="color:#1565c0;">Open the report</a></p>'
        )
    footer = "Sent by pipeline-monitor notify. A rerun never sends the same alert twice."
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(message.title)}</title></head>"
        '<body style="margin:0;padding:0;background-color:#f5f5f5;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background-color:#f5f5f5;"><tr><td align="center" style="padding:16px;">'
        '<table role="presentation" width="760" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:760px;max-width:100%;background-color:#ffffff;border:1px solid #e0e0e0;{_FONT}">'
        f'<tr><td style="padding:16px 20px;border-top:6px solid {color};">'
        f'<h1 style="margin:0;{_FONT}font-size:18px;color:#212121;">{_e(message.title)}</h1></td></tr>'
        f'<tr><td style="padding:0 20px 20px;">{body}{link}</td></tr>'
        f'<tr><td style="padding:12px 20px;border-top:1px solid #e0e0e0;{_FONT}font-size:11px;color:#757575;">'
        f"{_e(footer)}</td></tr></table></td></tr></table></body></html>"
    )


# --- Teams: Adaptive Card --------------------------------------------------------------------------


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
    return blocks
