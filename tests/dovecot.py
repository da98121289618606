"""A real Dovecot IMAP server for tests: one private instance per test, on a free loopback port.

    with DovecotServer() as server:                 # plaintext IMAP on 127.0.0.1
        uid = server.append(raw, flags=[b"\\Seen"])
        with Mailbox(server.settings(), ("password", "secret")) as box: ...
        assert server.flags() == before             # tracker changed nothing

``DovecotServer(tls=True)`` requires TLS: an ``imaps`` listener (``server.ssl_port``, what
``settings()`` points at) and STARTTLS on ``server.port``, with a certificate for
``127.0.0.1``/``localhost`` from a throwaway trustme CA whose PEM is ``server.ca_file``.
The one user is ``staff`` with password ``secret``; ``settings()`` gets it through
``password_command = "printf secret"``. Starting takes about 20 ms and stopping 1 ms, so
every test gets its own server and mailbox.

``DovecotServer(oauth2_introspection_url=server.introspection_url)`` (a FakeOAuthServer from
tests/oauth_server.py) also offers ``AUTH=XOAUTH2`` and ``AUTH=OAUTHBEARER``: Dovecot 2.3's
oauth2 passdb POSTs the token to that URL and accepts the login if the answer is
``{"active": true, "username": "staff"}``; ``imapclient.oauth2_login("staff", token)``. The
password login keeps working. A failed login costs ~0.6 s, and the next login from the same
address is delayed ~4 s, so put the successful logins first.

Helpers (each opens its own short connection, never the one under test): ``append``,
``create_folder``, ``flags`` and ``highestmodseq`` (read-only snapshots proving nothing changed);
faults: ``kick`` (server BYE), ``kill_imap_processes`` (crash), ``set_uidvalidity``.

Fixtures: ``dovecot`` and ``dovecot_tls``. Use them with
``from dovecot import dovecot_fixture, dovecot_tls_fixture  # noqa: F401`` (the import names
differ from the fixture names so that ruff sees no redefinition). Without Dovecot installed
they skip, or fail when ``$CI`` is set; the same when not running as root.

The data lives in a fresh directory under ``tmp_dir`` (default: the system temp dir), which
user ``nobody`` must be able to traverse: Dovecot's mail processes run as ``nobody``, so
pytest's ``tmp_path`` (mode 0700) will not do.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import imapclient
import pytest
import trustme

from tracker.config.settings import ImapSettings

HOST = "127.0.0.1"
USER = "staff"
PASSWORD = "secret"
_START_TIMEOUT = 10.0

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = {no_plaintext}
auth_mechanisms = plain login{oauth2_mechanisms}
auth_failure_delay = 0
mail_max_userip_connections = 100
mailbox_idle_check_interval = 1 secs
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
{passwd_file_mechanisms}}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
"""


