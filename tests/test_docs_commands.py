"""Every command block of README.md and docs/ runs, as written, in one throw-away session.

The ```sh blocks are run in order (README.md first, then docs/ by name) by bash with `-e`, as one
reader's terminal session: the working directory and exported variables carry over from block to
block, and `HOME` is a fresh folder. So the docs cannot drift from what tracker does.

What the session provides, as a reader's machine would:
- the mail servers the README names are real ones started here on 127.0.0.1: `smtp.hrgroup.example`
  and `imap.hrgroup.example` in a command are replaced by 127.0.0.1, their ports and plaintext
  (loopback only) come from `TRACKER_SMTP_PORT`/`TRACKER_IMAP_PORT`/`..._TLS`, and the hosts a
  provider preset writes (outlook.office365.com, ...) are overridden by `TRACKER_IMAP_HOST` and
  `TRACKER_SMTP_HOST`; the mailbox's password is in `$HC_SMTP_PASSWORD`, and `pass` (the
  password manager the README uses) prints it too;
- Microsoft's sign-in is tests/oauth_server.py's fake on 127.0.0.1 (`TRACKER_AUTH_AUTHORITY`,
  `TRACKER_AUTH_CA_FILE`), which approves a device code at once; Dovecot and the SMTP server
  take its tokens (XOAUTH2); the mailbox has a "Sent Items" folder, as Exchange's have;
- the organisation's mailbox holds a reply, a look-alike phishing mail and a help-desk answer;
  `~/Takeout/mail.mbox`, `reply.eml` and `~/confirmation.pdf` (a web form's confirmation page
  saved as PDF) are files the reader has;
- `TRACKER_TODAY` is fixed, `[report] recipients` is set for `report --email`;
- `tracker watch` runs for a few seconds and is stopped with SIGTERM, as `systemctl stop` would;
  `tracker serve` runs on a free port until its sign-in page answers, then is stopped the same way;
- a password that `tracker user add` or `user passwd` asks for is typed (piped) in.
Not run here: `pip install` (CI runs exactly those) and the test command itself.
"""

from __future__ import annotations

import email
import mailbox
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path

import imapclient
import pytest
from conftest import border_received
from dovecot import PASSWORD, DovecotServer, dovecot_available
from oauth_server import FakeOAuthServer
from smtp_server import SmtpTestServer

from tracker.letters.pdf import render_pdf

ROOT = Path(__file__).resolve().parent.parent
USER = "inquiries@hrgroup.example"
TODAY = "2026-12-01"
DOCS_CLIENT_ID = "3f0c6a52-8b1e-4d2a-9c77-5e8f2b1d0a94"  # docs/mail-providers.md's example
RUN = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Block:
    file: str
    number: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.file}#{self.number}"


def _blocks() -> list[Block]:
    found = []
    for name in RUN:
        text = (ROOT / name).read_text(encoding="utf-8")
        for number, body in enumerate(re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M), 1):
            found.append(Block(name, number, body))
    return found


BLOCKS = _blocks()


def _runnable(text: str) -> str:
    """The block as this session runs it (see the module docstring for every change)."""
    text = re.sub(r"\b(smtp|imap)\.hrgroup\.example\b", "127.0.0.1", text)
    text = re.sub(r"^pip install [^&\n]*(&& )?", "", text, flags=re.M)
    text = re.sub(r"^tracker user (add|passwd) ([^#\n]*)(#.*)?$",
                  rf"printf '%s\\n' {DOCS_PASSWORD} | tracker user \1 \2", text, flags=re.M)
    text = re.sub(r"^tracker serve\b([^#\n]*)(#.*)?$", _serve_and_check, text, flags=re.M)
    return re.sub(r"^tracker watch\b([^#\n]*)(#.*)?$",
                  r"timeout -s TERM 4 tracker watch\1 || test $? = 124", text, flags=re.M)


DOCS_PASSWORD = "documented-passphrase"


