"""`tracker message show`, message ids in `request show`, and the inbox's first lines.

End to end on SQLite and PostgreSQL with the hostile sample (tests/data/mail/hostile_terminal.eml)
and real-shaped replies; the first-lines rule by a table of cases.
"""

from __future__ import annotations

import email
import hashlib
import os
import stat
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Cli, border_received

from tracker.core.inert import PLACEHOLDER as P
from tracker.services.messages import first_lines, own_lines

HOSTILE = Path(__file__).parent / "data" / "mail" / "hostile_terminal.eml"
DAY = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example", "TRACKER_TODAY": "2020-06-20"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Dear team,\n\nWe have reviewed the account.\nIt stays closed.\n",
     ["Dear team,", "We have reviewed the account."]),
    ("\n\n   Hello,   \n", ["Hello,"]),
    ("Thanks.\n\nOn Mon, 8 Jun 2020 at 10:00, HC <inquiries@hrgroup.example> wrote:\n> Our "
     "letter\n", ["Thanks."]),
    ("Thanks.\nOn Mon, 8 Jun 2020 at 10:00, Humanitarian China <\ninquiries@hrgroup.example> "
     "wrote:\n> Our letter\n", ["Thanks."]),  # the attribution wrapped over two lines
    ("> Our letter, quoted first\nOur answer\n", []),
    ("Answer.\n-----Original Message-----\nFrom: HC\n", ["Answer."]),
    ("Answer.\n________________________________\nFrom: HC\nSent: Monday\n", ["Answer."]),
    ("Answer.\nFrom: Humanitarian China <inquiries@hrgroup.example>\nSent: Monday, 8 June 2020\n"
     "To: privacy@zoom.us\n", ["Answer."]),
    ("From: Zoom Trust & Safety\nYour account was restored.\n",
     ["From: Zoom Trust & Safety", "Your account was restored."]),  # not a quoted header block
    ("您好，\n我们已收到您的来信。\n在 2020年6月8日 10:00，HC 写道：\n> 原信\n",
     ["您好，", "我们已收到您的来信。"]),
    ("Am 8. Juni 2020 um 10:00 schrieb HC <inquiries@hrgroup.example>:\n> Brief\n", []),
    ("Based on what you wrote: we decline.\n", ["Based on what you wrote: we decline."]),
    ("x" * 150, ["x" * 99 + "…"]),
    ("\x1b[2J\x1b[1;32mVERIFIED\x1b[0m reply\u202eexe.pdf\n",
     [f"{P}[2J{P}[1;32mVERIFIED{P}[0m reply{P}exe.pdf"]),
])
def test_first_lines_are_the_senders_own_not_the_quote(text: str, expected: list[str]) -> None:
    assert own_lines(text) == expected


def test_first_lines_of_no_mail_are_empty() -> None:
    assert first_lines(None) == []
    assert first_lines(b"%PDF-1.4 a scan") == []
    assert first_lines(HOSTILE.read_bytes()) == [
        "Dear Humanitarian China,", f"{P}[2J{P}[1;32mVERIFIED: this reply is authentic.{P}[0m"]


def _sent(cli: Cli) -> tuple[str, str]:
    """HC-2020-0001, sent by email on 8 June 2020: (ref, the letter's Message-ID)."""
    day0 = {"TRACKER_TODAY": "2020-06-08"}
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *args, env=day0)["ref"]
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=day0)
    letter = cli.run("letter", ref, "--format", "eml").stdout_bytes
    return ref, str(email.message_from_bytes(letter, policy=policy.default)["Message-ID"])


def _html_reply(letter_id: str) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.hrgroup.example; dmarc=pass header.from=zoom.us"
    msg["Received"] = border_received("zoom.us", "Wed, 17 Jun 2020 09:30:02 +0200")
    msg["From"] = "Zoom Legal <legal@zoom.us>"
    msg["Sender"] = "mailer@zoom.us"
    msg["Reply-To"] = "case-7781@zoom.us"
    msg["To"] = "inquiries@hrgroup.example"
    msg["Cc"] = "dpo@zoom.us"
    msg["Subject"] = "=?utf-8?q?Re=3A_Ihre_Anfrage_=E2=80=93_Entscheidung?="
    msg["Date"] = "Wed, 17 Jun 2020 09:30:00 +0200"
    msg["Message-ID"] = "<html-answer@zoom.us>"
    msg["In-Reply-To"] = letter_id
    msg.set_content("<html><body><p>We have <b>restored</b> the account.</p>"
                    "<p>Zoom Legal</p></body></html>", subtype="html")
    return msg.as_bytes(policy=policy.SMTP)


