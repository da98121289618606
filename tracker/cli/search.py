"""`tracker search`: find requests by reference, platform, subject or the text of their mail."""

from __future__ import annotations

import click

from tracker.cli.base import emit_json, main, out, with_workspace
from tracker.cli.tables import search_table
from tracker.services import search as searching
from tracker.services.workspace import Workspace


@main.command()
@click.argument("text", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000),
              help="Show at most this many requests.")
@click.option("--reindex", is_flag=True,
              help="First read again the words of every message the search has not seen.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def search(ws: Workspace, text: str | None, limit: int, reindex: bool, as_json: bool) -> None:
    """Find requests by reference, platform, subject or the text of their messages.

    TEXT is found anywhere in them, in any language and case: `tracker search Zoom`,
    `tracker search 账号`. Each request shows where it matched (reference, platform, subject,
    or message and its id for `tracker message show`) and the words around it.
    """
    if reindex:
        count = searching.reindex(ws)
        if not as_json:
            click.echo(f"read the words of {count} message{'' if count == 1 else 's'}",
                       err=text is not None)
        if text is None:
            return
    if text is None:
        raise click.UsageError("give TEXT to search for (or --reindex)")
    result = searching.search(ws, text, limit=limit)
    if as_json:
        emit_json(result.to_dict())
        return
    if not result.hits:
        click.echo(f"no request matches {result.query!r}")
        return
    out.print(search_table(result))
    if result.total > len(result.hits):
        click.echo(f"(the first {len(result.hits)}; --limit shows more)")
