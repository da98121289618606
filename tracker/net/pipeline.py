"""Send an IMAP command now and read its answer later: the one seam onto imaplib's internals.

imaplib runs each command in one go: it sends it, then reads the server's lines until that
command's completion. tracker sends a header FETCH and reads its answer later, so that the
server prepares the next batch of headers while tracker screens the last one (see
`tracker.net.imap_batches`, which keeps at most one command in flight). Sending uses
imaplib's own ``_command`` (it makes the tag and writes the line); reading uses imaplib's public
``readline`` and ``read`` and keeps, of the untagged answers, the FETCH data in the shape
imaplib gives it. That reader is imaplib's own loop cut down to one command in flight, at half
its cost: a first sync reads 20,000 headers and does little else on the wire.

``_command``, the ``tagged_commands`` it registers the tag in, and imapclient's ``_imap`` (the
imaplib object it wraps) are private and may change with any release. This module is the only
place that uses them. :class:`Pipeline` checks, once per connection and before anything is
sent, that they exist as they do in Python 3.11 to 3.13, and raises :class:`ImaplibChanged`,
one line naming this Python, if not: tracker stops before it logs in rather than failing
halfway through a sync.
"""

from __future__ import annotations

import imaplib
import inspect
import platform
import re
from typing import Any

import imapclient

from tracker.core.errors import TrackerError

# What imaplib must have, bound (so without ``self``): "*" marks a variadic parameter.
NEEDED: dict[str, tuple[str, ...]] = {
    "_command": ("name", "*args"),
    "readline": (),
    "read": ("size",),
}
_LITERAL = re.compile(rb".*\{(\d+)\}\Z", re.ASCII | re.DOTALL)  # a line announcing a literal


class ImaplibChanged(TrackerError):
    """This Python's imaplib (or this imapclient) lacks what tracker's IMAP reading needs."""

    exit_code = 8  # as a MailboxError, but not one: reconnecting would not help


def _shape(method: object) -> tuple[str, ...] | None:
    """The parameter names of *method* as in :data:`NEEDED`, or None if it is not callable."""
    if not callable(method):
        return None
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    return tuple(("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD
                  else "") + p.name for p in parameters)


def check_imaplib(imap: object) -> None:
    """Raise ImaplibChanged unless *imap* has what :data:`NEEDED` says, and a dict of
    ``tagged_commands``."""
    for name, expected in NEEDED.items():
        if _shape(getattr(imap, name, None)) != expected:
            _changed(f"{name}({', '.join(expected)})")
    if not isinstance(getattr(imap, "tagged_commands", None), dict):
        _changed("tagged_commands (a dict)")


def _changed(what: str) -> None:
    raise ImaplibChanged(
        f"the imaplib of Python {platform.python_version()} has no {what}, which tracker's "
        "IMAP reading is built on (as in Python 3.11 to 3.13); run tracker with one of those, "
        "and report this Python version"
    )


class Pipeline:
    """Send and read commands on one imapclient session's connection, checked when made."""

    def __init__(self, client: imapclient.IMAPClient) -> None:
        imap = getattr(client, "_imap", None)
        if not isinstance(imap, imaplib.IMAP4):
            raise ImaplibChanged(
                f"imapclient {imapclient.__version__} no longer keeps its imaplib connection "
                f"in IMAPClient._imap, which tracker's IMAP reading is built on (Python "
                f"{platform.python_version()}); install the imapclient version in "
                "tracker's requirements"
            )
        check_imaplib(imap)
        # imapclient turns imaplib's debug output on (level 5) and sends every line of the
        # conversation, mail content included, to a logger: that never belongs in a log here,
        # and formatting it costs a third of a big sync's header fetch. Off, it is never made.
        imap.debug = 0
        self._imap = imap

    def send(self, name: str, *args: str) -> bytes:
        """Send the command *name* *args*; return its tag (imaplib raises on a dead socket)."""
        tag: bytes = self._imap._command(name, *args)
        return tag

    def receive(self, name: str, tag: bytes) -> tuple[str, list[Any]]:
        """Read up to the completion of command *tag* (sent as *name*); return its status and
        the FETCH data that came before it, as ``IMAP4.uid`` returns them.

        As imaplib does: a tagged BAD raises ``IMAP4.error``; a BYE, the end of the stream or
        an unexpected line raise ``IMAP4.abort``; a NO is returned with its text, and an OK
        without FETCH data with ``[None]``. Other untagged answers (EXISTS, EXPUNGE, an
        unsolicited FLAGS) are read past, with their literals if any.
        """
        imap = self._imap
        try:
            typ, text, fetched = self._read(tag)
        except imap.abort as exc:
            raise imap.abort(f"command: {name} => {exc}") from None
        except imap.error as exc:
            raise imap.error(f"command: {name} => {exc}") from None
        finally:
            imap.tagged_commands.pop(tag, None)  # _command registered it for imaplib's loop
        if typ == "BAD":
            raise imap.error(f"{name} command error: {typ} {[text]}")
        if typ == "NO":
            return typ, [text]
        return typ, fetched or [None]

    def _read(self, tag: bytes) -> tuple[str, bytes, list[Any]]:
        imap, prefix = self._imap, tag + b" "
        readline, read = imap.readline, imap.read
        fetched: list[Any] = []
        bye: bytes | None = None

        def line() -> bytes:
            got = readline()
            if not got:
                raise imap.abort("socket error: EOF")
            if not got.endswith(b"\r\n"):  # the protocol ends every line with CRLF
                raise imap.abort(f"socket error: unterminated line: {got!r}")
            line_: bytes = got[:-2]
            return line_

        while True:
            if bye is not None:  # the server closes after BYE: report it, as imaplib does
                raise imap.abort(bye.decode("ascii", "replace"))
            current = line()
            if current.startswith(prefix):
                typ, _, text = current[len(prefix):].partition(b" ")
                return typ.decode("ascii", "replace"), text, fetched
            if current.startswith(b"+"):
                continue  # a continuation request nobody asked for: imaplib ignores it too
            if not current.startswith(b"* "):
                raise imap.abort(f"unexpected response: {current!r}")
            first, _, rest = current[2:].partition(b" ")
            kind, _, data = rest.partition(b" ")
            is_fetch = first.isdigit() and kind == b"FETCH"
            # imaplib's shape of "* 7 FETCH (...)": b"7 (...)"
            current = first + b" " + data if is_fetch else rest
            parts: list[Any] = []
            while (literal := _LITERAL.match(current)) is not None:
                parts.append((current, read(int(literal.group(1)))))
                current = line()
            parts.append(current)
            if is_fetch:
                fetched.extend(parts)
            elif first == b"BYE":
                bye = rest
