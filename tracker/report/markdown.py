"""The report as Markdown (for pasting into a wiki or a chat) and as plain text (email)."""

from __future__ import annotations

import re
from collections.abc import Callable

from tracker.report.layout import Block, clean, heading, sections
from tracker.report.model import WeeklyReport

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def escape(text: str) -> str:
    """Text that Markdown shows as written: no links, emphasis, HTML or broken tables."""
    return _SPECIAL.sub(r"\\\1", clean(text))


def _plain(text: str) -> str:
    return clean(text).replace("|", "/")  # keeps the table's columns in a text mail


def _table(block: Block, fmt: Callable[[str], str]) -> list[str]:
    if not block.rows:
        return [fmt(block.empty), ""]
    header = [fmt(c.label) or " " for c in block.columns]
    rule = ["---:" if c.numeric else "---" for c in block.columns]
    lines = [f"| {' | '.join(header)} |", f"| {' | '.join(rule)} |"]
    lines += [f"| {' | '.join(fmt(text) for text in row)} |" for row in block.rows]
    return [*lines, ""]


def render_markdown(report: WeeklyReport, *, plain: bool = False) -> str:
    """GitHub-flavoured Markdown; with *plain*, the same layout unescaped for a text/plain mail."""
    cell = _plain if plain else escape
    title, week = heading(report)
    out = [f"# {cell(title)}", "", cell(week), ""]
    for section in sections(report):
        out += [f"## {cell(section.title)}", ""]
        for block in section.blocks:
            if block.title:
                out += [f"### {cell(block.title)}", ""]
            out += _table(block, cell)
    return "\n".join(out).rstrip("\n") + "\n"


def render_text(report: WeeklyReport) -> str:
    return render_markdown(report, plain=True)
