"""End to end through the CLI, on SQLite and on PostgreSQL, with a real SMTP server."""

from __future__ import annotations

import email
import email.message
import hashlib
import os
import re
import stat
from email import policy
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, border_received
from smtp_server import SmtpTestServer

from tracker.core.tags import ref_from_reply_address

DAY0 = {"TRACKER_TODAY": "2020-06-08"}  # a Monday


def example_vars(cli: Cli, template: str, language: str = "en") -> list[str]:
    spec = cli.json("template", "show", template, "--language", language)
    args: list[str] = []
    for var in spec["variables"]:
        args += ["--var", f"{var['name']}={var['example']}"]
    return args


def new_request(cli: Cli, platform: str = "zoom", template: str = "account-suspension",
                *extra: str, env: dict[str, str | None] | None = None) -> str:
    data = cli.json("request", "new", "--platform", platform, "--template", template,
                    *example_vars(cli, template), *extra, env=env or DAY0)
    return str(data["ref"])


def smtp_env(server: SmtpTestServer) -> dict[str, str | None]:
    return {"TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(server.port),
            "TRACKER_SMTP_TLS": "none"}


def status_of(cli: Cli, ref: str, today: str) -> dict[str, Any]:
    rows = cli.json("status", "--all", env={"TRACKER_TODAY": today})
    return next(r for r in rows if r["ref"] == ref)


def test_workspace_files_are_private(cli: Cli) -> None:
    for name in ("", "tracker.toml", "tag.key"):
        mode = stat.S_IMODE(os.stat(cli.workspace / name).st_mode)
        assert mode & 0o077 == 0, f"{name or 'workspace'} is {oct(mode)}"
    text = (cli.workspace / "tracker.toml").read_text()
    assert 'name = "Humanitarian China"' in text
    assert not re.search(r"^\s*password\s*=", text, re.M)


def test_directory_and_templates(cli: Cli) -> None:
    platforms = {p["slug"] for p in cli.json("platform", "list")}
    assert {"zoom", "facebook", "youtube", "x", "wechat"} <= platforms
    zoom = cli.json("platform", "show", "zoom")
    assert zoom["name"].startswith("Zoom")
    templates = {(t["id"], t["language"]) for t in cli.json("template", "list")}
    for name in ("account-suspension", "gdpr-access", "dsa-statement-of-reasons", "follow-up",
                 "final-notice"):
        assert (name, "en") in templates and (name, "zh-Hans") in templates
    spec = cli.json("template", "show", "gdpr-access")
    assert spec["deadline"] == "gdpr"
    assert all({"name", "description", "required"} <= set(v) for v in spec["variables"])
    assert "Zoom" in cli.run("platform", "show", "zoom").stdout