# With oauth2_introspection_url: XOAUTH2 and OAUTHBEARER go to the oauth2 passdb (Dovecot 2.3
# syntax; 2.4 moved this out of passdb), which POSTs "token=..." to the URL and wants
# {"active": true, "username": <login name>}; plain logins stay with the passwd-file.
_OAUTH2_PASSDB = """\
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = %s/dovecot-oauth2.conf.ext
}
"""
_OAUTH2_CONF = """\
introspection_mode = post
introspection_url = %s
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


def dovecot_available() -> bool:
    """True if the ``dovecot`` and ``doveadm`` binaries are installed."""
    return bool(_binary("dovecot") and _binary("doveadm"))


def _binary(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class DovecotServer:
    """One private Dovecot instance; use as a context manager (see the module docstring)."""

    def __init__(self, tmp_dir: str | os.PathLike[str] | None = None, tls: bool = False,
                 oauth2_introspection_url: str = "") -> None:
        self.tls = tls
        self.oauth2_introspection_url = oauth2_introspection_url
        self.host = HOST
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-", dir=tmp_dir))
        self.conf = str(self.root / "dovecot.conf")
        self.port = 0
        self.ssl_port = 0
        self.ca_file = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._ca: trustme.CA | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Write the configuration and start Dovecot in the foreground; wait until it listens."""
        root = self.root
        # Explicit modes: the process umask may be 077 (tracker's CLI sets it), and Dovecot's
        # auth and mail processes (users dovecot and nobody) must read these.
        os.chmod(root, 0o755)
        for sub in ("run", "state", "mail", "home"):
            (root / sub).mkdir(mode=0o755, exist_ok=True)
            os.chmod(root / sub, 0o755)
        for sub in ("mail", "home"):
            shutil.chown(root / sub, "nobody", "nogroup")
        (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        os.chmod(root / "users", 0o644)
        ssl_files = ""
        if self.tls:
            self._ca = trustme.CA()
            self.ca_file = str(root / "ca.pem")
            self._ca.cert_pem.write_to_path(self.ca_file)
            cert = self._ca.issue_cert(HOST, "localhost")
            cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
            for extra in cert.cert_chain_pems[1:]:
                extra.write_to_path(str(root / "cert.pem"), append=True)
            cert.private_key_pem.write_to_path(str(root / "key.pem"))
            ssl_files = f"ssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"
        oauth2: dict[str, str] = {"oauth2_mechanisms": "", "passwd_file_mechanisms": "",
                                  "oauth2_passdb": ""}
        if self.oauth2_introspection_url:
            (root / "dovecot-oauth2.conf.ext").write_text(
                _OAUTH2_CONF % self.oauth2_introspection_url)
            os.chmod(root / "dovecot-oauth2.conf.ext", 0o644)
            oauth2 = {"oauth2_mechanisms": " xoauth2 oauthbearer",
                      "passwd_file_mechanisms": "  mechanisms = plain login\n",
                      "oauth2_passdb": _OAUTH2_PASSDB % root}
        for _attempt in range(5):  # another process may grab the free port before Dovecot does
            self.port = _free_port()
            self.ssl_port = _free_port() if self.tls else 0
            Path(self.conf).write_text(_CONFIG.format(
                root=root, port=self.port, ssl_port=self.ssl_port,
                ssl="required" if self.tls else "no", ssl_files=ssl_files,
                no_plaintext="yes" if self.tls else "no", **oauth2,
            ))
            if self._launch():
                return
        raise RuntimeError(f"Dovecot did not start; its log ends:\n{self.log()[-3000:]}")

    def _launch(self) -> bool:
        dovecot = _binary("dovecot")
        assert dovecot is not None
        # Own process group, so that stop() reaches every Dovecot child at once.
        with open(self.root / "stderr.log", "ab") as errors:  # early fatal errors go here
            self._process = subprocess.Popen([dovecot, "-F", "-c", self.conf],
                                             stdout=subprocess.DEVNULL, stderr=errors,
                                             start_new_session=True)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            # Ready when the plain listener greets: imap-login greets only once auth is up,
            # and after Dovecot bound every listener (a foreign listener would stay silent).
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as probe:
                    greeting = probe.recv(4096)
                if greeting.startswith(b"* OK") and b"Dovecot" in greeting:
                    return True
            except OSError:
                pass
            time.sleep(0.005)
        self.stop_process()
        return False

    def stop_process(self) -> None:
        """Stop Dovecot and all its children at once.

        SIGKILL to the whole process group: the instance is thrown away, and a SIGTERM sent
        while Dovecot is still forking its helpers can leave the master waiting for seconds.
        """
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._doveadm("stop", check=False)
            process.wait(timeout=5)

    def stop(self) -> None:
        """Stop Dovecot and delete its directory."""
        self.stop_process()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def log(self) -> str:
        """Dovecot's log and stderr so far (for failure messages)."""
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            with contextlib.suppress(OSError):
                text += (self.root / name).read_text(errors="replace")
        return text

    # -- what tests point tracker at ---------------------------------------------------------

    def settings(self, **overrides: Any) -> ImapSettings:
        """ImapSettings that reach this server as ``staff`` (implicit TLS when tls=True)."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.ssl_port if self.tls else self.port,
            "username": USER,
            "password_command": f"printf {PASSWORD}",
            "tls": "ssl" if self.tls else "none",
            "ca_file": self.ca_file,
            "timeout": 5.0,
        }
        values.update(overrides)
        return ImapSettings(**values)

    @contextlib.contextmanager
    def client(self) -> Iterator[imapclient.IMAPClient]:
        """A separate, logged-in helper connection (not the tracker code under test)."""
        context = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        client = imapclient.IMAPClient(self.host, self.ssl_port if self.tls else self.port,
                                       ssl=self.tls, ssl_context=context, timeout=5)
        try:
            client.login(USER, PASSWORD)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    # -- putting mail in ---------------------------------------------------------------------

    def create_folder(self, name: str) -> None:
        """Create folder *name* unless it exists."""
        with self.client() as client:
            if not client.folder_exists(name):
                client.create_folder(name)

    def append(self, raw: bytes, folder: str = "INBOX", flags: Iterable[bytes | str] = (),
               when: datetime | None = None) -> int:
        """APPEND *raw* to *folder* (created if needed); return its UID (from APPENDUID)."""
        with self.client() as client:
            if folder.upper() != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            reply = client.append(folder, raw, flags=tuple(flags), msg_time=when)
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", reply)
        assert match, reply
        return int(match.group(1))

    # -- read-only snapshots ------------------------------------------------------------------

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """Every message's flags, read through EXAMINE (so the snapshot changes nothing)."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            replies = client.fetch(uids, ["FLAGS"]) if uids else {}
        return {uid: tuple(sorted(data[b"FLAGS"])) for uid, data in replies.items()}

    def highestmodseq(self, folder: str = "INBOX") -> int:
        """The folder's HIGHESTMODSEQ: any flag change anywhere in it increases it."""
        with self.client() as client:
            status = client.folder_status(folder, ["HIGHESTMODSEQ"])
        return int(status[b"HIGHESTMODSEQ"])

    # -- faults --------------------------------------------------------------------------------

    def kick(self) -> None:
        """Disconnect every session of ``staff`` (the server says BYE and closes)."""
        self._doveadm("kick", USER)

    def set_uidvalidity(self, folder: str, value: int) -> None:
        """Give *folder* a new UIDVALIDITY, as a server does after rebuilding a mailbox."""
        self._doveadm("mailbox", "update", "-u", USER, "--uid-validity", str(value), folder)

    def kill_imap_processes(self) -> int:
        """``kill -9`` this instance's ``imap`` worker processes (a crash); return how many."""
        if self._process is None:
            return 0
        master = self._process.pid
        killed = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may contain spaces, so split after the ")".
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if comm == "imap" and ppid == master:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed += 1
        return killed

    def _doveadm(self, *args: str, check: bool = True) -> None:
        doveadm = _binary("doveadm")
        assert doveadm is not None
        done = subprocess.run([doveadm, "-c", self.conf, *args], capture_output=True,
                              text=True, timeout=30, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} exited {done.returncode}: "
                               f"{done.stderr.strip()}")


def _require_dovecot() -> None:
    if not dovecot_available():
        message = "Dovecot is not installed (apt-get install dovecot-imapd)"
    elif os.geteuid() != 0:
        message = "the Dovecot test server must be started as root (mail runs as nobody)"
    else:
        return
    if os.environ.get("CI"):
        pytest.fail(message)  # in CI a missing service is a failure, never a skip
    pytest.skip(message)


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[DovecotServer]:
    """A fresh plaintext Dovecot on loopback with an empty mailbox for ``staff``."""
    _require_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture(name="dovecot_tls")
def dovecot_tls_fixture() -> Iterator[DovecotServer]:
    """A fresh Dovecot that requires TLS (imaps on ``ssl_port``, STARTTLS on ``port``)."""
    _require_dovecot()
    with DovecotServer(tls=True) as server:
        yield server
