"""Business calendars: weekends plus a country's public holidays (the holidays package).

Pure: a calendar answers for any day given to it and never reads the clock. Deadline rules count
with it (`tracker.core.deadlines`), and so does the wait (`tracker.core.clock`).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

import holidays

from tracker.core.countries import one_country_at_a_time
from tracker.core.errors import InputError, suggest

__all__ = ["BusinessCalendar"]


class BusinessCalendar:
    """Weekends plus a country's public holidays (holidays package); country "" = weekends only.

    The weekend is the country's own (Fri-Sat in some countries), Sat-Sun without a country.
    Holidays are looked up once per year and kept, so counting over years costs a few bisects.
    """

    def __init__(self, country: str = "", subdivision: str = "") -> None:
        self.country = country.strip().upper()
        self.subdivision = ""
        self._weekend: frozenset[int] = frozenset({5, 6})
        self._language: str | None = None
        wanted = subdivision.strip()
        if not self.country and wanted:
            raise InputError(f"holiday subdivision {subdivision!r} needs a country, e.g. DE and BY")
        if self.country:
            one_country_at_a_time()
            try:
                probe = holidays.country_holidays(self.country, years=[])
            except NotImplementedError:
                raise InputError(
                    f"no public-holiday calendar for country {country!r}; "
                    "use an ISO 3166 code such as DE, GB, US or TW"
                ) from None
            self.subdivision = _match_subdivision(probe, self.country, wanted)
            self._weekend = frozenset(probe.weekend)
            # Holiday names appear in explanations and evidence: keep them English everywhere,
            # whatever translations the installed package carries.
            default = probe.default_language or ""
            if not default.startswith("en") and "en_US" in probe.supported_languages:
                self._language = "en_US"
        self._workdays = tuple(d for d in range(7) if d not in self._weekend)
        # _before[r]: workdays among the first r days of a week (ordinal 1, 1 Jan 1 AD, is a Monday)
        self._before = tuple(sum(1 for d in self._workdays if d < r) for r in range(8))
        self._years: dict[int, tuple[dict[date, str], list[int]]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.country!r}, {self.subdivision!r})"

    @property
    def label(self) -> str:
        """Short name for explanations: "DE-BY", "DE" or "weekends only"."""
        if not self.country:
            return "weekends only"
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    def is_business_day(self, day: date) -> bool:
        """True unless *day* is a weekend day or a public holiday."""
        return day.weekday() not in self._weekend and day not in self._year(day.year)[0]

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name on *day* (several joined by "; "), or None."""
        return self._year(day.year)[0].get(day)

    def business_days_between(self, start: date, end: date) -> int:
        """Count business days d with start < d <= end; 0 if end <= start."""
        if end <= start:
            return 0
        first, last = start.toordinal(), end.toordinal()
        count = self._workdays_through(last) - self._workdays_through(first)
        for year in range(start.year, end.year + 1):
            off = self._year(year)[1]
            count -= bisect_right(off, last) - bisect_right(off, first)
        return count

    def add_business_days(self, start: date, n: int) -> date:
        """Return the n-th business day after *start* (*start* itself for n == 0)."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        day = start
        while n > 0:
            # Jump to the n-th workday ignoring holidays, then make up for the holidays passed.
            # The target is a workday, so once no holiday was passed it is the answer.
            reach = self._workdays_through(day.toordinal()) + n
            target = date.fromordinal(self._nth_workday(reach))
            n -= self.business_days_between(day, target)
            day = target
        return day

    def next_business_day(self, day: date) -> date:
        """Return *day* itself if it is a business day, else the first business day after it."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def _workdays_through(self, ordinal: int) -> int:
        """Weekend-free days with ordinals 1..ordinal."""
        weeks, rest = divmod(ordinal, 7)
        return weeks * len(self._workdays) + self._before[rest]

    def _nth_workday(self, count: int) -> int:
        """Ordinal of the day where ``_workdays_through`` first reaches *count* (count >= 1)."""
        weeks, index = divmod(count - 1, len(self._workdays))
        return weeks * 7 + self._workdays[index] + 1

    def _year(self, year: int) -> tuple[dict[date, str], list[int]]:
        """Holiday names of *year*, and the sorted ordinals of those on workdays."""
        cached = self._years.get(year)
        if cached is None:
            names: dict[date, str] = {}
            if self.country:
                found = holidays.country_holidays(
                    self.country, subdiv=self.subdivision or None, years=year,
                    language=self._language,
                )
                names = {day: str(name) for day, name in found.items() if day.year == year}
            off = sorted(d.toordinal() for d in names if d.weekday() not in self._weekend)
            cached = self._years[year] = (names, off)
        return cached


def _match_subdivision(probe: holidays.HolidayBase, country: str, wanted: str) -> str:
    """Return the holidays package's code for *wanted* ("by", "DE-BY", "Bayern"), or raise."""
    if not wanted:
        return ""
    codes = {code.upper(): code for code in probe.subdivisions}
    aliases = getattr(probe, "subdivisions_aliases", {})
    codes.update({name.upper(): code for name, code in aliases.items()})
    key = wanted.upper().removeprefix(f"{country}-")
    if key in codes:
        return str(codes[key])
    raise InputError(
        f"country {country} has no holiday subdivision {wanted!r}"
        f"{suggest(key, codes)}; use one of {', '.join(probe.subdivisions)}"
    )

