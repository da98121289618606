"""Text from mail made inert for a terminal: no escape sequences, no hidden line breaks or bidi.

A subject, a sender's name or an attachment name is written by whoever sent the mail. Printed as
is, ``ESC [ 2 J`` clears the screen, ``ESC ] 52 ; c ; ... BEL`` writes to the clipboard, a CR LF
fakes a line of tracker's own output ("VERIFIED REPLY"), and U+202E shows ``invoice\\u202efdp.exe``
as ``invoiceexe.pdf``. Every such character is replaced by U+FFFD, the replacement character,
rather than removed: the reader sees that the sender hid something there (itself a sign of a
forgery), and nothing can be assembled from what is left once the hidden parts are gone.

`inert_json` keeps the exact values instead: it writes them as JSON escapes (``\\u202e``), which
a program decodes back and a terminal shows as six harmless characters.

For the terminal's rich console, `tracker.report.console` builds on these.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDER", "inert_json", "inert_line", "inert_text"]

PLACEHOLDER = "\ufffd"

_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
# C0 controls (CR, LF, TAB, ESC, BEL...), DEL and C1 controls (U+009B is a one-character CSI);
# the bidi embeddings, overrides, isolates and marks; the Unicode line and paragraph
# separators (some programs break lines there); lone surrogates, which a UTF-8 terminal cannot
# be sent at all (writing one would fail the command).
_DANGEROUS = (*range(0x20), *range(0x7F, 0xA0), *_BIDI, 0x2028, 0x2029, *range(0xD800, 0xE000))
_LINE = dict.fromkeys(_DANGEROUS, PLACEHOLDER) | {ord("\t"): " "}
_TEXT = _LINE | {ord("\n"): "\n", ord("\t"): "\t", 0x2028: "\n", 0x2029: "\n"}
_LINE_BREAKS = re.compile(r"\r\n?")
_JSON_UNSAFE = re.compile("[" + "".join(f"\\u{c:04x}" for c in (
    *range(0x7F, 0xA0), *_BIDI, 0x2028, 0x2029)) + "\ud800-\udfff]")


def inert_line(value: object) -> str:
    """*value* as one line a terminal shows as written, with nothing it would obey.

    Every control character (CR and LF included), DEL, the C1 controls U+0080-U+009F, the bidi
    controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), U+2028, U+2029 and lone
    surrogates become U+FFFD, visibly; a tab becomes a space. ``None`` is the empty string.
    """
    text = "" if value is None else str(value)
    if text.isprintable():  # nearly always, checked in C: all the characters above are not
        return text
    return text.translate(_LINE)


def inert_text(value: object) -> str:
    """*value* as lines of text, like `inert_line` but keeping line breaks and tabs.

    CR LF and a lone CR (which would move the cursor back over a line) become LF, and so do
    U+2028 and U+2029.
    """
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return _LINE_BREAKS.sub("\n", text).translate(_TEXT)


def inert_json(text: str) -> str:
    """JSON text with the characters a terminal would obey written as ``\\uXXXX`` escapes.

    For ``json.dumps(..., ensure_ascii=False)`` output, which keeps C0 controls escaped but
    writes DEL, C1, bidi controls and line separators as they are. Those can only occur inside
    JSON strings, where an escape means the same character: the data does not change.
    """
    if text.isprintable() or not _JSON_UNSAFE.search(text):
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
