"""`tracker demo`: a throw-away workspace with the story tracker was made for, and its status."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.text import Text

from tracker import actions, db, records, sending
from tracker.config import load_settings
from tracker.status import status_rows
from tracker.tables import status_table
from tracker.workspace import Workspace, init_workspace

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
    """Create the demo workspace at *path* and fill it with the sample case."""
    init_workspace(path, {"organisation": {
        "name": "Humanitarian China (demo)", "signatory": "Zhou Fengsuo, for the board",
        "email": "inquiries@hrgroup.example", "reply_to": "inquiries@hrgroup.example",
        "reference_prefix": "HC", "timezone": TZ, "country": "DE",
        "address": "Postfach 0000, 10000 Berlin, Germany"}}, env={})
    ws = Workspace(load_settings(path, env={}), env={}, actor="demo")
    new = actions.NewRequest

    def create(spec: actions.NewRequest, day: str) -> str:
        return actions.create_request(ws, spec, _at(day)).ref

    suspension = create(new(platform="zoom", template="account-suspension", case_title=CASE,
                            variables=_vars(ws, "zoom", "account-suspension", "en")),
                        "2020-06-11")
    sending.mark_sent(ws, suspension, _at("2020-06-11"), "email",
                      "sent from the office mail client", _at("2020-06-11", 11))
    actions.record_reply(ws, suspension, _at("2020-06-12", 9), "acknowledgement",
                         "ticket system: 'we received your request'", _at("2020-06-12", 9))
    case_id = _case_id(ws, suspension)
    access = create(new(platform="zoom", template="gdpr-access", case_id=case_id,
                        variables=_vars(ws, "zoom", "gdpr-access", "en")), "2020-06-15")
    sending.mark_sent(ws, access, _at("2020-06-15"), "email", "", _at("2020-06-15", 11))
    actions.extend_deadline(ws, access, "statutory",
                            "Zoom wrote that it needs two further months (GDPR Art. 12(3))",
                            _at("2020-07-10"))
    dsa = create(new(platform="facebook", template="dsa-statement-of-reasons", case_id=case_id,
                     variables=_vars(ws, "facebook", "dsa-statement-of-reasons", "en")),
                 "2020-06-20")
    sending.mark_sent(ws, dsa, _at("2020-06-20"), "webform", "confirmation 4411",
                      _at("2020-06-20", 12))
    actions.record_reply(ws, dsa, _at("2020-07-02"), "answer",
                         "statement of reasons received in the support inbox",
                         _at("2020-07-02", 15))
    create(new(platform="youtube", template="account-suspension", case_id=case_id,
               language="zh-Hans", variables=_vars(ws, "youtube", "account-suspension",
                                                   "zh-Hans")), "2020-06-22")
    return ws


def _vars(ws: Workspace, platform: str, template: str, language: str) -> dict[str, str]:
    from tracker.letters import example_variables, get_template

    tpl = get_template(ws.templates, template, language)
    values = example_variables(tpl)
    values.update({k: v for k, v in FACTS.items() if k in values})
    return values


def _case_id(ws: Workspace, ref: str) -> int:
    with db.transaction(ws.engine) as session:
        return records.get_request(session, ref).case_id


def run_demo(directory: Path | None, console: Console) -> Path:
    """Build the demo workspace and print its status as of today."""
    path = directory or Path(tempfile.mkdtemp(prefix="tracker-demo-"))
    ws = build_demo(path.resolve())
    try:
        today = _today(ws)
        with db.transaction(ws.engine) as session:
            rows = status_rows(ws, session, today)
        console.print(Text(f"demo workspace: {path}", style="bold"))
        console.print(status_table(rows, today))
        for row in rows:
            console.print(Text(f"{row.ref}: {row.explanation}"))
        console.print(Text(
            f"\nTry: tracker -w {path} request show {rows[0].ref}\n"
            f"     tracker -w {path} letter {rows[0].ref}"))
    finally:
        ws.close()
    return path


def _today(ws: Workspace) -> date:
    fixed = os.environ.get("TRACKER_TODAY")
    if fixed:
        return date.fromisoformat(fixed)
    return datetime.now(ws.settings.tz).date()
