"""The Unix epoch as an aware UTC datetime, in one place.

Epoch counts (the Jobs API's milliseconds, Spark's ``unix_micros``) convert to and from it exactly with timedelta
arithmetic, never through floats; and an aware value cannot be shifted into the machine's local zone.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
