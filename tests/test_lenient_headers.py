"""Headers as real clients break them: encoded-words with spaces, charset labels mail uses,
From lines without brackets, and a sender from Sender/Reply-To/Return-Path when From is
unusable: decoded as mail clients show them, each repair a defect, a guessed sender never
verified and never counted without a person."""

from __future__ import annotations

import json
import unicodedata
import zipfile
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from conftest import Cli, border_received
from test_cli import DAY0, TRUSTED, new_request
from web_client import make_site

from tracker.mail.admission import admit
from tracker.mail.authenticity import Verdict
from tracker.mail.decoding import decode_noting, decode_words
from tracker.mail.header_info import header_info, parse_headers, sender_source_of
from tracker.mail.matching import KnownSenders, Match

WORDS = [
    # encoded text as written, what clients show, whether it is noted as a repair
    ("=?us-ascii?Q?ABC / 123 / Wetterau West?=", "ABC / 123 / Wetterau West", True),
    ("=?UTF-8?Q? Personal=C3=A4nderung?=", " Personaländerung", True),
    ("=?utf-8?B?5L2g5aW9 5LiW55WM?=", "你好世界", True),  # a space inside base64
    ("Re:=?utf-8?q?Antwort?=", "Re:Antwort", False),  # no space before the word
    ("=?utf-8?q?a?==?utf-8?q?b?=", "ab", False),  # no separator between words
    ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab", False),  # white space between words is not text
    ("=?UTF8?Q?Gr=C3=BC=C3=9Fe?=", "Grüße", False),  # a label Python knows otherwise
    ("=?gb2312?B?1cXPyMn6?=", "张先生", False),
    ("=?gb2312?B?6Q==?= =?gb2312?B?Rrv5?=", "镕基", False),  # a GBK character split in two
    ("=?ks_c_5601-1987?B?vsiz58fPvLy/5A==?=", "안녕하세요", False),
    ("=?shift_jis?B?h0CJ74tj?=", "①会議", False),  # NEC extension: Windows-31J
    ("=?iso-8859-1?Q?=93quoted=94?=", "\u201cquoted\u201d", False),  # read as windows-1252
    # Central European: the same letters sit at other bytes in ISO-8859-2 and windows-1250
    ("=?iso-8859-2?Q?Dzi=EAkuj=EA_za_odpowied=BC?=", "Dziękuję za odpowiedź", False),
    ("=?windows-1250?Q?Dzi=EAkuj=EA_za_odpowied=9F?=", "Dziękuję za odpowiedź", False),
    ("=?windows-1250?Q?Odpov=EC=EF_na_=9E=E1dost?=", "Odpověď na žádost", False),
    ("=?x-unknown?Q?plain?=", "plain", False),
    ("What? No word here?=", "What? No word here?=", False),
]


@pytest.mark.parametrize(("written", "shown", "noted"), WORDS, ids=[w[0] for w in WORDS])
def test_encoded_words_read_as_clients_show_them(written: str, shown: str, noted: bool) -> None:
    notes: list[str] = []
    assert decode_words(written, notes) == shown
    assert ("encoded-word with spaces inside decoded" in notes) is noted


