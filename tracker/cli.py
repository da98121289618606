"""The command line: parse arguments, call the library, print the result. Nothing else."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from tracker import __version__, actions, clock, db
from tracker.config import find_workspace, load_settings
from tracker.errors import DatabaseError, InputError, TrackerError
from tracker.letters import get_template, parse_var_assignments
from tracker.models import Case, Channel, Resolution
from tracker.platforms import find_platform, write_platform_file
from tracker.status import status_rows, timeline
from tracker.tables import status_table
from tracker.tags import parse_ref
from tracker.workspace import Workspace, init_workspace

# Piped output (reports pasted into mail, logs) gets a usable width instead of rich's 80.
out = Console(highlight=False,
              width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 120))


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"tracker: error: {message}", err=True)
    sys.exit(code)


class TrackerGroup(click.Group):
    """Turns every TrackerError into one line on stderr and its exit code; no tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            fail(str(exc), exc.exit_code)
        except SQLAlchemyError as exc:
            text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            fail(f"database error: {text[0] if text else type(exc).__name__}",
                 DatabaseError.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def now_for(ws: Workspace) -> datetime:
    """The current moment; ``TRACKER_TODAY`` fixes the date (the time of day stays real)."""
    tz = ws.settings.tz
    real = datetime.now(tz)
    fixed = ws.env.get("TRACKER_TODAY")
    if not fixed:
        return real
    try:
        day = date.fromisoformat(fixed)
    except ValueError:
        raise InputError(f"TRACKER_TODAY={fixed!r} is not a date; use YYYY-MM-DD") from None
    return datetime.combine(day, real.timetz())


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date; use YYYY-MM-DD") from None


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


def with_workspace(func: Callable[..., Any]) -> Callable[..., Any]:
    """Open the workspace for a command and pass it as the first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        root = ctx.find_root()
        explicit = root.params.get("workspace")
        path = find_workspace(explicit)
        ws = Workspace(load_settings(path), actor=os.environ.get("TRACKER_ACTOR") or _user())
        try:
            return func(ws, *args, **kwargs)
        finally:
            ws.close()

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", type=click.Path(file_okay=False),
              help="Workspace folder (default: $TRACKER_WORKSPACE, then the current folder "
                   "and its parents).")
@click.version_option(__version__, prog_name="tracker")
def main(workspace: str | None) -> None:
    """tracker: formal inquiries to platforms, their answers, their silence and deadlines.

    Set TRACKER_TODAY=YYYY-MM-DD to run any command as of another day.
    """
    os.umask(0o077)  # everything tracker creates is private to its user


# ---------------------------------------------------------------- init, db


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--org-name", default="", help="Organisation name, as it signs letters.")
@click.option("--signatory", default="", help="Person or role who signs the letters.")
@click.option("--email", default="", help="From address of the letters.")
@click.option("--reply-to", default="",
              help="Base address for per-request reply tags (inquiries@org.example).")
@click.option("--domain", default="", help="Domain for Message-IDs (default: from --email).")
@click.option("--address", default="", help="Postal address printed on letters.")
@click.option("--reference-prefix", default="", help="Prefix of request references (HC).")
@click.option("--timezone", default="", help="IANA time zone, e.g. Europe/Berlin.")
@click.option("--country", default="", help="Country code for public holidays, e.g. DE.")
@click.option("--subdivision", default="", help="Region code for holidays, e.g. BY.")
@click.option("--default-deadline", default="", help="Deadline rule when a template has none.")
@click.option("--language", default="", type=click.Choice(["", "en", "zh-Hans"]),
              help="Default letter language.")
@click.option("--database-url", default="",
              help="PostgreSQL URL without a password (default: SQLite in the workspace).")
@click.option("--smtp-host", default="", help="Outgoing mail server.")
@click.option("--smtp-port", default=0, type=int, help="Its port (default by TLS mode).")
@click.option("--smtp-username", default="", help="SMTP login name.")
@click.option("--smtp-password-env", default="",
              help="Name of the environment variable holding the SMTP password.")
@click.option("--smtp-tls", default="", type=click.Choice(["", "ssl", "starttls", "none"]),
              help="TLS mode (none only to a loopback host).")
def init(directory: str, org_name: str, signatory: str, email: str, reply_to: str, domain: str,
         address: str, reference_prefix: str, timezone: str, country: str, subdivision: str,
         default_deadline: str, language: str, database_url: str, smtp_host: str,
         smtp_port: int, smtp_username: str, smtp_password_env: str, smtp_tls: str) -> None:
    """Create a workspace in DIRECTORY: tracker.toml, a private database and folders for your
    own templates and platforms."""
    path = Path(directory).expanduser().resolve()
    settings = init_workspace(path, {
        "organisation": {"name": org_name, "signatory": signatory, "email": email,
                         "reply_to": reply_to, "domain": domain, "address": address,
                         "reference_prefix": reference_prefix, "timezone": timezone,
                         "country": country.upper(), "subdivision": subdivision.upper(),
                         "default_deadline": default_deadline, "language": language},
        "database": {"url": database_url},
        "smtp": {"host": smtp_host, "port": smtp_port or None, "username": smtp_username,
                 "password_env": smtp_password_env, "tls": smtp_tls},
    })
    click.echo(f"workspace ready: {path}")
    click.echo(f"database: {db.safe_url(settings.database_url)}")
    click.echo("next: `tracker platform list`, then `tracker request new`")


@main.group(name="db", cls=TrackerGroup)
def db_group() -> None:
    """Database schema migrations."""


@db_group.command(name="upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations (safe to run at any time)."""
    path = find_workspace(ctx.find_root().params.get("workspace"))
    settings = load_settings(path)
    engine = db.make_engine(settings.database_url)
    try:
        before, after = db.upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"schema {before or 'empty'} -> {after}" if before != after
               else f"schema already at {after}")


