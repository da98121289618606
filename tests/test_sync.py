"""`tracker sync`, `import`, `inbox`, `link`, `dismiss`, `inspect` against a real Dovecot."""

from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from conftest import Cli, bounce
from dovecot import DovecotServer, dovecot_fixture  # noqa: F401

from tracker.services.sync import COMMIT_EVERY
from tracker.store.db import normalise_url

DAY = {"TRACKER_TODAY": "2020-06-20"}


def imap_env(server: DovecotServer, **extra: str) -> dict[str, str | None]:
    settings = server.settings()
    return {"TRACKER_IMAP_HOST": settings.host, "TRACKER_IMAP_PORT": str(settings.port),
            "TRACKER_IMAP_USERNAME": settings.username, "TRACKER_IMAP_TLS": "none",
            "TRACKER_IMAP_PASSWORD_COMMAND": settings.password_command,
            "TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example", **DAY, **extra}


def sent_request(cli: Cli, platform: str = "zoom") -> tuple[str, str]:
    """A request whose letter went out by email on 8 June 2020: (ref, its Message-ID)."""
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = cli.json("request", "new", "--platform", platform, "--template",
                   "account-suspension", *args, env={"TRACKER_TODAY": "2020-06-08"})["ref"]
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email",
            env={"TRACKER_TODAY": "2020-06-08"})
    raw = cli.run("letter", ref, "--format", "eml").stdout_bytes
    return ref, str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"])


def mail(subject: str, sender: str = "legal@zoom.us", *, in_reply_to: str = "",
         auth: str = "dkim=pass header.d=zoom.us; dmarc=pass header.from=zoom.us",
         authserv: str = "mx.hrgroup.example", body: str = "Thank you for your letter.",
         headers: dict[str, str] | None = None, day: int = 15) -> bytes:
    msg = EmailMessage()
    if auth:  # as our border writes them: its results above the Received header it added
        msg["Authentication-Results"] = f"{authserv}; {auth}"
        msg["Received"] = (f"from mail.{sender.split('@')[1]} (mail.{sender.split('@')[1]} "
                           f"[192.0.2.{day}]) by {authserv} (Postfix) with ESMTPS id "
                           f"4Tq{day}Z; Mon, {day} Jun 2020 10:00:02 +0200")
    msg["From"] = sender
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Date"] = f"Mon, {day} Jun 2020 10:00:00 +0200"
    msg["Message-ID"] = f"<{random.getrandbits(64):x}@{sender.split('@')[1]}>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def put(server: DovecotServer, raw: bytes, **kwargs: Any) -> int:
    """Append *raw* as if it had arrived at the time its Date header says (INTERNALDATE)."""
    date = email.message_from_bytes(raw, policy=policy.default)["Date"]
    return server.append(raw, when=date.datetime if date else None, **kwargs)


def row(cli: Cli, ref: str) -> dict[str, Any]:
    return next(r for r in cli.json("status", "--all", env=DAY) if r["ref"] == ref)


def stored_count(cli: Cli, direction: str = "in") -> int:
    url = cli.env["TRACKER_DATABASE_URL"]
    assert url is not None
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "select count(*) from message where direction = :d"), {"d": direction}).scalar()
                or 0)
    finally:
        engine.dispose()


def test_sync_matches_classifies_and_never_touches_the_mailbox(cli: Cli,
                                                               dovecot: DovecotServer) -> None:
    ref, letter_id = sent_request(cli)
    put(dovecot, mail("Automatic reply: out of office", in_reply_to=letter_id,
                        headers={"Auto-Submitted": "auto-replied"}, day=9), flags=[b"\\Seen"])
    put(dovecot, mail("lunch on friday?", sender="friend@example.org"))
    put(dovecot, mail("Re: your letter", in_reply_to=letter_id, day=15),
                   flags=[b"\\Flagged"])
    before = dovecot.flags()
    counts = cli.json("sync", env=imap_env(dovecot))
    assert dovecot.flags() == before
    assert (counts["screened"], counts["stored"], counts["matched"]) == (3, 2, 2)
    assert (counts["acknowledgements"], counts["replies"]) == (1, 1)
    status = row(cli, ref)
    assert (status["state"], status["last_reply_on"]) == ("answered", "2020-06-15")
    assert stored_count(cli) == 2  # the organisation's other mail is not kept
    again = cli.json("sync", env=imap_env(dovecot))
    assert (again["screened"], again["stored"]) == (0, 0)
    kinds = [e["kind"] for e in cli.json("request", "show", ref, env=DAY)["timeline"]
             if e["type"] == "event"]
    assert kinds[-2:] == ["acknowledged", "reply_received"]


