"""`tracker setup mail`: answers turned into settings (a table per provider), the questions'
flags, and the test of both connections against a real Dovecot and aiosmtpd; and the CLI's
browser sign-in on a fixed port, as over an SSH port forward."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import Cli
from dovecot import PASSWORD, DovecotServer, dovecot_fixture  # noqa: F401
from oauth_server import FakeOAuthServer, free_loopback_port
from smtp_server import SmtpTestServer
from test_oauth_signin import act_as_the_browser, auth_env

from tracker.core.errors import InputError
from tracker.services.mail_setup import MailAnswers, planned_settings


# Signing in touches the database only to record who did it: SQLite is enough here (the
# stores are tested on both elsewhere), and these tests wait on real servers.
@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.mark.parametrize(("provider", "extra", "expected"), [
    ("microsoft365", {"client_id": "cid"}, {
        "imap.host": "outlook.office365.com", "imap.port": "993", "imap.tls": "ssl",
        "smtp.host": "smtp.office365.com", "smtp.port": "587", "smtp.tls": "starttls",
        "imap.provider": "microsoft365", "imap.sent_folder": "Sent Items",
        "auth.provider": "microsoft", "auth.client_id": "cid", "imap.password_env": "",
        "smtp.username": "a@org.example"}),
    ("google", {"client_id": "cid", "client_secret_env": "G_SECRET"}, {
        "imap.host": "imap.gmail.com", "smtp.host": "smtp.gmail.com", "smtp.port": "465",
        "imap.provider": "gmail", "imap.sent_folder": "[Gmail]/Sent Mail",
        "auth.provider": "google", "auth.client_secret_env": "G_SECRET"}),
    ("fastmail", {"password_env": "FM_PW"}, {
        "imap.host": "imap.fastmail.com", "imap.provider": "fastmail", "auth.provider": "",
        "imap.password_env": "FM_PW", "smtp.password_env": "FM_PW"}),
    ("proton-bridge", {"password_command": "pass show bridge"}, {
        "imap.host": "127.0.0.1", "imap.port": "1143", "imap.tls": "none",
        "smtp.port": "1025", "imap.password_command": "pass show bridge"}),
    ("other", {"imap_host": "mail.org.example", "smtp_host": "mail.org.example",
               "password_env": "PW", "trusted_authserv_ids": ("mx.org.example",),
               "folders": ("INBOX", "Platforms")}, {
        "imap.host": "mail.org.example", "imap.provider": "generic",
        "imap.trusted_authserv_ids": "mx.org.example", "imap.folders": "INBOX,Platforms"}),
])
def test_each_provider_gets_its_servers_and_login(provider: str, extra: dict[str, object],
                                                 expected: dict[str, str]) -> None:
    planned = planned_settings(MailAnswers(provider=provider, address="a@org.example",
                                           **extra))  # type: ignore[arg-type]
    assert {key: planned.get(key) for key in expected} == expected


@pytest.mark.parametrize(("answers", "problem"), [
    ({"provider": "microsoft365"}, "--client-id"),
    ({"provider": "fastmail"}, "--password-env VAR"),
    ({"provider": "fastmail", "password_env": "A", "password_command": "b"}, "one of them"),
    ({"provider": "other", "password_env": "A"}, "--imap-host"),
    ({"provider": "gmial"}, "did you mean: gmail|known:"),
    ({"provider": "google", "client_id": "c", "address": "not an address"}, "not usable"),
])
def test_a_missing_or_wrong_answer_says_which(answers: dict[str, str], problem: str) -> None:
    values = {"address": "a@org.example", **answers}
    with pytest.raises(InputError, match=problem):
        planned_settings(MailAnswers(**values))  # type: ignore[arg-type]


def _toml(cli: Cli) -> dict[str, object]:
    return tomllib.loads((cli.workspace / "tracker.toml").read_text())


def test_setup_mail_with_a_password_tests_both_connections(
        cli: Cli, dovecot: DovecotServer) -> None:
    cli.env.update({"TRACKER_IMAP_PORT": str(dovecot.port), "TRACKER_IMAP_TLS": "none",
                    "TRACKER_SMTP_TLS": "none", "MAIL_PW": PASSWORD})
    with SmtpTestServer(auth=("staff", PASSWORD)) as smtp:
        cli.env["TRACKER_SMTP_PORT"] = str(smtp.port)
        args = ["setup", "mail", "--provider", "other", "--address", "staff@hrgroup.example",
                "--imap-host", "127.0.0.1", "--smtp-host", "127.0.0.1",
                "--password-env", "MAIL_PW"]
        result = cli.run(*args, ok=False)
        # The login name is the address; this Dovecot and SMTP server know "staff" only.
        assert result.exit_code == 5
        assert "IMAP: does NOT work: IMAP login refused for staff@hrgroup.example" in \
            result.stdout
        assert "SMTP: does NOT work: SMTP login refused" in result.stdout
        assert "tracker setup mail --check" in result.stderr
        settings = _toml(cli)
        assert settings["imap"]["password_env"] == "MAIL_PW"  # type: ignore[index]
        cli.run("config", "set", "imap.username", "staff")
        cli.run("config", "set", "smtp.username", "staff")
        checked = cli.run("setup", "mail", "--check")
        assert re.search(r"^IMAP: works: 127\.0\.0\.1:\d+ as staff: logged in; will read INBOX",
                         checked.stdout, re.M)
        assert re.search(r"^SMTP: works: .*signed in; nothing was sent", checked.stdout, re.M)
        assert smtp.messages == []
    assert PASSWORD not in result.output + checked.output


def test_setup_mail_without_a_terminal_names_the_missing_flag(cli: Cli) -> None:
    result = cli.run("setup", "mail", "--provider", "fastmail", ok=False)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "--address is needed" in lines[0]


def test_moving_from_a_password_to_the_sign_in_clears_the_password(cli: Cli) -> None:
    cli.run("setup", "mail", "--provider", "fastmail", "--address", "a@hrgroup.example",
            "--password-env", "FM_PW", "--no-test")
    assert _toml(cli)["imap"]["password_env"] == "FM_PW"  # type: ignore[index]
    cli.run("setup", "mail", "--provider", "microsoft365", "--address", "a@hrgroup.example",
            "--client-id", "cid", "--no-sign-in", "--no-test")
    settings = _toml(cli)
    assert "password_env" not in settings["imap"]  # type: ignore[operator]
    assert "password_env" not in settings["smtp"]  # type: ignore[operator]
    assert settings["auth"] == {"provider": "microsoft", "client_id": "cid"}
    assert "# tracker workspace settings" in (cli.workspace / "tracker.toml").read_text()


def test_browser_sign_in_from_the_command_line_on_a_fixed_port(cli: Cli) -> None:
    with FakeOAuthServer() as oauth:
        port = free_loopback_port()
        env = {**os.environ, **{k: v for k, v in {**cli.env, **auth_env(oauth)}.items()
                                if v is not None}, "TRACKER_WORKSPACE": str(cli.workspace)}
        env.pop("DISPLAY", None)
        with subprocess.Popen(
                [sys.executable, "-m", "tracker", "auth", "login", "--flow", "browser",
                 "--port", str(port), "--no-browser"], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            url = lines[1].strip()
            assert url.startswith(oauth.url) and f"ssh -L {port}:localhost:{port}" in lines[2]
            assert f"localhost%3A{port}" in url, "the redirect comes back to the fixed port"
            assert act_as_the_browser(url, oauth) == 200
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "signed in to Microsoft as staff" in out
