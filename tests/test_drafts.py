"""`tracker draft` list, approve, redraft, discard; `remind --send` sends approved ones only."""

from __future__ import annotations

import json
import zipfile
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from conftest import Cli
from smtp_server import SmtpTestServer
from test_cli import new_request, smtp_env, status_of

DAY0 = {"TRACKER_TODAY": "2020-06-08"}
LATE = {"TRACKER_TODAY": "2020-07-20"}  # overdue: sent 8 June, 30 days


def sent(cli: Cli, *extra: str) -> str:
    ref = new_request(cli, "zoom", "account-suspension", *extra)
    channel = "webform" if "webform" in extra else "email"
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", channel, env=DAY0)
    return ref


def events(cli: Cli, ref: str) -> list[dict[str, Any]]:
    return [i for i in cli.json("request", "show", ref)["timeline"] if i["type"] == "event"]


def drafts(cli: Cli, env: dict[str, str | None] = LATE) -> dict[str, dict[str, Any]]:
    return {d["ref"]: d for d in cli.json("draft", "list", env=env)}


def test_approve_redraft_discard_are_events_with_their_actor(cli: Cli) -> None:
    ref = sent(cli)
    cli.run("follow-up", ref, env=LATE)
    listed = drafts(cli)[ref]
    assert (listed["template"], listed["language"], listed["kind"], listed["approved"]) == \
        ("follow-up", "en", "follow-up", False)
    # Drafted on TRACKER_TODAY in the workspace's time zone (stored in UTC: the UTC date is
    # the day before between midnight and 02:00 in Berlin).
    drafted = datetime.fromisoformat(listed["drafted_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert drafted.date() == date(2020, 7, 20)

    cli.run("draft", "approve", ref, env={**LATE, "TRACKER_ACTOR": "mei"})
    listed = drafts(cli)[ref]
    assert (listed["approved"], listed["approved_by"]) == (True, "mei")
    approved = [e for e in events(cli, ref) if e["kind"] == "draft_approved"]
    assert [e["actor"] for e in approved] == ["mei"]
    again = cli.run("draft", "approve", ref, env={**LATE, "TRACKER_ACTOR": "li"})
    assert "approved already, by mei" in again.stdout
    assert len([e for e in events(cli, ref) if e["kind"] == "draft_approved"]) == 1

    # A redraft writes the same row again, and the approval before it no longer counts.
    cli.run("draft", "redraft", ref, "--var", "note=They phoned on 15 July.",
            env={**LATE, "TRACKER_ACTOR": "li"})
    listed = drafts(cli)[ref]
    assert (listed["approved"], listed["drafted_by"]) == (False, "li")
    assert "They phoned on 15 July." in cli.run("letter", ref, env=LATE).stdout
    redrafted = [e for e in events(cli, ref) if e["kind"] == "draft_redrafted"]
    assert redrafted[0]["data"]["changed"] == ["note"] and redrafted[0]["actor"] == "li"
    outbound = [i for i in cli.json("request", "show", ref)["timeline"]
                if i["type"] == "message" and i["direction"] == "out"]
    assert [m["status"] for m in outbound] == ["sent", "draft"]

    cli.run("draft", "discard", ref, "--reason", "they answered by phone", env=LATE)
    assert drafts(cli) == {}
    assert status_of(cli, ref, "2020-07-20")["pending_draft"] is None
    outbound = [i for i in cli.json("request", "show", ref)["timeline"]
                if i["type"] == "message" and i["direction"] == "out"]
    assert [m["status"] for m in outbound] == ["sent", "discarded"]  # kept, not deleted
    discarded = [e for e in events(cli, ref) if e["kind"] == "draft_discarded"]
    assert discarded[0]["data"]["reason"] == "they answered by phone"
    # No longer pending: nothing to send, and a new follow-up may be drafted.
    assert cli.run("send", ref, ok=False, env=LATE).exit_code == 5
    cli.run("follow-up", ref, env=LATE)
    assert drafts(cli)[ref]["approved"] is False


def test_redraft_with_another_template_and_language(cli: Cli) -> None:
    ref = sent(cli)
    cli.run("follow-up", ref, env=LATE)
    cli.run("draft", "redraft", ref, "--template", "final-notice", "--language", "zh-Hans",
            env=LATE)
    listed = drafts(cli)[ref]
    assert (listed["template"], listed["language"]) == ("final-notice", "zh-Hans")
    text = cli.run("letter", ref, env=LATE).stdout
    assert "最后催告" in text and "2020年8月3日" in text  # 20 July + 14 days
    result = cli.run("draft", "redraft", ref, "--template", "gdpr-access", ok=False, env=LATE)
    assert result.exit_code == 2 and "follow-up" in result.stderr


def test_redraft_of_the_first_letter_changes_the_request(cli: Cli) -> None:
    ref = new_request(cli)
    cli.run("draft", "redraft", ref, "--var", "account=other@hrgroup.example", env=DAY0)
    assert "other@hrgroup.example" in cli.run("letter", ref, env=DAY0).stdout
    assert cli.json("request", "show", ref, env=DAY0)["variables"]["account"] == \
        "other@hrgroup.example"
    # Another first-letter template: the request follows, deadline included (30d -> gdpr).
    cli.run("draft", "redraft", ref, "--template", "gdpr-access", "--var",
            "data_subject=Wang Dan", env=DAY0)
    row = status_of(cli, ref, "2020-06-08")
    assert (row["template"], row["rule"]) == ("gdpr-access", "gdpr")
    # A failing redraft changes nothing.
    result = cli.run("draft", "redraft", ref, "--var", "nonsense=1", ok=False, env=DAY0)
    assert result.exit_code == 2 and "nonsense" in result.stderr
    assert status_of(cli, ref, "2020-06-08")["template"] == "gdpr-access"
    # The first letter cannot be discarded: it is the request.
    result = cli.run("draft", "discard", ref, ok=False, env=DAY0)
    assert result.exit_code == 5 and "--resolution withdrawn" in result.stderr
    assert drafts(cli, DAY0)[ref]["kind"] == "initial"


def test_draft_commands_need_a_pending_draft(cli: Cli) -> None:
    ref = sent(cli)
    for args in (["approve", ref], ["redraft", ref], ["discard", ref]):
        result = cli.run("draft", *args, ok=False, env=LATE)
        assert result.exit_code == 5 and "no draft waiting" in result.stderr, args
        assert result.stderr.count("\n") == 1
    assert "no drafts waiting" in cli.run("draft", "list", env=LATE).stdout


def test_a_discarded_draft_is_no_letter_of_the_evidence_or_the_report(cli: Cli,
                                                                       tmp_path: Any) -> None:
    ref = sent(cli)
    cli.run("follow-up", ref, env=LATE)
    cli.run("draft", "discard", ref, env=LATE)
    out = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(out), env=LATE)
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [(m["direction"], m["status"]) for m in manifest["messages"]] == [("out", "sent")]
    assert "draft_discarded" in [e["kind"] for e in json.loads(
        zipfile.ZipFile(out).read(f"{ref}/events.json"))]
    report = cli.json("report", "weekly", env=LATE)
    assert report["needs_attention"]["drafts"] == []


def test_remind_send_sends_only_approved_follow_ups(cli: Cli) -> None:
    first, second = sent(cli), sent(cli)
    webform = sent(cli, "--channel", "webform", "--to", "https://zoom.us/privacy-form")
    with SmtpTestServer() as server:
        env = {**LATE, **smtp_env(server)}
        # Drafted and never sent in the same run, although --send is given.
        done = cli.json("remind", "--send", env=env)
        assert sorted((r["ref"], r["outcome"]) for r in done) == [
            (first, "drafted"), (second, "drafted"), (webform, "drafted")]
        assert server.messages == []
        cli.run("draft", "approve", first, env=env)
        cli.run("draft", "approve", webform, env=env)
        done = cli.json("remind", "--send", env=env)
        assert server.messages and len(server.messages) == 1
        outcomes = {r["ref"]: r for r in done}
        assert outcomes[first]["outcome"] == "sent"
        assert second not in outcomes  # not approved: waits for a person
        assert "mark-sent" in outcomes[webform]["outcome"] and not outcomes[webform]["failed"]
    assert drafts(cli).keys() == {second, webform}
    assert status_of(cli, first, "2020-07-20")["pending_draft"] is None
    # A redraft voids the approval: --send then leaves it alone.
    cli.run("draft", "approve", second, env=LATE)
    cli.run("draft", "redraft", second, "--var", "note=Please answer.", env=LATE)
    with SmtpTestServer() as server:
        cli.json("remind", "--send", env={**LATE, **smtp_env(server)})
        assert server.messages == []


def test_a_discarded_follow_up_was_the_reminder_of_its_window(cli: Cli) -> None:
    ref = sent(cli)
    assert [r["outcome"] for r in cli.json("remind", env=LATE)] == ["drafted"]
    cli.run("draft", "discard", ref, "--reason", "not now", env=LATE)
    assert cli.json("remind", env=LATE) == []  # not drafted again the same day ...
    assert cli.json("remind", env={"TRACKER_TODAY": "2020-08-02"}) == []
    report = cli.json("report", "weekly", env={"TRACKER_TODAY": "2020-08-02"})
    [line] = report["overdue"]  # the report agrees with remind
    assert line["next_action"] == "wait: a follow-up drafted Mon 20 Jul 2020 was discarded"
    again = cli.json("remind", env={"TRACKER_TODAY": "2020-08-03"})  # ... but 14 days later
    assert [(r["ref"], r["outcome"]) for r in again] == [(ref, "drafted")]