def test_acknowledgement_keeps_the_clock_running_and_forged_reply_waits(
        cli: Cli, dovecot: DovecotServer) -> None:
    ref, _letter_id = sent_request(cli)
    put(dovecot, mail(f"[{ref}] We received your request", sender="support@zoom.us",
                        headers={"Auto-Submitted": "auto-replied"}, day=9))
    put(dovecot, mail(f"Re: [{ref}] account review", sender="trust@zoom.us",
                        auth="spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=zoom.us",
                        day=12))
    cli.json("sync", env=imap_env(dovecot))
    status = row(cli, ref)
    assert (status["state"], status["days_without_response"]) == ("acknowledged", 12)
    assert status["suspicious_replies"] == 1
    items = cli.json("inbox")
    assert [(i["authenticity"], i["ref"]) for i in items] == [("suspicious", ref)]
    assert "SUSPICIOUS" in cli.run("status", env=DAY).stdout
    cli.run("dismiss", str(items[0]["id"]), "--reason", "phishing")
    assert cli.json("inbox") == []
    assert row(cli, ref)["state"] == "acknowledged"


def test_probable_match_needs_a_person(cli: Cli, dovecot: DovecotServer) -> None:
    ref, _ = sent_request(cli)
    put(dovecot, mail("About your account", sender="legal@zoom.us"))
    counts = cli.json("sync", env=imap_env(dovecot))
    assert counts["probable"] == 1
    assert row(cli, ref)["state"] == "awaiting"
    [item] = cli.json("inbox")
    assert (item["ref"], item["match_rule"]) == (ref, "sender-domain")
    cli.run("link", str(item["id"]), ref, env=DAY)
    assert row(cli, ref)["state"] == "answered"
    assert cli.json("inbox") == []


def test_ticket_learned_from_acknowledgement_matches_a_new_thread(
        cli: Cli, dovecot: DovecotServer) -> None:
    ref, letter_id = sent_request(cli)
    other, _ = sent_request(cli)  # a second open Zoom request: the domain alone is ambiguous
    put(dovecot, mail("Your request #448812 has been received", sender="support@zoom.us",
                        in_reply_to=letter_id, headers={"Auto-Submitted": "auto-replied"},
                        day=9))
    cli.json("sync", env=imap_env(dovecot))
    put(dovecot, mail("Update on Request #448812", sender="support@zoom.us", day=16))
    cli.json("sync", env=imap_env(dovecot))
    assert row(cli, ref)["state"] == "answered"
    assert row(cli, other)["state"] == "awaiting"


def test_bounce_marks_the_letter_undelivered(cli: Cli, dovecot: DovecotServer) -> None:
    ref, letter_id = sent_request(cli)
    recipient = cli.json("request", "show", ref)["recipient"]
    dsn = bounce(recipient, letter_id)
    put(dovecot, dsn)
    counts = cli.json("sync", env=imap_env(dovecot))
    assert counts["bounces"] == 1
    status = row(cli, ref)
    assert status["delivery_failed"] is True and status["state"] == "awaiting"
    assert "UNDELIVERED" in cli.run("status", env=DAY).stdout


def test_uidvalidity_change_causes_no_duplicates(cli: Cli, dovecot: DovecotServer) -> None:
    _ref, letter_id = sent_request(cli)
    for day in (10, 11, 12):
        put(dovecot, mail(f"Re: letter {day}", in_reply_to=letter_id, day=day))
    assert cli.json("sync", env=imap_env(dovecot))["stored"] == 3
    dovecot.set_uidvalidity("INBOX", 12345)
    put(dovecot, mail("Re: one more", in_reply_to=letter_id, day=13))
    counts = cli.json("sync", env=imap_env(dovecot))
    assert (counts["stored"], counts["repaired"], counts["duplicates"]) == (1, 3, 3)
    assert stored_count(cli) == 4


def test_sent_folder_letters_are_recorded(cli: Cli, dovecot: DovecotServer) -> None:
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *args, env={"TRACKER_TODAY": "2020-06-08"})["ref"]
    dovecot.create_folder("Sent")
    own = mail(f"[{ref}] Suspension of our account", sender="inquiries@hrgroup.example",
               auth="", day=10)
    put(dovecot, own, folder="Sent")
    counts = cli.json("sync", env=imap_env(dovecot, TRACKER_IMAP_SENT_FOLDER="Sent"))
    assert counts["letters"] == 1
    status = row(cli, ref)
    assert (status["state"], status["sent_on"]) == ("awaiting", "2020-06-10")