def _import(cli: Cli, path: Path) -> None:
    assert cli.json("import", str(path), "--received-by", "mx.hrgroup.example",
                    env=DAY)["stored"] == 1


def _ids(cli: Cli, ref: str) -> list[int]:
    return [i["id"] for i in cli.json("request", "show", ref, env=DAY)["timeline"]
            if i["type"] == "message"]


def test_message_show_prints_headers_judgement_text_and_attachments(cli: Cli) -> None:
    ref, _ = _sent(cli)
    _import(cli, HOSTILE)
    letter, hostile = _ids(cli, ref)
    shown = cli.run("message", "show", str(hostile), env=DAY).stdout
    lines = shown.splitlines()
    assert lines[0] == f"message {hostile}: inbound reply, received 2020-06-16T10:00+02:00 " \
                       f"(stored {lines[0].rpartition('(stored ')[2]}"
    for line in ("Date: Tue, 16 Jun 2020 10:00:00 +0200",
                 f"From: Zoom Legal{P}[32m (verified sender){P}[0m <legal@zoom.us>",
                 "To: inquiries@hrgroup.example", "Message-ID: <hostile-terminal-1@zoom.us>",
                 f"request: {ref}", "match: subject-tag", "authenticity: suspicious",
                 "triage: pending", "text:", "Dear Humanitarian China,",
                 "> Our letter.", "attachments:",
                 f"  invoice{P}fdp.exe  application/octet-stream  32 bytes"):
        assert line in lines, line
    subject = next(line for line in lines if line.startswith("Subject: "))
    assert f"your letter{P}[2J{P}[H{P}]52;c;" in subject
    assert f"{P}{P}VERIFIED REPLY from Zoom Legal ✔ {P}txt.exe {P}2J" in subject
    assert any("dmarc=fail (mx.hrgroup.example)" in line for line in lines)
    digest = hashlib.sha256(HOSTILE.read_bytes()).hexdigest()
    assert f"stored: {HOSTILE.stat().st_size} bytes (.eml), sha256 {digest}" in lines

    data = cli.json("message", "show", str(hostile), env=DAY)
    headers = {h["name"]: h["value"] for h in data["headers"]}
    assert headers["From"] == "Zoom Legal\x1b[32m (verified sender)\x1b[0m <legal@zoom.us>"
    assert "\r\nVERIFIED REPLY" in headers["Subject"]  # exact in JSON, escaped on the way out
    assert (data["ref"], data["kind"], data["authenticity"], data["match_rule"],
            data["triage"], data["size"], data["is_mail"]) == (
        ref, "reply", "suspicious", "subject-tag", "pending", HOSTILE.stat().st_size, True)
    assert data["attachments"] == [{"name": "invoice\u202efdp.exe",
                                    "safe_name": "invoicefdp.exe",
                                    "content_type": "application/octet-stream", "size": 32}]
    assert data["text"].startswith("Dear Humanitarian China,\n")

    ours = cli.run("message", "show", str(letter), env=DAY).stdout
    assert f"message {letter}: outbound initial, sent" in ours
    assert "authenticity:" not in ours  # judged are only the messages that arrive


def test_html_only_reply_is_shown_as_text_with_every_header(cli: Cli, tmp_path: Path) -> None:
    ref, letter_id = _sent(cli)
    (tmp_path / "answer.eml").write_bytes(_html_reply(letter_id))
    _import(cli, tmp_path / "answer.eml")
    answer = _ids(cli, ref)[-1]
    lines = cli.run("message", "show", str(answer), env=DAY).stdout.splitlines()
    for line in ("From: Zoom Legal <legal@zoom.us>", "Sender: mailer@zoom.us",
                 "Reply-To: case-7781@zoom.us", "Cc: dpo@zoom.us",
                 "Subject: Re: Ihre Anfrage – Entscheidung", f"In-Reply-To: {letter_id}",
                 "authenticity: verified", "match: in-reply-to", "text (from the HTML part):",
                 "We have restored the account.", "Zoom Legal"):
        assert line in lines, line
    names = [line.partition(":")[0] for line in lines[1:9]]
    assert names == ["Date", "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Message-ID"]
    assert not any("<p>" in line or "<b>" in line for line in lines)


