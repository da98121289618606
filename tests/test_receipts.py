"""Receipts and posted letters: kept exactly, hashed, on the timeline, in the evidence bundle.

Real files through the real commands (SQLite and PostgreSQL): a web form's confirmation saved
as PDF, a screenshot, the confirmation email, a scan; the tracking number and the ticket; the
bundle checked with `tracker evidence verify`, and tampered with.
"""

from __future__ import annotations

import email.message
import json
import zipfile
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import Cli, border_received
from test_cli import DAY0, TRUSTED, new_request

from tracker.core.errors import InputError
from tracker.core.postal import parse_tracking
from tracker.services.receipts import Upload, check_receipt, check_ticket, media_type_of

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
EML = (b"From: Zoom Privacy <no-reply@zoom.us>\r\nTo: inquiries@hrgroup.example\r\n"
       b"Subject: We received your request (Ticket #4411)\r\nDate: Mon, 8 Jun 2020 10:00:00 "
       b"+0000\r\nMessage-ID: <conf-4411@zoom.us>\r\n\r\nThank you, we received it.\r\n")


# ---------------------------------------------------------------- what a receipt may be

TYPES = [
    ("pdf", PDF, "application/pdf"),
    ("png", PNG, "image/png"),
    ("jpeg", JPEG, "image/jpeg"),
    ("eml", EML, "message/rfc822"),
    ("text", "Confirmation: 4411, Ihre Anfrage ist eingegangen. 已收到。\n".encode(), "text/plain"),
    ("html page", b"<!DOCTYPE html><html><script>alert(1)</script></html>", None),
    ("html without doctype", b"  \n<html><body>ok</body></html>", None),
    ("svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", None),
    ("zip", b"PK\x03\x04\x14\x00\x00\x00", None),
    ("binary", b"\x00\x01\x02\x03text", None),
    ("latin-1 text", "Bestätigung".encode("latin-1"), None),
    ("gif", b"GIF89a\x01\x00\x01\x00", None),
]


@pytest.mark.parametrize(("data", "expected"), [t[1:] for t in TYPES], ids=[t[0] for t in TYPES])
def test_the_type_is_read_from_the_bytes(data: bytes, expected: str | None) -> None:
    assert media_type_of(data) == expected
    # The name a person gave changes nothing: a PNG called .pdf is a PNG.
    if expected is None:
        with pytest.raises(InputError, match="is not a PDF, PNG, JPEG, EML"):
            check_receipt(Upload("receipt.pdf", data), 20)
    else:
        assert check_receipt(Upload("confirmation.pdf", data), 20) == expected


def test_a_receipt_over_the_limit_or_empty_is_refused_with_the_setting_named() -> None:
    big = Upload("scan.png", PNG + b"\x00" * (2 * 2**20))
    with pytest.raises(InputError, match=r"scan.png is larger than 1 MB, the limit "
                                         r"\(\[letters\] receipt_max_mb\)"):
        check_receipt(big, 1)
    assert check_receipt(big, 3) == "image/png"
    with pytest.raises(InputError, match="is empty"):
        check_receipt(Upload("empty.pdf", b""), 20)


@pytest.mark.parametrize(("text", "ok"), [
    ("4411", True), ("Ticket #4411", True), ("  Case:\t0123 ", True),
    ("two\nlines", False), ("", False), ("x" * 81, False), ("bell\x07", False),
])
def test_a_ticket_is_one_line(text: str, ok: bool) -> None:
    if ok:
        assert "\n" not in check_ticket(text) and check_ticket(text) == " ".join(text.split())
    else:
        with pytest.raises(InputError, match="--ticket"):
            check_ticket(text)


# ---------------------------------------------------------------- tracking numbers

