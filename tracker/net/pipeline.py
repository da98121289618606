"""Send an IMAP command now and read its answer later: the one seam onto imaplib's internals.

imaplib runs each command as two halves back to back: ``_command`` sends it and returns its
tag, ``_command_complete`` reads the server's lines up to that tag's completion, and
``_untagged_response`` hands over the untagged data collected for it (imapclient's own FETCH
calls the same three). tracker calls the halves apart, so that the server prepares the next
batch of headers while tracker screens the last one (see :class:`tracker.net.imap.Mailbox`,
which keeps at most one command in flight).

These names are private to imaplib, and imaplib's object is private to imapclient
(``IMAPClient._imap``): any release may change them. This module is the only place that uses
them. :class:`Pipeline` checks, once per connection and before anything is sent, that they exist
with the signatures they have in Python 3.11 to 3.13, and raises
:class:`ImaplibChanged`, one line naming this Python, if not: tracker stops before it logs in
rather than failing halfway through a sync.
"""

from __future__ import annotations

import imaplib
import inspect
import platform
from typing import Any

import imapclient

from tracker.core.errors import TrackerError

# What each half looks like (bound, so without ``self``): "*" marks a variadic parameter.
HALVES: dict[str, tuple[str, ...]] = {
    "_command": ("name", "*args"),
    "_command_complete": ("name", "tag"),
    "_untagged_response": ("typ", "dat", "name"),
}


class ImaplibChanged(TrackerError):
    """This Python's imaplib (or this imapclient) lacks what tracker's IMAP reading needs."""

    exit_code = 8  # as a MailboxError, but not one: reconnecting would not help


def _shape(method: object) -> tuple[str, ...] | None:
    """The parameter names of *method* as in :data:`HALVES`, or None if it is not callable."""
    if not callable(method):
        return None
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    return tuple(("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD
                  else "") + p.name for p in parameters)


def check_halves(imap: object) -> None:
    """Raise ImaplibChanged unless *imap* has the command halves, as :data:`HALVES` says."""
    for name, expected in HALVES.items():
        if _shape(getattr(imap, name, None)) != expected:
            raise ImaplibChanged(
                f"the imaplib of Python {platform.python_version()} has no "
                f"{name}({', '.join(expected)}), which tracker's IMAP reading is built on "
                "(as in Python 3.11 to 3.13); run tracker with one of those, and report this "
                "Python version"
            )


class Pipeline:
    """The command halves of one imapclient session, checked when it is made."""

    def __init__(self, client: imapclient.IMAPClient) -> None:
        imap = getattr(client, "_imap", None)
        if not isinstance(imap, imaplib.IMAP4):
            raise ImaplibChanged(
                f"imapclient {imapclient.__version__} no longer keeps its imaplib connection "
                f"in IMAPClient._imap, which tracker's IMAP reading is built on (Python "
                f"{platform.python_version()}); install the imapclient version in "
                "tracker's requirements"
            )
        check_halves(imap)
        # imapclient turns imaplib's debug output on (level 5) and sends every line of the
        # conversation, mail content included, to a logger: that never belongs in a log here,
        # and formatting it costs a third of a big sync's header fetch. Off, it is never made.
        imap.debug = 0
        self._imap = imap

    def send(self, name: str, *args: str) -> bytes:
        """Send the command *name* *args*; return its tag (imaplib raises on a dead socket)."""
        tag: bytes = self._imap._command(name, *args)
        return tag

    def receive(self, name: str, tag: bytes, untagged: str) -> tuple[str, list[Any]]:
        """Read up to the completion of command *tag*; return its status and the *untagged*
        responses (``"FETCH"``) that came before it, as ``IMAP4.uid`` would."""
        typ, data = self._imap._command_complete(name, tag)
        result: tuple[str, list[Any]] = self._imap._untagged_response(typ, data, untagged)
        return result
