"""What the provider sign-in (OAuth2) costs a command that reads the mailbox or sends a letter.

Everything on loopback: tests/oauth_server.py's fake Microsoft over TLS, a Dovecot whose
oauth2 passdb asks that server about every token (introspection), aiosmtpd taking XOAUTH2.
Measured, each as the median of ``--repeat`` runs:

- the token a command uses while the kept one is valid (read the sign-in file, no network);
- the same right after the provider refused it (``fresh``: MSAL refreshes over HTTPS; the
  first call also reads the authority's metadata);
- an IMAP login, password (PLAIN) against XOAUTH2 (Dovecot then asks the provider);
- an SMTP login (connect, EHLO, AUTH, QUIT), password against XOAUTH2.

There is no target: the numbers say whether the sign-in is noticeable next to what a command
does anyway (a `tracker sync` with nothing new takes about 0.9 s, most of it start-up).

    python benchmarks/signin_bench.py --repeat 21 --write
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import imapclient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test servers

from dovecot import PASSWORD, USER, DovecotServer  # noqa: E402
from oauth_server import FakeOAuthServer  # noqa: E402
from results import write_block  # noqa: E402
from smtp_server import SmtpTestServer  # noqa: E402

from tracker.config.loading import parse_settings  # noqa: E402
from tracker.net.logins import Login  # noqa: E402
from tracker.net.oauth import MailSignIn  # noqa: E402
from tracker.net.smtp import check_login  # noqa: E402

RESULTS = HERE / "RESULTS.md"
START, END = "<!-- signin_bench:start -->", "<!-- signin_bench:end -->"


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def run(repeat: int) -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as folder, \
            FakeOAuthServer(device_script=["authorization_pending"]) as oauth, \
            DovecotServer(oauth2_introspection_url=oauth.introspection_url) as imap, \
            SmtpTestServer(auth=(USER, PASSWORD), xoauth2=oauth.is_valid) as smtp:
        workspace = Path(folder)
        settings = parse_settings(
            f'[auth]\nprovider = "microsoft"\nclient_id = "{oauth.client_id}"\n'
            f'authority = "{oauth.url}/organizations"\nca_file = "{oauth.ca_file}"\n'
            f'token_store = "file"\n', workspace, env={})
        sign_in = MailSignIn(settings)
        prompt = sign_in.start_device()
        sign_in.finish_device(prompt)
        rows.append(("token while the kept one is valid (file, no network)",
                     median_ms(sign_in.access_token, repeat), "every command"))
        first = time.perf_counter()
        MailSignIn(settings).access_token(fresh=True)
        rows.append(("first refresh of a command (authority metadata + token, HTTPS)",
                     (time.perf_counter() - first) * 1000, "once, when due"))
        rows.append(("refresh after a refusal (token endpoint, HTTPS)",
                     median_ms(lambda: sign_in.access_token(fresh=True), repeat),
                     "when due or refused"))

        def imap_login(xoauth2: bool) -> None:
            with imapclient.IMAPClient(imap.host, imap.port, ssl=False) as client:
                if xoauth2:
                    client.oauth2_login(USER, sign_in.access_token())
                else:
                    client.login(USER, PASSWORD)

        oauth.user = USER
        rows.append(("IMAP connect + login, password (PLAIN)",
                     median_ms(lambda: imap_login(False), repeat), "per connection"))
        rows.append(("IMAP connect + login, XOAUTH2 (Dovecot asks the provider)",
                     median_ms(lambda: imap_login(True), repeat), "per connection"))
        smtp_settings = smtp.settings(username=USER)
        password = Login.fixed("password", PASSWORD)
        token = Login("oauth2", "bench", lambda _fresh: sign_in.access_token())
        rows.append(("SMTP connect + login + QUIT, password",
                     median_ms(lambda: check_login(smtp_settings, USER, password), repeat),
                     "per letter"))
        rows.append(("SMTP connect + login + QUIT, XOAUTH2",
                     median_ms(lambda: check_login(smtp_settings, USER, token), repeat),
                     "per letter"))
    return rows


def table(rows: list[tuple[str, float, str]], repeat: int) -> str:
    lines = [
        "### Provider sign-in (OAuth2): what it adds to a command",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d}; everything on loopback (fake Microsoft over TLS, "
        "Dovecot's oauth2 passdb, aiosmtpd).",
        "",
        "```",
        f"python benchmarks/signin_bench.py --repeat {repeat} --write",
        "```",
        "",
        "| step | median | when |",
        "| --- | ---: | --- |",
        *(f"| {name} | {value:.1f} ms | {when} |" for name, value, when in rows),
        "",
        f"Python {platform.python_version()}, {platform.machine()}; median of {repeat} "
        "(the first refresh: one run).",
        "",
    ]
    return "\n".join(lines)


def write_results(text: str) -> None:
    write_block(START, END, text, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()
    text = table(run(args.repeat), args.repeat)
    print(text)
    if args.write:
        write_results(text)
        print(f"written to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