@db_group.command(name="current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the database's schema revision and the one this tracker needs."""
    path = find_workspace(ctx.find_root().params.get("workspace"))
    engine = db.make_engine(load_settings(path).database_url)
    try:
        click.echo(f"database: {db.current_revision(engine) or 'empty'}; "
                   f"needed: {db.HEAD}")
    finally:
        engine.dispose()


# ---------------------------------------------------------------- platforms


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
    checked = now_for(ws).date()
    contacts = [{"purpose": purpose, "channel": channel, "value": value, "region": region,
                 "source": source, "checked": checked, "verified": True}
                for channel, value in (("email", email), ("webform", webform)) if value]
    if not contacts and not postal_address:
        raise InputError("give at least one of --email, --webform or --postal-address")
    if postal_address:
        contacts.append({"purpose": purpose, "channel": "post", "value": postal_address,
                         "region": region, "source": source, "checked": checked,
                         "verified": True})
    data: dict[str, Any] = {
        "slug": slug.lower(), "name": name, "laws": list(law), "language": language,
        "reply_domains": list(reply_domain),
        "suggested_channel": contacts[0]["channel"], "contacts": contacts,
    }
    if entity or postal_address:
        data["entities"] = [{"region": region, "name": entity or name,
                             "address": postal_address, "source": source, "checked": checked,
                             "verified": True}]
    path = write_platform_file(ws.settings.platforms_dir, data, overwrite=force)
    click.echo(f"added {slug.lower()}: {path}")


# ---------------------------------------------------------------- templates


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


# ---------------------------------------------------------------- requests


@main.group(cls=TrackerGroup)
def request() -> None:
    """Create and inspect requests."""


@request.command(name="new")
@click.option("--platform", "platform_slug", required=True, help="Platform slug (see "
              "`tracker platform list`).")
@click.option("--template", "template_name", required=True, help="Template name (see "
              "`tracker template list`).")
@click.option("--case", "case_title", default=None, help="Short description of a new case.")
@click.option("--case-id", type=int, default=None, help="Attach to an existing case.")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="A template variable (repeat).")
@click.option("--to", default=None, help="Recipient address (default: platform's contact).")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None,
              help="How the letter goes (default: from the recipient / platform).")
@click.option("--language", default=None, type=click.Choice(["en", "zh-Hans"]),
              help="Letter language (default: workspace's).")
@click.option("--deadline", default=None, help="Deadline rule: 30d, 20bd, 1m, gdpr, ccpa, dsa.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def request_new(ws: Workspace, platform_slug: str, template_name: str, case_title: str | None,
                case_id: int | None, variables: Sequence[str], to: str | None,
                channel: str | None, language: str | None, deadline: str | None,
                as_json: bool) -> None:
    """Create a draft request and print its reference."""
    if case_title is not None and case_id is not None:
        raise InputError("give --case or --case-id, not both")
    spec = actions.NewRequest(platform=platform_slug, template=template_name, language=language,
                              case_title=case_title, case_id=case_id,
                              variables=parse_var_assignments(list(variables)), to=to,
                              channel=channel, deadline=deadline)
    req = actions.create_request(ws, spec, now_for(ws))
    if as_json:
        emit_json({"ref": req.ref, "state": req.state, "platform": req.platform_slug,
                   "template": req.template, "language": req.language,
                   "recipient": req.recipient, "channel": req.channel,
                   "deadline": req.deadline_rule, "case_id": req.case_id})
    else:
        click.echo(req.ref)


