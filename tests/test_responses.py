"""Neither an answer nor silence: extension notices and the platform asking for information."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli
from test_trust import TRUSTED, deliver, reply, sent

GDPR = ("--deadline", "gdpr")


def _linked(cli: Cli, tmp_path: Path, ref: str, letter: str, kind: str, day: int) -> int:
    """A verified message from Zoom that staff link as *kind*; its id."""
    deliver(cli, tmp_path, reply("privacy@zoom.us", "Re: your request", in_reply_to=letter,
                                 day=day), f"{kind}-{day}.eml")
    message = next(e for e in reversed(cli.json("request", "show", ref, env=TRUSTED)["timeline"])
                   if e["type"] == "message" and e["direction"] == "in")
    cli.run("link", str(message["id"]), ref, "--as", kind, env=TRUSTED)
    return int(message["id"])


def test_an_extension_notice_keeps_the_clock_running_until_staff_apply_it(
        cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)  # 30-day rule, sent 8 June: due 8 July
    notice = _linked(cli, tmp_path, ref, letter, "extension", day=20)
    later = {**TRUSTED, "TRACKER_TODAY": "2020-07-20"}
    row = next(r for r in cli.json("status", env=later) if r["ref"] == ref)
    assert (row["state"], row["overdue"], row["extension_notice_on"]) == (
        "acknowledged", True, "2020-06-20")
    plan = cli.json("remind", env=later)
    assert plan == []  # no follow-up drafted while an announced extension waits for review
    report = cli.json("report", "weekly", "--format", "json", env=later)
    [line] = [line for line in report["overdue"] if line["ref"] == ref]
    assert "announced an extension" in line["next_action"]
    result = cli.run("extend", ref, "14d", "--notice", str(notice), env=later)
    assert "warning" not in result.stderr  # the notice came before the deadline
    row = next(r for r in cli.json("status", env=later) if r["ref"] == ref)
    assert (row["due_on"], row["overdue"], row["extension_notice_on"]) == (
        "2020-07-22", False, None)


def test_a_late_extension_notice_is_applied_with_a_warning(cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)
    # Dated after the deadline of 8 July it claims to extend.
    deliver(cli, tmp_path, reply("privacy@zoom.us", "Re: your request", in_reply_to=letter,
                                 day=30).replace(b"Jun 2020", b"Jul 2020"), "late.eml",
            env={**TRUSTED, "TRACKER_TODAY": "2020-07-30"})
    message = next(e for e in reversed(cli.json("request", "show", ref, env=TRUSTED)["timeline"])
                   if e["type"] == "message" and e["direction"] == "in")
    late = {**TRUSTED, "TRACKER_TODAY": "2020-07-31"}
    cli.run("link", str(message["id"]), ref, "--as", "extension", env=late)
    result = cli.run("extend", ref, "30d", "--notice", str(message["id"]), env=late)
    assert "after the deadline of Wed 8 Jul 2020" in result.stderr
    assert "within the first month" in result.stderr
    event = [e for e in cli.json("request", "show", ref, env=late)["timeline"]
             if e["type"] == "event" and e["kind"] == "extended"][-1]
    assert event["data"]["late"] is True and event["data"]["notice"] == message["id"]


def test_extend_works_on_an_acknowledged_request(cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)
    _linked(cli, tmp_path, ref, letter, "acknowledgement", day=10)
    assert cli.json("request", "show", ref, env=TRUSTED)["state"] == "acknowledged"
    cli.run("extend", ref, "10bd", "--reason", "they asked by phone", env=TRUSTED)
    shown = cli.json("request", "show", ref, env=TRUSTED)
    assert shown["state"] == "acknowledged" and shown["due_on"] == "2020-07-22"


def test_the_platform_asking_for_information_is_a_next_step_not_silence(
        cli: Cli, tmp_path: Path) -> None:
    ref, letter = sent(cli)
    _linked(cli, tmp_path, ref, letter, "information-request", day=12)
    later = {**TRUSTED, "TRACKER_TODAY": "2020-07-20"}
    row = next(r for r in cli.json("status", env=later) if r["ref"] == ref)
    assert (row["state"], row["information_requested_on"]) == ("acknowledged", "2020-06-12")
    assert cli.json("remind", env=later) == []  # nobody chases a platform that waits for us
    report = cli.json("report", "weekly", "--format", "json", env=later)
    [line] = [line for line in report["overdue"] if line["ref"] == ref]
    assert "asked for information" in line["next_action"]


def test_an_extension_notice_read_from_mail_gives_its_own_period(cli: Cli,
                                                                tmp_path: Path) -> None:
    ref, letter = sent(cli)
    raw = reply("privacy@zoom.us", "Re: your request", in_reply_to=letter, day=30).replace(
        b"We have reviewed your account.",
        b"Dear requester,\r\n\r\nGiven the complexity of your request, we need two further "
        b"months to respond, as Article 12(3) GDPR allows. We will reply by 8 September "
        b"2020.\r\n\r\nZoom Privacy Team")
    counts = deliver(cli, tmp_path, raw, env={**TRUSTED, "TRACKER_TODAY": "2020-06-30"})
    assert counts["extensions"] == 1
    message = next(e for e in reversed(cli.json("request", "show", ref, env=TRUSTED)["timeline"])
                   if e["type"] == "message" and e["direction"] == "in")
    assert message["kind"] == "extension"
    later = {**TRUSTED, "TRACKER_TODAY": "2020-07-01"}
    assert cli.json("request", "show", ref, env=later)["state"] == "acknowledged"
    result = cli.run("extend", ref, "--notice", str(message["id"]), env=later)
    assert "now due Tue 8 Sep 2020" in result.stdout  # 8 July + two months
