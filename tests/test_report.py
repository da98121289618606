"""`tracker report weekly`, `tracker stats`, `tracker export`, end to end on SQLite and PostgreSQL.

One workspace per database holds a request in every state: a draft, one due soon, one
acknowledged this week, one answered this week, a closed one, an overdue one (its subject
carrying a <script>), a very overdue one with a follow-up, an undelivered one (a bounce this
week), one with a suspicious reply (and a drafted follow-up), and mail nobody could match.
The report is for the week ending Monday 10 August 2020.
"""

from __future__ import annotations

import csv
import email
import io
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import INIT_ARGS, POSTGRES_URL, Cli, _postgres_or_fail, bounce
from smtp_server import SmtpTestServer

from tracker.cli import main
from tracker.store.db import normalise_url

AS_OF = "2020-08-10"  # a Monday; the week is Tue 4 Aug to Mon 10 Aug 2020
TODAY = {"TRACKER_TODAY": AS_OF}
TRUSTED = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example"}
SCRIPT = "<script>alert(1)</script>"


@dataclass
class World:
    cli: Cli
    refs: dict[str, str]  # role -> reference
    tmp: Path

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.run(*args, **env))

    def run(self, *args: str, **env: str) -> str:
        return self.cli.run(*args, env={**TODAY, **env}).stdout


def at(day: str) -> dict[str, str | None]:
    return {"TRACKER_TODAY": day}


def example_vars(cli: Cli, template: str, **override: str) -> list[str]:
    spec = cli.json("template", "show", template)
    args: list[str] = []
    for var in spec["variables"]:
        args += ["--var", f"{var['name']}={override.get(var['name'], var['example'])}"]
    return args


def sent(cli: Cli, platform: str, day: str, template: str = "account-suspension",
         channel: str = "email", **override: str) -> tuple[str, str]:
    """A request whose letter went out on *day*: (ref, the letter's Message-ID)."""
    ref = cli.json("request", "new", "--platform", platform, "--template", template,
                   *example_vars(cli, template, **override), env=at(day))["ref"]
    if channel:
        cli.run("mark-sent", ref, "--on", day, "--channel", channel, env=at(day))
    raw = cli.run("letter", ref, "--format", "eml", env=at(day)).stdout_bytes
    return ref, str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"])


def mail(subject: str, sender: str, day: str, *, in_reply_to: str = "",
         auth: str = "", auto: bool = False) -> bytes:
    domain = sender.rpartition("@")[2]
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.hrgroup.example; " + (
        auth or f"dkim=pass header.d={domain}; dmarc=pass header.from={domain}")
    msg["Received"] = (f"from mail.{domain} (mail.{domain} [192.0.2.1]) by mx.hrgroup.example "
                       f"(Postfix) with ESMTPS id 4TqK1Z; {day}")
    msg["From"] = sender
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    d = date.fromisoformat(day)
    msg["Date"] = f"{d:%a}, {d.day} {d:%b %Y} 10:00:00 +0200"
    msg["Message-ID"] = f"<{secrets.token_hex(8)}@{domain}>"
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Thank you for your letter.")
    return msg.as_bytes(policy=policy.SMTP)


