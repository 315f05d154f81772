"""ADF's trigger time zones to IANA names.

A schedule trigger's ``timeZone`` is a Windows name ("Romance Standard Time"). The mapping is CLDR's
``windowsZones.xml`` (territory 001), as tzlocal ships and keeps it up to date: no hand-written table here.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

# CLDR's canonical ids are sometimes older aliases (America/Buenos_Aires): the current IANA name reads better.
_CURRENT_NAMES = {"Etc/UTC": "UTC"}


class UnknownTimeZoneError(ValueError):
    pass


def iana_time_zone(name: str) -> str:
    """The IANA zone of an ADF ``timeZone`` ("Romance Standard Time" -> "Europe/Paris"; "UTC" -> "UTC").

    An IANA name given as it is (ADF accepts none, but ARM templates are edited by hand) is kept.
    """
    text = name.strip()
    if text in win_tz:
        zone = win_tz[text]
        return _CURRENT_NAMES.get(zone, zone)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of tzdata, e.g. 'Europe'
        raise UnknownTimeZoneError(f"{name!r} is neither a Windows time zone name nor an IANA one") from None
    return text
