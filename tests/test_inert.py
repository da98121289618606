"""Nothing taken from mail reaches a terminal as something the terminal would obey.

The pure functions of tracker.inert by tables of cases, then the hostile sample
(tests/data/mail/hostile_terminal.eml) stored and shown by every command that prints mail.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from conftest import Cli
from rich.table import Table
from rich.text import Text

from tracker.core.inert import PLACEHOLDER, inert_json, inert_line, inert_text
from tracker.report.console import cell, inert_console

HOSTILE = Path(__file__).parent / "data" / "mail" / "hostile_terminal.eml"
TRUSTED = {"TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example",
           "TRACKER_TODAY": "2020-06-20"}
# What a terminal obeys, or shows other than as written: C0 controls, DEL, C1, bidi controls,
# line and paragraph separators.
OBEYED = frozenset(map(chr, (*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
                             *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0x2028, 0x2029)))
P = PLACEHOLDER


@pytest.mark.parametrize(("value", "expected"), [
    ("Re: your letter", "Re: your letter"),
    ("关于账户的答复 – José", "关于账户的答复 – José"),
    ("a\x1b[2Jb", f"a{P}[2Jb"),  # clear screen
    ("\x1b]52;c;Y3VybA==\x07", f"{P}]52;c;Y3VybA=={P}"),  # OSC 52 clipboard write
    ("subject\r\nVERIFIED REPLY", f"subject{P}{P}VERIFIED REPLY"),
    ("one\ntwo\rthree", f"one{P}two{P}three"),
    ("tab\there", "tab here"),
    ("invoice\u202efdp.exe", f"invoice{P}fdp.exe"),
    ("\u2066x\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d", f"{P}x{P * 8}"),
    ("csi\x9b2J del\x7f nel\x85", f"csi{P}2J del{P} nel{P}"),
    ("line\u2028para\u2029", f"line{P}para{P}"),
    ("lone \udc80 surrogate", f"lone {P} surrogate"),
    ("no\u00a0break, zero\u200dwidth joiner", "no\u00a0break, zero\u200dwidth joiner"),
    (None, ""),
    (42, "42"),
])
def test_inert_line_replaces_what_a_terminal_obeys(value: object, expected: str) -> None:
    assert inert_line(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("first\nsecond\n", "first\nsecond\n"),
    ("crlf\r\nline\r\n", "crlf\nline\n"),
    ("Amount: 100\rAmount: 999", "Amount: 100\nAmount: 999"),  # a lone CR overwrites a line
    ("a\tb", "a\tb"),
    ("\x1b[1;32mVERIFIED\x1b[0m\n", f"{P}[1;32mVERIFIED{P}[0m\n"),
    ("name\u202eexe.pdf\u2028next", f"name{P}exe.pdf\nnext"),
    ("\x07\x08\x0b\x0c\x00", P * 5),
])
def test_inert_text_keeps_line_breaks_and_tabs_only(value: str, expected: str) -> None:
    assert inert_text(value) == expected


def test_nothing_obeyed_is_left_by_either() -> None:
    every = "".join(map(chr, range(0x3000))) + "\udc80"
    assert not set(inert_line(every)) & OBEYED
    assert set(inert_text(every)) & OBEYED == {"\n", "\t"}


@pytest.mark.parametrize("value", [
    {"subject": "x\u202ey\x9b2J\x7f\u2028", "list": ["\x1b[2J", "\u2066"]},
    {"plain": "关于 ✔ José", "n": 3},
    ["lone \udc80"],
])
def test_inert_json_escapes_but_keeps_every_value(value: object) -> None:
    text = inert_json(json.dumps(value, indent=2, ensure_ascii=False))
    assert not set(text) & (OBEYED - {"\n"})
    assert re.search("[\ud800-\udfff]", text) is None
    assert json.loads(text) == value


def test_rich_text_alone_keeps_escape_sequences() -> None:
    # Why tracker.inert exists: rich drops BEL and CR but passes ESC, C1 and bidi through.
    buffer = io.StringIO()
    from rich.console import Console

    Console(file=buffer, color_system=None, width=80).print(Text("a\x1b[2Jb\u202ec\x9bd\x07"))
    assert "\x1b" in buffer.getvalue() and "\u202e" in buffer.getvalue()


def test_inert_console_keeps_its_colours_and_drops_the_senders() -> None:
    buffer = io.StringIO()
    console = inert_console(file=buffer, width=60, force_terminal=True, color_system="standard",
                            highlight=False)
    table = Table("subject")
    table.add_row(Text("x\x1b[2Jy\u202ez"))  # a value that did not go in through `cell`
    console.print(table, style="red")
    console.print("p\x1b]52;c;AA\x07q", style="bold")
    printed = buffer.getvalue()
    assert "\x1b[31m" in printed  # its own style
    assert "\x1b[2J" not in printed and "\x1b]" not in printed and "\u202e" not in printed
    assert f"x{P}[2Jy{P}z" in printed
    assert cell("a\r\nb", style="bold").plain == f"a{P}{P}b"


def _commands(ref: str, message_id: str, eml: str) -> list[list[str]]:
    return [
        ["inspect", eml], ["inspect", eml, "--json"], ["inbox"], ["inbox", "--json"],
        ["request", "show", ref], ["request", "show", ref, "--json"], ["request", "list"],
        ["status"], ["status", "--json"], ["message", "show", message_id],
        ["message", "show", message_id, "--json"],
        *(["report", "weekly", "--format", fmt]
          for fmt in ("terminal", "markdown", "csv", "json", "html")),
        ["export", "--format", "csv"], ["export", "--format", "json"],
    ]


def _offences(printed: bytes, crlf: bool = False) -> list[str]:
    """What in *printed* a terminal would obey, or a line that starts with the sender's text."""
    text = printed.decode("utf-8")
    found = {f"U+{ord(c):04X}" for c in set(text) & OBEYED - {"\n", "\r", "\t"}}
    if "\r" in (text.replace("\r\n", "") if crlf else text):
        found.add("CR")
    if b"\x1b" in printed:
        found.add("0x1B")
    if re.search(r"^VERIFIED", text, re.M):
        found.add("a line of the sender's")
    return sorted(found)


