"""The report as one self-contained HTML page that mail clients show as it is.

Mail clients strip ``<style>`` blocks, scripts, positioning and remote content in different ways,
so the page uses none of them: inline ``style`` attributes only, tables for layout, no images,
fonts, stylesheets or links to anything. The page is ``weekly_report.html`` (tracker.pages),
which escapes every text. The chart is a table of CSS bars: one per open request, as long as its
silence, with a black line at its deadline; this module measures the bars.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.pages import render_page
from tracker.report.i18n import Labels
from tracker.report.layout import BAD, SOON, WORSE, heading, sections
from tracker.report.model import WeeklyReport
from tracker.report.rows import RequestLine
from tracker.services.facts import DUE_SOON_DAYS

CHART_LIMIT = 50  # bars: enough for a person to read, small enough for a mail client


@dataclass(frozen=True)
class Segment:
    """One stretch of a bar: filled (days of silence) or empty, as a share of the chart."""

    width: str  # percent of the chart, one decimal
    filled: bool
    left_edge: bool = False  # the deadline falls at its left end
    right_edge: bool = False  # the deadline is the right end of the chart


@dataclass(frozen=True)
class Bar:
    """One open request in the chart: its silence against its deadline."""

    ref: str
    platform: str
    tone: str
    title: str
    label: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    note: str
    bars: tuple[Bar, ...]


def _bar_tone(line: RequestLine) -> str:
    if line.row.very_overdue:
        return WORSE
    if line.row.overdue:
        return BAD
    if line.due_in_days is not None and line.due_in_days <= DUE_SOON_DAYS:
        return SOON
    return ""


def _segments(days: int, deadline: int, scale: int) -> tuple[Segment, ...]:
    """A bar as long as the silence, with a black line where the deadline falls."""
    pct = 100 / scale

    def part(length: int, filled: bool, left_edge: bool = False) -> Segment:
        return Segment(f"{length * pct:.1f}", filled, left_edge)

    cells = []
    if days <= deadline:
        if days:
            cells.append(part(days, True))
        if deadline > days:
            cells.append(part(deadline - days, False))
        after = scale - deadline
        if after:
            cells.append(part(after, False, left_edge=True))
        else:  # the deadline is the right end of the chart
            last = cells[-1]
            cells[-1] = Segment(last.width, last.filled, last.left_edge, right_edge=True)
    else:
        cells.append(part(deadline, True))
        cells.append(part(days - deadline, True, left_edge=True))
        if scale > days:
            cells.append(part(scale - days, False))
    return tuple(cells)


def chart(report: WeeklyReport, limit: int = CHART_LIMIT) -> Chart | None:
    """Days without response of each open request against its deadline, longest first."""
    t = Labels(report.language)
    waiting = [line for line in report.open_lines
               if line.row.days_without_response is not None and line.deadline_days]
    if not waiting:
        return None
    shown = waiting[:limit]
    scale = max(max(line.row.days_without_response or 0, line.deadline_days or 0)
                for line in shown) or 1
    bars = []
    for line in shown:
        days = line.row.days_without_response or 0
        deadline = line.deadline_days or 0
        bars.append(Bar(ref=line.ref, platform=line.row.platform, tone=_bar_tone(line),
                        title=f"{line.ref}: {days} / {deadline}",
                        label=f"{t.days(days)} / {t.days(line.deadline_days)}",
                        segments=_segments(days, deadline, scale)))
    note = t("chart_legend")
    if len(waiting) > len(shown):
        note += " " + t("chart_more", n=len(shown), total=len(waiting))
    return Chart(t("chart"), note, tuple(bars))


def render_html(report: WeeklyReport, *, chart_limit: int = CHART_LIMIT) -> str:
    """The whole page: inline styles, no scripts, no remote resources."""
    title, week = heading(report)
    return render_page("weekly_report.html", {
        "lang": "zh-Hans" if report.language == "zh-Hans" else "en",
        "title": title,
        "week": week,
        "sections": sections(report),
        "chart": chart(report, chart_limit),
    })