def test_send_by_smtp_then_clock_runs_to_very_overdue(cli: Cli) -> None:
    ref = new_request(cli, "zoom", "account-suspension", "--case", "Zoom shut our account")
    assert ref == "HC-2020-0001"
    assert status_of(cli, ref, "2020-06-08")["state"] == "draft"
    text = cli.run("letter", ref, env=DAY0).stdout
    assert "Zoom" in text
    html = cli.run("letter", ref, "--format", "html", env=DAY0).stdout
    assert html.lstrip().lower().startswith("<!doctype html")

    with SmtpTestServer() as server:
        cli.run("send", ref, env={**DAY0, **smtp_env(server)})
        assert len(server.messages) == 1
        delivered = server.messages[0]
    stored = cli.run("letter", ref, "--format", "eml", env=DAY0).stdout_bytes
    assert delivered.raw.rstrip(b"\r\n") == stored.rstrip(b"\r\n")
    msg = email.message_from_bytes(stored, policy=policy.default)
    assert msg["Subject"].startswith(f"[{ref}] ")
    assert msg["Message-ID"].endswith("@hrgroup.example>")
    assert delivered.rcpt_tos == [msg["To"].addresses[0].addr_spec]
    secret = (cli.workspace / "tag.key").read_bytes().strip()
    assert ref_from_reply_address(str(msg["Reply-To"]), secret) == ref

    shown = cli.json("request", "show", ref, env=DAY0)
    sent = [i for i in shown["timeline"] if i["type"] == "message" and i["status"] == "sent"]
    assert sent[0]["sha256"] == hashlib.sha256(stored).hexdigest()
    assert [e["kind"] for e in shown["timeline"] if e["type"] == "event"][-1] == "sent"

    # account-suspension defaults to the organisation's 30 days
    day0 = status_of(cli, ref, "2020-06-08")
    assert (day0["state"], day0["days_without_response"], day0["due_on"]) == \
        ("awaiting", 0, "2020-07-08")
    assert day0["overdue"] is False
    due = status_of(cli, ref, "2020-07-08")
    assert (due["days_without_response"], due["overdue"]) == (30, False)
    assert due["business_days_without_response"] == 22  # DE: Whit Monday 1 Jun is before
    late = status_of(cli, ref, "2020-07-09")
    assert (late["overdue"], late["overdue_by_days"], late["very_overdue"]) == (True, 1, False)
    very = status_of(cli, ref, "2020-08-08")
    assert (very["overdue"], very["very_overdue"]) == (True, True)
    assert cli.json("status", "--overdue", env={"TRACKER_TODAY": "2020-06-09"}) == []
    overdue = cli.json("status", "--overdue", env={"TRACKER_TODAY": "2020-08-08"})
    assert [r["ref"] for r in overdue] == [ref]
    assert "OVERDUE" in cli.run("status", env={"TRACKER_TODAY": "2020-08-08"}).stdout


def test_json_row_keys(cli: Cli) -> None:
    new_request(cli)
    row = cli.json("status", env=DAY0)[0]
    for key in ("ref", "platform", "template", "state", "sent_on", "due_on",
                "days_without_response", "business_days_without_response", "overdue",
                "very_overdue", "overdue_by_days", "last_reply_on", "resolution"):
        assert key in row
    assert row["sent_on"] is None and row["due_on"] is None


def test_webform_follow_up_extension_close_reopen(cli: Cli) -> None:
    ref = new_request(cli, "zoom", "gdpr-access", "--case", "access to our data",
                      "--channel", "webform", "--to", "https://zoom.us/privacy-form")
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform", "--note", "T-1",
            env={"TRACKER_TODAY": "2020-06-09"})
    row = status_of(cli, ref, "2020-06-09")
    assert (row["state"], row["sent_on"], row["due_on"]) == ("awaiting", "2020-06-08",
                                                             "2020-07-08")
    shown = cli.json("request", "show", ref, env={"TRACKER_TODAY": "2020-06-09"})
    assert "GDPR Art. 12(3)" in shown["explanation"]
    assert "Mon 8 Jun 2020" in shown["explanation"]

    cli.run("record-reply", ref, "--on", "2020-06-10", "--kind", "acknowledgement",
            env={"TRACKER_TODAY": "2020-06-10"})
    row = status_of(cli, ref, "2020-06-10")
    assert (row["state"], row["days_without_response"]) == ("acknowledged", 2)

    cli.run("extend", ref, "statutory", "--reason", "Zoom wrote on 1 July",
            env={"TRACKER_TODAY": "2020-07-01"})
    row = status_of(cli, ref, "2020-07-20")
    assert (row["due_on"], row["overdue"]) == ("2020-09-08", False)

    cli.run("follow-up", ref, env={"TRACKER_TODAY": "2020-09-10"})
    letter = cli.run("letter", ref, env={"TRACKER_TODAY": "2020-09-10"}).stdout
    assert "8 June 2020" in letter
    cli.run("mark-sent", ref, "--on", "2020-09-10", "--channel", "webform",
            env={"TRACKER_TODAY": "2020-09-10"})
    row = status_of(cli, ref, "2020-09-10")
    # a follow-up while still waiting does not restart the count
    assert (row["days_without_response"], row["overdue"]) == (94, True)

    cli.run("record-reply", ref, "--on", "2020-09-15", "--kind", "answer",
            env={"TRACKER_TODAY": "2020-09-15"})
    row = status_of(cli, ref, "2020-09-20")
    assert (row["state"], row["days_without_response"], row["overdue"]) == \
        ("answered", None, False)
    assert row["last_reply_on"] == "2020-09-15"

    cli.run("close", ref, "--resolution", "partial", env={"TRACKER_TODAY": "2020-09-20"})
    assert cli.json("status", env={"TRACKER_TODAY": "2020-09-20"}) == []
    closed = status_of(cli, ref, "2020-09-20")
    assert (closed["state"], closed["resolution"]) == ("closed", "partial")
    cli.run("reopen", ref, env={"TRACKER_TODAY": "2020-09-21"})
    reopened = status_of(cli, ref, "2020-09-21")
    assert (reopened["state"], reopened["resolution"]) == ("answered", None)

    events = [i["kind"] for i in cli.json("request", "show", ref)["timeline"]
              if i["type"] == "event"]
    assert events == ["created", "sent", "reply_recorded", "extended", "follow_up_drafted",
                      "sent", "reply_recorded", "closed", "reopened"]


