"""The search (`tracker search`, the search box): what it finds, on SQLite and PostgreSQL.

A workspace made through the CLI holds a letter marked sent and replies recorded from .eml
files in English and Chinese; each case of the table is a query and the (request, where)
pairs it must find. The index is filled by the code that stores the mail, by migration 0007
for mail stored before it, and by ``tracker search --reindex``.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import Cli
from sqlmodel import Session
from test_cli import example_vars

from tracker.services import search
from tracker.store import db

DAY = {"TRACKER_TODAY": "2020-06-20"}
ENGLISH_REPLY = ("Dear requester,\n\nYour account was suspended after an automated review. "
                 'We call this an "integrity hold"; 100% of such holds are reviewed by a '
                 "person within 30 days.\n\nZoom Privacy Team\n")
CHINESE_REPLY = "您好：\n\n经审核，您的账号已被封禁，原因是违反了社区准则。\n\n抖音用户服务中心\n"


def eml(subject: str, body: str, message_id: str, sender: str = "privacy@zoom.us") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Mon, 15 Jun 2020 10:00:00 +0000"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def new_request(cli: Cli, platform: str, template: str = "account-suspension") -> str:
    data = cli.json("request", "new", "--platform", platform, "--template", template,
                    *example_vars(cli, template), env={"TRACKER_TODAY": "2020-06-08"})
    return str(data["ref"])


def reply(cli: Cli, tmp_path: Path, ref: str, raw: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    cli.run("record-reply", ref, "--on", "2020-06-15", "--kind", "acknowledgement",
            "--file", str(path), env=DAY)


@pytest.fixture
def filled(cli: Cli, tmp_path: Path) -> tuple[Cli, list[str]]:
    """HC-2020-0001 to Zoom (sent, an English reply), HC-2020-0002 to TikTok (sent, a Chinese
    reply), HC-2020-0003 to YouTube (a draft: no mail yet)."""
    zoom, tiktok, youtube = (new_request(cli, p) for p in ("zoom", "tiktok", "youtube"))
    for ref in (zoom, tiktok):
        cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "post", env=DAY)
    reply(cli, tmp_path, zoom, eml("Your ticket 58213: integrity review", ENGLISH_REPLY,
                                   "<r1@zoom.us>"), "en.eml")
    reply(cli, tmp_path, tiktok, eml("关于您的申诉结果", CHINESE_REPLY, "<r2@tiktok.com>",
                                     "privacy@tiktok.com"), "zh.eml")
    return cli, [zoom, tiktok, youtube]


# (query, [(request number, where)]): numbers 1-3 as in `filled`.
CASES = [
    ("HC-2020-0002", [(2, "reference")]),
    ("hc-2020-000", [(3, "reference"), (2, "reference"), (1, "reference")]),  # newest first
    ("youtube", [(3, "platform")]),
    ("TikTok", [(2, "platform")]),
    ("ticket 58213", [(1, "subject")]),
    ("INTEGRITY HOLD", [(1, "message")]),  # case does not matter
    ('"integrity hold"', [(1, "message")]),  # quotes are words, not query syntax
    ("100%", [(1, "message")]),
    ("%", [(1, "message")]),  # a literal percent sign, not a wildcard
    ("_", []),  # nor an underscore
    ("账号已被封禁", [(2, "message")]),  # three characters and more: the trigram index
    ("封禁", [(2, "message")]),  # two: no trigram, read with LIKE
    ("禁", [(2, "message")]),
    ("申诉结果", [(2, "subject")]),
    ("Art. 17 DSA", []),
    ("nothing like this anywhere", []),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_search_cases(filled: tuple[Cli, list[str]], query: str,
                      expected: list[tuple[int, str]]) -> None:
    cli, refs = filled
    found = cli.json("search", query)
    expected_pairs = [(refs[n - 1], where) for n, where in expected]
    assert [(hit["ref"], hit["where"]) for hit in found["hits"]] == expected_pairs
    assert found["total"] == len(expected_pairs)
    for hit in found["hits"]:
        if hit["where"] in ("message", "subject"):
            assert query.strip('"').casefold() in hit["snippet"].casefold()
            assert hit["message_id"] is not None


def test_letters_sent_are_found_by_their_text(filled: tuple[Cli, list[str]]) -> None:
    cli, refs = filled
    letter = cli.run("letter", refs[0], "--format", "text").stdout
    body = letter.split("\n\n", 1)[1]  # after the Subject line
    words = " ".join(next(line for line in body.splitlines() if len(line.split()) > 6)
                     .split()[:5])
    found = cli.json("search", words)
    assert (refs[0], "message") in [(h["ref"], h["where"]) for h in found["hits"]], words


def test_every_stored_mail_has_its_words(filled: tuple[Cli, list[str]]) -> None:
    cli, _ = filled
    engine = db.make_engine(str(cli.env["TRACKER_DATABASE_URL"]))
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text(
                "SELECT m.id, m.sha256, t.sha256 FROM message m LEFT JOIN messagetext t "
                "ON t.message_id = m.id WHERE m.raw IS NOT NULL")).all()
    finally:
        engine.dispose()
    assert len(stored) == 4  # two letters, two replies
    assert all(sha == indexed for _, sha, indexed in stored)


def test_reindex_brings_back_lost_words(filled: tuple[Cli, list[str]]) -> None:
    cli, refs = filled
    engine = db.make_engine(str(cli.env["TRACKER_DATABASE_URL"]))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM messagetext"))
    finally:
        engine.dispose()
    assert cli.json("search", "封禁")["hits"] == []
    result = cli.run("search", "--reindex")
    assert result.stdout.strip() == "read the words of 4 messages"
    assert [h["ref"] for h in cli.json("search", "封禁")["hits"]] == [refs[1]]
    assert cli.run("search", "--reindex").stdout.strip() == "read the words of 0 messages"


def test_terminal_output_is_a_table_and_inert(filled: tuple[Cli, list[str]],
                                              tmp_path: Path) -> None:
    cli, refs = filled
    reply(cli, tmp_path, refs[0], eml("\x1b[2J\x1b]0;owned\x07 Erase \u202eevil",
                                      "Hidden \x1b[8m text \x9b31m here", "<r3@zoom.us>"),
          "hostile.eml")
    shown = cli.run("search", "Erase").stdout
    assert refs[0] in shown and "subject" in shown
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\x9b" not in cli.run("search", "Hidden").stdout
    assert cli.run("search", "no such words").stdout.strip() == "no request matches " \
                                                                 "'no such words'"


def test_empty_search_is_one_line(cli: Cli) -> None:
    result = cli.run("search", "   ", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip() == "tracker: error: give some text to search for"


def test_migration_fills_the_index_from_mail_stored_before(database_url: str) -> None:
    """A database at 0006 with mail in it: 0007 reads the words of every stored message."""
    from alembic import command

    engine = db.make_engine(database_url)
    try:
        command.upgrade(db._alembic_config(engine), "0006")
        raw = eml("Re: [HC-2020-0001] 审核结果", "您的账号已恢复。 Your account is restored.",
                  "<old@zoom.us>")
        scan = b"%PDF-1.4 a scanned letter"
        with engine.begin() as conn:
            conn.execute(sa.text(
                "insert into platform (slug, name, record, updated_at) "
                "values ('zoom', 'Zoom', '{}', '2020-06-08 10:00:00')"))
            conn.execute(sa.text(
                "insert into \"case\" (id, title, account, facts, created_at) "
                "values (1, 't', '', '{}', '2020-06-08 10:00:00')"))
            conn.execute(sa.text(
                "insert into request (id, ref, case_id, platform_slug, template, language, "
                "recipient, channel, deadline_rule, state, variables, extensions, created_at, "
                "updated_at, delivery_failed, tickets) values (1, 'HC-2020-0001', 1, 'zoom', "
                "'account-suspension', 'en', 'privacy@zoom.us', 'email', '30d', 'awaiting', "
                "'{}', '[]', '2020-06-08 10:00:00', '2020-06-08 10:00:00', false, '[]')"))
            for id_, body in ((1, raw), (2, scan)):
                conn.execute(sa.text(
                    "insert into message (id, request_id, direction, status, kind, template, "
                    "language, variables, channel, subject, from_addr, to_addrs, message_id, "
                    "in_reply_to, \"references\", headers, raw, sha256, note, created_at, "
                    "authenticity, reasons, match_rule, admission, hold, triage, ticket, "
                    "extension, bounced, defects) values (:id, 1, 'in', 'received', 'reply', "
                    "'', '', '{}', 'email', '', '', '', '', '', '', '{}', :raw, :sha, '', "
                    "'2020-06-15 10:00:00', '', '[]', '', '', '', '', '', '', '[]', '[]')"),
                    {"id": id_, "raw": body, "sha": f"sha{id_}"})
        assert db.upgrade(engine, search.message_words) == ("0006", db.HEAD)
        with engine.connect() as conn:
            words = conn.execute(sa.text(
                "select message_id, sha256, subject, body from messagetext")).all()
        assert [(w[0], w[1], w[2]) for w in words] == [(1, "sha1", "Re: [HC-2020-0001] 审核结果")]
        assert "您的账号已恢复" in words[0][3]
        with Session(engine) as session:
            for query, where in (("账号已恢复", "message"), ("账号", "message"),
                                 ("审核结果", "subject"), ("restored", "message")):
                assert [(f.request_id, f.where) for f in search.find_requests(session, query)] \
                    == [(1, where)], query
    finally:
        engine.dispose()


def test_words_follow_the_bytes(database_url: str, tmp_path: Path) -> None:
    """`index_message` on SQLite keeps the FTS table in step through its triggers: changed
    words are found, old ones are not, and a message that loses its bytes leaves the search."""
    from tracker.store.models import Case, Message, Platform, Request

    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine)
        with Session(engine) as session, session.begin():
            session.add(Platform(slug="zoom", name="Zoom", record={}))
            session.add(Case(id=1, title="t"))
            session.flush()
            session.add(Request(id=1, ref="HC-2020-0001", case_id=1, platform_slug="zoom",
                                template="account-suspension", language="en",
                                deadline_rule="30d"))
            session.flush()
            message = Message(request_id=1, direction="out", status="sending", kind="initial",
                              raw=eml("first words", "alpha bravo charlie", "<a@x>"),
                              sha256="1")
            session.add(message)
            session.flush()
            search.index_message(session, message)
            message_id = message.id

        def found(query: str) -> list[str]:
            with Session(engine) as session:  # closed, so the schema can be dropped after
                return [f.where for f in search.find_requests(session, query)]

        assert found("bravo charlie") == ["message"]
        with Session(engine) as session, session.begin():
            message = session.get(Message, message_id)
            assert message is not None
            message.raw, message.sha256 = eml("second", "delta echo foxtrot", "<b@x>"), "2"
            search.index_message(session, message)
        assert found("bravo charlie") == [] and found("echo fox") == ["message"]
        with Session(engine) as session, session.begin():
            message = session.get(Message, message_id)
            assert message is not None
            message.raw, message.sha256 = None, ""
            search.index_message(session, message)
        assert found("echo fox") == [] and found("ech") == []
    finally:
        engine.dispose()
