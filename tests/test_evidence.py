"""`tracker evidence` and `tracker evidence verify`, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import hashlib
import html
import json
import os
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import Cli, bounce

from tracker.mail.admission import RULES
from tracker.mail.attachments import extract_attachments, sanitise_filename, unique_names
from tracker.mail.parsing import parse_message
from tracker.store.db import normalise_url

DAY = {"TRACKER_TODAY": "2020-06-20"}
TRUSTED = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example", **DAY}
PDF = b"%PDF-1.4\n% decision of the platform\n" + bytes(range(256)) + b"\n%%EOF\n"
XSS = "<script>alert(1)</script>"
COMPARE = "Compare it with the hash kept when the bundle was made"


@dataclass
class Exported:
    """A request with a letter, an acknowledgement, a reply with files and a forged reply."""

    ref: str
    zip: Path
    letter: bytes  # `tracker letter REF --format eml`
    reply: bytes  # the reply as imported
    forged: bytes


def reply_mail(subject: str, in_reply_to: str, *, day: int, auth: str, attach: bool) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = f"mx.hrgroup.example; {auth}"
    msg["Received"] = ("from mail.zoom.us (mail.zoom.us [170.114.10.1]) by mx.hrgroup.example "
                       f"(Postfix) with ESMTPS id 4TqL{day}; Mon, {day} Jun 2020 10:00:02 +0200")
    msg["From"] = "legal@zoom.us"
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Date"] = f"Mon, {day} Jun 2020 10:00:00 +0200"
    msg["Message-ID"] = f"<reply-{day}@zoom.us>"
    msg["In-Reply-To"] = in_reply_to
    msg["References"] = in_reply_to
    msg.set_content("We reviewed the account; our decision is attached.")
    if attach:
        # A path in the name must not become a folder; the same name twice is numbered.
        msg.add_attachment(PDF, maintype="application", subtype="pdf",
                           filename="../../etc/decision.pdf")
        msg.add_attachment(b"second copy", maintype="application", subtype="pdf",
                           filename="decision.pdf")
    return msg.as_bytes(policy=policy.SMTP)


def sent_request(cli: Cli, *extra: str) -> tuple[str, bytes, str]:
    """A request whose letter went out by email on 8 June 2020: ref, letter, its Message-ID."""
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    day0 = {"TRACKER_TODAY": "2020-06-08"}
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *args, *extra, env=day0)["ref"]
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=day0)
    letter = cli.run("letter", ref, "--format", "eml").stdout_bytes
    letter_id = str(email.message_from_bytes(letter, policy=policy.default)["Message-ID"])
    return ref, letter, letter_id


def export(cli: Cli, tmp_path: Path) -> Exported:
    ref, letter, letter_id = sent_request(cli, "--deadline", "gdpr")
    cli.run("record-reply", ref, "--on", "2020-06-10", "--kind", "acknowledgement",
            "--note", "portal said: received", env={"TRACKER_TODAY": "2020-06-10"})
    reply = reply_mail(f"Re: [{ref}] your letter", letter_id, day=15, attach=True,
                       auth="dkim=pass header.d=zoom.us; dmarc=pass header.from=zoom.us")
    forged = reply_mail(f"Re: [{ref}] {XSS}", letter_id, day=16, attach=False,
                        auth="spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=zoom.us")
    for name, raw in (("reply.eml", reply), ("forged.eml", forged)):
        (tmp_path / name).write_bytes(raw)
        assert cli.json("import", str(tmp_path / name), "--trust-mailbox",
                        env=TRUSTED)["matched"] == 1
    out = tmp_path / "bundle.zip"
    cli.run("evidence", ref, "--output", str(out), env=DAY)
    return Exported(ref=ref, zip=out, letter=letter, reply=reply, forged=forged)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(source: Path, target: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    files = members(source)
    change(files)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


def test_bundle_holds_exact_bytes_attachments_manifest_and_timeline(
        cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    ref = ex.ref
    files = members(ex.zip)
    assert sorted(files) == sorted([
        f"{ref}/attachments/003-decision-2.pdf", f"{ref}/attachments/003-decision.pdf",
        f"{ref}/events.json", f"{ref}/messages/001-out-initial.eml",
        f"{ref}/messages/003-in-reply.eml", f"{ref}/messages/004-in-reply.eml",
        "manifest.json", "manifest.sha256", "timeline.html"])
    assert list(files) == sorted(files)
    assert files[f"{ref}/messages/001-out-initial.eml"] == ex.letter
    assert files[f"{ref}/messages/003-in-reply.eml"] == ex.reply
    assert files[f"{ref}/messages/004-in-reply.eml"] == ex.forged
    assert files[f"{ref}/attachments/003-decision.pdf"] == PDF
    assert files[f"{ref}/attachments/003-decision-2.pdf"] == b"second copy"
    assert stat.S_IMODE(os.stat(ex.zip).st_mode) == 0o600
    with zipfile.ZipFile(ex.zip) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    manifest = json.loads(files["manifest.json"])
    assert files["manifest.sha256"].decode() == \
        f"{hashlib.sha256(files['manifest.json']).hexdigest()}  manifest.json\n"
    assert manifest["generated_by"].startswith("tracker ")
    assert manifest["as_of"] == "2020-06-20"
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "manifest.sha256"}
    for path, entry in listed.items():
        assert (entry["size"], entry["sha256"]) == \
            (len(files[path]), hashlib.sha256(files[path]).hexdigest())
    letter, ack, reply, forged = manifest["messages"]
    assert (letter["direction"], letter["kind"], letter["status"], letter["channel"]) == \
        ("out", "initial", "sent", "email")
    assert letter["sha256"] == hashlib.sha256(ex.letter).hexdigest()
    assert (ack["file"], ack["kind"], ack["note"]) == (None, "auto_reply", "portal said: received")
    assert ack["no_file_reason"] == "recorded by hand without a file"
    assert (reply["authenticity"], reply["match_rule"]) == ("verified", "in-reply-to")
    assert reply["sha256"] == listed[reply["file"]]["sha256"]
    assert reply["headers"]["Authentication-Results"][0].startswith("mx.hrgroup.example;")
    assert [a["filename"] for a in reply["attachments"]] == ["../../etc/decision.pdf",
                                                             "decision.pdf"]
    assert (forged["authenticity"], forged["subject"]) == ("suspicious", f"Re: [{ref}] {XSS}")
    [request] = manifest["requests"]
    assert request["deadline"]["citation"] == "GDPR Art. 12(3)"
    assert request["status"]["state"] == "answered"

    events = json.loads(files[f"{ref}/events.json"])
    assert [e["kind"] for e in events][:2] == ["created", "sent"]
    assert {e["message"] for e in events if e["kind"] == "reply_recorded"} == {2}

    page = files["timeline.html"].decode()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "SUSPICIOUS" in page and "GDPR Art. 12(3)" in page
    assert "1 month" in page and "Mon 8 Jun 2020" in page
    assert "recorded by hand without a file" in page


def test_export_is_reproducible_and_verifies(cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    again = tmp_path / "again.zip"
    data = cli.json("evidence", ex.ref, "--output", str(again), env=DAY)
    assert data["sha256"] == hashlib.sha256(again.read_bytes()).hexdigest()
    first, second = members(ex.zip), members(again)
    assert first["manifest.json"] == second["manifest.json"]
    assert first["timeline.html"] == second["timeline.html"]
    assert ex.zip.read_bytes() == again.read_bytes()

    result = cli.run("evidence", "verify", str(ex.zip))
    assert result.stdout.splitlines()[0] == (
        f"OK: {len(first)} files (manifest.json, manifest.sha256 and the {len(first) - 2} files "
        "the manifest lists) verified")
    report = cli.json("evidence", "verify", str(ex.zip))
    assert (report["ok"], report["problems"]) == (True, [])


def test_export_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    before = ex.zip.read_bytes()
    refused = cli.run("evidence", ex.ref, "--output", str(ex.zip), ok=False, env=DAY)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert ex.zip.read_bytes() == before
    cli.run("evidence", ex.ref, "--output", str(ex.zip), "--force",
            env={"TRACKER_TODAY": "2020-06-21"})
    assert json.loads(members(ex.zip)["manifest.json"])["as_of"] == "2020-06-21"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bundle")] == []


def test_two_requests_a_scanned_reply_and_a_bounce(cli: Cli, tmp_path: Path) -> None:
    first, _, _ = sent_request(cli)
    second, _, second_id = sent_request(cli)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)
    cli.run("record-reply", first, "--on", "2020-06-12", "--file", str(scan), env=DAY)
    (tmp_path / "dsn.eml").write_bytes(bounce("privacy@zoom.us", second_id))
    assert cli.json("import", str(tmp_path / "dsn.eml"), env=DAY)["bounces"] == 1
    out = tmp_path / "two.zip"
    cli.run("evidence", second, first, second, "--output", str(out), env=DAY)
    files = members(out)
    assert files[f"{first}/messages/002-in-reply.pdf"] == PDF  # a scan keeps its type
    assert f"{second}/messages/002-in-bounce.eml" in files
    manifest = json.loads(files["manifest.json"])
    assert [r["ref"] for r in manifest["requests"]] == [first, second]
    assert manifest["requests"][1]["delivery_failed"] is True
    page = files["timeline.html"].decode()
    assert "DELIVERY FAILED" in page and "12 days without response" in page
    assert "Legal basis: none (the organisation's own rule)." in page
    assert cli.run("evidence", "verify", str(out)).stdout.startswith("OK: ")


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.mark.parametrize(("change", "expected"), [
    ("flip", "changed: {ref}/messages/001-out-initial.eml"),
    ("remove", "missing: {ref}/attachments/003-decision.pdf"),
    ("add", "added: notes.txt"),
    ("manifest", "changed: manifest.json"),
    ("unsigned", "missing: manifest.sha256"),
])
def test_verify_catches_tampering(cli: Cli, tmp_path: Path, change: str, expected: str) -> None:
    ex = export(cli, tmp_path)
    ref = ex.ref

    def tamper(files: dict[str, bytes]) -> None:
        if change == "flip":
            name = f"{ref}/messages/001-out-initial.eml"
            files[name] = _flip(files[name], len(files[name]) // 2)
        elif change == "remove":
            del files[f"{ref}/attachments/003-decision.pdf"]
        elif change == "add":
            files["notes.txt"] = b"added later"
        elif change == "unsigned":
            del files["manifest.sha256"]
        else:
            files["manifest.json"] = files["manifest.json"].replace(b'"verified"',
                                                                    b'"suspicious"', 1)

    bad = rewrite(ex.zip, tmp_path / "bad.zip", tamper)
    result = cli.run("evidence", "verify", str(bad), ok=False)
    assert result.exit_code == 9
    lines = [line for line in result.stdout.splitlines()
             if not line.startswith(("manifest.json SHA-256: ", COMPARE))]
    assert len(lines) == 1 and lines[0].startswith(expected.format(ref=ref)), result.stdout
    assert "1 problem found" in result.stderr
    report = json.loads(cli.run("evidence", "verify", str(bad), "--json", ok=False).stdout)
    assert report["ok"] is False and len(report["problems"]) == 1


def test_verify_catches_a_flipped_byte_inside_the_zip(cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    with zipfile.ZipFile(ex.zip) as archive:
        info = archive.getinfo(f"{ex.ref}/attachments/003-decision.pdf")
    data = ex.zip.read_bytes()
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    (tmp_path / "flipped.zip").write_bytes(_flip(data, start + info.compress_size // 2))
    result = cli.run("evidence", "verify", str(tmp_path / "flipped.zip"), ok=False)
    assert result.exit_code == 9
    assert f"{ex.ref}/attachments/003-decision.pdf" in result.stdout


def test_verify_rejects_a_file_that_is_not_a_zip(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"this is not a zip file\n")
    result = cli.run("evidence", "verify", str(path), ok=False)
    assert result.exit_code == 9
    assert result.stderr.count("\n") == 1 and "not a readable zip file" in result.stderr


def test_export_refuses_when_stored_bytes_no_longer_match_their_hash(
        cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    url = cli.env["TRACKER_DATABASE_URL"]
    assert url is not None
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            message_id, raw = conn.execute(sa.text(
                "select id, raw from message where direction = 'out' and status = 'sent'")).one()
            conn.execute(sa.text("update message set raw = :raw where id = :id"),
                         {"raw": _flip(bytes(raw), 100), "id": message_id})
    finally:
        engine.dispose()
    result = cli.run("evidence", ex.ref, "--output", str(tmp_path / "after.zip"), ok=False,
                     env=DAY)
    assert result.exit_code == 9
    assert f"message {message_id}" in result.stderr and "altered" in result.stderr
    assert not (tmp_path / "after.zip").exists()


def test_unknown_references_are_named_with_close_ones(cli: Cli, tmp_path: Path) -> None:
    ref, _, _ = sent_request(cli)  # HC-2020-0001
    result = cli.run("evidence", ref, "hc-2020-0009", "HC-2021-0001", "--output",
                     str(tmp_path / "x.zip"), ok=False, env=DAY)
    assert result.exit_code == 3
    assert result.stderr == (f"tracker: error: no request HC-2020-0009 (did you mean: {ref}?), "
                             f"HC-2021-0001 (did you mean: {ref}?); see `tracker request list`\n")
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\report.pdf", "report.pdf"),
    (".bashrc", "bashrc"),
    ("inv\x00oice\x1b.pdf", "invoice.pdf"),
    ("evil\u202egpj.exe", "evilgpj.exe"),  # a right-to-left override hides the extension
    ('a<b>:c"?.txt', "a_b__c__.txt"),
    ("", "attachment.pdf"),
    ("...", "attachment.pdf"),
])
def test_attachment_names_are_sanitised(name: str, safe: str) -> None:
    assert sanitise_filename(name, "application/pdf") == safe


def test_long_attachment_names_keep_their_extension() -> None:
    name = sanitise_filename("决定" * 200 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 150


def test_duplicate_attachment_names_are_numbered() -> None:
    assert unique_names(["a.pdf", "A.pdf", "a.pdf", "b"]) == ["a.pdf", "A-2.pdf", "a-3.pdf", "b"]


def test_attachments_come_out_with_their_names_decoded_and_bytes_as_sent() -> None:
    inner = EmailMessage()
    inner["Subject"] = "forwarded"
    inner.set_content("the original notice")
    msg = EmailMessage()
    msg["Subject"] = "files"
    msg.set_content("see attached")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="处理决定.pdf")
    msg.add_attachment(inner)
    raw = msg.as_bytes(policy=policy.SMTP)
    raw = raw.replace(b'filename*=utf-8\'\'%E5%A4%84%E7%90%86%E5%86%B3%E5%AE%9A.pdf',
                      b'filename="=?GB2312?B?tKbA7b72tqg=?=.pdf"')  # how some mailers write it
    assert b"=?GB2312?B?" in raw
    found = extract_attachments(parse_message(raw).message)
    assert [(a.filename, a.content_type) for a in found] == [
        ("处理决定.pdf", "application/pdf"), ("", "message/rfc822")]
    assert found[0].data == PDF
    assert b"the original notice" in found[1].data


def test_export_and_verify_print_the_manifest_hash_to_keep(cli: Cli, tmp_path: Path) -> None:
    ref, _, _ = sent_request(cli)
    out = tmp_path / "kept.zip"
    written = cli.run("evidence", ref, "--output", str(out), env=DAY).stdout.splitlines()
    digest = hashlib.sha256(members(out)["manifest.json"]).hexdigest()
    assert f"manifest.json SHA-256: {digest}" in written
    assert any(line.startswith("Keep this hash") for line in written)

    checked = cli.run("evidence", "verify", str(out)).stdout.splitlines()
    assert checked[0].startswith("OK: ")
    assert checked[1] == f"manifest.json SHA-256: {digest}" and checked[2].startswith(COMPARE)
    assert len(checked) == 3
    assert cli.json("evidence", "verify", str(out))["manifest_sha256"] == digest

    files = members(out)
    files[f"{ref}/events.json"] += b" "
    bad = rewrite(out, tmp_path / "bad.zip", lambda f: f.update(files))
    failed = cli.run("evidence", "verify", str(bad), ok=False).stdout.splitlines()
    assert failed[0].startswith(f"changed: {ref}/events.json")
    assert failed[1] == f"manifest.json SHA-256: {digest}" and failed[2].startswith(COMPARE)


def test_export_and_verify_count_the_same_files(cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    again = tmp_path / "again.zip"
    written = cli.json("evidence", ex.ref, "--output", str(again), env=DAY)
    checked = cli.json("evidence", "verify", str(again))
    assert written["files"] == checked["verified"] == len(members(again))
    said = cli.run("evidence", ex.ref, "--output", str(again), "--force", env=DAY).stdout
    shown = cli.run("evidence", "verify", str(again)).stdout
    words = re.compile(r"(\d+) files \(manifest\.json, manifest\.sha256 and the (\d+) files "
                       r"the manifest lists\)")
    found_said, found_shown = words.search(said), words.search(shown)
    assert found_said is not None and found_shown is not None, (said, shown)
    assert found_said.groups() == found_shown.groups() == (str(len(members(again))),
                                                           str(len(members(again)) - 2))


VERIFIED = RULES["verified-platform-domain"]


def _import_reply(cli: Cli, tmp_path: Path, ref: str, letter_id: str, day: int) -> None:
    raw = reply_mail(f"Re: [{ref}] your letter", letter_id, day=day, attach=False,
                     auth="dkim=pass header.d=zoom.us; dmarc=pass header.from=zoom.us")
    (tmp_path / f"reply-{day}.eml").write_bytes(raw)
    assert cli.json("import", str(tmp_path / f"reply-{day}.eml"), "--trust-mailbox",
                    env={**TRUSTED, "TRACKER_TODAY": f"2020-06-{day}"})["matched"] == 1


def _story(cli: Cli, tmp_path: Path, ref: str) -> tuple[str, dict[str, object], list[str]]:
    """The timeline's "Answered on" line, the manifest's deadline record, the message files."""
    out = tmp_path / f"{ref}.zip"
    cli.run("evidence", ref, "--output", str(out), env={"TRACKER_TODAY": "2020-07-01"})
    files = members(out)
    page = files["timeline.html"].decode()
    [answered] = re.findall(r"<p>Answered on .*?</p>", page)
    [request] = json.loads(files["manifest.json"])["requests"]
    return html.unescape(re.sub(r"<[^>]+>", "", answered)), request["deadline"], sorted(
        name.rpartition("/")[2] for name in files if "/messages/" in name)


def test_answered_on_names_the_answer_after_a_follow_up(cli: Cli, tmp_path: Path) -> None:
    ref, _, letter_id = sent_request(cli)
    _import_reply(cli, tmp_path, ref, letter_id, 15)  # message 002 answers the letter
    cli.run("follow-up", ref, env={"TRACKER_TODAY": "2020-06-20"})
    cli.run("mark-sent", ref, "--on", "2020-06-20", "--channel", "email",
            env={"TRACKER_TODAY": "2020-06-20"})  # message 003 opens a new wait
    _import_reply(cli, tmp_path, ref, letter_id, 25)  # message 004 answers the follow-up
    answered, deadline, files = _story(cli, tmp_path, ref)
    assert files == ["001-out-initial.eml", "002-in-reply.eml", "003-out-follow-up.eml",
                     "004-in-reply.eml"]
    assert answered == ("Answered on Thu 25 Jun 2020 by message 004 (from legal@zoom.us), "
                        f"after 5 days; counted: {VERIFIED}.")
    assert (deadline["answered_by"], deadline["answered_at"]) == (4, "2020-06-25T08:00:00+00:00")


def test_answered_on_names_the_first_of_two_answers_in_one_wait(cli: Cli, tmp_path: Path) -> None:
    ref, _, letter_id = sent_request(cli)
    _import_reply(cli, tmp_path, ref, letter_id, 16)  # message 002 stops the clock
    _import_reply(cli, tmp_path, ref, letter_id, 18)  # message 003 is the last reply
    answered, deadline, _ = _story(cli, tmp_path, ref)
    assert answered == ("Answered on Tue 16 Jun 2020 by message 002 (from legal@zoom.us), "
                        f"after 8 days; counted: {VERIFIED}.")
    assert (deadline["answered_by"], deadline["answered_at"]) == (2, "2020-06-16T08:00:00+00:00")


def test_manifest_and_timeline_say_which_rule_let_each_message_count(
        cli: Cli, tmp_path: Path) -> None:
    ex = export(cli, tmp_path)
    files = members(ex.zip)
    manifest = json.loads(files["manifest.json"])
    assert manifest["format_version"] == 3
    said = {m["number"]: (m["admission"], m["admission_means"], m["hold"])
            for m in manifest["messages"]}
    hold = said[4][2]
    assert said == {1: ("", "", ""),  # our letter: nothing to admit
                    2: ("recorded-by-hand", RULES["recorded-by-hand"], ""),
                    3: ("verified-platform-domain", VERIFIED, ""),
                    4: ("", "", hold)}
    assert hold.startswith("it may be forged")

    page = html.unescape(re.sub(r"<[^>]+>", "", files["timeline.html"].decode()))
    assert f"counted: {RULES['recorded-by-hand']}" in page
    assert f"counted: {VERIFIED}" in page
    assert f"not counted: {hold} (waiting for a person to check it)" in page
    assert (f"Answered on Mon 15 Jun 2020 by message 003 (from legal@zoom.us), after 7 days; "
            f"counted: {VERIFIED}.") in page
