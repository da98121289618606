"""The header FETCHes of a sync, asked for ahead: the server reads the next batch meanwhile.

A first sync reads thousands of header blocks (only the fields the screen reads,
``SCREEN_FETCH``) and screens them on the CPU. :class:`HeaderFetches` sends the FETCH of the
next batch (through `tracker.net.pipeline`) before the current one is handed over, so that
Dovecot reads it from disk while tracker screens; when the caller fetches whole messages
meanwhile, the batch after goes out once they are read. One command is in flight at most:
:class:`tracker.net.imap.Mailbox` reads its answer before it sends anything else (`drain`).
The session, its errors and everything else on the wire stay in the Mailbox, which hands this
module the exchange to run each command in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from tracker.net.imap_parse import SCREEN_FETCH, header_blocks
from tracker.net.pipeline import Pipeline

__all__ = ["Ahead", "HeaderFetches", "InFlight", "chunks"]


def chunks(uids: list[int], size: int) -> Iterator[list[int]]:
    """*uids* in consecutive groups of *size* (the last one shorter)."""
    if size < 1:
        raise ValueError("batch must be at least 1")
    for start in range(0, len(uids), size):
        yield uids[start:start + size]


@dataclass
class InFlight:
    """A header FETCH sent but not yet read: the server prepares it while tracker works."""

    tag: bytes
    uids: list[int]
    blocks: dict[int, bytes] | None = None


@dataclass
class Ahead:
    """The header batches of one `HeaderFetches.batches`: which are asked for, which read."""

    groups: list[list[int]]
    current: int = 0  # the batch being handed over
    flights: dict[int, InFlight] = field(default_factory=dict)  # sent, not yet handed over

    def next_to_send(self) -> int | None:
        """The batch to ask for next, if any: at most two ahead of the current one."""
        following = self.current + 1 + len(self.flights)
        return following if following < min(len(self.groups), self.current + 3) else None


class HeaderFetches:
    """The header FETCHes of one IMAP session, at most one of them in flight.

    *talk(step)* runs one exchange as the Mailbox does (network errors become its errors, and
    a connection lost earlier raises at once); *selected()* says whether a folder is open;
    *lost()* is the error for an answer that can no longer come (the session was closed).
    """

    def __init__(self, pipeline: Pipeline, talk: Callable[[str], AbstractContextManager[Any]],
                 selected: Callable[[], bool], lost: Callable[[], Exception]) -> None:
        self._pipeline: Pipeline | None = pipeline
        self._talk, self._selected, self._lost = talk, selected, lost
        self.in_flight: InFlight | None = None  # a header FETCH whose answer is not read
        self.ahead: Ahead | None = None  # the header batches being read, if any

    def stop(self) -> None:
        """The session is gone: an answer on the way dies with it."""
        self.in_flight = self.ahead = self._pipeline = None

    def drain(self) -> None:
        """Read the answer in flight, if any: it comes first on the wire."""
        if self.in_flight is not None:
            self.read(self.in_flight)

    def batches(self, uids: Sequence[int],
                batch: int) -> Iterator[tuple[list[int], list[tuple[int, bytes]]]]:
        """``(uids asked, [(uid, header block), ...])`` per batch of *uids*, ascending (see
        `tracker.net.imap.Mailbox.header_batches`)."""
        ahead = Ahead(list(chunks(sorted(set(uids)), batch)))
        self.ahead = ahead
        try:
            for number, group in enumerate(ahead.groups):
                ahead.current = number
                flight = ahead.flights.pop(number, None) or self.send(group)
                found = self.read(flight)
                self.send_ahead(ahead)
                blocks = []
                for uid in group:
                    block = found.get(uid)
                    if block is None:  # as for bodies (Mailbox.fetch_messages): ask once more
                        block = self.read(self.send([uid])).get(uid)
                        if block is None:
                            continue
                    blocks.append((uid, block))
                yield group, blocks
        finally:
            if self.ahead is ahead:
                self.ahead = None

    def send_ahead(self, ahead: Ahead | None = None) -> None:
        """Ask for the next header batch of *ahead* (the batches being read), if one is due
        and no answer is awaited."""
        ahead = ahead if ahead is not None else self.ahead
        number = ahead.next_to_send() if ahead is not None else None
        if ahead is not None and number is not None and self.in_flight is None:
            # ahead.flights is filled in order: its next key is the one after the last sent
            ahead.flights[number] = self.send(ahead.groups[number])

    def send(self, uids: list[int]) -> InFlight:
        """Send the header FETCH of *uids*; its answer is read later (`read`)."""
        with self._talk("UID FETCH"):  # raises first if the connection was lost
            if not self._selected() or self._pipeline is None:
                raise RuntimeError("select() a folder before fetching")
            tag = self._pipeline.send("UID", "FETCH", ",".join(map(str, uids)), SCREEN_FETCH)
        self.in_flight = InFlight(tag, uids)
        return self.in_flight

    def read(self, flight: InFlight) -> dict[int, bytes]:
        """The header blocks *flight* asked for, by UID (read from the wire once)."""
        if flight.blocks is None:
            if flight is not self.in_flight or self._pipeline is None:  # lost meanwhile
                raise self._lost()
            self.in_flight = None
            with self._talk("UID FETCH"):
                flight.blocks = header_blocks(*self._pipeline.receive("UID", flight.tag),
                                              flight.uids)
        return flight.blocks
