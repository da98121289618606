"""The terminal's rich console, made safe for text from mail (see `tracker.core.inert`).

`cell` makes a ``Text`` of an untrusted value, and `inert_console` builds a console whose every
printed segment is made inert, the guard for a value a command forgot (rich's ``Text`` drops
BEL and CR, but keeps ESC, C1 and bidi controls).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderHook
from rich.segment import Segment
from rich.text import Text

from tracker.core.inert import inert_line, inert_text

__all__ = ["cell", "inert_console"]


def cell(value: object, style: str = "") -> Text:
    """An untrusted value as a rich ``Text`` for a table cell or a line: inert, never markup."""
    return Text(inert_line(value), style=style)


class _Inert:
    """Renders another renderable and makes the text of its segments inert."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for segment in console.render(self.inner, options):
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(inert_text(segment.text), segment.style)


class _InertHook(RenderHook):
    def process_renderables(
            self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Inert(r) for r in renderables]


def inert_console(**options: Any) -> Console:
    """A rich ``Console`` (*options* as for it) that prints nothing a terminal would obey.

    Its own colours still work: styles become escape sequences after this guard has run.
    Values should still go in through `cell` so that tables are laid out for what is shown.
    """
    console = Console(**options)
    console.push_render_hook(_InertHook())
    return console