def test_follow_up_after_answer_starts_new_wait_and_threads(cli: Cli) -> None:
    ref = new_request(cli)
    with SmtpTestServer() as server:
        cli.run("send", ref, env={**DAY0, **smtp_env(server)})
        cli.run("record-reply", ref, "--on", "2020-06-20", env={"TRACKER_TODAY": "2020-06-20"})
        assert status_of(cli, ref, "2020-06-25")["state"] == "answered"
        cli.run("follow-up", ref, env={"TRACKER_TODAY": "2020-07-01"})
        cli.run("send", ref, env={"TRACKER_TODAY": "2020-07-01", **smtp_env(server)})
        first, second = (email.message_from_bytes(m.raw, policy=policy.default)
                         for m in server.messages)
    assert second["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in second["References"]
    row = status_of(cli, ref, "2020-07-03")
    assert (row["state"], row["sent_on"], row["days_without_response"], row["due_on"]) == \
        ("awaiting", "2020-06-08", 2, "2020-07-31")


def test_smtp_refusals_leave_the_request_a_draft(cli: Cli) -> None:
    ref = new_request(cli, "zoom", "account-suspension", "--to", "privacy@zoom.us")
    with SmtpTestServer(auth=("staff", "right")) as server:
        env = {**DAY0, **smtp_env(server), "TRACKER_SMTP_USERNAME": "staff",
               "TRACKER_SMTP_PASSWORD_ENV": "HC_SMTP_PW", "HC_SMTP_PW": "wrong"}
        result = cli.run("send", ref, ok=False, env=env)
        assert result.exit_code == 7
        assert "login refused" in result.stderr and "wrong" not in result.stderr
        assert server.messages == []
    with SmtpTestServer(reject={"privacy@zoom.us"}) as server:
        result = cli.run("send", ref, ok=False, env={**DAY0, **smtp_env(server)})
        assert result.exit_code == 7 and "privacy@zoom.us" in result.stderr
    row = status_of(cli, ref, "2020-06-08")
    assert (row["state"], row["sent_on"]) == ("draft", None)
    shown = cli.json("request", "show", ref, env=DAY0)
    assert not [i for i in shown["timeline"] if i.get("status") == "sent"]
    assert [i["kind"] for i in shown["timeline"] if i["type"] == "event"].count(
        "send_failed") == 2
    with SmtpTestServer() as server:  # and it can still go out afterwards
        cli.run("send", ref, env={**DAY0, **smtp_env(server)})
        assert len(server.messages) == 1


def test_plaintext_smtp_to_a_remote_host_is_refused(cli: Cli) -> None:
    ref = new_request(cli)
    result = cli.run("send", ref, ok=False, env={**DAY0, "TRACKER_SMTP_HOST": "mail.example",
                                                 "TRACKER_SMTP_TLS": "none"})
    assert result.exit_code != 0 and "loopback" in result.stderr
    assert status_of(cli, ref, "2020-06-08")["state"] == "draft"


def test_dry_run_sends_nothing_and_records_nothing(cli: Cli) -> None:
    ref = new_request(cli)
    with SmtpTestServer() as server:
        result = cli.run("send", ref, "--dry-run", env={**DAY0, **smtp_env(server)})
        assert server.messages == []
    assert f"[{ref}]".encode() in result.stdout_bytes
    assert status_of(cli, ref, "2020-06-08")["state"] == "draft"


def test_case_is_shared_between_platforms(cli: Cli) -> None:
    first = cli.json("request", "new", "--platform", "zoom", "--template",
                     "account-suspension", "--case", "the June shutdown",
                     *example_vars(cli, "account-suspension"), env=DAY0)
    second = cli.json("request", "new", "--platform", "youtube", "--template",
                      "account-suspension", "--case-id", str(first["case_id"]),
                      "--language", "zh-Hans", env=DAY0)
    assert second["case_id"] == first["case_id"]
    assert second["ref"] == "HC-2020-0002"
    cases = cli.json("case", "list")
    assert [c["title"] for c in cases] == ["the June shutdown"]
    assert "2020" in cli.run("letter", second["ref"], env=DAY0).stdout


BAD_INPUT = [
    (["request", "new", "--platform", "zooom", "--template", "account-suspension"],
     3, "did you mean: zoom"),
    (["request", "new", "--platform", "zoom", "--template", "acount-suspension"],
     3, "account-suspension"),
    (["request", "new", "--platform", "zoom", "--template", "account-suspension"],
     4, "missing variables"),
    (["request", "new", "--platform", "zoom", "--template", "account-suspension",
      "--var", "nonsense"], 2, "nonsense"),
    (["request", "new", "--platform", "zoom", "--template", "gdpr-access", "--deadline",
      "soon"], 2, "soon"),
    (["request", "new", "--platform", "zoom", "--template", "follow-up"], 2, "follow-up"),
    (["request", "show", "HC-2020-0099"], 3, "no request HC-2020-0099"),
    (["request", "show", "nonsense"], 2, "HC-2026-0007"),
    (["status", "--as-of", "2020-13-01"], 2, "not a date"),
    (["platform", "show", "tiktk"], 3, "tiktok"),
    (["template", "show", "gdpr-acess"], 3, "gdpr-access"),
    (["close", "HC-2020-0099", "--resolution", "refused"], 3, "no request"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_INPUT,
                         ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _, _) in
                              enumerate(BAD_INPUT)])
