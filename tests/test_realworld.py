"""Real mail from many clients and languages reads as mail clients show it (the corpus in
tests/data/realworld/, its sources and licences in the README there)."""

from __future__ import annotations

import json

import pytest
from realworld import CORPUS, FIELDS, Case, cases, compare

from tracker.mail.parsing import parse_message

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_subject_sender_and_text_read_as_a_mail_client_shows_them(case: Case) -> None:
    assert compare(case) == {}


def test_the_corpus_covers_the_languages_and_clients_it_claims() -> None:
    entries = [c.entry for c in CASES]
    charsets = {e["charset"].lower() for e in entries}
    clients = " ".join(e["client"].lower() for e in entries)
    for needed in ("koi8-r", "windows-1251", "iso-8859-1", "iso-8859-2", "gb2312", "big5",
                   "iso-2022-jp", "shift_jis", "cp932", "euc-kr", "utf-8"):
        assert any(needed in c for c in charsets), needed
    for client in ("outlook", "outlook express", "apple mail", "gmail", "thunderbird"):
        assert client in clients, client
    # Every file is listed once, with where it comes from and under which licence.
    listed = [e["file"] for e in entries]
    assert sorted(listed) == sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(set(listed)) == len(listed)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for e in entries:
        assert e["repo"] and e["licence"] and e["path"], e["file"]
        assert e["file"] in readme, e["file"]
    assert set(FIELDS) <= set(entries[0])


def test_a_guessed_or_repaired_sender_is_a_defect_and_never_verified() -> None:
    for case in CASES:
        parsed = parse_message(case.raw)
        if parsed.headers.sender_source:
            assert any("sender" in d for d in parsed.defects), case.file


def test_the_expected_values_are_not_tracker_s_own() -> None:
    # Each entry says where its values come from: a library's own expectations or a hand
    # decoding, never tracker's output.
    for case in CASES:
        assert case.entry["expected_from"] and "tracker" not in case.entry["expected_from"]
    assert json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))
