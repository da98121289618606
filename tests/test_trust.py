"""A record staff can trust, end to end: who may answer, approved domains, forged bounces,
suspicious mail set aside, and the day events are recorded on."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from typing import Any

from conftest import Cli, border_received, bounce
from dovecot import DovecotServer, dovecot_fixture  # noqa: F401
from test_cli import example_vars

TRUSTED = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example",
           "TRACKER_TODAY": "2020-06-20"}


def sent(cli: Cli) -> tuple[str, str]:
    day0 = {"TRACKER_TODAY": "2020-06-08"}
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *example_vars(cli, "account-suspension"), env=day0)["ref"]
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=day0)
    raw = cli.run("letter", ref, "--format", "eml").stdout_bytes
    return ref, str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"])


def reply(sender: str, subject: str, *, day: int = 15, in_reply_to: str = "",
          dmarc: str = "pass", ar: bool = True) -> bytes:
    domain = sender.rpartition("@")[2]
    date = f"{day} Jun 2020 10:00:00 +0200"
    lines = []
    if ar:
        lines += [f"Authentication-Results: mx.hrgroup.example; dmarc={dmarc} "
                  f"header.from={domain}", f"Received: {border_received(domain, date)}"]
    lines += [f"From: {sender}", "To: inquiries@hrgroup.example", f"Subject: {subject}",
              f"Date: Mon, {date}", f"Message-ID: <r{day}.{abs(hash(sender))}@{domain}>"]
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(lines) + "\r\n\r\nWe have reviewed your account.\r\n").encode()


def deliver(cli: Cli, tmp_path: Path, raw: bytes, name: str = "m.eml",
            env: dict[str, str | None] | None = None) -> dict[str, Any]:
    (tmp_path / name).write_bytes(raw)
    result: dict[str, Any] = cli.json("import", str(tmp_path / name), "--trust-mailbox",
                                      env=env or TRUSTED)
    return result


def state(cli: Cli, ref: str) -> str:
    return str(cli.json("request", "show", ref, env=TRUSTED)["state"])


def test_an_outsider_with_our_tag_waits_and_staff_can_approve_its_domain(
        cli: Cli, tmp_path: Path) -> None:
    ref, _ = sent(cli)
    deliver(cli, tmp_path, reply("agent@zoom.zendesk.com", f"Re: [{ref}] your letter"))
    assert state(cli, ref) == "awaiting"
    [item] = cli.json("inbox")
    assert "not a known address of Zoom" in item["hold"]
    cli.run("link", str(item["id"]), ref, "--approve-domain", env=TRUSTED)
    assert state(cli, ref) == "answered"
    events = [e for e in cli.json("request", "show", ref, env=TRUSTED)["timeline"]
              if e["type"] == "event"]
    approved = next(e for e in events if e["kind"] == "domain_approved")
    assert approved["data"]["domain"] == "zoom.zendesk.com"
    # From now on that domain answers for Zoom by itself, on another request too.
    other, _ = sent(cli)
    counts = deliver(cli, tmp_path, reply("agent@zoom.zendesk.com", f"Re: [{other}] x", day=16),
                     "second.eml")
    assert counts["held"] == 0 and state(cli, other) == "answered"
    message = next(e for e in cli.json("request", "show", other, env=TRUSTED)["timeline"]
                   if e["type"] == "message" and e["direction"] == "in")
    shown = cli.json("message", "show", str(message["id"]))
    assert shown["admission"] == "verified-approved-domain"


def test_a_look_alike_that_passes_dmarc_is_suspicious_not_an_answer(cli: Cli,
                                                                   tmp_path: Path) -> None:
    ref, letter = sent(cli)
    counts = deliver(cli, tmp_path, reply("legal@zoom-us.support", "Re: your letter",
                                          in_reply_to=letter))
    assert counts["suspicious"] == 1
    assert state(cli, ref) == "awaiting"
    row = cli.json("status", env=TRUSTED)[0]
    assert row["suspicious_replies"] == 1
    [item] = cli.json("inbox")
    assert item["authenticity"] == "suspicious"
    # Set aside by a person, it no longer counts as suspicious anywhere.
    cli.run("dismiss", str(item["id"]), "--reason", "phishing", env=TRUSTED)
    assert cli.json("status", env=TRUSTED)[0]["suspicious_replies"] == 0
    report = cli.json("report", "weekly", "--format", "json", env=TRUSTED)
    assert report["summary"]["suspicious_replies"] == 0


def test_nothing_verified_nothing_counted_without_a_trusted_server(cli: Cli,
                                                                   tmp_path: Path) -> None:
    """With no trusted_authserv_ids a forged From: @zoom.us proves nothing and waits."""
    ref, letter = sent(cli)
    deliver(cli, tmp_path, reply("legal@zoom.us", "Re: your letter", in_reply_to=letter),
            env={"TRACKER_TODAY": "2020-06-20"})
    assert state(cli, ref) == "awaiting"
    [item] = cli.json("inbox")
    assert item["authenticity"] == "unverified"
    assert "nothing proves it comes from zoom.us" in item["hold"]
    # An organisation without a way to verify may choose to count such mail.
    deliver(cli, tmp_path, reply("legal@zoom.us", "Re: again", in_reply_to=letter, day=16),
            "again.eml", env={"TRACKER_TODAY": "2020-06-20",
                              "TRACKER_IMAP_ACCEPT_UNVERIFIED": "true"})
    assert state(cli, ref) == "answered"


def test_imported_files_get_no_trust_unless_the_import_says_whose_server(
        cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)
    (tmp_path / "a.eml").write_bytes(reply("legal@zoom.us", "Re: letter", in_reply_to=letter))
    cli.json("import", str(tmp_path / "a.eml"), env=TRUSTED)
    assert state(cli, ref) == "awaiting"
    [item] = cli.json("inbox")
    assert "no trusted authserv-id" in " ".join(item["why"])


def test_a_forged_bounce_with_our_tag_does_not_mark_the_letter_undelivered(
        cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)
    recipient = cli.json("request", "show", ref)["recipient"]
    forged = bounce(recipient, "<not-ours@evil.example>").replace(
        b"Subject: Undelivered Mail Returned to Sender",
        f"Subject: Undelivered Mail Returned to Sender [{ref}]".encode())
    deliver(cli, tmp_path, forged)
    row = cli.json("status", env=TRUSTED)[0]
    assert not row["delivery_failed"]
    [item] = cli.json("inbox")
    assert (item["kind"], item["ref"]) == ("bounce", ref)
    assert "names none of our letters" in item["hold"]
    deliver(cli, tmp_path, bounce(recipient, letter), "real.eml")  # names our letter
    assert cli.json("status", env=TRUSTED)[0]["delivery_failed"]


def test_sync_and_import_record_events_on_tracker_today(cli: Cli, tmp_path: Path,
                                                        dovecot: DovecotServer) -> None:
    ref, letter = sent(cli)
    deliver(cli, tmp_path, reply("legal@zoom.us", "Re: letter", in_reply_to=letter, day=12),
            env={**TRUSTED, "TRACKER_TODAY": "2020-06-13"})
    dovecot.append(reply("legal@zoom.us", "Re: again", in_reply_to=letter, day=18))
    settings = dovecot.settings()
    cli.json("sync", env={**TRUSTED, "TRACKER_TODAY": "2020-06-19",
                          "TRACKER_IMAP_HOST": settings.host,
                          "TRACKER_IMAP_PORT": str(settings.port),
                          "TRACKER_IMAP_USERNAME": settings.username, "TRACKER_IMAP_TLS": "none",
                          "TRACKER_IMAP_PASSWORD_COMMAND": settings.password_command})
    days = [e["at"][:10] for e in cli.json("request", "show", ref, env=TRUSTED)["timeline"]
            if e["type"] == "event" and e["kind"] == "reply_received"]
    assert days == ["2020-06-13", "2020-06-19"]


def test_a_message_nested_a_thousand_deep_is_stored_and_flagged(cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)
    head = reply("legal@zoom.us", f"Re: [{ref}] your letter", in_reply_to=letter)
    head = head.split(b"\r\n\r\n", 1)[0] + b"\r\nMIME-Version: 1.0\r\n"
    body = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                    for i in range(1000))
    body += b"Content-Type: text/plain\r\n\r\nOur answer.\r\n"
    body += b"".join(b"--b%d--\r\n" % i for i in reversed(range(1000)))
    counts = deliver(cli, tmp_path, head + body)
    assert (counts["stored"], counts["matched"]) == (1, 1)
    message = next(e for e in cli.json("request", "show", ref, env=TRUSTED)["timeline"]
                   if e["type"] == "message" and e["direction"] == "in")
    shown = cli.json("message", "show", str(message["id"]))
    assert any("read as one text" in d for d in shown["defects"])
    assert state(cli, ref) == "answered"