def test_bad_input_is_one_line_and_nonzero(cli: Cli, args: list[str], code: int,
                                           message: str) -> None:
    before = cli.json("request", "list")
    result = cli.run(*args, ok=False, env=DAY0)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert cli.json("request", "list") == before


def test_header_injection_in_recipient_is_rejected(cli: Cli) -> None:
    result = cli.run("request", "new", "--platform", "zoom", "--template",
                     "account-suspension", *example_vars(cli, "account-suspension"),
                     "--to", "privacy@zoom.us\r\nBcc: spy@evil.example", ok=False, env=DAY0)
    assert result.exit_code == 2
    assert cli.json("request", "list") == []


def test_state_errors(cli: Cli) -> None:
    ref = new_request(cli)
    result = cli.run("follow-up", ref, ok=False, env=DAY0)
    assert result.exit_code == 5 and "draft" in result.stderr
    result = cli.run("extend", ref, "14d", "--reason", "x", ok=False, env=DAY0)
    assert result.exit_code == 5
    result = cli.run("mark-sent", ref, "--on", "2030-01-01", "--channel", "post", ok=False,
                     env=DAY0)
    assert result.exit_code == 2 and "future" in result.stderr


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    cli = Cli(workspace=tmp_path / "ws", env={"TRACKER_DATABASE_URL": None})
    from click.testing import CliRunner

    from tracker.cli import main

    CliRunner().invoke(main, ["init", str(cli.workspace)], catch_exceptions=False)
    result = cli.run("status", ok=False,
                     env={"TRACKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.exit_code == 6
    assert "cannot open database" in result.stderr and "Traceback" not in result.stderr


def test_crash_during_send_is_never_silently_repeated(cli: Cli) -> None:
    """SIGKILL while the server holds the letter: the next run refuses to guess, --retry resends
    the very same bytes (same Message-ID), and the letter is recorded as sent exactly once."""
    import signal
    import subprocess
    import sys
    import time

    ref = new_request(cli)
    with SmtpTestServer(data_delay=30) as server:
        env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None}, **DAY0,
               **smtp_env(server), "TRACKER_WORKSPACE": str(cli.workspace)}
        env = {k: v for k, v in env.items() if v is not None}
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "send", ref], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not server.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.messages, "the send never reached DATA"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    result = cli.run("send", ref, ok=False, env=DAY0)
    assert result.exit_code == 5 and "--retry" in result.stderr
    assert status_of(cli, ref, "2020-06-08")["state"] == "draft"
    with SmtpTestServer() as server:
        cli.run("send", ref, "--retry", env={**DAY0, **smtp_env(server)})
        resent = email.message_from_bytes(server.messages[0].raw, policy=policy.default)
    stored = email.message_from_bytes(cli.run("letter", ref, "--format", "eml").stdout_bytes,
                                      policy=policy.default)
    assert resent["Message-ID"] == stored["Message-ID"]
    assert status_of(cli, ref, "2020-06-08")["state"] == "awaiting"
    shown = cli.json("request", "show", ref, env=DAY0)
    assert [i["status"] for i in shown["timeline"] if i["type"] == "message"] == ["sent"]
    result = cli.run("send", ref, ok=False, env=DAY0)
    assert result.exit_code == 5 and "no letter waiting" in result.stderr


