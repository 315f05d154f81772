"""Small formatting helpers of the report: dates, durations, rates, escaping."""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from monitoring.vocabulary import REASONS, STATUS_COLORS, STATUS_SEVERITY

if TYPE_CHECKING:
    pass


STALE_AFTER = timedelta(days=1)  # the job runs every night: older data means a night was missed
NO_STATUS_COLOR = "#E4E7EB"  # a day without a row: not expected, nothing to say
STATUSES_WORST_FIRST: tuple[str, ...] = tuple(sorted(STATUS_COLORS, key=STATUS_SEVERITY.__getitem__))
REASON_MEANINGS: dict[str, str] = {reason.code: reason.meaning for reason in REASONS}


# --- small formatting helpers ------------------------------------------------------------------------


def esc(value: object) -> str:
    """Text for the charts' hover labels, which Plotly renders as HTML; None is empty."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value: object) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the block or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    # JSON allows these two raw; old JavaScript parsers did not.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def hms(seconds: float | None) -> str:
    """12345 -> '03:25:45' (hours may pass 24), like the tables' duration_hms."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def clock(local: str | None, business_date: date) -> str:
    """'2026-03-18 00:10:25' -> '00:10:25'; a later calendar day than the business date gets '+1d'."""
    if not local:
        return "—"
    day_text, _, time_text = local.partition(" ")
    try:
        offset = (date.fromisoformat(day_text) - business_date).days
    except ValueError:
        return local
    return time_text if offset == 0 else f"{time_text} {offset:+d}d"


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    return f"{day:%a} {day.day:02d} {day:%b %Y}"


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def age_text(age: timedelta) -> str:
    """How long ago, in the unit a reader wants: 'just now', '12 min ago', '5 h 03 min ago', '3 days ago'."""
    seconds = age.total_seconds()
    if seconds < -5 * 60:  # beyond the clock skew of two machines: say it, it is worth a look
        return "in the future"
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min ago"
    return f"{minutes // (24 * 60)} days ago"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def signed_points(change: float | None) -> str:
    """A change of rate in percentage points; nothing when there is no previous period or no change."""
    return "" if change is None or abs(change) < 0.0005 else f"{change * 100:+.1f} pt"


def is_stale(evaluated_at: datetime | None, now: datetime) -> bool:
    return evaluated_at is None or now - evaluated_at > STALE_AFTER


def search_text(*parts: str | None) -> str:
    return " ".join(part for part in parts if part).lower()