TRACKING = [
    # number as typed, kept as, carrier, service, warned
    ("RR123456785DE", "RR123456785DE", "Deutsche Post", "registered", False),
    ("rr 1234 5678 5 de", "RR123456785DE", "Deutsche Post", "registered", False),
    ("RB473124829GB", "RB473124829GB", "Royal Mail", "registered", False),  # UPU S10's example
    ("EE123456785CN", "EE123456785CN", "China Post", "EMS", False),
    ("CP123456785IE", "CP123456785IE", "An Post", "parcel", False),
    ("RR123456785XK", "RR123456785XK", "postal operator of XK", "registered", False),
    ("RR123456789DE", "RR123456789DE", "Deutsche Post", "registered", True),  # check digit 5
    ("1Z999AA10123456784", "1Z999AA10123456784", "UPS", "", False),
    ("JJD0001234567890", "JJD0001234567890", "", "", False),
    ("AB-12345", "AB-12345", "", "", False),
]


@pytest.mark.parametrize(("typed", "kept", "carrier", "service", "warned"), TRACKING,
                         ids=[t[0] for t in TRACKING])
def test_tracking_numbers_name_their_carrier(typed: str, kept: str, carrier: str,
                                             service: str, warned: bool) -> None:
    found = parse_tracking(typed)
    assert (found.number, found.carrier, found.service, bool(found.warning)) == \
        (kept, carrier, service, warned)
    described = found.describe()
    assert described.startswith(kept) and (carrier or "carrier unknown") in described
    assert ("check digit" in described) is warned


@pytest.mark.parametrize("typed", ["x", "", "RR1", "<script>", "RR123456785DE\nBcc: x"])
def test_a_tracking_number_that_cannot_be_one_is_refused(typed: str) -> None:
    with pytest.raises(InputError, match="tracking number"):
        parse_tracking(typed)


# ---------------------------------------------------------------- through the commands


def _files(tmp_path: Path) -> dict[str, Path]:
    made = {"confirmation.pdf": PDF, "screenshot.png": PNG, "confirmation.eml": EML,
            "page.html": b"<!doctype html><p>confirmation</p>"}
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in made}


def _manifest(bundle: Path) -> dict:
    with zipfile.ZipFile(bundle) as archive:
        return json.loads(archive.read("manifest.json"))


def test_a_web_form_letter_keeps_its_receipts_through_to_a_verified_bundle(
        cli: Cli, tmp_path: Path) -> None:
    files = _files(tmp_path)
    ref = new_request(cli, "zoom", "gdpr-access", "--case", "access", "--channel", "webform",
                      "--to", "https://zoom.us/privacy-form")
    done = cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
                   "--receipt", str(files["confirmation.pdf"]),
                   "--receipt", str(files["screenshot.png"]), "--ticket", "4411", env=DAY0)
    assert "kept receipt confirmation.pdf (application/pdf" in done.stdout
    assert "kept receipt screenshot.png (image/png" in done.stdout
    assert "platform ticket: 4411" in done.stdout
    later = {"TRACKER_TODAY": "2020-06-12"}
    added = cli.run("receipt", "add", ref, str(files["confirmation.eml"]), "--note",
                    "the confirmation email", env=later)
    assert "kept receipt confirmation.eml (message/rfc822" in added.stdout

    kept = cli.json("receipt", "list", ref, env=later)
    assert [(d["role"], d["label"], d["media_type"]) for d in kept] == [
        ("receipt", "confirmation.pdf", "application/pdf"),
        ("receipt", "screenshot.png", "image/png"),
        ("receipt", "confirmation.eml", "message/rfc822")]
    assert kept[2]["note"] == "the confirmation email"
    # Exactly as given, by hash and by bytes.
    for document, name in zip(kept, ("confirmation.pdf", "screenshot.png", "confirmation.eml"),
                              strict=True):
        out = tmp_path / f"copy-{document['id']}"
        cli.run("receipt", "get", ref, str(document["id"]), "--output", str(out), env=later)
        assert out.read_bytes() == files[name].read_bytes()
    # A web form's letter is not printed: no PDF of it is kept.
    assert "letter" not in {d["role"] for d in kept}

    shown = cli.json("request", "show", ref, env=later)
    assert shown["tickets"] == ["4411"]
    events = [i["kind"] for i in shown["timeline"] if i["type"] == "event"]
    assert events.count("receipt_added") == 3 and "ticket_entered" in events

    bundle = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(bundle), env=later)
    verified = cli.run("evidence", "verify", str(bundle), env=later)
    assert verified.stdout.startswith("OK:")
    manifest = _manifest(bundle)
    assert manifest["format_version"] == 3
    letter = next(m for m in manifest["messages"] if m["direction"] == "out")
    assert [(d["path"], d["label"]) for d in letter["documents"]] == [
        (f"{ref}/documents/001-1-receipt.pdf", "confirmation.pdf"),
        (f"{ref}/documents/001-2-receipt.png", "screenshot.png"),
        (f"{ref}/documents/001-3-receipt.eml", "confirmation.eml")]
    with zipfile.ZipFile(bundle) as archive:
        assert archive.read(f"{ref}/documents/001-2-receipt.png") == PNG
        timeline = archive.read("timeline.html").decode()
    assert "receipt: <a href=\"" in timeline and "screenshot.png" in timeline


