"""The IMAP edge: read the organisation's mailbox without ever changing it.

The mailbox belongs to the people who use it; tracker is a guest. So:

- Folders are opened with EXAMINE only (``select_folder(..., readonly=True)``) and messages are
  read with ``BODY.PEEK``: no flag (``\\Seen`` included) is set, nothing is moved, deleted or
  expunged. If a server answers EXAMINE with READ-WRITE, tracker stops.
- TLS is always verified (chain and host name, TLS 1.2 or later); ``ca_file``, when set, is
  the only CA trusted. ``tls = "starttls"`` refuses to go on without STARTTLS; ``"none"`` is
  allowed only to a loopback host.
- No logging here, and no error message carries the password or token. (imapclient logs the
  protocol at DEBUG on logger ``imapclient``, LOGIN/AUTHENTICATE redacted but mail content not:
  keep that logger above DEBUG in production.)

Every failure is one :class:`MailboxError` line saying what happened and what to check. A
connection lost mid-session (network error, server BYE, crash) is :class:`MailboxDisconnected`:
the caller reconnects and carries on from its checkpoint. Beside this module: `imap_login` (the
settings, the secret, failures explained), `imap_parse` (answers read into typed values),
`imap_batches` (header FETCHes asked for ahead) and `pipeline` (the one place that uses
imaplib's internals).
"""

from __future__ import annotations

import contextlib
import imaplib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

import imapclient
from imapclient.exceptions import LoginError

from tracker.config.settings import ImapSettings
from tracker.core.errors import TrackerError, suggest
from tracker.net.imap_batches import HeaderFetches, chunks
from tracker.net.imap_login import check_imap_settings, explain_failure, server_text
from tracker.net.imap_parse import FetchedMessage, FolderInfo, fetched_messages, folder_info
from tracker.net.logins import Login
from tracker.net.pipeline import Pipeline
from tracker.net.tls import tls_context

_MESSAGE_ITEMS = ["BODY.PEEK[]", "INTERNALDATE"]


class MailboxError(TrackerError):
    """The IMAP server refused, failed or could not be reached; the mailbox is unchanged."""

    exit_code = 8


class MailboxDisconnected(MailboxError):
    """The connection dropped mid-session (network, server BYE, crash); reconnect to go on."""


