"""Reminders: when a follow-up is due, when to escalate, never twice for the same window."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from conftest import Cli

from tracker.config import ReminderSettings
from tracker.reminders import plan_reminder
from tracker.schedule import parse_schedule, weekly_period

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
    from tracker.errors import InputError

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