# Real-world encoded-words with the decodings mail-mime-parser's own tests expect
# (zbateson/mail-mime-parser, tests/src/Header/Part/MimeLiteralPartTest.php, BSD-2-Clause):
# Greek, Arabic (windows-1256), Hebrew (windows-1255), ISO-2022-JP (with JIS X 0201 half-width
# katakana), Shift_JIS, UTF-32 without a byte order mark, RFC 2231 languages, spacing.
_KILGORE, _SNOW = "=?US-ASCII?Q?Kilgore_Trout?=", "=?US-ASCII?Q?Jon_Snow?="
MAIL_MIME_PARSER = [
    ("Kilgore Trout", _KILGORE), ("", "=?US-ASCII?Q??="), ("", "=?utf-8?Q??="),
    (" Kilgore TroutJon Snow ", f" {_KILGORE}   {_SNOW} "),
    ("Kilgore TroutJon Snow", f"{_KILGORE}{_SNOW}"), ("Kilgore Trout   Jon", f"{_KILGORE}   Jon"),
    ("Kilgore   Jon Snow", f"Kilgore   {_SNOW}"), ("KilgoreJon SnowTrout", f"Kilgore{_SNOW}Trout"),
    ("κόσμε fløde", "=?UTF-8?B?zrrhvbnPg868zrUgZmzDuGRl?="),
    ("هلا هلا شخبار؟", "=?WINDOWS-1256?B?5eHHIOXhxyDUzsjH0b8=?="),
    ("ידיעת שפה אחת אינה מספיקה ", "=?WINDOWS-1255?B?6ePp8vog+fTkIODn+iDg6fDkIO7x9On35CA==?="),
    ("がんばります", "=?ISO-2022-JP?B?GyRCJCwkcyRQJGokXiQ5GyhC?="),
    ("دنت كبتن والله", "=?CP1256?Q?=CF=E4=CA=20=DF=C8=CA=E4=20=E6=C7=E1=E1=E5?="),
    ("桜", "=?ISO-2022-JP?B?GyRCOnkbKEI=?="),
    ("这也不会,那也不会", "=?UTF-32?B?AACP2QAATl8AAE4NAABPGgAAACwAAJCjAABOXwAATg0AAE8a?="),
    ("セミオーダー感覚で選ぶ、ジャケット",
     "=?shift_jis?B?g1qDfoNJgVuDX4FbirSKb4LFkUmC1IFBg1eDg4NQg2KDZw==?="),
    ("外為ｵﾝﾗｲﾝﾃﾞﾓ(25)(デモ)決済約定のお知らせ",
     "=?iso-2022-jp?Q?=1B$B300Y=1B(I5]W2]C^S=1B(B(25?=\n"
     "            =?iso-2022-jp?Q?)(=1B$B%G%b=1B(B)=1B$B7h:QLsDj$N$*CN$i$;=1B(B?="),
    ("Hello and bonjour mi amici. Welcome!",
     "Hello and =?UTF-8*fr-be?Q?bonjou?= =?UTF-8*it?Q?r_mi amici?=. Welcome!"),
]


@pytest.mark.parametrize(("shown", "written"), MAIL_MIME_PARSER,
                         ids=[c[1][:40] for c in MAIL_MIME_PARSER])
def test_encoded_words_decode_as_another_parser_s_tests_expect(shown: str,
                                                               written: str) -> None:
    # Compared in NFC: the expected text was stored composed (ό), the bytes say U+1F79.
    value = written.replace("\n", "")  # as the header is unfolded before decoding
    assert unicodedata.normalize("NFC", decode_words(value, [])) == \
        unicodedata.normalize("NFC", shown)


CHARSETS = [
    # bytes, label, text, note
    ("Bestätigung".encode("latin-1"), "us-ascii", "Bestätigung",
     "charset us-ascii failed, decoded as cp1252"),
    ("Bestätigung".encode(), "us-ascii", "Bestätigung",
     "charset us-ascii failed, decoded as utf-8"),
    ("①会議".encode("cp932"), "shift_jis", "①会議", "charset shift_jis decoded as cp932"),
    ("镕基".encode("gb18030"), "gb2312", "镕基", "charset gb2312 decoded as gb18030"),
    ("안녕".encode("cp949"), "euc-kr", "안녕", None),
    ("Příliš žluťoučký kůň".encode("iso8859_2"), "iso-8859-2", "Příliš žluťoučký kůň", None),
    ("Árvíztűrő tükörfúrógép".encode("iso8859_2"), "latin2", "Árvíztűrő tükörfúrógép", None),
    ("Zażółć gęślą jaźń".encode("cp1250"), "windows-1250", "Zażółć gęślą jaźń", None),
    ("Zażółć gęślą jaźń".encode("cp1250"), "x-cp1250", "Zażółć gęślą jaźń",
     "charset x-cp1250 guessed as cp1250"),  # a WHATWG label Python lacks
    ("שלום".encode("iso8859-8"), "iso-8859-8-i", "שלום",
     "charset iso-8859-8-i decoded as iso8859-8"),
    ("ภาษาไทย".encode("cp874"), "windows-874", "ภาษาไทย", "charset windows-874 decoded as cp874"),
    (b"\x81\x8d", "iso-8859-1", "\x81\x8d", "charset iso-8859-1 failed, decoded as iso8859-1"),
    # 8-bit Japanese labelled ISO-2022-JP (zammad mail093, mail098): the strict codecs first
    ("ツール".encode("cp932"), "iso-2022-jp", "ツール",
     "charset iso-2022-jp failed, decoded as cp932"),
    ("本文です".encode("euc_jp"), "iso-2022-jp", "本文です",
     "charset iso-2022-jp failed, decoded as euc_jp"),
    ("カテゴリ".encode(), "iso-2022-jp", "カテゴリ",
     "charset iso-2022-jp failed, decoded as utf-8"),
]