def test_wrong_password_is_one_clear_line(cli: Cli, dovecot: DovecotServer) -> None:
    result = cli.run("sync", ok=False,
                     env=imap_env(dovecot, TRACKER_IMAP_PASSWORD_COMMAND="printf wrong"))
    assert result.exit_code == 8
    assert "login refused" in result.stderr and "wrong" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_sigkill_during_sync_stores_everything_exactly_once(cli: Cli,
                                                          dovecot: DovecotServer) -> None:
    """Kill `tracker sync` with SIGKILL once right after it committed part of the mail, then at
    random moments; the next run stores every relevant message exactly once."""
    ref, letter_id = sent_request(cli)
    batch = []
    for i in range(2 * COMMIT_EVERY + 500):  # a sync commits every COMMIT_EVERY: three commits
        if i % 10 == 0:
            raw = mail(f"Re: {i}", in_reply_to=letter_id, day=10 + i % 15, body=f"reply {i}")
        else:
            raw = mail(f"newsletter {i}", sender=f"news{i}@example.org")
        batch.append({"msg": raw, "date": datetime(2020, 6, 15, 12, tzinfo=UTC)})
    with dovecot.client() as client:
        for start in range(0, len(batch), 250):
            client.multiappend("INBOX", batch[start:start + 250])
    relevant = len(batch) // 10
    env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None},
           **{k: v for k, v in imap_env(dovecot).items() if v is not None},
           "TRACKER_WORKSPACE": str(cli.workspace)}

    def sync() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "tracker", "sync"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    proc, deadline = sync(), time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if 0 < stored_count(cli) < relevant:  # the first commit is in: kill it there
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    seen = [stored_count(cli)]
    assert 0 < seen[0] < relevant, seen
    rng = random.Random(7)
    for _ in range(3):  # anywhere: during start-up, between commits, or too late
        proc = sync()
        time.sleep(rng.uniform(0.2, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        seen.append(stored_count(cli))
    assert seen == sorted(seen) and seen[-1] <= relevant, seen  # nothing lost, nothing twice
    cli.json("sync", env=imap_env(dovecot))
    assert stored_count(cli) == relevant
    assert cli.json("sync", env=imap_env(dovecot))["stored"] == 0
    assert row(cli, ref)["state"] == "answered"


def test_import_is_idempotent_for_mbox_maildir_and_eml(cli: Cli, tmp_path: Path) -> None:
    import mailbox

    ref, letter_id = sent_request(cli)
    messages = [mail("Re: hello", in_reply_to=letter_id, day=11),
                mail("unrelated", sender="a@example.org"),
                mail(f"[{ref}] We got it", sender="support@zoom.us",
                     headers={"Auto-Submitted": "auto-replied"}, day=10)]
    box = mailbox.mbox(tmp_path / "takeout.mbox")
    for raw in messages:
        box.add(raw)
    box.close()
    # A Takeout of the organisation's own mailbox: its server's results count.
    first = cli.json("import", str(tmp_path / "takeout.mbox"), "--trust-mailbox",
                     env={**DAY, "TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example"})
    assert (first["screened"], first["stored"]) == (3, 2)
    assert cli.json("import", str(tmp_path / "takeout.mbox"), env=DAY)["stored"] == 0
    maildir = mailbox.Maildir(tmp_path / "md")
    for raw in messages:
        maildir.add(raw)
    assert cli.json("import", str(tmp_path / "md"), env=DAY)["stored"] == 0
    (tmp_path / "eml").mkdir()
    (tmp_path / "eml" / "late.eml").write_bytes(mail("Re: more", in_reply_to=letter_id, day=12))
    assert cli.json("import", str(tmp_path / "eml"), "--received-by", "mx.hrgroup.example",
                    env=DAY)["stored"] == 1
    assert row(cli, ref)["state"] == "answered"


def test_one_batch_stores_in_order_and_copies_once(cli: Cli, tmp_path: Path) -> None:
    """A batch is stored as if one message came after the other: our own letter first moves a
    draft to awaiting, then an acknowledgement and a reply move it on; a copy is a copy."""
    import mailbox

    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *args, env={"TRACKER_TODAY": "2020-06-08"})["ref"]
    reply = mail(f"Re: [{ref}] Suspension of our account", day=12)
    box = mailbox.mbox(tmp_path / "all.mbox")
    for raw in (mail(f"[{ref}] Suspension of our account", sender="inquiries@hrgroup.example",
                     auth="", day=10),
                mail(f"[{ref}] We received your request", sender="support@zoom.us",
                     headers={"Auto-Submitted": "auto-replied"}, day=11),
                reply, reply):
        box.add(raw)
    box.close()
    counts = cli.json("import", str(tmp_path / "all.mbox"), "--received-by",
                      "mx.hrgroup.example", env=DAY)
    assert (counts["letters"], counts["acknowledgements"], counts["replies"]) == (1, 1, 1)
    assert (counts["stored"], counts["duplicates"]) == (3, 1)
    status = row(cli, ref)
    assert (status["state"], status["sent_on"], status["last_reply_on"]) == (
        "answered", "2020-06-10", "2020-06-12")
    moves = [(e["kind"], e["to_state"]) for e in cli.json("request", "show", ref,
                                                           env=DAY)["timeline"]
             if e["type"] == "event"]
    assert moves[-3:] == [("sent", "awaiting"), ("acknowledged", "acknowledged"),
                          ("reply_received", "answered")]


def test_inspect_shows_judgement_without_storing(cli: Cli, tmp_path: Path) -> None:
    ref, letter_id = sent_request(cli)
    path = tmp_path / "forged.eml"
    path.write_bytes(mail("Re: x", in_reply_to=letter_id,
                          auth="dkim=fail header.d=zoom.us; dmarc=fail header.from=zoom.us"))
    assert cli.json("inspect", str(path))["authenticity"] == "unverified"  # no trusted server
    data = cli.json("inspect", str(path), "--trust-mailbox",
                    env={"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example"})
    assert (data["classification"], data["authenticity"], data["matched_ref"],
            data["match_rule"]) == ("reply", "suspicious", ref, "in-reply-to")
    for key in ("bounced_recipients", "ticket"):
        assert key in data
    assert stored_count(cli) == 0
