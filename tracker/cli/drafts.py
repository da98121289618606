"""`tracker draft`: the letters waiting to be sent; approve, redraft or discard one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click
from rich.table import Table
from rich.text import Text

from tracker.cli.base import TrackerGroup, emit_json, main, now_for, out, with_workspace
from tracker.core.tags import parse_ref
from tracker.letters.loading import parse_var_assignments
from tracker.services import drafts
from tracker.services.workspace import Workspace


def _local(moment: datetime, ws: Workspace) -> str:
    return moment.astimezone(ws.settings.tz).strftime("%Y-%m-%d %H:%M")


@main.group(cls=TrackerGroup)
def draft() -> None:
    """Letters waiting to be sent: review and approve, redraft or discard them."""


@draft.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def draft_list(ws: Workspace, as_json: bool) -> None:
    """List the pending drafts: template, language, who drafted them, approved or not."""
    found = drafts.list_drafts(ws)
    if as_json:
        emit_json([d.to_dict() for d in found])
        return
    if not found:
        click.echo("no drafts waiting to be sent")
        return
    table = Table("ref", "template", "language", "drafted", "by", "approved", "channel")
    for d in found:
        approved = f"yes, by {d.approved_by} {_local(d.approved_at, ws)}" if d.approved_at \
            else "no"
        if d.status == "sending":
            approved = "SENDING: check with `tracker send`"
        table.add_row(Text(d.ref), Text(d.template), Text(d.language),
                      Text(_local(d.drafted_at, ws)), Text(d.drafted_by), Text(approved),
                      Text(d.channel))
    out.print(table)


@draft.command(name="approve")
@click.argument("ref")
@with_workspace
def draft_approve(ws: Workspace, ref: str) -> None:
    """Record that you reviewed the draft (`tracker letter REF`) and it may go out."""
    found, new = drafts.approve_draft(ws, ref, now_for(ws))
    if new:
        click.echo(f"approved the {found.template} draft of {found.ref}")
    else:
        assert found.approved_at is not None
        click.echo(f"the {found.template} draft of {found.ref} was approved already, by "
                   f"{found.approved_by} on {_local(found.approved_at, ws)}")


@draft.command(name="redraft")
@click.argument("ref")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="A template variable to set or change (repeat).")
@click.option("--template", "template_name", default=None,
              help="Another template of the same kind (default: the draft's).")
@click.option("--language", default=None, type=click.Choice(["en", "zh-Hans"]),
              help="Another language (default: the draft's).")
@with_workspace
def draft_redraft(ws: Workspace, ref: str, variables: Sequence[str],
                  template_name: str | None, language: str | None) -> None:
    """Write the draft again with new values; an earlier approval no longer counts."""
    message = drafts.redraft(ws, ref, parse_var_assignments(list(variables)), now_for(ws),
                             template=template_name, language=language)
    click.echo(f"redrafted {parse_ref(ref)} as {message.template} ({message.language}); review "
               f"it with `tracker letter {parse_ref(ref)}`")


@draft.command(name="discard")
@click.argument("ref")
@click.option("--reason", default="", help="Why it is not sent (kept in the record).")
@with_workspace
def draft_discard(ws: Workspace, ref: str, reason: str) -> None:
    """Set the pending follow-up aside: it is kept, marked discarded, and never sent."""
    message = drafts.discard_draft(ws, ref, reason, now_for(ws))
    click.echo(f"discarded the {message.template} draft of {parse_ref(ref)}")
