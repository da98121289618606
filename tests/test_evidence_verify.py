"""`tracker evidence verify` on hostile bundles: unsafe names, bombs, odd manifests, lies.

Each bundle here is the real version-1 sample (tests/data/evidence) with something forged into
it and its manifest re-signed, so that only the check under test can find it.
"""

from __future__ import annotations

import hashlib
import json
import stat
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.evidence import EvidenceError, Problem, verify_bundle
from tracker.evidence.names import clashes, unsafe_name
from tracker.mail.attachments import sanitise_filename, unique_names

SAMPLE = Path(__file__).parent / "data" / "evidence" / "bundle-v1.zip"
REF = "HC-2020-0001"

Member = tuple[str | zipfile.ZipInfo, bytes]
Change = Callable[[dict[str, Any]], None]


def sample_files() -> dict[str, bytes]:
    with zipfile.ZipFile(SAMPLE) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sign(manifest: dict[str, Any]) -> tuple[bytes, bytes]:
    """The manifest's bytes and a manifest.sha256 that vouches for them."""
    raw = (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode()
    return raw, f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode()


def entry(name: str, data: bytes) -> dict[str, Any]:
    return {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def forge(target: Path, extra: Sequence[Member] = (), *, listed: bool = True,
          change: Change | None = None, drop: Sequence[str] = ()) -> Path:
    """The sample with *drop*ped members, a *change* to its manifest, then *extra* members
    (listed in the manifest unless not *listed*), re-signed."""
    files = sample_files()
    manifest = json.loads(files.pop("manifest.json"))
    del files["manifest.sha256"]
    for name in drop:
        del files[name]
    if change is not None:
        change(manifest)
    for info, data in extra:
        name = info.filename if isinstance(info, zipfile.ZipInfo) else info
        if listed:
            manifest["files"].append(entry(name, data))
    files["manifest.json"], files["manifest.sha256"] = sign(manifest)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for info, data in extra:
            archive.writestr(info, data)
    return target


def problems(path: Path) -> list[Problem]:
    return list(verify_bundle(path).problems)


def test_the_sample_verifies() -> None:
    result = verify_bundle(SAMPLE)
    assert (result.ok, result.problems) == (True, ())


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def _unicode_path(name: str, second: str) -> zipfile.ZipInfo:
    """An entry that also carries an Info-ZIP Unicode Path field naming *second*."""
    info = zipfile.ZipInfo(name)
    data = b"\x01" + struct.pack("<I", 0) + second.encode()
    info.extra = struct.pack("<HH", 0x7075, len(data)) + data
    return info


PARENT = "a parent reference ('..') could write outside the folder it is extracted to"


@pytest.mark.parametrize(("member", "why"), [
    ("../../x", PARENT),
    (f"{REF}/../../x", PARENT),
    ("/tmp/x", "an absolute path could write anywhere"),
    (f"{REF}\\..\\x", "a backslash is a folder separator on Windows"),
    ("C:x", "a drive letter ('C:')"),
    ("C:\\x", "a drive letter ('C:')"),
    (f"{REF}/notes.txt:hidden", "a colon names a hidden stream"),
    (f"{REF}//x", "an empty segment"),
    (f"{REF}/./x", "a '.' segment"),
    (f"{REF}/a\x1b[2Jb", "a control character (U+001B)"),
    (f"{REF}/evil\u202egpj.exe", "a control character (U+202E)"),
    (f"{REF}/" + "x" * 256, "longer than file systems allow (255 bytes)"),
    (_entry(f"{REF}/link.eml", stat.S_IFLNK | 0o777), "a symbolic link"),
    (_entry(f"{REF}/fifo", stat.S_IFIFO | 0o600), "not a regular file"),
    (_entry(f"{REF}/folder", stat.S_IFDIR | 0o700), "a folder entry"),
    (f"{REF}/folder/", "a folder entry"),
    (_unicode_path(f"{REF}/x.txt", "../../x.txt"), "a second name (an Info-ZIP Unicode Path"),
], ids=lambda v: v.filename if isinstance(v, zipfile.ZipInfo) else repr(v)[:40])
def test_unsafe_members_are_refused_though_the_manifest_vouches_for_them(
        tmp_path: Path, member: str | zipfile.ZipInfo, why: str) -> None:
    name = member.filename if isinstance(member, zipfile.ZipInfo) else member
    data = b"/etc/passwd" if "link" in name else b"written by an attacker\n"
    found = problems(forge(tmp_path / "bad.zip", [(member, data)]))
    assert [(p.kind, p.path) for p in found] == [("unsafe", name)], found
    assert why in found[0].detail


@pytest.mark.parametrize("names", [
    [f"{REF}/notes/A.txt", f"{REF}/notes/a.txt"],
    [f"{REF}/notes/caf\u00e9.txt", f"{REF}/notes/cafe\u0301.txt"],  # NFC and NFD
    [f"{REF}/notes", f"{REF}/notes/x.txt"],  # a file where a folder is needed
])
def test_names_one_file_system_would_merge_are_refused(tmp_path: Path, names: list[str]) -> None:
    found = problems(forge(tmp_path / "bad.zip", [(name, b"x\n") for name in names]))
    assert sorted((p.kind, p.path) for p in found) == [("unsafe", name) for name in sorted(names)]


def test_unsafe_paths_in_the_manifest_are_refused_even_without_a_member(tmp_path: Path) -> None:
    def attach(manifest: dict[str, Any]) -> None:
        reply = manifest["messages"][2]
        reply["attachments"].append({"path": "../../etc/cron.d/job", "filename": "job",
                                     "content_type": "text/plain", "size": 1, "sha256": "0" * 64})
        manifest["messages"][3]["file"] = "/var/mail/forged.eml"

    found = problems(forge(tmp_path / "bad.zip", change=attach))
    assert {(p.kind, p.path) for p in found} >= {("unsafe", "../../etc/cron.d/job"),
                                                 ("unsafe", "/var/mail/forged.eml")}
    assert all("named in manifest.json" in p.detail for p in found if p.kind == "unsafe")


def test_verify_prints_which_member_is_unsafe_and_why(cli: Cli, tmp_path: Path) -> None:
    bad = forge(tmp_path / "bad.zip", [("../../x", b"x\n"), (f"{REF}/a\x1bb", b"y\n")])
    result = cli.run("evidence", "verify", str(bad), ok=False)
    assert result.exit_code == 9
    assert f"unsafe: ../../x: {PARENT}\n" in result.stdout
    assert "\x1b" not in result.stdout and f"unsafe: {REF}/a\ufffdb: a control" in result.stdout
    assert "2 problems found" in result.stderr


# --- bombs: small zips whose members expand hugely ---------------------------------------------

GIB = 1 << 30


def _zeros_deflated(size: int) -> tuple[bytes, int]:
    """Raw deflate of *size* zero bytes (a multiple of 1 MiB) and their CRC-32, made without
    compressing them all: fully flushed blocks of the same input are the same bytes."""
    mib = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(mib, crc)
    return block * (size >> 20) + compressor.flush(), crc


def write_raw_zip(target: Path, members: Sequence[tuple[str, bytes, int, int]]) -> Path:
    """A zip of already deflated members (name, deflated bytes, CRC-32, size), as any zip tool
    writes one: honest headers, no data descriptors."""
    local, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        encoded = name.encode()
        fields = struct.pack("<HHHHHIII", 20, 0x800, 8, 0, 0x21, crc, len(data), size)
        central += struct.pack("<IH", 0x02014B50, 0x314) + fields + struct.pack(
            "<HHHHHII", len(encoded), 0, 0, 0, 0, 0o100600 << 16, len(local)) + encoded
        local += struct.pack("<I", 0x04034B50) + fields + struct.pack(
            "<HH", len(encoded), 0) + encoded + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(local), 0)
    target.write_bytes(bytes(local + central + end))
    return target


def _deflated(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


ATTACHMENT = f"{REF}/attachments/003-decision.pdf"


def bomb(target: Path, name: str, size: int = GIB, listed: int | None = None) -> Path:
    """The sample with member *name* replaced by *size* zero bytes. For the attachment, the
    manifest says it has *listed* bytes (and the hash of that many zeros)."""
    files = sample_files()
    if listed is not None:
        manifest = json.loads(files["manifest.json"])
        record = entry(name, bytes(listed))
        for item in [*manifest["files"], *manifest["messages"][2]["attachments"]]:
            if item["path"] == name:
                item.update(record)
        files["manifest.json"], files["manifest.sha256"] = sign(manifest)
    data, crc = _zeros_deflated(size)
    members = [_deflated(n, d) for n, d in files.items() if n != name]
    return write_raw_zip(target, [*members, (name, data, crc, size)])


def test_a_raw_zip_is_one_zipfile_reads() -> None:
    data, crc = _zeros_deflated(2 << 20)
    assert zlib.decompress(data, -15) == bytes(2 << 20) and crc == zlib.crc32(bytes(2 << 20))


@pytest.mark.parametrize(("name", "listed", "expected"), [
    ("manifest.sha256", None, "invalid: manifest.sha256: more than 4096 bytes, not read further"),
    ("manifest.json", None, "invalid: manifest.json: more than 64 MiB, not read further"),
    (ATTACHMENT, 12, f"changed: {ATTACHMENT}: the zip holds {GIB} bytes, the manifest says 12"),
])
def test_a_zip_bomb_is_reported_without_being_read(tmp_path: Path, name: str,
                                                   listed: int | None, expected: str) -> None:
    path = bomb(tmp_path / "bomb.zip", name, listed=listed)
    assert path.stat().st_size < 2 << 20  # a small zip...
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(name).file_size == GIB  # ...that says what it expands to
    tracemalloc.start()
    try:
        found = problems(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [str(p) for p in found if str(p).startswith(expected)] == [str(found[0])], found
    assert peak < 16 << 20, f"verify used {peak >> 20} MiB at its peak"


def test_a_member_is_read_no_further_than_its_size_whatever_its_header_says(
        tmp_path: Path) -> None:
    # The header says 12 bytes (as the manifest does); the data expands to 1 GiB.
    path = bomb(tmp_path / "liar.zip", ATTACHMENT, listed=12)
    raw = bytearray(path.read_bytes())
    for signature in (b"PK\x01\x02", b"PK\x03\x04"):  # the bomb is the last entry
        at = raw.rindex(signature) + (24 if signature == b"PK\x01\x02" else 22)
        raw[at:at + 4] = struct.pack("<I", 12)
    path.write_bytes(bytes(raw))
    tracemalloc.start()
    try:
        found = problems(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # zipfile stops at the header's 12 bytes, whose CRC-32 is not the header's: damaged.
    assert [(p.kind, p.path) for p in found] == [("damaged", ATTACHMENT)]
    assert peak < 16 << 20


# --- manifests of the wrong shape ----------------------------------------------------------------

def _set(path: tuple[str | int, ...], value: Any) -> Change:
    def change(manifest: dict[str, Any]) -> None:
        node: Any = manifest
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("messages",), 5, "messages must be a list, not the number 5"),
    (("requests",), {}, "requests must be a list, not an object"),
    (("files",), None, "files must be a list, not null"),
    (("files", 0), "x", "files[0] must be an object, not text"),
    (("files", 0, "size"), True, "files[0].size must be a whole number of bytes, not true"),
    (("files", 1, "size"), -1, "files[1].size must be a whole number of bytes, not the number -1"),
    (("files", 2, "sha256"), "AB" * 32, "files[2].sha256 must be a SHA-256"),
    (("messages", 1, "number"), "2", "messages[1].number must be a whole number from 1, not text"),
    (("messages", 0, "file"), 1.5, "messages[0].file must be text or null, not the number 1.5"),
    (("messages", 2, "attachments"), "none", "messages[2].attachments must be a list, not text"),
    (("messages", 2, "attachments", 0, "path"), ["x"],
     "messages[2].attachments[0].path must be text, not a list"),
    (("messages", 3, "sha256"), 10 ** 30, "messages[3].sha256 must be a SHA-256 (64 lower-case "
     "hex digits) or null, not a very long number"),
    (("requests", 0, "events"), 7, "requests[0].events must be text, not the number 7"),
    (("format_version",), "1", "format_version must be a whole number from 1, not text"),
    (("format_version",), 99, "format_version 99 is newer than this tracker reads"),
])
def test_a_field_of_the_wrong_type_is_named(tmp_path: Path, path: tuple[str | int, ...],
                                            value: Any, expected: str) -> None:
    found = problems(forge(tmp_path / "odd.zip", change=_set(path, value)))
    invalid = [p.detail for p in found if (p.kind, p.path) == ("invalid", "manifest.json")]
    assert any(detail.startswith(expected) for detail in invalid), found


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    files = sample_files()
    raw = files["manifest.json"].replace(b'{\n  "as_of"', b'{\n  "files": [],\n  "as_of"', 1)
    files["manifest.json"] = raw
    files["manifest.sha256"] = f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode()
    path = write_raw_zip(tmp_path / "twice.zip", [_deflated(n, d) for n, d in files.items()])
    [problem] = problems(path)
    assert (problem.kind, problem.path) == ("invalid", "manifest.json")
    assert "the key 'files' is given twice" in problem.detail


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a JSON value, the value itself first."""
    found = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, child in items:
        found += _paths(child, (*prefix, key))
    return found


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8)
# The places verify reads, and some it does not (a message's headers are left out: many leaves).
PLACES = [place for place in _paths(json.loads(sample_files()["manifest.json"]))[1:]
          if len(place) <= 3 or "attachments" in place]
OUTER = [place for place in PLACES if len(place) <= 2]  # drawn as often as all the others
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(place=st.sampled_from(OUTER) | st.sampled_from(PLACES),
       value=st.integers() | st.text(max_size=4) | JSON | st.just(_MISSING := object()))
def test_no_change_to_a_manifest_raises_out_of_verify(tmp_path: Path,
                                                      place: tuple[str | int, ...],
                                                      value: Any) -> None:
    def change(manifest: dict[str, Any]) -> None:
        node: Any = manifest
        for key in place[:-1]:
            node = node[key]
        if value is _MISSING:
            del node[place[-1]]
        else:
            node[place[-1]] = value

    result = verify_bundle(forge(tmp_path / "fuzz.zip", change=change))
    assert all(isinstance(p.path, str) and isinstance(p.detail, str) for p in result.problems)


@FUZZ
@given(manifest=JSON)
def test_no_manifest_at_all_raises_out_of_verify(tmp_path: Path, manifest: Any) -> None:
    files = sample_files()
    raw = json.dumps(manifest).encode()
    files["manifest.json"] = raw
    files["manifest.sha256"] = f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode()
    path = write_raw_zip(tmp_path / "fuzz.zip", [_deflated(n, d) for n, d in files.items()])
    result = verify_bundle(path)
    assert not result.ok


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1,
                      max_size=4))
def test_no_flipped_byte_of_the_zip_raises_out_of_verify(tmp_path: Path,
                                                         flips: list[tuple[int, int]]) -> None:
    data = bytearray(SAMPLE.read_bytes())
    for at, bits in flips:
        data[at % len(data)] ^= bits
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(data))
    try:
        result = verify_bundle(path)
    except EvidenceError as exc:  # not a zip any more: one clear error
        assert "is not a readable zip file" in str(exc)
        return
    # A flip in a field nothing reads (a version, a time) changes no file: it may still be OK.
    assert all(isinstance(p.path, str) and isinstance(p.detail, str) for p in result.problems)


def test_a_zip_from_a_newer_zip_version_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    at = data.index(b"PK\x01\x02") + 6  # "version needed to extract" of the first entry
    data[at:at + 2] = struct.pack("<H", 250)
    path = tmp_path / "future.zip"
    path.write_bytes(bytes(data))
    result = cli.run("evidence", "verify", str(path), ok=False)
    assert result.exit_code == 9
    assert result.stderr.count("\n") == 1 and "not a readable zip file" in result.stderr


# --- a manifest at odds with itself ------------------------------------------------------------

REPLY, FORGED = f"{REF}/messages/003-in-reply.eml", f"{REF}/messages/004-in-reply.eml"
EVENTS = f"{REF}/events.json"


def _unlist(*paths: str) -> Change:
    def change(manifest: dict[str, Any]) -> None:
        manifest["files"] = [f for f in manifest["files"] if f["path"] not in paths]
    return change


def _drop_message(number: int) -> Change:
    def change(manifest: dict[str, Any]) -> None:
        [message] = [m for m in manifest["messages"] if m["number"] == number]
        manifest["messages"].remove(message)
        paths = {message["file"], *(a["path"] for a in message["attachments"])}
        manifest["files"] = [f for f in manifest["files"] if f["path"] not in paths]
    return change


def _both(*changes: Change) -> Change:
    def change(manifest: dict[str, Any]) -> None:
        for one in changes:
            one(manifest)
    return change


def _set_field(index: int, key: str, value: Any) -> Change:
    return _set(("messages", index, key), value)


@pytest.mark.parametrize(("drop", "change", "expected"), [
    # the forged reply taken out of the zip and of files[]: its message entry still names it
    ([FORGED], _unlist(FORGED),
     (FORGED, f"the file of message 004 of {REF}; files[] does not list it")),
    # the verified reply taken out of everything: a gap in the numbers
    ([REPLY, f"{REF}/attachments/003-decision.pdf", f"{REF}/attachments/003-decision-2.pdf"],
     _drop_message(3),
     ("manifest.json", f"{REF} has no message 3: its messages must run from 1 to 4 without a "
      "gap")),
    # a forged number far past the rest: one finding for the gap, found at once (a finding
    # for each missing number once filled all memory)
    ([], _set_field(3, "number", 10**18),
     ("manifest.json", f"{REF} has no messages 4 to {10**18 - 1}: its messages must run from 1 "
      f"to {10**18} without a gap")),
    # the last message taken out of everything: the event log still names it
    ([FORGED], _drop_message(4), (EVENTS, f"an event names message 4, which {REF} does not have")),
    ([EVENTS], _unlist(EVENTS), (EVENTS, f"the event log of {REF}; files[] does not list it")),
    ([], _set_field(3, "number", 3), ("manifest.json", f"{REF} has 2 messages numbered 3")),
    ([], _set_field(3, "request", "HC-2020-0002"),
     ("manifest.json", "messages[3] belongs to request HC-2020-0002, which requests[] does not "
      "list")),
    ([], _set(("messages", 2, "attachments", 0, "sha256"), "0" * 64),
     (f"{REF}/attachments/003-decision.pdf", f"an attachment of message 003 of {REF}: its size "
      "or SHA-256 in the message is not the one files[] lists")),
    ([], _set(("requests", 0, "events"), "events.json"),
     ("events.json", f"requests[0].events should be {EVENTS}")),
])
def test_a_manifest_at_odds_with_itself_is_reported_with_the_path(
        tmp_path: Path, drop: list[str], change: Change, expected: tuple[str, str]) -> None:
    found = problems(forge(tmp_path / "odd.zip", drop=drop, change=change))
    assert ("invalid", *expected) in [(p.kind, p.path, p.detail) for p in found], found


def test_an_event_naming_a_message_that_does_not_exist(tmp_path: Path) -> None:
    events = json.loads(sample_files()[EVENTS])
    events[-1]["message"] = 9
    found = problems(forge(tmp_path / "odd.zip", [(EVENTS, json.dumps(events).encode())],
                           drop=[EVENTS], change=_unlist(EVENTS)))
    assert [str(p) for p in found] == [
        f"invalid: {EVENTS}: an event names message 9, which {REF} does not have"]


@pytest.mark.parametrize("path", [f"{REF}/messages/005-in-reply.eml",
                                  f"{REF}/attachments/004-extra.pdf", f"{REF}/notes.txt"])
def test_a_file_slipped_into_the_zip_and_files_must_belong_to_a_message(
        tmp_path: Path, path: str) -> None:
    found = problems(forge(tmp_path / "odd.zip", [(path, b"slipped in\n")]))
    assert [str(p) for p in found] == [
        f"invalid: {path}: listed in files[] but belongs to no message or request"]


def test_a_file_two_messages_claim(tmp_path: Path) -> None:
    found = problems(forge(tmp_path / "odd.zip", change=_set_field(3, "file", REPLY)))
    assert (REPLY, f"belongs to message 003 of {REF} and to message 004 of {REF}") in \
        [(p.path, p.detail) for p in found]


def test_an_event_log_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    events = json.loads(sample_files()[EVENTS])
    events[0]["message"] = "1"
    data = json.dumps(events).encode()
    found = problems(forge(tmp_path / "odd.zip", [(EVENTS, data)], drop=[EVENTS],
                           change=_unlist(EVENTS)))
    assert [str(p) for p in found] == [
        f"invalid: {EVENTS}: events[0].message must be a whole number from 1, or null, not text"]


# --- format versions -----------------------------------------------------------------------------

def _as_version_2(answered_by: Any = 3, drop: str = "") -> Change:
    """The sample's manifest as format version 2 writes it (less the field *drop*)."""
    def change(manifest: dict[str, Any]) -> None:
        manifest["format_version"] = 2
        for message in manifest["messages"]:
            message.update(admission="", admission_means="", hold="")
            message.pop(drop, None)
        manifest["requests"][0]["deadline"]["answered_by"] = answered_by
    return change


def test_a_version_2_manifest_verifies(tmp_path: Path) -> None:
    assert problems(forge(tmp_path / "v2.zip", change=_as_version_2())) == []


@pytest.mark.parametrize("field", ["admission", "admission_means", "hold"])
def test_version_2_says_which_rule_let_each_message_count(tmp_path: Path, field: str) -> None:
    found = problems(forge(tmp_path / "v2.zip", change=_as_version_2(drop=field)))
    assert [str(p) for p in found] == [
        f"invalid: manifest.json: messages[{n}].{field} must be text, not missing"
        for n in range(4)]


def test_a_version_1_manifest_relabelled_2_is_refused(tmp_path: Path) -> None:
    found = problems(forge(tmp_path / "relabelled.zip", change=_set(("format_version",), 2)))
    details = {p.detail for p in found if p.kind == "invalid"}
    assert "messages[2].admission must be text, not missing" in details
    assert "requests[0].deadline.answered_by must be a whole number from 1, or null, not " \
        "missing" in details


def test_the_answer_a_deadline_names_must_exist(tmp_path: Path) -> None:
    found = problems(forge(tmp_path / "v2.zip", change=_as_version_2(answered_by=9)))
    assert [str(p) for p in found] == [
        f"invalid: manifest.json: requests[0].deadline.answered_by names message 9, which {REF} "
        "does not have"]


@FUZZ
@given(names=st.lists(st.text(), max_size=6))
def test_attachment_names_export_writes_are_names_verify_accepts(tmp_path: Path,
                                                                 names: list[str]) -> None:
    safe = unique_names([sanitise_filename(name, "application/pdf") for name in names])
    paths = [f"{REF}/attachments/003-{name}" for name in safe]
    assert [unsafe_name(path) for path in paths] == [None] * len(paths)
    assert clashes(paths) == {}


def test_a_huge_name_in_the_manifest_is_shown_cut(tmp_path: Path) -> None:
    name = f"{REF}/" + "x/" * 50_000 + "x"
    found = problems(forge(tmp_path / "long.zip", change=_set(("messages", 3, "file"), name)))
    unsafe = [p for p in found if p.kind == "unsafe"]
    assert len(unsafe) == 1 and unsafe[0].path.startswith(name[:500])
    assert unsafe[0].path.endswith(f"… ({len(name)} characters)")
    assert unsafe[0].detail.startswith("longer than many systems can extract (1024 bytes)")
    assert len(str(unsafe[0])) < 2000
