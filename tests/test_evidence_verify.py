"""`tracker evidence verify` on hostile bundles: unsafe names, bombs, odd manifests, lies.

Each bundle here is the real version-1 sample (tests/data/evidence) with something forged into
it and its manifest re-signed, so that only the check under test can find it.
"""

from __future__ import annotations

import hashlib
import json
import stat
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli

from tracker.evidence import Problem, verify_bundle

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
    """The sample with *extra* members (listed in its manifest unless not *listed*), *drop*ped
    members and a *change* to its manifest, re-signed."""
    files = sample_files()
    manifest = json.loads(files.pop("manifest.json"))
    del files["manifest.sha256"]
    for name in drop:
        del files[name]
    for info, data in extra:
        name = info.filename if isinstance(info, zipfile.ZipInfo) else info
        if listed:
            manifest["files"].append(entry(name, data))
    if change is not None:
        change(manifest)
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