def test_platform_add_and_workspace_template_override(cli: Cli) -> None:
    cli.run("platform", "add", "--slug", "acme", "--name", "Acme Social", "--email",
            "privacy@acme.example", "--source", "https://acme.example/privacy",
            "--law", "GDPR", env=DAY0)
    acme = cli.json("platform", "show", "acme")
    assert acme["origin"] == "workspace"
    assert acme["contacts"][0]["value"] == "privacy@acme.example"
    assert acme["contacts"][0]["checked"] == "2020-06-08"
    result = cli.run("platform", "add", "--slug", "acme", "--name", "Acme", "--email",
                     "x@acme.example", "--source", "https://acme.example", ok=False)
    assert result.exit_code != 0 and "acme" in result.stderr

    override = cli.workspace / "templates" / "account-suspension.en.j2"
    override.write_text('{#---\ntitle = "Ours"\nsubject = "Our own {{ account }}"\n'
                        'kind = "initial"\n[[variables]]\nname = "account"\n'
                        'description = "the account"\nexample = "a@b.example"\n---#}\n'
                        "Dear {{ platform.name }}, about {{ account }}.\n", encoding="utf-8")
    ref = new_request(cli, "acme", "account-suspension")
    letter = cli.run("letter", ref, env=DAY0).stdout
    assert "Dear Acme Social, about a@b.example." in letter
    assert "Subject: Our own a@b.example" in letter

    override.write_text('{#---\ntitle = "Broken"\nsubject = "x"\n---#}\n{% if %}\n',
                        encoding="utf-8")
    result = cli.run("letter", ref, ok=False, env=DAY0)
    assert result.exit_code == 4
    assert "account-suspension.en.j2" in result.stderr and "Traceback" not in result.stderr


def test_send_over_verified_starttls(cli: Cli) -> None:
    ref = new_request(cli)
    with SmtpTestServer(tls="starttls") as server:
        base = {**DAY0, "TRACKER_SMTP_HOST": "localhost",
                "TRACKER_SMTP_PORT": str(server.port), "TRACKER_SMTP_TLS": "starttls"}
        result = cli.run("send", ref, ok=False, env=base)
        assert result.exit_code == 7 and "certificate" in result.stderr
        assert server.messages == []
        cli.run("send", ref, env={**base, "TRACKER_SMTP_CA_FILE": str(server.ca_file)})
        assert len(server.messages) == 1
    assert status_of(cli, ref, "2020-06-08")["state"] == "awaiting"


