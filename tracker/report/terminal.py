"""The report for a terminal: rich tables, overdue rows in red (as `tracker status`).

A terminal shows the first ``limit`` rows of each table (longest silence first) and says how
many more there are: rich lays out about a thousand rows a second, and a person reads fewer.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracker.report.layout import BAD, GOOD, SOON, WORSE, Block, heading, sections
from tracker.report.model import WeeklyReport

_STYLE = {"": "", GOOD: "green", SOON: "yellow", BAD: "red", WORSE: "bold red"}


ROW_LIMIT = 100
_MORE = {"en": "... and {n} more: --format html, markdown or csv shows every row",
         "zh-Hans": "……另有 {n} 行：--format html、markdown 或 csv 可显示全部"}


def table_of(block: Block, limit: int = 0, language: str = "en") -> Table | Text:
    """One block as a rich table (or a dim line saying there is nothing).

    With *limit*, only that many rows, and a last line saying how many were left out.
    """
    limit = limit if block.listing else 0
    table = _table(block, block.title, limit)
    hidden = len(block.rows) - limit if limit else 0
    if hidden > 0 and isinstance(table, Table):
        table.caption = _MORE[language].format(n=hidden)
        table.caption_justify = "left"
    return table


def _table(block: Block, title: str, limit: int = 0) -> Table | Text:
    if not block.rows:
        return Text(f"{title}: {block.empty}" if title else block.empty, style="dim")
    show_header = any(c.label for c in block.columns)
    table = Table(title=title or None, title_justify="left", show_header=show_header,
                  title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in block.columns:
        if column.numeric:
            table.add_column(column.narrow, justify="right", no_wrap=True)
        elif column.wide:
            table.add_column(column.narrow, overflow="fold", ratio=1, min_width=10)
        else:
            table.add_column(column.narrow, no_wrap=True)
    rows = zip(block.rows, block.tones, strict=True)
    for index, (row, tone) in enumerate(rows):
        if limit and index >= limit:
            break
        # Text, never markup: subjects and senders come from outside.
        table.add_row(*(Text(cell) for cell in row), style=_STYLE[tone])
    return table


def render_terminal(report: WeeklyReport, console: Console, *, limit: int = ROW_LIMIT) -> None:
    """Print the report's sections as rich tables on *console* (*limit* rows each; 0: all)."""
    title, week = heading(report)
    console.print(Text(title, style="bold"))
    console.print(Text(week))
    for section in sections(report):
        console.print()
        console.rule(Text(section.title, style="bold"), align="left")
        for block in section.blocks:
            console.print(table_of(block, limit, report.language))