def test_a_changed_kept_file_fails_verify_and_a_changed_stored_one_stops_the_export(
        cli: Cli, tmp_path: Path) -> None:
    files = _files(tmp_path)
    ref = new_request(cli, "zoom", "gdpr-access", "--case", "access", "--channel", "webform",
                      "--to", "https://zoom.us/privacy-form")
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
            "--receipt", str(files["screenshot.png"]), env=DAY0)
    bundle = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(bundle), env=DAY0)
    member = f"{ref}/documents/001-1-receipt.png"
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(forged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, PNG[:-1] + b"\x83" if info.filename == member else data)
    result = cli.run("evidence", "verify", str(forged), ok=False, env=DAY0)
    assert result.exit_code == 9 and member in result.stdout + result.stderr

    # The database altered behind tracker's back: the bundle is refused, not made.
    engine = sa.create_engine(cli.env["TRACKER_DATABASE_URL"] or "")
    with engine.begin() as conn:
        conn.execute(sa.text("update document set data = :d"), {"d": PNG + b"x"})
    engine.dispose()
    result = cli.run("evidence", ref, "--output", str(tmp_path / "again.zip"), ok=False,
                     env=DAY0)
    assert result.exit_code == 9 and "kept file" in result.stderr
    assert not (tmp_path / "again.zip").exists()


def test_bad_receipts_are_refused_in_one_line_and_nothing_is_recorded(
        cli: Cli, tmp_path: Path) -> None:
    files = _files(tmp_path)
    ref = new_request(cli, "zoom", "gdpr-access", "--case", "access", "--channel", "webform",
                      "--to", "https://zoom.us/privacy-form")
    before = cli.json("request", "show", ref, env=DAY0)
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * (2 * 2**20))
    cli.run("config", "set", "letters.receipt_max_mb", "1")
    cases = [
        (["--receipt", str(files["screenshot.png"]), "--receipt", str(files["page.html"])],
         "receipt page.html is not a PDF, PNG, JPEG, EML"),
        (["--receipt", str(big)], "receipt big.png is larger than 1 MB, the limit"),
        (["--receipt", str(tmp_path / "missing.pdf")], "missing.pdf"),
        (["--receipt", str(tmp_path)], "is a folder"),
        (["--tracking", "<x>"], "tracking number"),
        (["--ticket", "a\nb"], "--ticket"),
        (["--pdf", str(files["confirmation.pdf"])], "--pdf is for letters sent by post or fax"),
    ]
    for extra, said in cases:
        result = cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform", *extra,
                         ok=False, env=DAY0)
        assert result.exit_code == 2, (extra, result.stderr)
        assert said in result.stderr, (extra, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert cli.json("request", "show", ref, env=DAY0) == before  # all or nothing
    assert cli.json("receipt", "list", ref, env=DAY0) == []
    result = cli.run("receipt", "add", ref, str(files["screenshot.png"]), ok=False, env=DAY0)
    assert result.exit_code == 5 and "has no letter sent yet" in result.stderr
    result = cli.run("receipt", "get", ref, str(2**40), "--output", str(tmp_path / "o"),
                     ok=False, env=DAY0)
    assert result.exit_code == 3 and "has no document" in result.stderr


def test_a_file_name_is_a_label_never_a_path(cli: Cli, tmp_path: Path) -> None:
    hostile = "..\u202egnp.exe\u0007 <b>.png"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / hostile).write_bytes(PNG)
    ref = new_request(cli, "zoom", "gdpr-access", "--case", "access", "--channel", "webform",
                      "--to", "https://zoom.us/privacy-form")
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform",
            "--receipt", str(folder / hostile), env=DAY0)
    label = cli.json("receipt", "list", ref, env=DAY0)[0]["label"]
    assert "\u202e" not in label and "\u0007" not in label and "/" not in label
    assert not label.startswith(".")
    bundle = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(bundle), env=DAY0)
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert f"{ref}/documents/001-1-receipt.png" in names
    assert not any("gnp" in name or "exe" in name for name in names)
    assert cli.run("evidence", "verify", str(bundle), env=DAY0).stdout.startswith("OK:")