def test_connection_lost_during_data_keeps_the_letter_uncertain(cli: Cli) -> None:
    ref = new_request(cli)
    with SmtpTestServer(data_delay=3) as server:
        result = cli.run("send", ref, ok=False,
                         env={**DAY0, **smtp_env(server), "TRACKER_SMTP_TIMEOUT": "0.5"})
        assert result.exit_code == 7 and "may have accepted" in result.stderr
    result = cli.run("send", ref, ok=False, env=DAY0)
    assert result.exit_code == 5 and "Sent folder" in result.stderr
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=DAY0)
    shown = cli.json("request", "show", ref, env=DAY0)
    messages = [i for i in shown["timeline"] if i["type"] == "message"]
    assert [m["status"] for m in messages] == ["sent"]
    assert "send_uncertain" in [i["kind"] for i in shown["timeline"] if i["type"] == "event"]


TRUSTED = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example"}


def acknowledgement(subject: str, in_reply_to: str, *, dmarc: str, day: int) -> bytes:
    """Zoom's automatic acknowledgement of our letter, as our mail server delivered it."""
    msg = email.message.EmailMessage()
    msg["Authentication-Results"] = (f"mx.hrgroup.example; dkim={dmarc} header.d=zoom.us; "
                                     f"dmarc={dmarc} header.from=zoom.us")
    msg["Received"] = border_received("zoom.us", f"Wed, {day} Jun 2020 10:00:02 +0200")
    msg["From"] = "support@zoom.us"
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Date"] = f"Wed, {day} Jun 2020 10:00:00 +0200"
    msg["Message-ID"] = f"<ack-{day}-{dmarc}@zoom.us>"
    msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Thank you for contacting Zoom. We will get back to you.")
    return msg.as_bytes(policy=policy.SMTP)


def letter_id(cli: Cli, ref: str) -> str:
    raw = cli.run("letter", ref, "--format", "eml").stdout_bytes
    return str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"])


def test_follow_up_quotes_the_ticket_learned_from_a_genuine_reply(cli: Cli,
                                                                  tmp_path: Path) -> None:
    genuine, forged = new_request(cli), new_request(cli)
    for ref in (genuine, forged):
        cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=DAY0)
    (tmp_path / "ack.eml").write_bytes(acknowledgement(
        "Your request #448812 has been received", letter_id(cli, genuine), dmarc="pass", day=10))
    (tmp_path / "forged.eml").write_bytes(acknowledgement(
        "Your request #666 has been received", letter_id(cli, forged), dmarc="fail", day=10))
    env = {**TRUSTED, "TRACKER_TODAY": "2020-06-10"}
    for name in ("ack.eml", "forged.eml"):
        assert cli.json("import", str(tmp_path / name), "--trust-mailbox",
                        env=env)["matched"] == 1
    late = {"TRACKER_TODAY": "2020-07-20"}
    for ref in (genuine, forged):
        cli.run("follow-up", ref, env=late)  # no --var ticket=...
    text = cli.run("letter", genuine, env=late).stdout
    assert "(your reference Request #448812)" in text.splitlines()[0]  # the subject
    assert "you registered our letter under your reference Request #448812" in text
    # A ticket only a forged-looking reply gave never puts words in our letter.
    assert "666" not in cli.run("letter", forged, env=late).stdout
    # What staff give wins.
    cli.run("draft", "redraft", genuine, "--var", "ticket=Case 77", env=late)
    assert "your reference Case 77" in cli.run("letter", genuine, env=late).stdout