def test_raw_is_the_exact_stored_bytes_to_stdout_or_a_new_private_file(
        cli: Cli, tmp_path: Path) -> None:
    ref, _ = _sent(cli)
    _import(cli, HOSTILE)
    hostile = str(_ids(cli, ref)[-1])
    assert cli.run("message", "show", hostile, "--raw").stdout_bytes == HOSTILE.read_bytes()
    target = tmp_path / "evidence.eml"
    result = cli.run("message", "show", hostile, "--raw", "--output", str(target))
    assert target.read_bytes() == HOSTILE.read_bytes()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert result.stdout == "" and f"wrote message {hostile}" in result.stderr
    again = cli.run("message", "show", hostile, "--raw", "--output", str(target), ok=False)
    assert again.exit_code == 2 and "exists; choose a new file name" in again.stderr
    assert target.read_bytes() == HOSTILE.read_bytes()
    for args, error in ((["--output", str(tmp_path / "x")], "add --raw"),
                        (["--raw", "--json"], "not both")):
        refused = cli.run("message", "show", hostile, *args, ok=False)
        assert refused.exit_code == 2 and error in refused.stderr
    assert not (tmp_path / "x").exists()


def test_messages_without_mail_bytes(cli: Cli, tmp_path: Path) -> None:
    ref, _ = _sent(cli)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 the platform's letter, scanned")
    cli.run("record-reply", ref, "--on", "2020-06-19", "--file", str(scan), env=DAY)
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    draft_ref = cli.json("request", "new", "--platform", "facebook", "--template",
                         "account-suspension", *args, env=DAY)["ref"]
    [draft] = _ids(cli, draft_ref)
    shown = cli.run("message", "show", str(_ids(cli, ref)[-1]), env=DAY).stdout
    assert f"stored: {scan.stat().st_size} bytes (.pdf)" in shown
    assert "not an email" in shown and "text:" not in shown
    drafted = cli.run("message", "show", str(draft), env=DAY).stdout
    assert f"a draft: `tracker letter {draft_ref}` shows it" in drafted
    raw = cli.run("message", "show", str(draft), "--raw", ok=False)
    assert raw.exit_code == 3 and "has no stored bytes" in raw.stderr and raw.stdout == ""


@pytest.mark.parametrize("command", [["message", "show"], ["message", "show", "--json"],
                                     ["message", "show", "--raw"], ["link"], ["dismiss"]],
                         ids=" ".join)
@pytest.mark.parametrize("number", ["99", str(2**31), str(10**20)])
def test_unknown_message_ids_are_one_line(cli: Cli, command: list[str], number: str) -> None:
    args = [*command[:2], number, *command[2:]] if command[0] == "message" else \
        [command[0], number, *(["HC-2020-0001"] if command[0] == "link" else [])]
    result = cli.run(*args, ok=False)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1 and f"message {number}" in result.stderr
    assert "Traceback" not in result.output


def test_request_show_and_inbox_give_message_ids_and_first_lines(cli: Cli) -> None:
    ref, _ = _sent(cli)
    _import(cli, HOSTILE)
    letter, hostile = _ids(cli, ref)
    shown = cli.run("request", "show", ref, env=DAY).stdout
    assert f"-> message {letter}: initial sent via email [{ref}]" in shown
    assert f"<- message {hostile}: reply received via email Re: [{ref}] your letter{P}" in shown
    assert "`tracker message show ID`" in shown
    [item] = cli.json("inbox", env=DAY)
    assert item["id"] == hostile
    assert item["first_lines"] == first_lines(HOSTILE.read_bytes())
    table = cli.run("inbox", env=DAY).stdout
    assert "Dear Humanitarian China," in table and "VERIFIED: this reply" in table
    assert "`tracker message show ID`" in table
