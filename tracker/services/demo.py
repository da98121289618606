"""`tracker demo`: a throw-away workspace with the story tracker was made for, and its status."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from tracker.config.loading import load_settings
from tracker.core.tags import reply_address
from tracker.services import actions, intake, records, sending
from tracker.services.facts import StatusRow
from tracker.services.importer import import_path
from tracker.services.status import status_rows
from tracker.services.workspace import Workspace, init_workspace
from tracker.store import db
from tracker.store.models import Message, Request

TZ = "Europe/Berlin"
CASE = "Zoom shut down our account after the 4 June 2020 Tiananmen commemoration"
FACTS = {
    "account": "events@hrgroup.example",
    "incident_date": "2020-06-10",
    "event_description": "an online commemoration of the 4 June 1989 Tiananmen Massacre "
                         "held on 31 May 2020",
}


def _at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time(hour), ZoneInfo(TZ))


def build_demo(path: Path) -> Workspace:
    """Create the demo workspace at *path*, fill it with the sample case, import its mailbox."""
    init_workspace(path, {
        "organisation": {
            "name": "Humanitarian China (demo)", "signatory": "Zhou Fengsuo, for the board",
            "email": "inquiries@hrgroup.example", "reply_to": "inquiries@hrgroup.example",
            "reference_prefix": "HC", "timezone": TZ, "country": "DE",
            "address": "Postfach 0000, 10000 Berlin, Germany"},
        "imap": {"trusted_authserv_ids": ["mx.hrgroup.example"]},
    }, env={})
    ws = Workspace(load_settings(path, env={}), env={}, actor="demo")
    new = intake.NewRequest

    def create(spec: intake.NewRequest, day: str) -> str:
        return actions.create_request(ws, spec, _at(day)).ref

    def send(ref: str, day: str, channel: str = "email", note: str = "") -> None:
        sending.mark_sent(ws, ref, _at(day), channel, note, _at(day, 11))

    suspension = create(new(platform="zoom", template="account-suspension", case_title=CASE,
                            variables=_vars(ws, "account-suspension", "en")), "2020-06-11")
    send(suspension, "2020-06-11", note="sent from the office mail client")
    case_id = _case_id(ws, suspension)
    access = create(new(platform="zoom", template="gdpr-access", case_id=case_id,
                        variables=_vars(ws, "gdpr-access", "en")), "2020-06-15")
    send(access, "2020-06-15")
    actions.extend_deadline(ws, access, "statutory",
                            "Zoom wrote that it needs two further months (GDPR Art. 12(3))",
                            _at("2020-07-10"))
    dsa = create(new(platform="facebook", template="dsa-statement-of-reasons", case_id=case_id,
                     variables=_vars(ws, "dsa-statement-of-reasons", "en")), "2020-06-20")
    send(dsa, "2020-06-20", "webform", "confirmation 4411")
    create(new(platform="youtube", template="account-suspension", case_id=case_id,
               language="zh-Hans", variables=_vars(ws, "account-suspension", "zh-Hans")),
           "2020-06-22")
    typo = create(new(platform="tiktok", template="account-suspension", case_id=case_id,
                      to="privacy@tikt0k.example",
                      variables=_vars(ws, "account-suspension", "en")), "2020-06-22")
    send(typo, "2020-06-22", note="address typed from a printed letter")
    # The sample stands for mail that came in through the organisation's own server.
    counts = import_path(ws, _sample_mailbox(ws, path), trust_mailbox=True)
    assert counts.stored == 4, counts  # the shipped sample must match the demo's letters
    return ws


def _sample_mailbox(ws: Workspace, path: Path) -> Path:
    """The shipped sample mailbox, addressed to this workspace's letters and reply tags."""
    from jinja2 import Template

    with db.transaction(ws.engine) as session:
        letters = session.exec(
            select(Message.message_id, Request.ref)
            .join(Request, col(Message.request_id) == col(Request.id))
            .where(Message.direction == "out", Message.status == "sent")
        ).all()
    msgid = {ref: message_id for message_id, ref in letters}
    reply = {ref: reply_address(ws.settings.organisation.reply_to, ref, ws.tag_secret)
             for _, ref in letters}
    template = (files("tracker.services") / "demo_data" / "mailbox.mbox.j2").read_text("utf-8")
    target = path / "sample-mailbox.mbox"
    target.write_text(Template(template).render(msgid=msgid, reply=reply) + "\n",
                      encoding="utf-8")
    return target


def _vars(ws: Workspace, template: str, language: str) -> dict[str, str]:
    from tracker.letters.loading import example_variables, get_template

    tpl = get_template(ws.templates, template, language)
    values = example_variables(tpl)
    values.update({k: v for k, v in FACTS.items() if k in values})
    return values


def _case_id(ws: Workspace, ref: str) -> int:
    with db.transaction(ws.engine) as session:
        return records.get_request(session, ref).case_id


@dataclass(frozen=True)
class Demo:
    """A demo workspace just built, and its status as of today."""

    path: Path
    today: date
    rows: list[StatusRow]


def run_demo(directory: Path | None) -> Demo:
    """Build the demo workspace (in a new temporary folder unless *directory* is given)."""
    path = directory or Path(tempfile.mkdtemp(prefix="tracker-demo-"))
    ws = build_demo(path.resolve())
    try:
        today = _today(ws)
        with db.transaction(ws.engine) as session:
            return Demo(path, today, status_rows(ws, session, today))
    finally:
        ws.close()


def _today(ws: Workspace) -> date:
    fixed = os.environ.get("TRACKER_TODAY")
    if fixed:
        return date.fromisoformat(fixed)
    return datetime.now(ws.settings.tz).date()


DEMO_USER = "demo"


def add_demo_login(ws: Workspace) -> tuple[str, str]:
    """An admin login for the demo's web face: its name and a new random password."""
    import secrets
    from datetime import UTC

    from tracker.services import users

    password = secrets.token_urlsafe(12)
    now = datetime.now(UTC)
    if any(u.name == DEMO_USER for u in users.list_users(ws)):
        users.set_password(ws, DEMO_USER, password, now)
    else:
        users.add_user(ws, DEMO_USER, "admin", password, now)
    return DEMO_USER, password
