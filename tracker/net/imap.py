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
the caller reconnects and carries on from its checkpoint.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import shlex
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import imapclient
from imapclient.exceptions import LoginError
from imapclient.response_parser import parse_fetch_response

from tracker.config.settings import ImapSettings, read_secret
from tracker.core.errors import ConfigError, TrackerError, suggest
from tracker.net.tls import check_server_settings, tls_context

_HEADER_ITEMS = ("BODY.PEEK[HEADER]", "INTERNALDATE", "RFC822.SIZE")
_HEADER_ONLY = ("BODY.PEEK[HEADER]",)
_MESSAGE_ITEMS = ("BODY.PEEK[]", "INTERNALDATE")
_MAX_TEXT = 200  # characters of server text kept in an error message
_MIN_REDACTED = 4  # shorter secrets are not searched for in server text
_NO_LOGIN_HINT = ("[imap] has no login secret; set password_env (name of an environment variable), "
              "password_command or oauth2_token_command")


class MailboxError(TrackerError):
    """The IMAP server refused, failed or could not be reached; the mailbox is unchanged."""

    exit_code = 8


class MailboxDisconnected(MailboxError):
    """The connection dropped mid-session (network, server BYE, crash); reconnect to go on."""


@dataclass(frozen=True)
class FolderInfo:
    """What EXAMINE or STATUS reports about a folder."""

    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None


@dataclass(frozen=True)
class FetchedHeader:
    """The header block of one message (``internaldate`` in UTC)."""

    uid: int
    header: bytes
    internaldate: datetime | None
    size: int


@dataclass(frozen=True)
class FetchedMessage:
    """The exact bytes of one message (``internaldate`` in UTC)."""

    uid: int
    raw: bytes
    internaldate: datetime | None


def imap_credentials(settings: ImapSettings) -> tuple[str, str]:
    """Return ``("password", secret)`` or ``("oauth2", token)`` as configured in [imap]."""
    if settings.oauth2_token_command:
        return "oauth2", _run_token_command(settings.oauth2_token_command)
    secret = read_secret("imap", settings.password_env, settings.password_command)
    if secret is None:
        raise ConfigError(_NO_LOGIN_HINT)
    if not secret:
        raise ConfigError(f"[imap] the password from {_secret_source(settings)} is empty")
    return "password", secret


def _run_token_command(command: str) -> str:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"[imap] oauth2_token_command could not run: {exc}") from None
    if done.returncode != 0:
        raise ConfigError(f"[imap] oauth2_token_command exited with {done.returncode}; "
                          "run it by hand to see why")
    token = done.stdout.strip()
    if not token:
        raise ConfigError("[imap] oauth2_token_command printed no token")
    return token


def check_imap_settings(settings: ImapSettings) -> None:
    """Raise ConfigError if *settings* cannot be used to read the mailbox safely."""
    check_server_settings("imap", settings)
    if not settings.username.strip():
        raise ConfigError("set [imap] username in tracker.toml or TRACKER_IMAP_USERNAME")
    has_password = bool(settings.password_env or settings.password_command)
    if settings.oauth2_token_command and has_password:
        raise ConfigError("[imap] set either oauth2_token_command or a password "
                          "(password_env / password_command), not both")
    if not (settings.oauth2_token_command or has_password):
        raise ConfigError(_NO_LOGIN_HINT)


def _secret_source(settings: ImapSettings) -> str:
    if settings.oauth2_token_command:
        return "oauth2_token_command"
    return f"${settings.password_env}" if settings.password_env else "password_command"


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chunks(uids: list[int], size: int) -> Iterator[list[int]]:
    if size < 1:
        raise ValueError("batch must be at least 1")
    for start in range(0, len(uids), size):
        yield uids[start:start + size]


# One answer to ``UID FETCH ... (BODY.PEEK[HEADER])`` as imaplib hands it over, in the shape
# Dovecot, Cyrus and most servers send: ``(b'7 (UID 12 BODY[HEADER] {1415}', <literal>), b')'``.
_HEADER_REPLY = re.compile(rb"\d+ \(UID (\d+) BODY\[HEADER\] \{(\d+)\}")