class Mailbox:
    """One read-only IMAP session. Use as a context manager."""

    def __init__(self, settings: ImapSettings, credentials: tuple[str, str] | Login) -> None:
        if isinstance(credentials, tuple):
            if credentials[0] not in ("password", "oauth2"):
                raise ValueError(f"unknown credential kind {credentials[0]!r}")
            credentials = Login.fixed(credentials[0], credentials[1])  # type: ignore[arg-type]
        self.settings = settings
        self._login = credentials
        self._kind, self._secret = credentials.kind, ""
        self.host = settings.host.strip("[]")
        self.port = settings.effective_port
        self.where = f"{settings.host}:{self.port}"
        self.capabilities: frozenset[str] = frozenset()
        self._client: imapclient.IMAPClient | None = None
        self._lost = ""  # why the connection dropped, once it has
        self._selected: str | None = None
        self._exists = 0
        self._just_selected = False  # nothing sent since EXAMINE: its EXISTS is current
        self._fetches: HeaderFetches | None = None  # the header FETCHes of this session

    def __repr__(self) -> str:
        return f"<Mailbox {self.settings.username} at {self.where}>"

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(politely=exc_type is None)

    def connect(self) -> None:
        """Connect, secure the connection and log in; raise MailboxError saying why not."""
        check_imap_settings(self.settings, login_given=True)
        self.close(politely=False)  # a reconnect replaces a dead session
        tls = self.settings.tls
        context = tls_context("imap", self.settings.ca_file) if tls != "none" else None
        timeout = imapclient.SocketTimeout(connect=self.settings.timeout,
                                           read=self.settings.timeout)
        try:
            client = imapclient.IMAPClient(self.host, self.port, ssl=tls == "ssl",
                                           ssl_context=context, timeout=timeout)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(self._explain(exc, "connecting")) from None
        step = "STARTTLS"
        try:
            pipeline = Pipeline(client)  # checks imaplib first, and keeps its debug output off
            client.normalise_times = False  # keep INTERNALDATE's offset; utc() converts it
            if tls == "starttls":
                if b"STARTTLS" not in client.capabilities():
                    raise MailboxError(
                        f"IMAP server {self.where} does not offer STARTTLS; refusing to log in "
                        'in plaintext (if it expects TLS from the first byte, usually on port '
                        '993, set [imap] tls = "ssl")'
                    )
                client.starttls(context)
            step = "login"
            self._log_in(client)
            step = "CAPABILITY"
            self.capabilities = frozenset(c.decode("ascii", "replace").upper()
                                          for c in client.capabilities())
            if {"CONDSTORE", "ENABLE"} <= self.capabilities:
                client.enable("CONDSTORE")  # so that EXAMINE reports HIGHESTMODSEQ
        except (imaplib.IMAP4.error, OSError, UnicodeEncodeError) as exc:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise MailboxError(self._explain(exc, step)) from None
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        self._client, self._lost, self._selected = client, "", None
        self._fetches = HeaderFetches(pipeline, self._talk, lambda: self._selected is not None,
                                      self._unanswered)

    def _log_in(self, client: imapclient.IMAPClient) -> None:
        """Log in; a refused token is renewed once and tried again (it may have expired
        early, or been revoked and granted anew)."""
        self._secret = self._login.secret()
        if self._kind != "oauth2":
            client.login(self.settings.username, self._secret)
            return
        try:
            client.oauth2_login(self.settings.username, self._secret)
        except LoginError:
            if not self._login.renewable:
                raise
            self._secret = self._login.secret(fresh=True)
            client.oauth2_login(self.settings.username, self._secret)

    def close(self, politely: bool = True) -> None:
        """Log out (or, after an error, just close the socket). Never raises."""
        client, self._client, self._selected = self._client, None, None
        if self._fetches is not None:  # an answer on the way dies too
            self._fetches.stop()
            self._fetches = None
        if client is None:
            return
        if politely:
            with contextlib.suppress(Exception):
                client.logout()
                return
        with contextlib.suppress(Exception):
            client.shutdown()

    def list_folders(self) -> list[str]:
        """Names of the folders that can be selected, in the server's order."""
        with self._talk("LIST") as client:
            listed = client.list_folders()
        return [str(name) for flags, _sep, name in listed
                if b"\\NOSELECT" not in {f.upper() for f in flags}]

    def select(self, folder: str) -> FolderInfo:
        """Open *folder* read-only (EXAMINE) and report its UIDVALIDITY, UIDNEXT and size."""
        self._selected = None
        if self._fetches is not None:
            self._fetches.ahead = None
        reply = self._on_folder(folder, "EXAMINE", lambda c: c.select_folder(folder, readonly=True))
        if b"READ-WRITE" in reply:
            self.close(politely=False)
            raise MailboxError(f"IMAP server {self.where} opened {folder} read-write although "
                               "tracker asked for read-only (EXAMINE); stopped to protect it")
        info = folder_info(folder, reply, b"EXISTS")
        if info is None:
            raise MailboxError(f"IMAP server {self.where} did not report the UIDVALIDITY of "
                               f"{folder}; tracker cannot follow that folder safely")
        self._selected, self._exists = folder, info.exists
        self._just_selected = True
        return info

    def _on_folder(self, folder: str, command: str,
                   call: Callable[[imapclient.IMAPClient], dict[bytes, Any]]) -> dict[bytes, Any]:
        with self._talk(f"{command} {folder}") as client:
            try:
                return call(client)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:
                raise self._folder_error(folder, exc) from None

    def _folder_error(self, folder: str, exc: imaplib.IMAP4.error) -> MailboxError:
        folders = self.list_folders()
        if folder in folders:
            return MailboxError(f"IMAP server {self.where} cannot open {folder}: "
                                f"{self._text(exc)}")
        return MailboxError(
            f"IMAP folder {folder!r} does not exist at {self.where}{suggest(folder, folders)}; "
            f"existing folders: {', '.join(folders) or '(none)'}; check [imap] folders"
        )

    def uids_above(self, last_uid: int, window: int = 50_000) -> list[int]:
        """UIDs above *last_uid* in the selected folder, ascending.

        One SEARCH answer is one line, and imaplib refuses lines over 1 MB: a big folder is
        searched in UID windows of *window*, each answer at most that many UIDs.
        """
        if window < 1:
            raise ValueError("window must be at least 1")
        if self._selected is None:
            raise RuntimeError("select() a folder before uids_above()")
        if not self._just_selected:  # right after EXAMINE its count is fresh: save a round trip
            self.noop()  # learn the current message count (EXISTS)
        with self._talk("UID SEARCH") as client:
            if self._exists <= window:  # few messages: one answer is short enough
                found = client.search(["UID", f"{last_uid + 1}:*"])
            else:
                top = max(client.search(["UID", "*"]), default=0)
                found, low = [], last_uid + 1
                while low <= top:
                    high = min(low + window - 1, top)
                    found.extend(client.search(["UID", f"{low}:{high}"]))
                    low = high + 1
        # "n:*" matches the highest UID even when it is below n: filter here.
        return sorted({int(uid) for uid in found if int(uid) > last_uid})

    def header_batches(self, uids: Sequence[int],
                       batch: int = 500) -> Iterator[tuple[list[int], list[tuple[int, bytes]]]]:
        """``(uids asked, [(uid, header block), ...])`` per batch of *uids*, ascending.

        For screening: each block holds only the fields the screen reads
        (`tracker.net.imap_parse.SCREEN_FETCH`). The next batch is asked for before this one is
        handed over, so the server reads it while the caller screens; when the caller fetches
        messages meanwhile, the batch after goes out once they are read, so the server works
        while the caller stores them. One command is in flight at most: any other reads its
        answer first. A message missing even when asked for alone is left out of its batch.
        """
        with self._talk("UID FETCH"):  # a connection lost earlier: say so at once
            fetches = self._fetches
        assert fetches is not None  # made with the session, gone with it
        yield from fetches.batches(uids, batch)

    def _unanswered(self) -> MailboxDisconnected:
        return MailboxDisconnected(f"the connection to IMAP server {self.where} was lost before "
                                   "it answered a FETCH; reconnect")

    def fetch_messages(self, uids: Sequence[int], batch: int = 200) -> Iterator[FetchedMessage]:
        """The exact bytes of *uids*, ascending, *batch* at a time (BODY.PEEK[]).

        A message the server does not return in full, even when asked again on its own (it
        was expunged meanwhile, or the server is flaky), is left out: compare the UIDs.
        """
        for group in chunks(sorted(set(uids)), batch):
            found = self._fetch_messages(group)
            if self._fetches is not None:  # header_batches running: keep the server busy
                self._fetches.send_ahead()
            for uid in group:
                message = found.get(uid)
                if message is None:
                    # Some servers (Microsoft's) now and then omit the body: ask once more.
                    message = self._fetch_messages([uid]).get(uid)
                    if message is None:
                        continue
                yield message

    def _fetch_messages(self, uids: list[int]) -> dict[int, FetchedMessage]:
        if self._selected is None:
            raise RuntimeError("select() a folder before fetching")
        with self._talk("UID FETCH") as client:
            return fetched_messages(client.fetch(uids, _MESSAGE_ITEMS))

    def idle_wait(self, timeout: float) -> bool:
        """Wait up to *timeout* seconds for new mail in the selected folder (IDLE).

        Return True when the server announces new mail, False when the time is up. Raise
        MailboxDisconnected if the server ends the session (BYE) or the connection dies.
        """
        if self._selected is None:
            raise RuntimeError("select() a folder before idle_wait()")
        deadline = time.monotonic() + timeout
        if "IDLE" not in self.capabilities:  # rare: wait, then ask
            time.sleep(timeout)
            with self._talk("NOOP") as client:
                return self._note(client.noop()[1], "NOOP")
        with self._talk("IDLE") as client:
            client.idle()
            try:
                arrived = self._idle_until(client, deadline)
            except MailboxDisconnected:
                raise
            except BaseException:
                with contextlib.suppress(Exception):
                    client.idle_done()
                raise
            _text, late = client.idle_done()
        return self._note(late, "IDLE") or arrived

    def _idle_until(self, client: imapclient.IMAPClient, deadline: float) -> bool:
        silent_returns = 0
        while (remaining := deadline - time.monotonic()) > 0:
            began = time.monotonic()
            responses = client.idle_check(timeout=remaining)
            if self._note(responses, "IDLE"):
                return True
            # idle_check swallows EOF and returns [] at once: an empty answer well before the
            # timeout, twice in a row, means the server is gone.
            quick = not responses and time.monotonic() - began < remaining - 0.05
            silent_returns = silent_returns + 1 if quick else 0
            if silent_returns >= 2:
                raise self._lose("IDLE", "the server closed the connection")
        return False

    def noop(self) -> None:
        """Send NOOP: keeps the session alive and raises MailboxDisconnected if it is not."""
        with self._talk("NOOP") as client:
            _text, responses = client.noop()
        self._note(responses, "NOOP")

    def _note(self, responses: Iterable[tuple[Any, ...]], step: str) -> bool:
        """Track EXISTS in unsolicited *responses*; raise on BYE; True if new mail arrived."""
        news = False
        for response in responses:
            if response and response[0] == b"BYE":
                text = b" ".join(p for p in response[1:] if isinstance(p, bytes))
                raise self._lose(step, f"the server said BYE: {self._text(text)}")
            if len(response) >= 2 and isinstance(response[0], int):
                if response[1] == b"EXISTS":
                    self._exists = response[0]
                news = news or response[1] in (b"EXISTS", b"RECENT")
        return news

    @contextlib.contextmanager
    def _talk(self, step: str) -> Iterator[imapclient.IMAPClient]:
        """Run one exchange; network errors become MailboxDisconnected, refusals MailboxError."""
        if self._fetches is not None:  # an answer in flight comes first on the wire
            self._fetches.drain()
        self._just_selected = False
        if self._client is None:
            if self._lost:
                raise MailboxDisconnected(f"the connection to IMAP server {self.where} was "
                                          f"lost earlier ({self._lost}); reconnect")
            raise RuntimeError("Mailbox is not connected; use it as a context manager")
        try:
            yield self._client
        except (imaplib.IMAP4.abort, OSError) as exc:
            reason = self._text(exc) if isinstance(exc, imaplib.IMAP4.abort) else str(
                getattr(exc, "strerror", None) or exc or type(exc).__name__)
            raise self._lose(step, reason) from None
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP server {self.where} refused {step}: "
                               f"{self._text(exc)}") from None

    def _lose(self, step: str, reason: str) -> MailboxDisconnected:
        self._lost = reason
        self.close(politely=False)
        return MailboxDisconnected(f"lost the connection to IMAP server {self.where} during "
                                   f"{step} ({reason}); reconnect and go on from the checkpoint")

    def _explain(self, exc: BaseException, step: str) -> str:
        return explain_failure(exc, step, self.settings, self.where, self._kind, self._secret,
                               self._login.source)

    def _text(self, value: BaseException | bytes | str) -> str:
        return server_text(value, self._secret)
