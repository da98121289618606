"""No mail is lost to the order it arrives in: what one message teaches, the next one sees.

The same mailbox synced in one pass, synced one message per pass, and imported from an mbox
file ends in the same stored messages, matches and request states (a differential test against
a real Dovecot). The mailbox is built so that knowledge grows inside one batch: our letter
(found in the Sent folder) teaches its Message-ID, Zoom's acknowledgement teaches its ticket
number and its own Message-ID, and later messages carry only those.
"""

from __future__ import annotations

import email
import json
import mailbox
from email import policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import INIT_ARGS, Cli, border_received
from dovecot import DovecotServer, dovecot_fixture  # noqa: F401

from tracker.cli import main
from tracker.store.db import normalise_url

REF = "HC-2020-0001"
LETTER_ID = "<hc-2020-0001.5f3a9c0d1e2b3a4c5d6e@hrgroup.example>"
TRUSTED = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example",
           "TRACKER_IMAP_SENT_FOLDER": "Sent", "TRACKER_TODAY": "2020-06-30"}


def _mail(sender: str, subject: str, day: int, message_id: str, *, auth: str = "pass",
          in_reply_to: str = "", extra: str = "", body: str = "Thank you.") -> bytes:
    domain = sender.rpartition("@")[2]
    date = f"{day:02d} Jun 2020 10:00:00 +0200"
    lines = []
    if auth:
        lines += [f"Authentication-Results: mx.hrgroup.example; dkim={auth} header.d={domain}; "
                  f"dmarc={auth} header.from={domain}",
                  f"Received: {border_received(domain, date)}"]
    lines += [f"From: {sender}", "To: inquiries@hrgroup.example", f"Subject: {subject}",
              f"Date: Mon, {date}", f"Message-ID: {message_id}"]
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    if extra:
        lines.append(extra)
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


# (folder, bytes), in the order they arrive.
MAILBOX: list[tuple[str, bytes]] = [
    # Our letter, sent from the office mail client: it is found in the Sent folder.
    ("Sent", _mail("inquiries@hrgroup.example", f"[{REF}] Suspension of our account", 8,
                   LETTER_ID, auth="", body="Dear Zoom, please explain.")),
    ("INBOX", _mail("friend@example.org", "lunch?", 9, "<lunch@example.org>")),
    # Zoom's desk acknowledges: it answers our letter and teaches ticket and thread.
    ("INBOX", _mail("support@zoom.us", "Your request #448812 has been received", 10,
                    "<ack-448812@zoom.us>", in_reply_to=LETTER_ID,
                    extra="Auto-Submitted: auto-replied",
                    body="We received your request. Your request number is #448812.")),
    ("INBOX", _mail("news@example.org", "Weekly digest", 11, "<digest@example.org>")),
    # An agent answers on a new thread that carries only the ticket.
    ("INBOX", _mail("agent@zoom.us", "Update on Request #448812", 12, "<answer-1@zoom.us>",
                    body="We have reviewed your account. It was suspended in error and "
                         "has been restored.")),
    # The help desk writes from a domain that is not Zoom's, in the acknowledgement's thread.
    ("INBOX", _mail("help@zoom.zendesk.com", "Re: Your request", 13, "<zd-2@zendesk.com>",
                    in_reply_to="<ack-448812@zoom.us>", body="One more thing.")),
    # A look-alike domain answers in the agent's thread.
    ("INBOX", _mail("legal@zoom-us.support", "Re: Update", 14, "<phish@zoom-us.support>",
                    in_reply_to="<answer-1@zoom.us>", body="Log in here to restore access.")),
    # A forged bounce: our tag in the subject, none of our letters' Message-IDs.
    ("INBOX", _mail("mailer-daemon@evil.example", f"Undelivered Mail Returned to Sender [{REF}]",
                    15, "<dsn@evil.example>", auth="",
                    extra="Content-Type: multipart/report; report-type=delivery-status; "
                          'boundary="b"')),
]


def _workspace(tmp_path: Path, name: str, database_url: str) -> Cli:
    path = tmp_path / name
    env: dict[str, str | None] = {"TRACKER_DATABASE_URL": database_url, "TRACKER_TAG_SECRET": "k",
                                  "TRACKER_WORKSPACE": None, "DATABASE_URL": None, **TRUSTED}
    result = CliRunner().invoke(main, ["init", str(path), *INIT_ARGS], env=env)
    assert result.exit_code == 0, result.output
    cli = Cli(workspace=path, env=env)
    spec = cli.json("template", "show", "account-suspension")
    variables = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    assert cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                    *variables, env={"TRACKER_TODAY": "2020-06-08"})["ref"] == REF
    return cli


def _imap(server: DovecotServer) -> dict[str, str | None]:
    settings = server.settings()
    return {"TRACKER_IMAP_HOST": settings.host, "TRACKER_IMAP_PORT": str(settings.port),
            "TRACKER_IMAP_USERNAME": settings.username, "TRACKER_IMAP_TLS": "none",
            "TRACKER_IMAP_PASSWORD_COMMAND": settings.password_command}


