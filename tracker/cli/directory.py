"""Commands for the platform directory and the letter templates."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from tracker.cli.base import (
    TrackerGroup,
    emit_json,
    main,
    now_for,
    out,
    with_workspace,
)
from tracker.directory.loading import find_platform
from tracker.letters.loading import get_template
from tracker.services.platforms import PlatformForm, save_platform
from tracker.services.workspace import Workspace


@main.group(cls=TrackerGroup)
def platform() -> None:
    """The platform directory: who to write to, and how."""


@platform.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def platform_list(ws: Workspace, as_json: bool) -> None:
    """List known platforms (shipped and your workspace's own)."""
    items = sorted(ws.platforms.values(), key=lambda p: p.slug)
    if as_json:
        emit_json([p.to_dict() for p in items])
        return
    table = Table("slug", "name", "channel", "contact", "laws", "origin")
    for p in items:
        contact = p.default_recipient()
        table.add_row(Text(p.slug), Text(p.name), Text(p.suggested_channel),
                      Text(contact.value if contact else "-"), Text(", ".join(p.laws)),
                      Text(p.origin))
    out.print(table)


@platform.command(name="show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def platform_show(ws: Workspace, slug: str, as_json: bool) -> None:
    """Show one platform: entities, contacts with their sources and check dates."""
    p = find_platform(ws.platforms, slug)
    data = p.to_dict()
    if as_json:
        emit_json(data)
        return
    out.print(Text(f"{p.name} ({p.slug}, {p.origin})", style="bold"))
    for label, key in (("website", "website"), ("suggested channel", "suggested_channel"),
                       ("laws", "laws"), ("lead authority", "lead_authority"),
                       ("reply domains", "reply_domains")):
        value = data.get(key)
        if isinstance(value, list):
            value = ", ".join(value)
        out.print(Text(f"{label}: {value or '-'}"))
    for entity in p.entities:
        mark = "" if entity.verified else "  [unverified]"
        out.print(Text(f"\nentity ({entity.region}): {entity.name}{mark}"))
        out.print(Text("  " + entity.address.replace("\n", "\n  ")))
        out.print(Text(f"  source: {entity.source} (checked {entity.checked or '?'})"))
    table = Table("purpose", "channel", "contact", "region", "checked", "verified", "source")
    for c in p.contacts:
        table.add_row(Text(c.purpose), Text(c.channel), Text(c.value), Text(c.region),
                      Text(str(c.checked or "?")), Text("yes" if c.verified else "NO"),
                      Text(c.source))
    out.print(table)
    for note in p.notes:
        out.print(Text(f"note: {note}"))


@platform.command(name="add")
@click.option("--slug", required=True, help="Short name, e.g. acme.")
@click.option("--name", required=True, help="Display name.")
@click.option("--email", default="", help="Privacy / legal contact address.")
@click.option("--webform", default="", help="URL of the platform's contact form.")
@click.option("--purpose", default="privacy",
              type=click.Choice(["privacy", "dpo", "legal", "appeals", "support"]),
              help="What the contact is for.")
@click.option("--entity", default="", help="Legal entity name.")
@click.option("--postal-address", default="", help="Postal address of the entity.")
@click.option("--region", default="global", help="Region of the entity/contact (EU, US, ...).")
@click.option("--source", required=True,
              help="Public page the facts come from (privacy policy URL).")
@click.option("--reply-domain", multiple=True, help="Domain its replies come from (repeat).")
@click.option("--law", multiple=True, help="Law that applies: GDPR, DSA, CCPA (repeat).")
@click.option("--language", default="en", help="Language to write to it in.")
@click.option("--force", is_flag=True, help="Replace an existing workspace record.")
@with_workspace
def platform_add(ws: Workspace, slug: str, name: str, email: str, webform: str, purpose: str,
                 entity: str, postal_address: str, region: str, source: str,
                 reply_domain: tuple[str, ...], law: tuple[str, ...], language: str,
                 force: bool) -> None:
    """Add a platform (or override a shipped one) in this workspace's platforms/ folder."""
    form = PlatformForm(slug=slug, name=name, source=source, email=email, webform=webform,
                        purpose=purpose, entity=entity, postal_address=postal_address,
                        region=region, reply_domains=reply_domain, laws=law, language=language)
    saved = save_platform(ws, form, now_for(ws), overwrite=force)
    click.echo(f"added {saved.slug}: {saved.path}")




@main.group(cls=TrackerGroup)
def template() -> None:
    """Letter templates (shipped, and your workspace's templates/ folder)."""


@template.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def template_list(ws: Workspace, as_json: bool) -> None:
    """List letter templates in every language."""
    items = sorted(ws.templates.values(), key=lambda t: (t.id, t.language))
    if as_json:
        emit_json([t.to_dict() for t in items])
        return
    table = Table("name", "language", "kind", "deadline", "title", "origin")
    for t in items:
        table.add_row(Text(t.id), Text(t.language), Text(t.kind), Text(t.deadline or "-"),
                      Text(t.title), Text(t.origin))
    out.print(table)


@template.command(name="show")
@click.argument("name")
@click.option("--language", "-l", default=None, help="en or zh-Hans (default: workspace's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def template_show(ws: Workspace, name: str, language: str | None, as_json: bool) -> None:
    """Show a template: its variables, deadline and legal basis."""
    t = get_template(ws.templates, name, language or ws.settings.organisation.language)
    if as_json:
        emit_json(t.to_dict())
        return
    out.print(Text(f"{t.id} ({t.language}, {t.kind}, {t.origin}): {t.title}", style="bold"))
    out.print(Text(f"deadline: {t.deadline or 'organisation default'}"))
    out.print(Text(f"legal basis: {t.legal_basis or '-'}"))
    table = Table("variable", "required", "description", "example")
    for v in t.variables:
        table.add_row(Text(v.name), Text("yes" if v.required else "no"), Text(v.description),
                      Text(v.example))
    out.print(table)