@request.command(name="show")
@click.argument("ref")
@click.option("--as-of", default=None, help="Compute the clock as of this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def request_show(ws: Workspace, ref: str, as_of: str | None, as_json: bool) -> None:
    """Everything about a request: facts, clock with its explanation, timeline."""
    from tracker.status import build_row

    day = parse_day(as_of, "--as-of") or now_for(ws).date()
    with db.transaction(ws.engine) as session:
        req = actions.get_request(session, ref)
        row = build_row(ws, req, actions.request_messages(session, req), day)
        case = session.get(Case, req.case_id)
        items = timeline(ws, session, req)
    data = {**row.to_dict(), "as_of": day.isoformat(), "case_id": req.case_id,
            "case": case.title if case else "", "language": req.language,
            "variables": req.variables, "extensions": req.extensions, "timeline": items}
    if as_json:
        emit_json(data)
        return
    out.print(Text(f"{row.ref}  {row.subject}", style="bold"))
    for label in ("platform", "template", "language", "state", "resolution", "channel",
                  "recipient", "case", "rule", "sent_on", "due_on", "days_without_response",
                  "business_days_without_response", "overdue", "last_reply_on"):
        value = data.get(label)
        if value not in (None, "", False):
            out.print(Text(f"{label.replace('_', ' ')}: {value}"))
    out.print(Text(f"clock: {row.explanation}", style="red" if row.overdue else ""))
    out.print(Text("\ntimeline:", style="bold"))
    for item in items:
        if item["type"] == "event":
            change = (f" {item['from_state']} -> {item['to_state']}"
                      if item["from_state"] != item["to_state"] else "")
            out.print(Text(f"  {item['at']}  event {item['kind']}{change} by {item['actor']}"))
        else:
            arrow = "->" if item["direction"] == "out" else "<-"
            out.print(Text(f"  {item['at']}  {arrow} {item['kind']} {item['status']} "
                           f"via {item['channel']} {item['subject']}".rstrip()))


@request.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def request_list(ws: Workspace, as_json: bool) -> None:
    """List every request, closed ones included."""
    _print_status(ws, None, None, False, True, as_json)


@main.group(cls=TrackerGroup)
def case() -> None:
    """Cases: the incidents behind requests."""


@case.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def case_list(ws: Workspace, as_json: bool) -> None:
    """List cases with their ids (for `request new --case-id`)."""
    with db.transaction(ws.engine) as session:
        cases = session.exec(select(Case).order_by(col(Case.id))).all()
        rows = [{"id": c.id, "title": c.title, "account": c.account,
                 "incident_on": c.incident_on.isoformat() if c.incident_on else None}
                for c in cases]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "title", "account", "incident")
    for r in rows:
        table.add_row(str(r["id"]), Text(str(r["title"])), Text(str(r["account"])),
                      Text(str(r["incident_on"] or "-")))
    out.print(table)


# ---------------------------------------------------------------- letters and sending


@main.command()
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "eml"]), default="text",
              help="text, html, or the exact email (.eml).")
@with_workspace
def letter(ws: Workspace, ref: str, fmt: str) -> None:
    """Print the request's letter: the draft, or the last one sent (eml: the exact bytes)."""
    now = now_for(ws)
    with db.transaction(ws.engine) as session:
        req = actions.get_request(session, ref)
        current = actions.current_letter(ws, session, req, now.date())
        if fmt == "eml":
            message = current.message
            raw = message.raw if message.status == "sent" and message.raw else \
                actions.preview_email(ws, session, req, message, now)
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
            return
    if fmt == "html":
        click.echo(current.rendered.html)
    else:
        click.echo(f"Subject: {current.rendered.subject}\n")
        click.echo(current.rendered.text)


@main.command()
@click.argument("ref")
@click.option("--dry-run", is_flag=True, help="Print the email instead of sending it.")
@click.option("--retry", is_flag=True,
              help="Send again a letter whose earlier send was interrupted.")
@with_workspace
def send(ws: Workspace, ref: str, dry_run: bool, retry: bool) -> None:
    """Send the request's pending letter by SMTP."""
    result = actions.send_request(ws, ref, now_for(ws), dry_run=dry_run, retry=retry)
    if dry_run:
        sys.stdout.buffer.write(result.outgoing.raw)
        sys.stdout.buffer.flush()
        click.echo(f"\n(dry run: nothing sent; {len(result.outgoing.raw)} bytes)", err=True)
        return
    click.echo(f"sent {result.ref} to {', '.join(result.outgoing.recipients)} "
               f"{result.outgoing.message_id} sha256 {result.outgoing.sha256[:16]}")


@main.command(name="mark-sent")
@click.argument("ref")
@click.option("--on", "on", required=True, help="Day (or day and time) it went out.")
@click.option("--channel", required=True, type=click.Choice([c.value for c in Channel]),
              help="How it went out.")
@click.option("--note", default="", help="E.g. the web form's confirmation number.")
@with_workspace
def mark_sent(ws: Workspace, ref: str, on: str, channel: str, note: str) -> None:
    """Record that the letter went by web form, post, fax or another mail client."""
    moment = actions.parse_when(on, ws.settings.tz)
    msg = actions.mark_sent(ws, ref, moment, channel, note, now_for(ws))
    click.echo(f"recorded {parse_ref(ref)} as sent by {msg.channel} on "
               f"{clock.format_day(moment.date())}")