@pytest.mark.parametrize(("data", "label", "text", "note"), CHARSETS,
                         ids=[c[1] + "-" + c[2] for c in CHARSETS])
def test_charset_labels_are_read_as_mail_clients_read_them(data: bytes, label: str, text: str,
                                                           note: str | None) -> None:
    notes: list[str] = []
    assert decode_noting(data, label, notes) == text
    assert notes == ([note] if note else [])


SENDERS = [
    # header lines, address, name, where the sender was read
    ("From: Zoom Privacy <privacy@zoom.us>", "privacy@zoom.us", "Zoom Privacy", ""),
    ("From: Test test@example.com", "test@example.com", "Test", "From (repaired)"),
    ("From: =?utf-8?q?M=C3=BCller?= mueller@example.de", "mueller@example.de", "Müller",
     "From (repaired)"),
    ('From: "your secret past" <power quadrant system@example.com>',
     "powerquadrantsystem@example.com", "your secret past", "From (repaired)"),
    ("From: Name <a@b.example>>", "a@b.example", "Name", ""),
    ('From: "Millions Lottery"@example.com>', '"millions lottery"@example.com', "", ""),
    ("Sender: agent@zoom.us\r\nReply-To: Privacy <privacy@zoom.us>", "agent@zoom.us", "",
     "Sender"),
    ("Reply-To: Privacy <privacy@zoom.us>\r\nReturn-Path: <bounce@mail.zoom.us>",
     "privacy@zoom.us", "Privacy", "Reply-To"),
    ("Return-Path: <bounce@mail.zoom.us>", "bounce@mail.zoom.us", "", "Return-Path"),
    ("From: undisclosed-recipients:;\r\nReply-To: privacy@zoom.us", "privacy@zoom.us", "",
     "Reply-To"),
    ("Return-Path: <>", "", "", ""),
    ("Subject: nobody at all", "", "", ""),
]


@pytest.mark.parametrize(("lines", "address", "name", "source"), SENDERS,
                         ids=[s[0].split("\r\n")[0] for s in SENDERS])
def test_a_sender_is_found_as_mail_clients_find_one(lines: str, address: str, name: str,
                                                    source: str) -> None:
    msg = BytesHeaderParser(policy=policy.compat32).parsebytes((lines + "\r\n\r\n").encode())
    notes: list[str] = []
    headers = header_info(msg, notes)
    assert (headers.from_addr, headers.from_name, headers.sender_source) == \
        (address, name, source)
    assert parse_headers((lines + "\r\n\r\n").encode()).from_addr == address
    # What was guessed is said, and said back the same way from the stored defects.
    assert sender_source_of(notes) == source
    if source:
        assert any("sender" in note for note in notes)