def _reply(subject: str, day: int) -> bytes:
    """Zoom's answer to a web form request: no thread of ours to answer, only its ticket."""
    msg = email.message.EmailMessage()
    msg["Authentication-Results"] = ("mx.hrgroup.example; dkim=pass header.d=zoom.us; "
                                     "dmarc=pass header.from=zoom.us")
    msg["Received"] = border_received("zoom.us", f"Wed, {day} Jun 2020 10:00:02 +0200")
    msg["From"] = "privacy@zoom.us"
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Date"] = f"Wed, {day} Jun 2020 10:00:00 +0200"
    msg["Message-ID"] = f"<answer-{day}@zoom.us>"
    msg.set_content("Please find our answer to your data access request attached.")
    return msg.as_bytes(policy=policy.SMTP)


def test_a_ticket_entered_from_the_form_matches_the_reply_that_quotes_it(
        cli: Cli, tmp_path: Path) -> None:
    # Two open requests to Zoom: the sender's domain alone cannot say which one is answered.
    first = new_request(cli, "zoom", "gdpr-access", "--case", "a", "--channel", "webform",
                        "--to", "https://zoom.us/privacy-form")
    second = new_request(cli, "zoom", "gdpr-access", "--case", "b", "--channel", "webform",
                         "--to", "https://zoom.us/privacy-form")
    cli.run("mark-sent", first, "--on", "2020-06-08", "--channel", "webform", env=DAY0)
    cli.run("mark-sent", second, "--on", "2020-06-08", "--channel", "webform",
            "--ticket", "00448812", env=DAY0)
    (tmp_path / "answer.eml").write_bytes(_reply("Re: Ticket #00448812 data access", 15))
    env = {**TRUSTED, "TRACKER_TODAY": "2020-06-15"}
    assert cli.json("import", str(tmp_path / "answer.eml"), "--trust-mailbox",
                    env=env)["matched"] == 1
    shown = cli.json("request", "show", second, env=env)
    answer = [i for i in shown["timeline"] if i["type"] == "message" and i["direction"] == "in"]
    assert len(answer) == 1 and shown["state"] == "answered"
    assert cli.json("request", "show", first, env=env)["state"] == "awaiting"
    # The reply writes it otherwise; it is still one ticket.
    assert shown["tickets"] == ["00448812"]
    # Follow-up letters quote it as the platform's own.
    late = {"TRACKER_TODAY": "2020-07-20"}
    cli.run("follow-up", second, env=late)
    assert "00448812" in cli.run("letter", second, env=late).stdout


