"""Per-platform statistics: how each platform treats the organisation's requests."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from tracker.report.evaluate import Outcome, evaluate_all
from tracker.report.rows import shallow
from tracker.services.status import paused_gc
from tracker.services.workspace import Workspace
from tracker.store.db import transaction


@dataclass(frozen=True, slots=True)
class PlatformStats:
    """How one platform treats the organisation's requests."""

    platform: str
    name: str
    requests: int  # requests with a letter sent by the report day
    open: int
    answered: int  # requests that got a substantive reply (genuine or confirmed by a person)
    answered_share: float | None
    median_days_to_first_reply: float | None
    overdue: int
    longest_silence_days: int | None  # the longest current wait among its open requests
    longest_silence_ref: str | None

    def to_dict(self) -> dict[str, Any]:
        return shallow(self)


def summarise_platforms(ws: Workspace, outcomes: Iterable[Outcome]) -> list[PlatformStats]:
    """Per-platform statistics of *outcomes* (requests never sent are left out), by name."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.first_sent is not None:
            groups[outcome.platform].append(outcome)
    stats = []
    for slug, items in groups.items():
        platform = ws.platforms.get(slug)
        replies = [o.first_reply_days for o in items if o.first_reply_days is not None]
        waiting = [o for o in items if o.open and o.silence is not None]
        longest = min(waiting, key=lambda o: (-(o.silence or 0), o.ref), default=None)
        stats.append(PlatformStats(
            platform=slug, name=platform.name if platform else slug, requests=len(items),
            open=sum(o.open for o in items), answered=len(replies),
            answered_share=round(len(replies) / len(items), 3),
            median_days_to_first_reply=float(statistics.median(replies)) if replies else None,
            overdue=sum(o.overdue for o in items),
            longest_silence_days=longest.silence if longest else None,
            longest_silence_ref=longest.ref if longest else None,
        ))
    stats.sort(key=lambda s: (s.name.lower(), s.platform))
    return stats


@dataclass(frozen=True)
class PlatformReport:
    """`tracker stats`: per platform over all time, and per year of the first letter."""

    as_of: date
    all_time: list[PlatformStats]
    by_year: dict[int, list[PlatformStats]]

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(),
                "all_time": [s.to_dict() for s in self.all_time],
                "by_year": [{"year": year, "platforms": [s.to_dict() for s in stats]}
                            for year, stats in sorted(self.by_year.items())]}


def read_platform_stats(ws: Workspace, as_of: date) -> PlatformReport:
    """`platform_stats` in a transaction of its own (`tracker stats`, the web's statistics)."""
    with transaction(ws.engine) as session:
        return platform_stats(ws, session, as_of)


def platform_stats(ws: Workspace, session: Session, as_of: date) -> PlatformReport:
    """Per-platform statistics as of *as_of*, over all time and per year of the first letter."""
    with paused_gc():
        evaluated, _ = evaluate_all(ws, session, as_of, None)
    outcomes = [e.outcome for e in evaluated]
    years: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.first_sent is not None:
            years[outcome.first_sent.year].append(outcome)
    return PlatformReport(
        as_of=as_of, all_time=summarise_platforms(ws, outcomes),
        by_year={year: summarise_platforms(ws, items) for year, items in years.items()},
    )
