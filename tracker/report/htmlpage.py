"""The report as one self-contained HTML page that mail clients show as it is.

Mail clients strip ``<style>`` blocks, scripts, positioning and remote content in different ways,
so the page uses none of them: inline ``style`` attributes only, tables for layout, no images,
fonts, stylesheets or links to anything. Every text from the database is escaped. The chart is
a table of CSS bars: one per open request, as long as its silence, with a black line at its
deadline.
"""

from __future__ import annotations

from html import escape

from tracker.report.i18n import Labels
from tracker.report.layout import BAD, GOOD, SOON, WORSE, Block, heading, sections
from tracker.report.model import DUE_SOON_DAYS, WeeklyReport
from tracker.report.rows import RequestLine

CHART_LIMIT = 50  # bars: enough for a person to read, small enough for a mail client

_FONT = "font-family:Arial,Helvetica,sans-serif"
_CELL = "padding:4px 6px;border:1px solid #d0d0d0;vertical-align:top;text-align:left"
_ROW = {
    "": "",
    GOOD: "background:#e8f5e9",
    SOON: "background:#fff8e1",
    BAD: "background:#fdecea;color:#b71c1c",
    WORSE: "background:#f8d7da;color:#7f0000;font-weight:bold",
}
_BAR = {"": "#1e88e5", SOON: "#f9a825", BAD: "#c62828", WORSE: "#7f0000"}


def _e(text: str) -> str:
    # Cells come from layout, which has made outside text one printable line already.
    return escape(text, quote=True)


def _table(block: Block) -> str:
    if not block.rows:
        return f'<p style="margin:4px 0 12px 0;color:#555">{_e(block.empty)}</p>'
    head = "".join(
        f'<th style="{_CELL};background:#f0f0f0{";text-align:right" if c.numeric else ""}">'
        f"{_e(c.label)}</th>" for c in block.columns)
    opens = [f'<td style="{_CELL}{";text-align:right;white-space:nowrap" if c.numeric else ""}'
             f'{"" if c.wide or c.numeric else ";white-space:nowrap"}">' for c in block.columns]
    body = []
    for row, tone in zip(block.rows, block.tones, strict=True):
        cells = "".join([f"{start}{_e(text)}</td>" for start, text in zip(opens, row, strict=True)])
        body.append(f'<tr style="{_ROW[tone]}">{cells}</tr>')
    header = f"<tr>{head}</tr>" if any(c.label for c in block.columns) else ""
    return (f'<table role="presentation" cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse;margin:4px 0 16px 0;font-size:13px">'
            f'{header}{"".join(body)}</table>')


def _bar_tone(line: RequestLine) -> str:
    if line.row.very_overdue:
        return WORSE
    if line.row.overdue:
        return BAD
    if line.due_in_days is not None and line.due_in_days <= DUE_SOON_DAYS:
        return SOON
    return ""


def _segment(width: float, colour: str, marker: str = "") -> str:
    return (f'<td style="width:{width:.1f}%;height:12px;padding:0;font-size:1px;'
            f'line-height:1px;background:{colour}{marker}">&nbsp;</td>')


def _bar(line: RequestLine, scale: int) -> str:
    """A bar as long as the silence, with a black line where the deadline falls."""
    days = line.row.days_without_response or 0
    deadline = line.deadline_days or 0
    colour, empty = _BAR[_bar_tone(line)], "#eeeeee"
    edge = ";border-left:2px solid #000000"
    pct = 100 / scale
    cells = []
    if days <= deadline:
        if days:
            cells.append(_segment(days * pct, colour))
        if deadline > days:
            cells.append(_segment((deadline - days) * pct, empty))
        after = scale - deadline
        if after:
            cells.append(_segment(after * pct, empty, edge))
        else:  # the deadline is the right end of the chart
            cells[-1] = cells[-1].replace(';background:', ';border-right:2px solid #000000;'
                                          'background:')
    else:
        cells.append(_segment(deadline * pct, colour))
        cells.append(_segment((days - deadline) * pct, colour, edge))
        if scale > days:
            cells.append(_segment((scale - days) * pct, empty))
    title = f"{line.ref}: {days} / {deadline}"
    return (f'<table role="presentation" class="bar" title="{_e(title)}" width="100%" '
            f'cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;'
            f'table-layout:fixed"><tr>{"".join(cells)}</tr></table>')


def chart(report: WeeklyReport, limit: int = CHART_LIMIT) -> str:
    """Days without response of each open request against its deadline, longest first."""
    t = Labels(report.language)
    waiting = [line for line in report.open_lines
               if line.row.days_without_response is not None and line.deadline_days]
    if not waiting:
        return ""
    shown = waiting[:limit]
    scale = max(max(line.row.days_without_response or 0, line.deadline_days or 0)
                for line in shown) or 1
    rows = []
    for line in shown:
        days = line.row.days_without_response or 0
        label = f"{t.days(days)} / {t.days(line.deadline_days)}"
        rows.append(
            f'<tr><td style="padding:2px 8px 2px 0;white-space:nowrap;font-size:12px">'
            f'{_e(line.ref)} <span style="color:#666">{_e(line.row.platform)}</span></td>'
            f'<td style="padding:2px 0;width:100%">{_bar(line, scale)}</td>'
            f'<td style="padding:2px 0 2px 8px;white-space:nowrap;font-size:12px;'
            f'text-align:right">{_e(label)}</td></tr>')
    note = t("chart_legend")
    if len(waiting) > len(shown):
        note += " " + t("chart_more", n=len(shown), total=len(waiting))
    return (f'<h3 style="font-size:15px;margin:16px 0 4px 0">{_e(t("chart"))}</h3>'
            f'<p style="margin:0 0 6px 0;color:#555;font-size:12px">{_e(note)}</p>'
            f'<table role="presentation" cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse;width:100%;max-width:760px;margin:0 0 16px 0">'
            f'{"".join(rows)}</table>')


def render_html(report: WeeklyReport, *, chart_limit: int = CHART_LIMIT) -> str:
    """The whole page: inline styles, no scripts, no remote resources."""
    title, week = heading(report)
    lang = "zh-Hans" if report.language == "zh-Hans" else "en"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title></head>",
        f'<body style="margin:0;padding:16px;background:#ffffff;color:#111111;{_FONT};'
        'font-size:14px;line-height:1.4">',
        f'<h1 style="font-size:20px;margin:0 0 4px 0">{_e(title)}</h1>',
        f'<p style="margin:0 0 16px 0;color:#444">{_e(week)}</p>',
    ]
    for section in sections(report):
        parts.append(f'<h2 style="font-size:17px;margin:20px 0 6px 0;border-bottom:2px solid '
                     f'#333;padding-bottom:2px">{_e(section.title)}</h2>')
        for block in section.blocks:
            if block.title:
                parts.append(f'<h3 style="font-size:15px;margin:12px 0 4px 0">'
                             f"{_e(block.title)}</h3>")
            parts.append(_table(block))
        if section.key == "summary":
            parts.append(chart(report, chart_limit))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