def _header_replies(client: imapclient.IMAPClient, typ: str, data: list[Any],
                    uids: list[int]) -> dict[int, dict[bytes, Any]]:
    """The answer to ``UID FETCH uids (BODY.PEEK[HEADER])``, as ``client.fetch`` would give it.

    imapclient's general FETCH parser tokenises every byte in Python; answers in the usual shape
    are read here with one regular expression instead, about 25% faster for thousands of
    headers. Any other shape (items in another order, unsolicited FLAGS, a quoted string or
    NIL) goes to imapclient's parser, so the result is the same: ``{uid: {b"BODY[HEADER]":
    bytes, ...}}`` for the UIDs asked for.
    """
    if typ != "OK":
        reason = data[0] if data and isinstance(data[0], bytes) else b""
        raise imaplib.IMAP4.error(f"FETCH failed: {reason.decode('utf-8', 'replace')}")
    wanted = set(uids)
    replies: dict[int, dict[bytes, Any]] = {}
    items = iter(data)
    for item in items:
        if item is None:  # imaplib's "no FETCH responses at all"
            continue
        match = _HEADER_REPLY.fullmatch(item[0]) if isinstance(item, tuple) else None
        if (match is None or len(item[1]) != int(match.group(2))
                or next(items, None) != b")"):
            parsed = parse_fetch_response(data, client.normalise_times, True)
            return {uid: parsed[uid] for uid in uids if uid in parsed}
        uid = int(match.group(1))
        if uid in wanted:
            replies[uid] = {b"UID": uid, b"BODY[HEADER]": item[1]}
    return replies


@dataclass
class _InFlight:
    """A header FETCH sent but not yet read: the server prepares it while tracker works."""

    tag: bytes
    uids: list[int]
    replies: dict[int, dict[bytes, Any]] | None = None