def _put(server: DovecotServer, folder: str, raw: bytes) -> None:
    date = email.message_from_bytes(raw, policy=policy.default)["Date"]
    server.append(raw, folder=folder, when=date.datetime)


def _record(cli: Cli) -> dict[str, Any]:
    """Everything that must agree: each stored message as tracker judged it, and the request."""
    url = cli.env["TRACKER_DATABASE_URL"]
    assert url is not None
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            messages = sorted(tuple(row) for row in conn.execute(sa.text(
                "select m.message_id, m.direction, m.status, m.kind, m.match_rule, m.triage,"
                " m.admission, m.authenticity, m.ticket, m.hold, m.sha256, r.ref"
                " from message m left join request r on r.id = m.request_id")))
            state, due_on, tickets, failed = conn.execute(sa.text(
                "select state, due_on, tickets, delivery_failed from request")).one()
    finally:
        engine.dispose()
    request = (state, str(due_on), json.loads(tickets) if isinstance(tickets, str) else tickets,
               bool(failed))
    return {"messages": messages, "request": request,
            "status": cli.json("status", "--all")}


def test_one_pass_one_per_pass_and_import_agree(tmp_path: Path, database_url: str) -> None:
    sqlite = f"sqlite:///{tmp_path}/{{}}.db"
    records = {}
    # One pass over everything (on SQLite and on PostgreSQL).
    with DovecotServer(tmp_dir="/tmp") as server:
        cli = _workspace(tmp_path, "one-pass", database_url)
        for folder, raw in MAILBOX:
            _put(server, folder, raw)
        counts = cli.json("sync", env=_imap(server))
        assert counts["screened"] == len(MAILBOX)
        records["one pass"] = _record(cli)
    # One message per pass.
    with DovecotServer(tmp_dir="/tmp") as server:
        cli = _workspace(tmp_path, "per-message", sqlite.format("per-message"))
        server.create_folder("Sent")
        for folder, raw in MAILBOX:
            _put(server, folder, raw)
            cli.json("sync", env=_imap(server))
        records["one per pass"] = _record(cli)
    # Imported from an mbox file, in the same order.
    cli = _workspace(tmp_path, "import", sqlite.format("import"))
    box = mailbox.mbox(tmp_path / "export.mbox")
    for _folder, raw in MAILBOX:
        box.add(raw)
    box.close()
    cli.json("import", str(tmp_path / "export.mbox"), "--trust-mailbox")
    records["import"] = _record(cli)

    assert records["one pass"] == records["one per pass"] == records["import"]

    # And what they agree on is right.
    stored = {m[0]: m for m in records["one pass"]["messages"]}
    assert "<lunch@example.org>" not in stored and "<digest@example.org>" not in stored
    assert stored[LETTER_ID][1:3] == ("out", "sent")
    answer = stored["<answer-1@zoom.us>"]
    assert answer[3:8] == ("reply", "ticket", "", "verified-platform-domain", "verified")
    desk = stored["<zd-2@zendesk.com>"]
    assert (desk[4], desk[5]) == ("thread", "pending")
    assert "not a known address of Zoom" in desk[9]
    phish = stored["<phish@zoom-us.support>"]
    assert (phish[4], phish[5], phish[7]) == ("thread", "pending", "suspicious")
    assert "looks like a domain of Zoom" in phish[9]
    bounce = stored["<dsn@evil.example>"]
    assert (bounce[3], bounce[5]) == ("bounce", "pending")
    assert "names none of our letters" in bounce[9]
    state, _due, tickets, delivery_failed = records["one pass"]["request"]
    assert state == "answered" and not delivery_failed
    assert "Request #448812" in str(tickets)


@pytest.mark.parametrize("position", range(1, len(MAILBOX)))
def test_a_sync_interrupted_anywhere_ends_the_same(tmp_path: Path, position: int) -> None:
    """A pass that stops after any message (as a crash or a new arrival would) and a later
    pass over the rest end where one pass does."""
    with DovecotServer(tmp_dir="/tmp") as server:
        cli = _workspace(tmp_path, f"split-{position}", f"sqlite:///{tmp_path}/split.db")
        server.create_folder("Sent")
        for folder, raw in MAILBOX[:position]:
            _put(server, folder, raw)
        cli.json("sync", env=_imap(server))
        for folder, raw in MAILBOX[position:]:
            _put(server, folder, raw)
        cli.json("sync", env=_imap(server))
        split = _record(cli)
    with DovecotServer(tmp_dir="/tmp") as server:
        cli = _workspace(tmp_path, "whole", f"sqlite:///{tmp_path}/whole.db")
        for folder, raw in MAILBOX:
            _put(server, folder, raw)
        cli.json("sync", env=_imap(server))
        assert _record(cli) == split