def _serve_and_check(found: re.Match[str]) -> str:
    """`tracker serve ...` on a free port: wait for its sign-in page, then stop it (SIGTERM)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/login"
    return (f"{{ tracker serve{found.group(1).rstrip()} --port {port} & server=$!; "
            f"for _ in $(seq 100); do python -c 'import urllib.request,sys; "
            f"urllib.request.urlopen(sys.argv[1])' {url} 2>/dev/null && break; sleep 0.1; done; "
            f"python -c 'import urllib.request,sys; urllib.request.urlopen(sys.argv[1])' {url}; "
            f"kill -TERM $server; wait $server || test $? = 143; }}")  # 143: ended by SIGTERM


def _mail(sender: str, subject: str, day: int, message_id: str, body: str,
          auth: str = "pass") -> bytes:
    domain = sender.rpartition("@")[2]
    date = f"{day:02d} Nov 2026 10:00:00 +0100"
    return (f"Authentication-Results: mx.hrgroup.example; dkim={auth} header.d={domain}; "
            f"dmarc={auth} header.from={domain}\r\nReceived: {border_received(domain, date)}\r\n"
            f"From: {sender}\r\nTo: {USER}\r\nSubject: {subject}\r\nDate: Mon, {date}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


INBOX = [
    _mail("legal@zoom.us", "Re: [HC-2026-0001] Suspension of the account", 29,
          "<answer-1@zoom.us>", "We have reviewed the suspension of your account."),
    _mail("trust@zoom-us.support", "[HC-2026-0001] Restore your account", 29,
          "<phish@zoom-us.support>", "Log in at http://zoom-us.support/restore today."),
]
TAKEOUT = [
    _mail("agent@zoom.zendesk.com", "Re: [HC-2026-0001] your letter", 27, "<zd-7@zendesk.com>",
          "Our legal team will answer your letter."),
]


class Session:
    """One reader's shell: each block runs in bash; cwd and exports carry over."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.state = home / ".session"
        self.state.write_text(f"cd {shlex.quote(str(home))}\n")

    def run(self, text: str) -> subprocess.CompletedProcess[str]:
        script = (f"set -euo pipefail\n. {shlex.quote(str(self.state))}\n{text}\n"
                  f"{{ echo \"cd $(printf %q \"$PWD\")\"; export -p; }} > "
                  f"{shlex.quote(str(self.state))}\n")
        return subprocess.run(["bash", "-c", script], env=self.env, capture_output=True,
                              text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    if not dovecot_available():
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed")
        pytest.skip("dovecot is not installed")
    home = tmp_path_factory.mktemp("home")
    bin_dir = home / ".bin"
    bin_dir.mkdir()
    (bin_dir / "pass").write_text(f"#!/bin/sh\nprintf '%s\\n' {PASSWORD}\n")
    (bin_dir / "pass").chmod(0o755)
    (home / "Takeout").mkdir()
    box = mailbox.mbox(home / "Takeout" / "mail.mbox")
    for raw in TAKEOUT:
        box.add(raw)
    box.close()
    (home / "reply.eml").write_bytes(INBOX[0])
    # A web form's confirmation page, saved with the browser's Print > Save as PDF.
    (home / "confirmation.pdf").write_bytes(render_pdf(
        "<!doctype html><title>Request received</title><p>Thank you. Your request was received."
        " Reference: 4411</p>"))
    with FakeOAuthServer(user=USER, client_id=DOCS_CLIENT_ID,
                         device_script=["authorization_pending"]) as oauth, \
            SmtpTestServer(auth=(USER, PASSWORD), xoauth2=oauth.is_valid) as smtp, \
            DovecotServer(tmp_dir="/tmp", oauth2_introspection_url=oauth.introspection_url
                          ) as imap:
        users = imap.root / "users"
        users.write_text(users.read_text() + f"{USER}:{{PLAIN}}{PASSWORD}\n")
        with imapclient.IMAPClient(imap.host, imap.port, ssl=False) as client:
            client.login(USER, PASSWORD)
            client.create_folder("Sent Items")
            for raw in INBOX:
                when = email.message_from_bytes(raw, policy=policy.default)["Date"].datetime
                client.append("INBOX", raw, msg_time=when)
        env = {
            "HOME": str(home), "PATH": f"{bin_dir}:{Path(sys.executable).parent}:"
                                       f"{os.environ['PATH']}",
            "LANG": "C.UTF-8", "COLUMNS": "140", "TRACKER_TODAY": TODAY,
            "TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(smtp.port),
            "TRACKER_SMTP_TLS": "none", "HC_SMTP_PASSWORD": PASSWORD,
            "TRACKER_IMAP_HOST": "127.0.0.1", "TRACKER_IMAP_PORT": str(imap.port),
            "TRACKER_IMAP_TLS": "none",
            "TRACKER_AUTH_AUTHORITY": f"{oauth.url}/organizations",
            "TRACKER_AUTH_CA_FILE": oauth.ca_file,
            "TRACKER_REPORT_RECIPIENTS": "board@hrgroup.example",
        }
        yield Session(home, env)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_every_documented_command_runs(session: Session, block: Block) -> None:
    if block.file == "README.md" and "python -m pytest" in block.text:
        return  # the test command itself (test_docs.py checks it is what CI runs)
    done = session.run(_runnable(block.text))
    assert done.returncode == 0, (f"{block.id} failed ({done.returncode}):\n{block.text}\n"
                                  f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n"
                                  f"{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr


def test_the_docs_have_command_blocks() -> None:
    assert len(BLOCKS) >= 15
    assert {b.file for b in BLOCKS} >= {"README.md", "docs/evidence.md", "docs/report.md"}