def build_scenario(cli: Cli, tmp: Path) -> dict[str, str]:
    refs: dict[str, str] = {}
    inbox = tmp / "mail"
    inbox.mkdir()

    def deliver(name: str, raw: bytes) -> None:
        (inbox / f"{name}.eml").write_bytes(raw)
        cli.run("import", str(inbox / f"{name}.eml"), "--trust-mailbox", env={**TRUSTED, **TODAY})

    refs["draft"] = cli.json("request", "new", "--platform", "zoom", "--template",
                             "account-suspension", *example_vars(cli, "account-suspension"),
                             env=at("2020-08-03"))["ref"]
    refs["closed"], _ = sent(cli, "zoom", "2020-06-01")
    cli.run("record-reply", refs["closed"], "--on", "2020-06-20", env=at("2020-06-20"))
    cli.run("close", refs["closed"], "--resolution", "answered", env=at("2020-06-21"))
    refs["very_overdue"], _ = sent(cli, "facebook", "2020-05-11", "gdpr-access", "webform")
    cli.run("follow-up", refs["very_overdue"], env=at("2020-06-15"))
    cli.run("mark-sent", refs["very_overdue"], "--on", "2020-06-15", "--channel", "webform",
            env=at("2020-06-15"))
    refs["answered"], answered_id = sent(cli, "zoom", "2020-06-08")
    refs["overdue"], _ = sent(cli, "facebook", "2020-07-01", channel="webform", account=SCRIPT)
    refs["suspicious"], suspicious_id = sent(cli, "zoom", "2020-07-06")
    refs["due_soon"], _ = sent(cli, "youtube", "2020-07-14")
    refs["acknowledged"], acknowledged_id = sent(cli, "youtube", "2020-07-20")
    refs["undelivered"], undelivered_id = sent(cli, "zoom", "2020-08-03")

    recipient = cli.json("request", "show", refs["undelivered"])["recipient"]
    deliver("bounce", bounce(recipient, undelivered_id, "2020-08-04"))
    deliver("answer", mail("Re: your letter", "legal@zoom.us", "2020-08-05",
                           in_reply_to=answered_id))
    deliver("forged", mail(f"Re: {SCRIPT} account review", "trust@zoom.us", "2020-08-06",
                           in_reply_to=suspicious_id,
                           auth="spf=fail smtp.mailfrom=evil.example; dmarc=fail "
                                "header.from=zoom.us"))
    deliver("unmatched", mail("About your complaint", "legal@x.com", "2020-08-07"))
    deliver("ack", mail("We received your request", "noreply@google.com", "2020-08-08",
                        in_reply_to=acknowledged_id, auto=True))
    cli.run("follow-up", refs["suspicious"], env=at("2020-08-07"))
    return refs


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[World]:
    """The scenario, built once per database through the CLI (the tests only read it)."""
    tmp = tmp_path_factory.mktemp(f"report-{request.param}")
    engine = schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'tracker.db'}"
    else:
        engine = _postgres_or_fail()
        schema = f"t_{secrets.token_hex(6)}"
        with engine.begin() as conn:
            conn.execute(sa.text(f'create schema "{schema}"'))
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{normalise_url(POSTGRES_URL)}{sep}options=-csearch_path%3D{schema}"
    env: dict[str, str | None] = {"TRACKER_DATABASE_URL": url, "TRACKER_TAG_SECRET": None,
                                  "TRACKER_TODAY": None, "TRACKER_WORKSPACE": None,
                                  "DATABASE_URL": None, "TRACKER_REPORT_RECIPIENTS": None,
                                  "TRACKER_REPORT_LANGUAGE": None, "TRACKER_SMTP_HOST": None}
    result = CliRunner().invoke(main, ["init", str(tmp / "ws"), *INIT_ARGS], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli = Cli(workspace=tmp / "ws", env=env)
    try:
        yield World(cli, build_scenario(cli, tmp), tmp)
    finally:
        if engine is not None:
            with engine.begin() as conn:
                conn.execute(sa.text(f'drop schema "{schema}" cascade'))
            engine.dispose()


def refs_of(rows: list[dict[str, Any]]) -> list[str]:
    return [r["ref"] for r in rows]


# --- the report's data ------------------------------------------------------------------------


def test_weekly_json_has_every_section_in_order(world: World) -> None:
    data = world.json("report", "weekly", "--format", "json")
    assert list(data) == ["organisation", "language", "as_of", "week_start", "summary",
                          "overdue", "due_soon", "inbound", "needs_attention", "platforms"]
    assert (data["as_of"], data["week_start"]) == (AS_OF, "2020-08-04")
    assert data["summary"] == {
        "open": 8, "overdue": 3, "very_overdue": 1, "answered_this_week": 1, "undelivered": 1,
        "waiting_for_triage": 2, "suspicious_replies": 1, "due_soon": 1, "drafts": 2,
        "reminders_due": 2,
    }


def test_overdue_longest_silence_first_with_legal_basis_and_next_step(world: World) -> None:
    data = world.json("report", "weekly", "--format", "json")
    r = world.refs
    overdue = data["overdue"]
    assert refs_of(overdue) == [r["very_overdue"], r["overdue"], r["suspicious"]]
    very, late, forged = overdue
    assert (very["days_without_response"], very["very_overdue"], very["due_on"]) == \
        (91, True, "2020-06-11")
    assert very["business_days_without_response"] == 63
    assert (very["legal_basis"], very["citation"]) == ("1 month, GDPR Art. 12(3)",
                                                       "GDPR Art. 12(3)")
    assert very["follow_ups_sent"] == 1
    assert (very["next_action_code"], very["next_letter"]) == ("final-notice", "final-notice")
    assert very["next_action"] == "send the final notice before a complaint to the regulator"
    assert (late["days_without_response"], late["overdue_by_days"], late["very_overdue"]) == \
        (40, 10, False)
    assert late["legal_basis"] == "30 days" and late["citation"] == ""
    assert (late["next_action_code"], late["follow_ups_sent"]) == ("follow-up", 0)
    assert SCRIPT in late["subject"]
    # the suspicious reply does not stop the clock, and the drafted follow-up waits for a person
    assert (forged["days_without_response"], forged["suspicious_replies"]) == (35, 1)
    assert forged["next_action"] == "a drafted letter is waiting to be reviewed and sent"
    # every `tracker status --json` key is there, with the same values
    status = {row["ref"]: row for row in world.json("status", "--json")}
    for row in overdue:
        assert {k: row[k] for k in status[row["ref"]]} == status[row["ref"]]


def test_due_soon_inbound_and_needs_a_person(world: World) -> None:
    data = world.json("report", "weekly", "--format", "json")
    r = world.refs
    assert refs_of(data["due_soon"]) == [r["due_soon"]]
    assert (data["due_soon"][0]["due_on"], data["due_soon"][0]["due_in_days"]) == \
        ("2020-08-13", 3)
    inbound = [(m["category"], m["ref"], m["received_at"][:10]) for m in data["inbound"]]
    assert inbound == [("bounce", r["undelivered"], "2020-08-04"),
                       ("reply", r["answered"], "2020-08-05"),
                       ("suspicious", r["suspicious"], "2020-08-06"),
                       ("reply", None, "2020-08-07"),  # unmatched: in triage
                       ("acknowledgement", r["acknowledged"], "2020-08-08")]
    attention = data["needs_attention"]
    assert [(i["ref"], i["authenticity"]) for i in attention["triage"]] == \
        [(r["suspicious"], "suspicious"), (None, "verified")]
    assert refs_of(attention["undelivered"]) == [r["undelivered"]]
    assert attention["undelivered"][0]["next_action_code"] == "fix-address"
    assert [(d["ref"], d["kind"], d["status"]) for d in attention["drafts"]] == \
        sorted([(r["draft"], "initial", "draft"), (r["suspicious"], "follow-up", "draft")])
    assert [(x["ref"], x["next_letter"]) for x in attention["reminders"]] == \
        [(r["very_overdue"], "final-notice"), (r["overdue"], "follow-up")]


def test_platforms_answered_share_median_and_longest_silence(world: World) -> None:
    data = world.json("report", "weekly", "--format", "json")
    r = world.refs
    platforms = {p["platform"]: p for p in data["platforms"]}
    assert list(platforms) == ["facebook", "youtube", "zoom"]  # by name; the draft's not sent
    zoom = platforms["zoom"]
    assert (zoom["requests"], zoom["open"], zoom["answered"], zoom["answered_share"]) == \
        (4, 3, 2, 0.5)
    assert zoom["median_days_to_first_reply"] == 38.5  # 19 days (closed) and 58 days
    assert (zoom["longest_silence_days"], zoom["longest_silence_ref"]) == (35, r["suspicious"])
    facebook = platforms["facebook"]
    assert (facebook["requests"], facebook["answered_share"], facebook["overdue"]) == (2, 0.0, 2)
    assert facebook["median_days_to_first_reply"] is None
    assert (facebook["longest_silence_days"], facebook["longest_silence_ref"]) == \
        (91, r["very_overdue"])


def test_report_as_of_another_day_and_bad_date(world: World) -> None:
    earlier = world.json("report", "weekly", "--format", "json", "--as-of", "2020-07-01")
    assert earlier["week_start"] == "2020-06-25"
    assert refs_of(earlier["overdue"]) == [world.refs["very_overdue"]]
    assert earlier["inbound"] == []
    result = world.cli.run("report", "weekly", "--as-of", "2020-02-30", ok=False, env=TODAY)
    assert result.exit_code == 2 and "not a date" in result.stderr
    assert result.stderr.count("\n") == 1


# --- formats ----------------------------------------------------------------------------------


def test_terminal_markdown_and_csv_carry_every_section(world: World) -> None:
    r = world.refs
    terminal = world.run("report", "weekly")
    markdown = world.run("report", "weekly", "--format", "markdown")
    titles = ["Summary", "Overdue", "Due in the next 7 days", "This week's inbound mail",
              "Needs a person", "Per platform"]
    for text in (terminal, markdown):
        positions = [text.index(title) for title in titles]
        assert positions == sorted(positions)
        for role in ("very_overdue", "overdue", "suspicious", "due_soon", "undelivered",
                     "answered", "acknowledged", "draft"):
            assert r[role] in text, role
    assert "OVERDUE" in terminal and "SUSPICIOUS" in terminal
    # (a terminal wraps long cells; Markdown keeps them whole)
    assert "1 month, GDPR Art. 12(3)" in markdown and "send the final notice" in markdown
    assert "\\<script\\>" in markdown and SCRIPT not in markdown  # escaped, shown as text
    assert markdown.index(r["very_overdue"]) < markdown.index(r["overdue"])

    rows = list(csv.DictReader(io.StringIO(world.run("report", "weekly", "--format", "csv"))))
    assert not world.run("report", "weekly", "--format", "csv").startswith("\ufeff")
    sections = {row["ref"]: row["section"] for row in rows}
    assert len(sections) == len(rows) == 8  # every open request once
    assert [sections[r[k]] for k in ("very_overdue", "overdue", "suspicious", "due_soon",
                                     "undelivered", "draft")] == \
        ["overdue", "overdue", "overdue", "due_soon", "undelivered", "draft"]
    status_keys = set(world.json("status", "--json")[0])
    assert status_keys | {"section", "legal_basis", "next_action"} <= set(rows[0])


def test_terminal_colours_overdue_rows_red(world: World) -> None:
    from rich.console import Console

    from tracker.config.loading import load_settings
    from tracker.report import build_weekly_report
    from tracker.report.terminal import render_terminal
    from tracker.services.workspace import Workspace
    from tracker.store.db import transaction

    env = {k: v for k, v in world.cli.env.items() if v is not None}
    ws = Workspace(load_settings(world.cli.workspace, env=env), env=env)
    try:
        with transaction(ws.engine) as session:
            report = build_weekly_report(ws, session, date.fromisoformat(AS_OF))
    finally:
        ws.close()
    console = Console(file=io.StringIO(), width=200, force_terminal=True,
                      color_system="standard")
    render_terminal(report, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    line = next(x for x in text.splitlines() if world.refs["overdue"] in x)
    assert "\x1b[31m" in line  # red
    very = next(x for x in text.splitlines() if world.refs["very_overdue"] in x)
    assert "\x1b[1;31m" in very  # bold red


def test_html_is_one_safe_self_contained_page_with_bars(world: World) -> None:
    page = world.run("report", "weekly", "--format", "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    lowered = page.lower()
    assert "<script" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the subject, escaped
    for pattern in (r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", r"@import", r"url\(",
                    r"<link\b", r"<img\b", r"<iframe\b", r"<style\b", r"\bon\w+\s*="):
        assert not re.search(pattern, lowered), pattern
    bars = re.findall(r'class="bar" title="([^"]+)"', page)
    # one bar per open request that is waiting, longest silence first, with its deadline
    assert bars[:3] == [f"{world.refs['very_overdue']}: 91 / 31",
                        f"{world.refs['overdue']}: 40 / 30",
                        f"{world.refs['suspicious']}: 35 / 30"]
    assert len(bars) == 6  # the draft has no clock and the answered request is not waiting
    assert "border-left:2px solid #000000" in page  # the deadline marker
    for title in ("Summary", "Overdue", "Needs a person", "Per platform"):
        assert f">{title}</h2>" in page


def test_zh_hans_labels(world: World) -> None:
    env = {"TRACKER_REPORT_LANGUAGE": "zh-Hans"}
    for fmt in ("terminal", "markdown", "html"):
        text = world.run("report", "weekly", "--format", fmt, **env)
        for label in ("概览", "已逾期", "未来 7 天内到期", "本周收到的邮件", "需要人工处理",
                      "按平台统计", "编号", "期限的法律依据" if fmt != "terminal" else "法律依据",
                      "下一步", "2020年8月10日（周一）"):
            assert label in text, (fmt, label)
        for english in ("Summary", "Overdue", "Needs a person", "Legal basis", "Next step",
                        "send the final notice"):
            assert english not in text, (fmt, english)
        if fmt != "terminal":  # a terminal wraps long cells
            assert "在向监管机构投诉前发送最后通知" in text  # the next step, translated
            assert "1 个月，GDPR Art. 12(3)" in text
    assert '<html lang="zh-Hans">' in world.run("report", "weekly", "--format", "html", **env)
    # JSON keys stay English whatever the language
    data = world.json("report", "weekly", "--json", **env)
    assert data["language"] == "zh-Hans" and data["summary"]["overdue"] == 3


def test_output_file_is_private_and_replaced_whole(world: World) -> None:
    target = world.tmp / "out" / "report.html"
    target.parent.mkdir(exist_ok=True)
    target.write_text("old")
    os.chmod(target, 0o644)
    message = world.run("report", "weekly", "--format", "html", "--output", str(target))
    assert str(target) in message
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary left
    result = world.cli.run("report", "weekly", "--output", str(world.tmp / "no" / "x.md"),
                           ok=False, env=TODAY)
    assert result.exit_code == 2 and "cannot write" in result.stderr


# --- email ------------------------------------------------------------------------------------


def test_email_sends_text_and_html_to_the_recipients(world: World) -> None:
    recipients = "staff@hrgroup.example,director@hrgroup.example"
    with SmtpTestServer() as server:
        out = world.run("report", "weekly", "--email", TRACKER_SMTP_HOST="127.0.0.1",
                        TRACKER_SMTP_PORT=str(server.port), TRACKER_SMTP_TLS="none",
                        TRACKER_REPORT_RECIPIENTS=recipients)
        assert out.strip() == "sent to 2 recipients: 3 overdue"
        [received] = server.messages
    assert received.rcpt_tos == recipients.split(",")
    assert received.envelope_from == "inquiries@hrgroup.example"
    msg = email.message_from_bytes(received.raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == \
        "tracker weekly report, week ending Mon 10 Aug 2020: 3 overdue"
    assert msg["From"].addresses[0].addr_spec == "inquiries@hrgroup.example"
    assert msg["To"] == "staff@hrgroup.example, director@hrgroup.example"
    assert re.fullmatch(r"<report-2020-08-10\.[0-9a-f]+@hrgroup\.example>", msg["Message-ID"])
    assert msg["Auto-Submitted"] == "auto-generated"
    parts = {part.get_content_type(): part.get_content() for part in msg.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert world.refs["very_overdue"] in parts["text/plain"]
    assert "class=\"bar\"" in parts["text/html"] and "<script" not in parts["text/html"]


def test_email_subject_in_chinese(world: World) -> None:
    with SmtpTestServer() as server:
        world.run("report", "weekly", "--email", TRACKER_SMTP_HOST="127.0.0.1",
                  TRACKER_SMTP_PORT=str(server.port), TRACKER_SMTP_TLS="none",
                  TRACKER_REPORT_RECIPIENTS="staff@hrgroup.example",
                  TRACKER_REPORT_LANGUAGE="zh-Hans")
        msg = email.message_from_bytes(server.messages[0].raw, policy=policy.default)
    assert msg["Subject"] == "tracker 每周报告（截至2020年8月10日（周一）的一周）：3 件逾期"


def test_email_without_recipients_or_server_is_one_clear_line(world: World) -> None:
    result = world.cli.run("report", "weekly", "--email", ok=False, env=TODAY)
    assert result.exit_code == 2 and "[report] recipients" in result.stderr
    assert result.stderr.count("\n") == 1
    with SmtpTestServer(reject={"staff@hrgroup.example"}) as server:
        result = world.cli.run("report", "weekly", "--email", ok=False, env={
            **TODAY, "TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(server.port),
            "TRACKER_SMTP_TLS": "none", "TRACKER_REPORT_RECIPIENTS": "staff@hrgroup.example"})
    assert result.exit_code == 7 and "staff@hrgroup.example" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_email_weekly_report_is_the_schedulers_entry_point(world: World) -> None:
    from datetime import datetime

    from tracker.config.loading import load_settings
    from tracker.report import email_weekly_report
    from tracker.services.workspace import Workspace

    with SmtpTestServer() as server:
        env = {**{k: v for k, v in world.cli.env.items() if v is not None},
               "TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(server.port),
               "TRACKER_SMTP_TLS": "none", "TRACKER_REPORT_RECIPIENTS": "a@hrgroup.example"}
        ws = Workspace(load_settings(world.cli.workspace, env=env), env=env)
        try:
            now = datetime(2020, 8, 10, 9, 0, tzinfo=ws.settings.tz)
            detail = email_weekly_report(ws, now.date(), now)
        finally:
            ws.close()
        assert detail == "sent to 1 recipient: 3 overdue"
        assert len(server.messages) == 1


# --- stats and export -------------------------------------------------------------------------


def test_stats_per_platform_over_all_time_and_per_year(world: World) -> None:
    data = world.json("stats", "--json")
    assert data["as_of"] == AS_OF
    zoom = next(p for p in data["all_time"] if p["platform"] == "zoom")
    assert (zoom["requests"], zoom["answered"], zoom["median_days_to_first_reply"]) == \
        (4, 2, 38.5)
    assert [y["year"] for y in data["by_year"]] == [2020]
    assert data["by_year"][0]["platforms"] == data["all_time"]
    text = world.run("stats")
    assert "Zoom" in text and "50% (2/4)" in text and "Year 2020" in text
    before = world.json("stats", "--json", "--as-of", "2020-05-10")
    assert before["all_time"] == [] and before["by_year"] == []


def test_export_json_and_csv_hold_every_request(world: World) -> None:
    rows = world.json("export", "--format", "json")
    r = world.refs
    assert [row["ref"] for row in rows] == sorted(r.values())
    by_ref = {row["ref"]: row for row in rows}
    closed = by_ref[r["closed"]]
    assert (closed["state"], closed["resolution"], closed["created_on"]) == \
        ("closed", "answered", "2020-06-01")
    assert by_ref[r["undelivered"]]["delivery_failed"] is True
    assert by_ref[r["draft"]]["state"] == "draft"
    assert by_ref[r["overdue"]]["channel"] == "webform"
    for row in rows:
        assert row["case"] and row["language"] == "en" and isinstance(row["tickets"], list)
    status_keys = set(world.json("status", "--json")[0])
    assert status_keys <= set(rows[0])

    target = world.tmp / "export.csv"
    world.run("export", "--format", "csv", "--output", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    raw = target.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [row["ref"] for row in table] == sorted(r.values())
    assert {row["ref"]: row["state"] for row in table}[r["closed"]] == "closed"
    overdue = next(row for row in table if row["ref"] == r["overdue"])
    assert SCRIPT in overdue["subject"] and overdue["tickets"] == ""


# --- pure parts -------------------------------------------------------------------------------


def test_csv_cells_that_look_like_formulas_are_quoted() -> None:
    from tracker.report.formats import csv_cell

    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("-1") == "'-1" and csv_cell(-1) == -1 and csv_cell("HC-1") == "HC-1"


def test_report_rows_and_plans_are_those_of_status_and_remind(world: World) -> None:
    """Each request's row is `build_row` over its full messages, and its next step is exactly
    what `plan_for` says: the report's one-pass reading never disagrees with them."""
    from tracker.config.loading import load_settings
    from tracker.report import build_weekly_report
    from tracker.report.rows import LINE_FIELDS
    from tracker.services.records import get_request, request_messages
    from tracker.services.reminders import plan_for
    from tracker.services.status import build_row
    from tracker.services.workspace import Workspace
    from tracker.store.db import transaction

    env = {k: v for k, v in world.cli.env.items() if v is not None}
    ws = Workspace(load_settings(world.cli.workspace, env=env), env=env)
    day = date.fromisoformat(AS_OF)
    try:
        with transaction(ws.engine) as session:
            report = build_weekly_report(ws, session, day)
            assert len(report.open_lines) == 8
            for line in report.open_lines:
                request = get_request(session, line.ref)
                messages = request_messages(session, request)
                assert line.row == build_row(ws, request, messages, day)
                plan = plan_for(ws, request, messages, day)
                assert (line.next_action, line.next_action_code, line.next_letter) == \
                    (plan.text, plan.action, plan.template), line.ref
                assert tuple(line.to_dict()) == LINE_FIELDS
    finally:
        ws.close()