@main.command(name="follow-up")
@click.argument("ref")
@click.option("--template", "template_name", default="follow-up",
              help="follow-up or final-notice (or your own follow-up template).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="A template variable (repeat).")
@click.option("--language", default=None, type=click.Choice(["en", "zh-Hans"]),
              help="Letter language (default: the request's).")
@with_workspace
def follow_up(ws: Workspace, ref: str, template_name: str, variables: Sequence[str],
              language: str | None) -> None:
    """Draft a follow-up letter on a request, threaded to the first one."""
    actions.draft_follow_up(ws, ref, template_name, parse_var_assignments(list(variables)),
                            now_for(ws), language)
    click.echo(f"drafted {template_name} for {parse_ref(ref)}; review it with "
               f"`tracker letter {parse_ref(ref)}`, then `tracker send`")


@main.command(name="record-reply")
@click.argument("ref")
@click.option("--on", "on", required=True, help="Day (or day and time) it arrived.")
@click.option("--kind", type=click.Choice(["answer", "acknowledgement"]), default="answer",
              help="answer stops the clock; acknowledgement does not.")
@click.option("--note", default="", help="What it said, where it came from.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The reply as a file (.eml, scan) to keep with it.")
@with_workspace
def record_reply(ws: Workspace, ref: str, on: str, kind: str, note: str,
                 file: str | None) -> None:
    """Record a reply that came by post, portal or phone (not through the mailbox)."""
    raw = Path(file).read_bytes() if file else None
    moment = actions.parse_when(on, ws.settings.tz, end_of_day=True)
    actions.record_reply(ws, ref, moment, kind, note, now_for(ws), raw)
    click.echo(f"recorded {kind} for {parse_ref(ref)}")


@main.command()
@click.argument("ref")
@click.argument("rule")
@click.option("--reason", required=True, help="Who extended it and why.")
@with_workspace
def extend(ws: Workspace, ref: str, rule: str, reason: str) -> None:
    """Extend the deadline by RULE (2m, 14d, 10bd, or `statutory`)."""
    req = actions.extend_deadline(ws, ref, rule, reason, now_for(ws))
    due = clock.format_day(req.due_on) if req.due_on else "-"
    click.echo(f"{req.ref} now due {due}")


@main.command()
@click.argument("ref")
@click.option("--resolution", required=True, type=click.Choice([r.value for r in Resolution]),
              help="How it ended.")
@click.option("--note", default="", help="Why.")
@with_workspace
def close(ws: Workspace, ref: str, resolution: str, note: str) -> None:
    """Close a request with a resolution."""
    req = actions.close_request(ws, ref, resolution, note, now_for(ws))
    click.echo(f"closed {req.ref}: {resolution}")


@main.command()
@click.argument("ref")
@with_workspace
def reopen(ws: Workspace, ref: str) -> None:
    """Reopen a closed request."""
    req = actions.reopen_request(ws, ref, now_for(ws))
    click.echo(f"reopened {req.ref}: {req.state}")


# ---------------------------------------------------------------- status


def _print_status(ws: Workspace, as_of: str | None, platform_slug: str | None, overdue: bool,
                  include_closed: bool, as_json: bool) -> None:
    day = parse_day(as_of, "--as-of") or now_for(ws).date()
    if platform_slug:
        platform_slug = find_platform(ws.platforms, platform_slug).slug
    with db.transaction(ws.engine) as session:
        rows = status_rows(ws, session, day, platform=platform_slug, overdue_only=overdue,
                           include_closed=include_closed)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo(f"no {'overdue ' if overdue else ''}open requests as of {day}")
        return
    out.print(status_table(rows, day))


@main.command()
@click.option("--as-of", default=None, help="Day to count to (default: today).")
@click.option("--platform", "platform_slug", default=None, help="Only this platform.")
@click.option("--overdue", is_flag=True, help="Only overdue requests.")
@click.option("--all", "include_closed", is_flag=True, help="Include closed requests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def status(ws: Workspace, as_of: str | None, platform_slug: str | None, overdue: bool,
           include_closed: bool, as_json: bool) -> None:
    """One row per open request: days without response, deadline, overdue."""
    _print_status(ws, as_of, platform_slug, overdue, include_closed, as_json)


@main.command()
@click.option("--dir", "directory", default=None, type=click.Path(file_okay=False),
              help="Where to build the demo workspace (default: a new temporary folder).")
def demo(directory: str | None) -> None:
    """Build a throw-away workspace with a sample case, and show its status."""
    from tracker.demo import run_demo

    run_demo(Path(directory) if directory else None, out)
