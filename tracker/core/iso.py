"""Days and moments as ISO 8601 text: the one way JSON, status rows and evidence write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

__all__ = ["iso_day", "iso_utc"]


def iso_day(day: date | None) -> str | None:
    """*day* as ``YYYY-MM-DD``, or None for no day."""
    return day.isoformat() if day else None


def iso_utc(moment: datetime | None) -> str | None:
    """*moment* in UTC as ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``, or None for no moment."""
    return moment.astimezone(UTC).isoformat() if moment else None