def test_a_posted_letter_keeps_its_pdf_and_tracking_number(cli: Cli, tmp_path: Path) -> None:
    files = _files(tmp_path)
    ref = new_request(cli, "zoom", "gdpr-access", "--case", "access", "--channel", "post")
    printed = tmp_path / "printed.pdf"
    cli.run("letter", ref, "--format", "pdf", "--output", str(printed), env=DAY0)
    done = cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "post",
                   "--tracking", "RR123456785DE", "--receipt", str(files["screenshot.png"]),
                   env=DAY0)
    assert "tracking: RR123456785DE (Deutsche Post, registered)" in done.stdout
    kept = cli.json("receipt", "list", ref, env=DAY0)
    assert [d["role"] for d in kept] == ["letter", "receipt"]
    # Printed the day it went: the PDF kept is the one printed, byte for byte.
    import hashlib
    assert kept[0]["sha256"] == hashlib.sha256(printed.read_bytes()).hexdigest()
    again = tmp_path / "again.pdf"
    cli.run("config", "set", "letters.place", "Berlin")  # the letter as posted stays as posted
    later = {"TRACKER_TODAY": "2020-07-01"}
    cli.run("letter", ref, "--format", "pdf", "--output", str(again), env=later)
    assert again.read_bytes() == printed.read_bytes()
    shown = cli.run("request", "show", ref, env=later).stdout
    assert "tracking: RR123456785DE (Deutsche Post, registered)" in shown
    assert "letter as posted" in shown

    bundle = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(bundle), env=later)
    assert cli.run("evidence", "verify", str(bundle), env=later).stdout.startswith("OK:")
    letter = next(m for m in _manifest(bundle)["messages"] if m["direction"] == "out")
    assert (letter["tracking"], letter["carrier"]) == ("RR123456785DE", "Deutsche Post")
    assert [d["role"] for d in letter["documents"]] == ["letter", "receipt"]
    with zipfile.ZipFile(bundle) as archive:
        assert archive.read(f"{ref}/documents/001-1-letter.pdf") == printed.read_bytes()

    # The PDF that was printed on another day can be given instead, and is kept exactly.
    other = new_request(cli, "zoom", "gdpr-access", "--case", "again", "--channel", "post")
    cli.run("mark-sent", other, "--on", "2020-06-08", "--channel", "post", "--pdf",
            str(printed), env=DAY0)
    kept = cli.json("receipt", "list", other, env=DAY0)
    assert kept[0]["sha256"] == hashlib.sha256(printed.read_bytes()).hexdigest()


def test_db_check_finds_a_kept_file_that_was_altered_or_moved(cli: Cli, tmp_path: Path) -> None:
    files = _files(tmp_path)
    first = new_request(cli, "zoom", "gdpr-access", "--case", "a", "--channel", "webform",
                        "--to", "https://zoom.us/privacy-form")
    other = new_request(cli, "zoom", "gdpr-access", "--case", "b", "--channel", "webform",
                        "--to", "https://zoom.us/privacy-form")
    cli.run("mark-sent", first, "--on", "2020-06-08", "--channel", "webform",
            "--receipt", str(files["screenshot.png"]), env=DAY0)
    assert "the record is consistent" in cli.run("db", "check", env=DAY0).stdout
    cli.check = False  # the record is broken on purpose below
    engine = sa.create_engine(cli.env["TRACKER_DATABASE_URL"] or "")
    with engine.begin() as conn:
        conn.execute(sa.text("update document set data = :d, request_id = (select id from "
                             "request where ref = :ref)"), {"d": PNG + b"more", "ref": other})
    engine.dispose()
    result = cli.run("db", "check", ok=False, env=DAY0)
    assert result.exit_code == 5
    assert "kept file 1 belongs to no letter sent for its request" in result.stdout
    assert f"kept file 1 has {len(PNG) + 4} bytes, {len(PNG)} were kept" in result.stdout