def test_letter_in_another_language_is_a_preview_that_changes_nothing(cli: Cli) -> None:
    ref = new_request(cli)
    before = cli.json("request", "show", ref, env=DAY0)
    result = cli.run("letter", ref, "--language", "zh-Hans", env=DAY0)
    assert "敬启者" in result.stdout and result.stderr == ""
    assert "Dear Sir or Madam" in cli.run("letter", ref, env=DAY0).stdout
    assert cli.json("request", "show", ref, env=DAY0) == before
    eml = cli.run("letter", ref, "--format", "eml", "--language", "zh-Hans", env=DAY0)
    subject = email.message_from_bytes(eml.stdout_bytes, policy=policy.default)["Subject"]
    assert "账户" in subject

    # A sent letter stays as sent: the preview is of its template, and stderr says so.
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=DAY0)
    stored = cli.run("letter", ref, "--format", "eml", env=DAY0).stdout_bytes
    result = cli.run("letter", ref, "--language", "zh-Hans", env=DAY0)
    assert "敬启者" in result.stdout
    assert "stays as sent" in result.stderr and result.stderr.count("\n") == 1
    assert cli.run("letter", ref, "--format", "eml", env=DAY0).stdout_bytes == stored
    events = [i["kind"] for i in cli.json("request", "show", ref)["timeline"]
              if i["type"] == "event"]
    assert events == ["created", "sent"]

    # A template without that language: one clear line naming the ones it has.
    (cli.workspace / "templates" / "ours.en.j2").write_text(
        '{#---\ntitle = "Ours"\nsubject = "Ours"\n---#}\nDear {{ platform.name }}.\n',
        encoding="utf-8")
    own = str(cli.json("request", "new", "--platform", "zoom", "--template", "ours",
                       env=DAY0)["ref"])
    result = cli.run("letter", own, "--language", "zh-Hans", ok=False, env=DAY0)
    assert result.exit_code == 3 and result.stderr.count("\n") == 1
    assert "has no 'zh-Hans' version (available: en)" in result.stderr


def state_cell(table: str, ref: str) -> str:
    """The state column of *ref*'s row in `tracker status`, its wrapped lines joined."""
    cells: list[str] = []
    for line in table.splitlines():
        parts = [p.strip() for p in line.split("│")]
        if len(parts) < 3:
            continue
        if parts[1] == ref or (cells and not parts[1]):
            cells.append(parts[-2])
        elif cells:
            break
    return " ".join(cells)


def test_status_shows_a_pending_draft_and_keeps_the_acknowledgement_in_view(cli: Cli) -> None:
    ref = new_request(cli)
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=DAY0)
    cli.run("record-reply", ref, "--on", "2020-06-10", "--kind", "acknowledgement",
            env={"TRACKER_TODAY": "2020-06-10"})
    late = {"TRACKER_TODAY": "2020-07-20"}
    row = status_of(cli, ref, "2020-07-20")
    assert (row["pending_draft"], row["acknowledged_on"]) == (None, "2020-06-10")
    cli.run("follow-up", ref, env=late)
    row = status_of(cli, ref, "2020-07-20")
    assert (row["pending_draft"], row["acknowledged_on"]) == ("follow-up", "2020-06-10")
    state = state_cell(cli.run("status", env=late).stdout, ref)
    assert state.startswith("acknowledged 2020-06-10, draft: follow-up, OVERDUE"), state
    cli.run("mark-sent", ref, "--on", "2020-07-20", "--channel", "email", env=late)
    row = status_of(cli, ref, "2020-07-21")
    assert (row["pending_draft"], row["acknowledged_on"]) == (None, "2020-06-10")
    state = state_cell(cli.run("status", env={"TRACKER_TODAY": "2020-07-21"}).stdout, ref)
    assert state.startswith("acknowledged 2020-06-10, OVERDUE"), state
    # An answer ends the acknowledged wait.
    cli.run("record-reply", ref, "--on", "2020-07-22", env={"TRACKER_TODAY": "2020-07-22"})
    row = status_of(cli, ref, "2020-07-22")
    assert (row["state"], row["acknowledged_on"]) == ("answered", None)


def test_stored_state_stays_acknowledged_after_a_follow_up(cli: Cli) -> None:
    ref = new_request(cli)
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=DAY0)
    cli.run("record-reply", ref, "--on", "2020-06-10", "--kind", "acknowledgement",
            env={"TRACKER_TODAY": "2020-06-10"})
    late = {"TRACKER_TODAY": "2020-07-20"}
    cli.run("follow-up", ref, env=late)
    cli.run("mark-sent", ref, "--on", "2020-07-20", "--channel", "email", env=late)
    row = status_of(cli, ref, "2020-07-21")
    assert row["acknowledged_on"] == "2020-06-10"
    assert row["state"] == "acknowledged"  # the state assertion the lead's fix enables