def test_a_guessed_sender_is_never_verified_and_never_counts_by_itself() -> None:
    senders = KnownSenders(name="Zoom", domains=frozenset({"zoom.us"}), approved=frozenset())
    match = Match("HC-2026-0001", "subject-tag", relevant=True)
    verified = Verdict("verified", ("dmarc=pass header.from=zoom.us",))
    for accept in (False, True):
        plain = admit(kind="reply", doubt="", match=match, sender="privacy@zoom.us",
                      verdict=verified, senders=senders, accept_unverified=accept)
        assert (plain.rule, plain.authenticity) == ("verified-platform-domain", "verified")
        guessed = admit(kind="reply", doubt="", match=match, sender="privacy@zoom.us",
                        verdict=verified, senders=senders, accept_unverified=accept,
                        sender_source="Reply-To")
        assert guessed.rule == "" and guessed.authenticity == "unverified"
        assert "taken from Reply-To" in guessed.hold
    forged = admit(kind="reply", doubt="", match=match, sender="privacy@zoom.us",
                   verdict=Verdict("suspicious", ("dmarc=fail",)), senders=senders,
                   accept_unverified=True, sender_source="Sender")
    assert forged.authenticity == "suspicious" and forged.rule == ""


def test_a_reply_without_from_is_stored_tied_to_the_platform_and_waits_for_a_person(
        cli: Cli, tmp_path: Path) -> None:
    ref = new_request(cli)
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=DAY0)
    # As a broken mailer writes it: no From:, and an encoded-word with spaces inside.
    raw = ("Authentication-Results: mx.hrgroup.example; dkim=pass header.d=zoom.us; "
           "dmarc=pass header.from=zoom.us\r\n"
           f"Received: {border_received('zoom.us', 'Wed, 10 Jun 2020 10:00:02 +0200')}\r\n"
           "Reply-To: Zoom Legal <legal@zoom.us>\r\nTo: inquiries@hrgroup.example\r\n"
           f"Subject: =?us-ascii?Q?Re: [{ref}] Your account?=\r\n"
           "Date: Wed, 10 Jun 2020 10:00:00 +0200\r\nMessage-ID: <no-from@zoom.us>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           "We have reviewed the suspension of your account.\r\n")
    (tmp_path / "reply.eml").write_bytes(raw.encode())
    env = {**TRUSTED, "TRACKER_TODAY": "2020-06-10"}
    stored = cli.json("import", str(tmp_path / "reply.eml"), "--trust-mailbox", env=env)
    assert (stored["stored"], stored["matched"], stored["held"]) == (1, 1, 1)
    inbox = cli.json("inbox", env=env)
    assert len(inbox) == 1
    message_id = inbox[0]["id"]
    shown = cli.json("message", "show", str(message_id), env=env)
    assert shown["sender"] == "legal@zoom.us" and shown["sender_source"] == "Reply-To"
    assert shown["authenticity"] == "unverified"
    assert "sender taken from Reply-To (no usable From:)" in shown["defects"]
    assert "encoded-word with spaces inside decoded" in shown["defects"]
    text = cli.run("message", "show", str(message_id), env=env).stdout
    assert "sender: legal@zoom.us (taken from Reply-To: no usable From: header" in text
    assert cli.json("request", "show", ref, env=env)["state"] == "awaiting"  # not counted
    site = make_site(cli.workspace, {k: v for k, v in {**cli.env, **env}.items() if v})
    try:
        page = site.signed_in("viewer").page(f"/messages/{message_id}")
        guessed = page.select_one("dd.guessed-sender").get_text(" ", strip=True)
        assert guessed.startswith("legal@zoom.us (taken from Reply-To")
        assert "sender taken from Reply-To" in page.select_one("ul.defects").get_text()
        assert page.select_one("span.tag").get_text() == "unverified"
    finally:
        site.ws.close()
    bundle = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(bundle), env=env)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    reply = next(m for m in manifest["messages"] if m["direction"] == "in")
    assert (reply["from"], reply["sender_source"]) == ("legal@zoom.us", "Reply-To")
    assert reply["authenticity"] == "unverified"
    # A person confirms it; then it counts, by their word.
    cli.run("link", str(message_id), ref, env=env)
    assert cli.json("request", "show", ref, env=env)["state"] == "answered"
