"""Which countries have a public-holiday calendar, known without loading any calendar."""

from __future__ import annotations

from functools import cache


@cache
def _codes() -> frozenset[str]:
    # The registry's codes are the keys of ``holidays.list_supported_countries()`` (aliases
    # included), which imports every country's module to list its subdivisions: a tenth of a
    # second at every start, for a yes or no.
    from holidays.registry import EntityLoader

    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


def has_holiday_calendar(country: str) -> bool:
    """Does the holidays package have a calendar for *country* (ISO 3166 code, upper case)?"""
    return country in _codes()