def test_hostile_mail_reaches_no_terminal_through_any_command(cli: Cli, tmp_path: Path) -> None:
    day0 = {"TRACKER_TODAY": "2020-06-08"}
    spec = cli.json("template", "show", "account-suspension")
    args = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    ref = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                   *args, env=day0)["ref"]
    assert ref == "HC-2020-0001"  # the sample's subject carries this tag
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "email", env=day0)
    counts = cli.json("import", str(HOSTILE), "--trust-mailbox", env=TRUSTED)
    assert (counts["stored"], counts["matched"], counts["suspicious"]) == (1, 1, 1)
    [item] = cli.json("inbox")
    assert "\x1b[2J" in item["subject"] and "\u202e" in item["subject"]  # stored exactly

    bundle = tmp_path / "bundle.zip"
    offenders = {}
    for command in [*_commands(ref, str(item["id"]), str(HOSTILE)),
                    ["evidence", ref, "--output", str(bundle)]]:
        result = cli.run(*command, env=TRUSTED)
        # CSV lines end in CR LF, as RFC 4180 says.
        found = _offences(result.stdout_bytes + result.stderr_bytes, crlf=command[-1] == "csv")
        if found:
            offenders[" ".join(command[:4])] = found
    assert not offenders, f"printed as the sender wrote it: {offenders}"

    # The bundle names files safely; a bundle from elsewhere may not, and verify says so inertly.
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert not set("".join(names)) & OBEYED
        assert f"{ref}/attachments/002-invoicefdp.exe" in names
        tampered = tmp_path / "tampered.zip"
        with zipfile.ZipFile(tampered, "w") as copy:
            for name in names:
                copy.writestr(name, archive.read(name))
            copy.writestr(f"{ref}/attachments/evil\x1b[2J\u202eexe.pdf", b"MZ")
    result = cli.run("evidence", "verify", str(tampered), ok=False)
    assert result.exit_code == 9 and f"unsafe: {ref}/attachments/evil{P}[2J{P}exe.pdf: a " \
        "control character" in result.stdout
    assert _offences(result.stdout_bytes + result.stderr_bytes) == []
