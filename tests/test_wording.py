"""The wording tables' helpers: the platform's own text, sentences, periods as deadline rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.deadlines import parse_rule
from tracker.mail import classify, prose, wording

ZENDESK = """##- Please type your reply above this line -##

Your request (4417) has been updated. To add additional comments, reply to this email.
----------------------------------------------

Jamie (Zoom Support)

Mar 26, 2026, 17:30 UTC

Your account has been reinstated.

----------------------------------------------

Human Rights Group

Mar 2, 2026, 10:00 UTC

Please provide the data within two further months.
"""


@pytest.mark.parametrize(("text", "kept", "cut"), [
    (ZENDESK, "has been reinstated", "two further months"),
    ("Done.\n\n-----Original Message-----\nFrom: us\n\nPlease provide", "Done.", "Please"),
    ("Done.\n\n________________________________\nFrom: Human Rights Group <a@b.example>\n"
     "Sent: Tuesday, March 3, 2026 10:00 AM\nPlease provide", "Done.", "Please"),
    ("Done.\nFrom: Human Rights Group <a@b.example>\nSent: Tuesday\n\nPlease provide", "Done.",
     "Please"),
    ("Done.\nOn Tue, 3 Mar 2026 at 10:00, Human Rights Group <inquiries@hrgroup.\n"
     "example> wrote:\nPlease provide", "Done.", "Please"),
    ("好的。\n------------------ 原始邮件 ------------------\n请提供", "好的。", "请提供"),
    ("好的。\n在 2026年3月3日 10:00，Human Rights Group 写道：\n请提供", "好的。", "请提供"),
    ("好的。\n寄件者: Human Rights Group\n請提供", "好的。", "請提供"),
    ("Noted.\n> Please provide\nThanks.", "Thanks.", "Please"),
    # A decorative rule before any text of the platform's is no quote header.
    ("------------------------------\nTicket 123\n------------------------------\nDone.",
     "Done.", "\0"),
])
def test_own_text_cuts_quotes_and_history(text: str, kept: str, cut: str) -> None:
    own = prose.own_text(text)
    assert kept in own
    assert cut not in own


def test_sentences_join_wrapped_lines_and_split_chinese() -> None:
    text = ("Your request has been\nreceived. Next one!\n- a bullet\n- another\n\n"
            "我们已收到您的\n请求。请提供资料；谢谢")
    assert prose.sentences(text) == ["Your request has been received.", "Next one!",
                                     "- a bullet", "- another", "我们已收到您的请求",
                                     "请提供资料", "谢谢"]


@pytest.mark.parametrize(("number", "unit", "rule"), [
    ("two", "months", "2m"), (None, "month", "1m"), ("45", "days", "45d"),
    ("forty-five", "calendar days", "45d"), ("10", "business days", "10bd"),
    ("3", "working days", "3bd"), ("two", "weeks", "14d"), ("两", "个月", "2m"),
    ("兩", "個月", "2m"), ("四十五", "天", "45d"), ("十", "工作日", "10bd"), ("二", "周", "14d"),
    ("999", "months", None), ("0", "days", None), ("百", "天", None),
])
def test_period_rule_is_a_rule_tracker_reads(number: str | None, unit: str,
                                             rule: str | None) -> None:
    assert wording.period_rule(number, unit) == rule
    if rule is not None:
        assert parse_rule(rule).text == rule


def test_phrase_is_one_short_printable_line() -> None:
    match = re.search(r".+", "a\u202eb\x1b[2J\tc" + "x" * 100, re.S)
    assert match is not None
    words = prose.phrase(match)
    assert len(words) == 70 and words.endswith("…") and words.isprintable()


def test_phrase_quotes_as_written_where_lowercasing_keeps_the_length() -> None:
    written = "We have RECEIVED your request"
    match = re.search(r"received your request", written.lower())
    assert match is not None
    assert prose.phrase(match, written) == "RECEIVED your request"
    turkish = "İstanbul: we have received your request"  # "İ".lower() is two characters
    match = re.search(r"received your request", turkish.lower())
    assert match is not None
    assert prose.phrase(match, turkish) == "received your request"


def test_tables_are_written_in_lower_case() -> None:
    # They are matched against lowercased text without re.IGNORECASE.
    tables = [value for name, value in vars(wording).items()
              if name.isupper() and not name.startswith("_") and isinstance(value, tuple)]
    patterns = [p.pattern for table in tables for p in table]
    patterns += [wording.PERIOD_CONTEXT_EN.pattern, wording.PERIOD_CONTEXT_ZH.pattern]
    assert len(tables) == 16  # one list per signal and language
    assert [p for p in patterns if re.search(r"(?<![\\?])[A-Z]", p)] == []


# --- the first-character shortcut never hides a match ------------------------------------------

_TABLES = [p for name in wording.__all__ if name.isupper()
           for p in (lambda v: (v,) if isinstance(v, re.Pattern) else v)(getattr(wording, name))]
_JOINED = [p for name in ("_ACK", "_ANSWER", "_INFO", "_EXTENSION", "_HEDGED", "_NOT_ASKING",
                          "_CLAIMS", "_SUBJECT_ACK") for p in getattr(classify, name)]


@pytest.mark.parametrize(("pattern", "text", "could"), [
    (re.compile("(经|經)(过|過)?审核"), "we reviewed your request", False),
    (re.compile("(经|經)(过|過)?审核"), "经过审核", True),
    (re.compile("(?:已(被)?恢复)|(?:无法提供)"), "account 无", True),  # 无 begins a phrase
    (re.compile("x?已"), "已", True),  # an optional first item: both may begin
    (re.compile("x?已"), "x", True),
    (re.compile("x?已"), "abc", False),
    (re.compile(r"\bwe (received|logged)"), "nothing here", False),  # \b looked through
    (re.compile(r"\bwe (received|logged)"), "now", True),
    (re.compile(r"(?=a)b"), "zzz", True),  # a lookahead: no shortcut, always searched
    (re.compile("a*"), "zzz", True),  # can match empty: always searched
    (re.compile("[^a]"), "aaa", True),  # a negated class: always searched
    (re.compile("abc", re.IGNORECASE), "ABC", True),  # case folding: always searched
])
def test_could_match(pattern: re.Pattern[str], text: str, could: bool) -> None:
    assert prose.could_match(pattern, text) is could
    if pattern.search(text):
        assert could


def test_the_chinese_tables_are_skipped_on_english_text() -> None:
    text = "thank you for contacting us. we have reviewed your request and restored the account."
    zh = [p for p in _JOINED if any("\u4e00" <= ch <= "\u9fff" for ch in p.pattern[:40])]
    assert zh and not any(prose.could_match(p, text) for p in zh)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    "abcdefghijklmnopqrstuvwxyz .,'-\n0123456789已经經审核无法提供我们附件延长请需要不的了您"),
    max_size=120))
def test_the_shortcut_never_hides_a_match(text: str) -> None:
    for pattern in (*_TABLES, *_JOINED):
        if pattern.search(text):
            assert prose.could_match(pattern, text), (pattern.pattern[:60], text)