class Mailbox:
    """One read-only IMAP session. Use as a context manager."""

    def __init__(self, settings: ImapSettings, credentials: tuple[str, str]) -> None:
        if credentials[0] not in ("password", "oauth2"):
            raise ValueError(f"unknown credential kind {credentials[0]!r}")
        self.settings = settings
        self._kind, self._secret = credentials
        self.host = settings.host.strip("[]")
        self.port = settings.port or (993 if settings.tls == "ssl" else 143)
        self.where = f"{settings.host}:{self.port}"
        self.capabilities: frozenset[str] = frozenset()
        self._client: imapclient.IMAPClient | None = None
        self._lost = ""  # why the connection dropped, once it has
        self._selected: str | None = None
        self._exists = 0
        self._just_selected = False  # nothing sent since EXAMINE: its EXISTS is current
        self._in_flight: _InFlight | None = None

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
        check_imap_settings(self.settings)
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
        # imapclient turns imaplib's debug output on (level 5) and sends every line of the
        # conversation, mail content included, to a logger: that never belongs in a log here,
        # and formatting it costs a third of a big sync's header fetch. Off, it is never made.
        client._imap.debug = 0
        step = "STARTTLS"
        try:
            client.normalise_times = False  # keep INTERNALDATE's offset; _utc converts it
            if tls == "starttls":
                if b"STARTTLS" not in client.capabilities():
                    raise MailboxError(
                        f"IMAP server {self.where} does not offer STARTTLS; refusing to log in "
                        'in plaintext (if it expects TLS from the first byte, usually on port '
                        '993, set [imap] tls = "ssl")'
                    )
                client.starttls(context)
            step = "login"
            if self._kind == "oauth2":
                client.oauth2_login(self.settings.username, self._secret)
            else:
                client.login(self.settings.username, self._secret)
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

    def close(self, politely: bool = True) -> None:
        """Log out (or, after an error, just close the socket). Never raises."""
        client, self._client, self._selected = self._client, None, None
        self._in_flight = None  # its answer, if any, dies with the connection
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
        reply = self._on_folder(folder, "EXAMINE", lambda c: c.select_folder(folder, readonly=True))
        if b"READ-WRITE" in reply:
            self.close(politely=False)
            raise MailboxError(f"IMAP server {self.where} opened {folder} read-write although "
                               "tracker asked for read-only (EXAMINE); stopped to protect it")
        info = self._info(folder, reply, b"EXISTS")
        self._selected, self._exists = folder, info.exists
        self._just_selected = True
        return info

    def folder_info(self, folder: str) -> FolderInfo:
        """Report on *folder* with STATUS, without selecting it."""
        items = ["UIDVALIDITY", "UIDNEXT", "MESSAGES"]
        if "CONDSTORE" in self.capabilities:
            items.append("HIGHESTMODSEQ")
        status = self._on_folder(folder, "STATUS", lambda c: c.folder_status(folder, items))
        return self._info(folder, status, b"MESSAGES")

    def _on_folder(self, folder: str, command: str,
                   call: Callable[[imapclient.IMAPClient], dict[bytes, Any]]) -> dict[bytes, Any]:
        with self._talk(f"{command} {folder}") as client:
            try:
                return call(client)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:
                raise self._folder_error(folder, exc) from None

    def _info(self, folder: str, reply: dict[bytes, Any], count: bytes) -> FolderInfo:
        def number(key: bytes) -> int | None:
            return None if reply.get(key) is None else int(reply[key])

        uidvalidity = number(b"UIDVALIDITY")
        if uidvalidity is None:
            raise MailboxError(f"IMAP server {self.where} did not report the UIDVALIDITY of "
                               f"{folder}; tracker cannot follow that folder safely")
        return FolderInfo(folder, uidvalidity, number(b"UIDNEXT"), number(count) or 0,
                          number(b"HIGHESTMODSEQ"))

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

    def fetch_headers(self, uids: Sequence[int], batch: int = 1000) -> Iterator[FetchedHeader]:
        """Header blocks, INTERNALDATE and size of *uids*, ascending, in batches (BODY.PEEK).

        A message the server does not return in full, even when asked again on its own (it
        was expunged meanwhile, or the server is flaky), is left out: compare the UIDs.
        """
        groups = _chunks(sorted(set(uids)), batch)
        for uid, data in self._fetch(groups, _HEADER_ITEMS, b"BODY[HEADER]", b"RFC822.SIZE"):
            yield FetchedHeader(uid, bytes(data[b"BODY[HEADER]"]),
                                _utc(data.get(b"INTERNALDATE")), int(data[b"RFC822.SIZE"]))

    def header_batches(self, uids: Sequence[int],
                       batch: int = 500) -> Iterator[tuple[list[int], list[tuple[int, bytes]]]]:
        """``(uids asked, [(uid, header block), ...])`` per batch of *uids*, ascending.

        For screening many messages: the FETCH of the next batch is sent before this one is
        handed over, so the server reads it from disk while the caller screens and stores
        (one command in flight at most; any other command first reads its answer). Without
        INTERNALDATE and size, whose parsing would cost ~25% more. A message missing even when
        asked for alone is left out of its batch, as in `fetch_headers`.
        """
        groups = list(_chunks(sorted(set(uids)), batch))
        flight = self._send_header_fetch(groups[0]) if groups else None
        for number, group in enumerate(groups):
            assert flight is not None
            replies = self._read_in_flight(flight)
            flight = self._send_header_fetch(groups[number + 1]) \
                if number + 1 < len(groups) else None
            blocks = []
            for uid in group:
                data = replies.get(uid)
                if data is None or data.get(b"BODY[HEADER]") is None:
                    data = self._fetch_once([uid], _HEADER_ONLY).get(uid)  # see _fetch
                    if data is None or data.get(b"BODY[HEADER]") is None:
                        continue
                blocks.append((uid, bytes(data[b"BODY[HEADER]"])))
            yield group, blocks

    def _send_header_fetch(self, uids: list[int]) -> _InFlight:
        with self._talk("UID FETCH") as client:  # raises first if the connection was lost
            if self._selected is None:
                raise RuntimeError("select() a folder before fetching")
            # imaplib's own two halves of a command (what IMAP4.uid runs back to back)
            tag = client._imap._command("UID", "FETCH", ",".join(map(str, uids)),
                                        "(BODY.PEEK[HEADER])")
        self._in_flight = _InFlight(tag, uids)
        return self._in_flight

    def _read_in_flight(self, flight: _InFlight) -> dict[int, dict[bytes, Any]]:
        if flight.replies is None:
            if flight is not self._in_flight:  # the connection was lost meanwhile
                raise MailboxDisconnected(f"the connection to IMAP server {self.where} was "
                                          "lost before it answered a FETCH; reconnect")
            self._in_flight = None
            with self._talk("UID FETCH") as client:
                imap = client._imap
                typ, data = imap._untagged_response(
                    *imap._command_complete("UID", flight.tag), "FETCH")
                flight.replies = _header_replies(client, typ, data, flight.uids)
        return flight.replies

    def fetch_messages(self, uids: Sequence[int], batch: int = 200) -> Iterator[FetchedMessage]:
        """The exact bytes of *uids*, ascending, *batch* at a time (BODY.PEEK[]); as above."""
        groups = _chunks(sorted(set(uids)), batch)
        for uid, data in self._fetch(groups, _MESSAGE_ITEMS, b"BODY[]"):
            yield FetchedMessage(uid, bytes(data[b"BODY[]"]), _utc(data.get(b"INTERNALDATE")))

    def _fetch(self, groups: Iterable[list[int]], items: Sequence[str],
               *required: bytes) -> Iterator[tuple[int, dict[bytes, Any]]]:
        for group in groups:
            replies = self._fetch_once(group, items)
            for uid in group:
                data = replies.get(uid)
                if data is None or any(data.get(key) is None for key in required):
                    # Some servers (Microsoft's) now and then omit the body: ask once more.
                    data = self._fetch_once([uid], items).get(uid)
                    if data is None or any(data.get(key) is None for key in required):
                        continue
                yield uid, data

    def _fetch_once(self, uids: list[int], items: Sequence[str]) -> dict[int, dict[bytes, Any]]:
        if self._selected is None:
            raise RuntimeError("select() a folder before fetching")
        if tuple(items) == _HEADER_ONLY:
            return self._read_in_flight(self._send_header_fetch(uids))
        with self._talk("UID FETCH") as client:
            replies: dict[int, dict[bytes, Any]] = client.fetch(uids, list(items))
        return replies

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
        if self._in_flight is not None:  # its answer comes first on the wire: read it now
            self._read_in_flight(self._in_flight)
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
        where, settings = self.where, self.settings
        if isinstance(exc, LoginError):
            what = "token" if self._kind == "oauth2" else "password"
            return (f"IMAP login refused for {settings.username} at {where} ({self._text(exc)}): "
                    f"check [imap] username and the {what} from {_secret_source(settings)}")
        if isinstance(exc, UnicodeEncodeError):
            return ("the IMAP username or password contains non-ASCII characters, which "
                    "Python's imaplib cannot send; use an ASCII password")
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = (f"check that [imap] ca_file {settings.ca_file} is the CA that signed it"
                    if settings.ca_file else "if the server uses a private CA set [imap] ca_file")
            reason = exc.verify_message or exc.reason or "unknown reason"
            return f"TLS certificate of {self.host} could not be verified ({reason}); {hint}"
        if isinstance(exc, ssl.SSLError):
            return (f"TLS handshake with {where} failed ({exc.reason or exc}); check [imap] tls "
                    "and port (ssl is usually on port 993, starttls on 143)")
        tls_hint = ""
        if step == "connecting" and settings.tls != "ssl":
            tls_hint = ' (if it expects TLS from the first byte, set [imap] tls = "ssl")'
        if isinstance(exc, imaplib.IMAP4.abort):
            return (f"IMAP server {where} closed the connection during {step} "
                    f"({self._text(exc)}){tls_hint}")
        if isinstance(exc, imaplib.IMAP4.error):
            return f"IMAP server {where} refused {step}: {self._text(exc)}"
        if isinstance(exc, TimeoutError):
            return (f"could not reach IMAP server {where}: no answer within "
                    f"{settings.timeout:g} s during {step}{tls_hint}; check [imap] host and port")
        if isinstance(exc, socket.gaierror):
            return (f"could not reach IMAP server {where}: host name not found "
                    f"({exc.strerror}); check [imap] host and port")
        why = getattr(exc, "strerror", None) or exc
        return f"could not reach IMAP server {where}: {why}; check [imap] host and port"

    def _text(self, value: BaseException | bytes | str) -> str:
        """Server text as one short printable line, with the secret hidden should it echo."""
        if isinstance(value, BaseException):
            value = value.args[0] if value.args else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        text = str(value)
        if text.startswith(("b'", 'b"')) and text[-1:] == text[1]:  # imaplib's str(bytes)
            text = text[2:-1]
        text = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
        if len(self._secret) >= _MIN_REDACTED:
            text = text.replace(self._secret, "***")
        return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."
