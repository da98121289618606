"""Reminders: when a follow-up is due, when to escalate, never twice for the same window."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import Cli

from tracker.config.settings import ReminderSettings
from tracker.core.weekly import parse_schedule, weekly_period
from tracker.services.reminders import plan_reminder

D = date.fromisoformat
SETTINGS = ReminderSettings(every="14d", escalate_after="60d")


def plan(**kw: object) -> tuple[str, str | None]:
    args: dict[str, object] = dict(state="awaiting", overdue=True, delivery_failed=False,
                                   has_draft=False, letters_on=[D("2020-06-08")],
                                   templates_sent=["account-suspension"],
                                   started_on=D("2020-06-08"), due_on=D("2020-07-08"),
                                   as_of=D("2020-07-10"), settings=SETTINGS,
                                   authority="Irish Data Protection Commission")
    args.update(kw)
    result = plan_reminder(**args)  # type: ignore[arg-type]
    return result.action, result.template


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, ("follow-up", "follow-up")),
    ({"overdue": False, "as_of": D("2020-07-01")}, ("wait", None)),
    ({"state": "answered"}, ("none", None)),
    ({"state": "closed"}, ("none", None)),
    ({"state": "draft", "letters_on": []}, ("none", None)),
    ({"has_draft": True}, ("none", None)),
    ({"delivery_failed": True}, ("fix-address", None)),
    # counted from the day the last letter actually went out: 14 days after 1 July
    ({"letters_on": [D("2020-06-08"), D("2020-07-01")], "as_of": D("2020-07-14")},
     ("wait", None)),
    ({"letters_on": [D("2020-06-08"), D("2020-07-01")], "as_of": D("2020-07-15")},
     ("follow-up", "follow-up")),
    # 60 days after the wait began: the final notice, then the regulator
    ({"as_of": D("2020-08-07")}, ("final-notice", "final-notice")),
    ({"as_of": D("2020-08-30"), "letters_on": [D("2020-06-08"), D("2020-08-07")],
      "templates_sent": ["account-suspension", "final-notice"]}, ("complaint", None)),
    # a follow-up drafted on 9 July and discarded was the window's reminder: 14 days after it
    ({"discarded_on": [D("2020-07-09")]}, ("wait", None)),
    ({"discarded_on": [D("2020-07-09")], "as_of": D("2020-07-22")}, ("wait", None)),
    ({"discarded_on": [D("2020-07-09")], "as_of": D("2020-07-23")},
     ("follow-up", "follow-up")),
])
def test_plan_reminder(changes: dict[str, object], expected: tuple[str, str | None]) -> None:
    assert plan(**changes) == expected


def test_complaint_names_the_lead_authority() -> None:
    result = plan_reminder(state="awaiting", overdue=True, delivery_failed=False,
                           has_draft=False, letters_on=[D("2020-06-08"), D("2020-08-07")],
                           templates_sent=["gdpr-access", "final-notice"],
                           started_on=D("2020-06-08"), due_on=D("2020-07-08"),
                           as_of=D("2020-08-30"), settings=SETTINGS,
                           authority="Irish Data Protection Commission")
    assert "Irish Data Protection Commission" in result.text and "Art. 77" in result.text


@pytest.mark.parametrize(("text", "weekday", "hour", "minute"), [
    ("MON 09:00", 0, 9, 0), ("mon 9:00", 0, 9, 0), ("Friday 17:30", 4, 17, 30),
    ("SUN 00:00", 6, 0, 0),
])
def test_parse_schedule(text: str, weekday: int, hour: int, minute: int) -> None:
    schedule = parse_schedule(text)
    assert (schedule.weekday, schedule.at.hour, schedule.at.minute) == (weekday, hour, minute)


@pytest.mark.parametrize("text", ["", "MON", "9:00", "XYZ 09:00", "MON 25:00", "MON 09:61"])
def test_bad_schedule_is_rejected(text: str) -> None:
    from tracker.core.errors import InputError

    with pytest.raises(InputError, match="MON 09:00"):
        parse_schedule(text)


@pytest.mark.parametrize(("now", "period"), [
    ("2026-11-23T08:59", None),            # Monday before nine
    ("2026-11-23T09:00", "2026-W48"),
    ("2026-11-29T23:00", "2026-W48"),      # still the same week on Sunday
    ("2026-11-30T08:00", None),            # next Monday, before nine
    ("2026-12-28T09:30", "2026-W53"),
    ("2027-01-04T09:30", "2027-W01"),
])
def test_weekly_period(now: str, period: str | None) -> None:
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(now).replace(tzinfo=ZoneInfo("Europe/Berlin"))
    assert weekly_period(parse_schedule("MON 09:00"), moment) == period


def _new(cli: Cli, day: str) -> str:
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *args, env={"TRACKER_TODAY": day})["ref"]
    return str(ref)


def test_remind_drafts_once_per_window_counted_from_the_real_send_date(cli: Cli) -> None:
    ref = _new(cli, "2020-05-01")  # created in May ...
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
            env={"TRACKER_TODAY": "2020-06-08"})  # ... but sent on 8 June: due 8 July
    assert cli.json("remind", env={"TRACKER_TODAY": "2020-07-08"}) == []
    first = cli.json("remind", env={"TRACKER_TODAY": "2020-07-09"})
    assert [(r["ref"], r["letter"], r["outcome"]) for r in first] == [
        (ref, "follow-up", "drafted")]
    assert cli.json("remind", env={"TRACKER_TODAY": "2020-07-10"}) == []  # draft pending
    cli.run("mark-sent", ref, "--on", "2020-07-10", "--channel", "webform",
            env={"TRACKER_TODAY": "2020-07-10"})
    assert cli.json("remind", env={"TRACKER_TODAY": "2020-07-23"}) == []
    again = cli.json("remind", env={"TRACKER_TODAY": "2020-07-24"})
    assert [r["letter"] for r in again] == ["follow-up"]
    letter = cli.run("letter", ref, env={"TRACKER_TODAY": "2020-07-24"}).stdout
    assert "8 June 2020" in letter  # quotes the original date


def test_daily_reminders_run_once_per_day_across_restarts(cli: Cli) -> None:
    ref = _new(cli, "2020-06-08")
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
            env={"TRACKER_TODAY": "2020-06-08"})
    env = {"TRACKER_TODAY": "2020-07-20", "TRACKER_REMINDERS_AUTO_DRAFT": "true"}
    assert "reminders 2020-07-20" in cli.run("run-scheduled", env=env).stdout
    assert "nothing due" in cli.run("run-scheduled", env=env).stdout  # a restart, same day
    shown = cli.json("request", "show", ref, env=env)
    drafts = [i for i in shown["timeline"] if i["type"] == "message" and i["status"] == "draft"]
    assert len(drafts) == 1


def test_weekly_report_is_emailed_once_per_week_across_restarts(cli: Cli) -> None:
    from email import message_from_bytes, policy

    from smtp_server import SmtpTestServer

    ref = _new(cli, "2020-06-08")
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
            env={"TRACKER_TODAY": "2020-06-08"})
    with SmtpTestServer() as server:
        env = {"TRACKER_TODAY": "2020-07-13", "TRACKER_REPORT_RECIPIENTS": "board@hrgroup.example",
               "TRACKER_REPORT_SCHEDULE": "MON 00:00", "TRACKER_SMTP_HOST": "127.0.0.1",
               "TRACKER_SMTP_PORT": str(server.port), "TRACKER_SMTP_TLS": "none"}
        assert "weekly-report 2020-W29" in cli.run("run-scheduled", env=env).stdout
        assert "nothing due" in cli.run("run-scheduled", env=env).stdout  # restarted
        assert "nothing due" in cli.run(
            "run-scheduled", env={**env, "TRACKER_TODAY": "2020-07-19"}).stdout
        assert "weekly-report 2020-W30" in cli.run(
            "run-scheduled", env={**env, "TRACKER_TODAY": "2020-07-20"}).stdout
        assert len(server.messages) == 2
        first = message_from_bytes(server.messages[0].raw, policy=policy.default)
    assert server.messages[0].rcpt_tos == ["board@hrgroup.example"]
    assert first.get_content_type() == "multipart/alternative"


def _sent(cli: Cli, on: str, *extra: str, language: str = "en") -> str:
    spec = cli.json("template", "show", "account-suspension", "--language", language)
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = str(cli.json("request", "new", "--platform", "zoom", "--template",
                       "account-suspension", "--language", language, *args, *extra,
                       env={"TRACKER_TODAY": on})["ref"])
    cli.run("mark-sent", ref, "--on", on, "--channel", "email", env={"TRACKER_TODAY": on})
    return ref


def test_remind_on_the_demo_drafts_the_final_notice_with_what_tracker_knows(
        tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tracker.cli import main

    ws = tmp_path / "demo"
    env = {"TRACKER_TODAY": "2020-09-01", "TRACKER_DATABASE_URL": None,
           "TRACKER_WORKSPACE": None}
    assert CliRunner().invoke(main, ["demo", "--dir", str(ws)], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["-w", str(ws), "remind", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert [(r["ref"], r["letter"], r["outcome"]) for r in json.loads(result.stdout)] == [
        ("HC-2020-0001", "final-notice", "drafted")]
    letter = CliRunner().invoke(main, ["-w", str(ws), "letter", "HC-2020-0001"], env=env).stdout
    assert "Unless we receive a complete response by 15 September 2020" in letter
    assert "your reference Request #4411" in letter  # the ticket of Zoom's acknowledgement
    # Zoom's lead authority is unknown: the letter says so in its own words.
    assert "the competent supervisory authority or regulator" in letter


def test_one_request_that_cannot_be_drafted_does_not_stop_the_others(cli: Cli) -> None:
    # A workspace final notice that needs a value nobody gave.
    (cli.workspace / "templates" / "final-notice.en.j2").write_text(
        '{#---\ntitle = "Ours"\nsubject = "Final: {{ original.subject }}"\nkind = "follow-up"\n'
        '[[variables]]\nname = "case_number"\ndescription = "the court case"\n'
        'example = "1 BvR 1/20"\n---#}\nCase {{ case_number }}.\n', encoding="utf-8")
    escalated = _sent(cli, "2020-04-01")  # 99 days by 9 July: the final notice
    due = _sent(cli, "2020-06-08")  # 31 days: a follow-up
    env = {"TRACKER_TODAY": "2020-07-09"}
    result = cli.run("remind", ok=False, env=env)
    assert result.exit_code == 4
    assert result.stderr == (f"tracker: error: {escalated}: final-notice not drafted: missing "
                             "variables for final-notice (en): case_number; set each with --var "
                             "NAME=VALUE\n")
    assert f"{due}: follow-up drafted" in result.stdout
    assert [d["ref"] for d in cli.json("draft", "list", env=env)] == [due]
    rows = json.loads(cli.run("remind", "--json", ok=False, env=env).stdout)
    assert [(r["ref"], r["failed"]) for r in rows] == [(escalated, True)]  # due has its draft

    # The daily job fails too (and says why), after drafting what it could.
    other = _sent(cli, "2020-06-09")  # overdue from 10 July
    job = cli.run("run-scheduled", ok=False,
                  env={"TRACKER_TODAY": "2020-07-10", "TRACKER_REMINDERS_AUTO_DRAFT": "true"})
    assert job.exit_code == 1 and "ran:" not in job.stdout
    assert (f"failed: reminders 2020-07-10: 1 follow-ups drafted: {other}; 1 failed: "
            f"{escalated} final-notice not drafted: missing variables") in job.stderr
    assert [d["ref"] for d in cli.json("draft", "list", env=env)] == [due, other]


def test_remind_drafts_every_shipped_follow_up_template_in_every_language(cli: Cli) -> None:
    """No shipped follow-up letter needs a value from staff: tracker fills what it needs."""
    shipped = {(t["id"], t["language"]) for t in cli.json("template", "list")
               if t["kind"] == "follow-up" and t["origin"] == "builtin"}
    languages = {language for _, language in shipped}
    for language in sorted(languages):
        _sent(cli, "2020-04-01", language=language)  # the final notice is due
        _sent(cli, "2020-06-08", language=language)  # a follow-up is due
    done = cli.json("remind", env={"TRACKER_TODAY": "2020-07-09"})
    assert all(r["outcome"] == "drafted" for r in done), done
    drafted = {(d["template"], d["language"]) for d in cli.json("draft", "list")}
    assert drafted == shipped
    for d in cli.json("draft", "list"):
        text = cli.run("letter", d["ref"], env={"TRACKER_TODAY": "2020-07-09"}).stdout
        if d["template"] == "final-notice":
            assert ("23 July 2020" if d["language"] == "en" else "2020年7月23日") in text


def test_final_notice_names_reminders_sent_and_a_confirmed_lead_authority(cli: Cli) -> None:
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    refs = {}
    for platform in ("instagram", "skype"):  # iedpc; skype's lead authority is unverified
        day = {"TRACKER_TODAY": "2020-04-01"}
        ref = cli.json("request", "new", "--platform", platform, "--template",
                       "account-suspension", *args, env=day)["ref"]
        cli.run("mark-sent", ref, "--on", "2020-04-01", "--channel", "email", env=day)
        cli.run("follow-up", ref, env={"TRACKER_TODAY": "2020-05-20"})
        cli.run("mark-sent", ref, "--on", "2020-05-20", "--channel", "email",
                env={"TRACKER_TODAY": "2020-05-20"})
        refs[platform] = ref
    assert {r["letter"] for r in cli.json("remind", env={"TRACKER_TODAY": "2020-07-09"})} == \
        {"final-notice"}
    env = {"TRACKER_TODAY": "2020-07-09"}
    instagram = cli.run("letter", refs["instagram"], env=env).stdout
    assert "We reminded you of it on 20 May 2020." in instagram
    assert "refer the matter to the Irish Data Protection Commission" in instagram
    skype = cli.run("letter", refs["skype"], env=env).stdout
    assert "the competent supervisory authority or regulator" in skype


def test_run_scheduled_says_which_job_failed_and_exits_non_zero(cli: Cli) -> None:
    import socket

    ref = _new(cli, "2020-06-08")
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
            env={"TRACKER_TODAY": "2020-06-08"})
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"TRACKER_TODAY": "2020-07-13", "TRACKER_REPORT_RECIPIENTS": "board@hrgroup.example",
           "TRACKER_REPORT_SCHEDULE": "MON 00:00", "TRACKER_SMTP_HOST": "127.0.0.1",
           "TRACKER_SMTP_PORT": str(port), "TRACKER_SMTP_TLS": "none",
           "TRACKER_REMINDERS_AUTO_DRAFT": "true"}
    result = cli.run("run-scheduled", ok=False, env=env)
    assert result.exit_code == 1
    assert result.stdout == "ran: reminders 2020-07-13\n"
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and failed[0].startswith("failed: weekly-report 2020-W29: ")
