"""Signing the mailbox in with its provider (OAuth2), end to end on loopback: MSAL and
google-auth against tests/oauth_server.py's fake Microsoft and Google, Dovecot checking the
XOAUTH2 tokens against its introspection endpoint, aiosmtpd taking XOAUTH2.
"""

from __future__ import annotations

import html.parser
import json
import logging
import os
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Cli
from dovecot import DovecotServer
from oauth_server import FakeOAuthServer
from smtp_server import SmtpTestServer
from test_cli import new_request
from test_sync import DAY, mail, put, row, sent_request, stored_count
from test_watch import wait_for

from tracker.config.loading import load_settings
from tracker.core.errors import ConfigError
from tracker.jobs.watch import WatchState, watch
from tracker.net.token_store import FILE_NAME, FileStore
from tracker.services.mail_auth import sign_in_status, start_sign_in
from tracker.services.workspace import Workspace


# Signing in touches the database only to record who did it: SQLite is enough here (the
# stores are tested on both elsewhere), and these tests wait on real servers.
@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"

IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"


@pytest.fixture
def oauth() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer(device_script=["authorization_pending"]) as server:
        yield server


@pytest.fixture
def mailbox(oauth: FakeOAuthServer) -> Iterator[DovecotServer]:
    with DovecotServer(oauth2_introspection_url=oauth.introspection_url) as server:
        yield server


def auth_env(oauth: FakeOAuthServer, provider: str = "microsoft") -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "TRACKER_AUTH_PROVIDER": provider, "TRACKER_AUTH_CLIENT_ID": oauth.client_id,
        "TRACKER_AUTH_CA_FILE": oauth.ca_file, "TRACKER_AUTH_TOKEN_STORE": "file"}
    if provider == "microsoft":
        env["TRACKER_AUTH_AUTHORITY"] = f"{oauth.url}/organizations"
    else:
        env["TRACKER_AUTH_AUTHORIZATION_ENDPOINT"] = f"{oauth.url}/google/auth"
        env["TRACKER_AUTH_TOKEN_ENDPOINT"] = f"{oauth.url}/google/token"
        env["TRACKER_AUTH_CLIENT_SECRET_COMMAND"] = f"printf {oauth.client_secret}"
    return env


def imap_oauth_env(server: DovecotServer) -> dict[str, str | None]:
    """[imap] for the Dovecot, with no password: the sign-in logs in."""
    return {"TRACKER_IMAP_HOST": server.host, "TRACKER_IMAP_PORT": str(server.port),
            "TRACKER_IMAP_USERNAME": "staff", "TRACKER_IMAP_TLS": "none",
            "TRACKER_IMAP_PASSWORD_COMMAND": "",
            "TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example", **DAY}


def smtp_oauth_env(server: SmtpTestServer) -> dict[str, str | None]:
    return {"TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(server.port),
            "TRACKER_SMTP_TLS": "none", "TRACKER_SMTP_USERNAME": "staff"}


def signed_in(cli: Cli, oauth: FakeOAuthServer, mailbox: DovecotServer | None = None) -> None:
    cli.env.update(auth_env(oauth))
    if mailbox is not None:
        cli.env.update(imap_oauth_env(mailbox))
    result = cli.run("auth", "login")
    assert "enter the code" in result.stdout and "signed in to Microsoft as staff" in result.stdout


def workspace_bytes(cli: Cli) -> bytes:
    """Everything tracker wrote in the workspace except the sign-in's own file."""
    return b"".join(p.read_bytes() for p in sorted(cli.workspace.rglob("*"))
                    if p.is_file() and p.name != FILE_NAME)


# -- signing in -------------------------------------------------------------------------------


def test_device_sign_in_reads_the_mailbox_and_sends_with_xoauth2(
        cli: Cli, oauth: FakeOAuthServer, mailbox: DovecotServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # MSAL, requests and tracker say all they would
    ref, letter_id = sent_request(cli)
    signed_in(cli, oauth, mailbox)
    token_file = cli.workspace / FILE_NAME
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    status = cli.json("auth", "status")
    assert status["account"] == "staff" and status["signed_in"] is True
    assert IMAP_SCOPE in status["scopes"] and status["kept_in"].endswith(FILE_NAME)
    put(mailbox, mail("Re: your letter", in_reply_to=letter_id, day=16))
    cli.run("sync")
    assert row(cli, ref)["state"] == "answered"
    assert oauth.introspected, "Dovecot checked the token with the provider"
    with SmtpTestServer(xoauth2=oauth.is_valid) as smtp:
        draft = new_request(cli)
        cli.run("send", draft, env=smtp_oauth_env(smtp))
        assert [m.login for m in smtp.messages] == ["staff"]
    secrets = [*oauth.valid_access_tokens, *oauth.refresh_tokens]
    assert secrets and not any(s.encode() in workspace_bytes(cli) for s in secrets), \
        "tokens live only in the sign-in file: not tracker.toml, the database or a log"
    shown = cli.run("auth", "status").stdout + json.dumps(status)
    assert not any(s in shown for s in secrets)
    assert caplog.records and not any(s in caplog.text for s in secrets), "no token in a log"
    events = cli.run("request", "show", ref).stdout  # the sign-in is an admin event, not here
    assert "mailbox_signed_in" not in events


def test_a_token_due_to_expire_is_refreshed_and_the_rotated_refresh_token_kept(
        cli: Cli, oauth: FakeOAuthServer, mailbox: DovecotServer) -> None:
    oauth.access_lifetime = 200  # under the five minutes' margin: every use refreshes
    signed_in(cli, oauth, mailbox)
    first = list(oauth.refresh_tokens)
    cli.run("sync")
    cli.run("sync")
    assert oauth.grants.count("refresh_token") == 2
    kept = (cli.workspace / FILE_NAME).read_text()
    assert oauth.refresh_tokens[0] in kept and first[0] not in kept
    assert oauth.refresh_tokens != first


def test_a_refused_token_is_renewed_once_and_the_login_goes_through(
        cli: Cli, oauth: FakeOAuthServer, mailbox: DovecotServer) -> None:
    signed_in(cli, oauth, mailbox)
    oauth.expire_access_tokens()  # the provider ended them early; the cache still says valid
    cli.run("sync")
    assert oauth.grants[-1] == "refresh_token"
    with SmtpTestServer(xoauth2=oauth.is_valid) as smtp:
        oauth.expire_access_tokens()
        cli.run("send", new_request(cli), env=smtp_oauth_env(smtp))
        assert len(smtp.messages) == 1 and len(smtp.xoauth2_attempts) == 2


def test_a_revoked_sign_in_says_to_sign_in_again(cli: Cli, oauth: FakeOAuthServer,
                                                 mailbox: DovecotServer) -> None:
    signed_in(cli, oauth, mailbox)
    oauth.revoke()
    oauth.expire_access_tokens()
    result = cli.run("sync", ok=False)
    assert result.exit_code == 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid_grant" in lines[0] and "tracker auth login" in lines[0]
    assert "Traceback" not in result.output
    check = cli.run("auth", "status", "--check", ok=False)
    assert check.exit_code == 10 and "tracker auth login" in check.stderr


def test_smtp_refusing_the_token_leaves_the_letter_a_draft(
        cli: Cli, oauth: FakeOAuthServer) -> None:
    signed_in(cli, oauth)
    with SmtpTestServer(xoauth2=lambda user, token: False) as smtp:
        ref = new_request(cli)
        result = cli.run("send", ref, ok=False, env=smtp_oauth_env(smtp))
        assert len(smtp.xoauth2_attempts) == 2, "the token was renewed and tried once more"
        assert smtp.messages == []
    assert result.exit_code == 7
    assert "SMTP sign-in refused for staff" in result.stderr and "535" in result.stderr
    assert "letter was not sent" in result.stderr
    assert cli.json("request", "show", ref)["state"] == "draft"


def test_long_tokens_fit_imap_and_smtp(cli: Cli, oauth: FakeOAuthServer,
                                       mailbox: DovecotServer) -> None:
    oauth.token_length = 5000  # Microsoft's tokens passed 4,096 characters in 2025
    signed_in(cli, oauth, mailbox)
    cli.run("sync")
    with SmtpTestServer(xoauth2=oauth.is_valid) as smtp:
        cli.run("send", new_request(cli), env=smtp_oauth_env(smtp))
        assert len(smtp.messages) == 1


def test_oauth2_token_command_serves_smtp_too(cli: Cli, oauth: FakeOAuthServer) -> None:
    signed_in(cli, oauth)
    token = oauth.valid_access_tokens[0]
    with SmtpTestServer(xoauth2=oauth.is_valid) as smtp:
        env = {**smtp_oauth_env(smtp), "TRACKER_AUTH_PROVIDER": "",
               "TRACKER_SMTP_OAUTH2_TOKEN_COMMAND": f"printf {token}"}
        cli.run("send", new_request(cli), env=env)
        assert smtp.xoauth2_attempts == [("staff", token)]


# -- the browser flows ------------------------------------------------------------------------


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action, self.fields = "", {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        if tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def act_as_the_browser(url: str, oauth: FakeOAuthServer) -> int:
    """What a person's browser does: sign in at the provider, which sends it back."""
    context = ssl.create_default_context(cafile=oauth.ca_file)
    answer = httpx.get(url, verify=context)
    if answer.status_code == 302:  # Google: back to the loopback address
        return httpx.get(answer.headers["location"]).status_code
    form = _Form()  # Entra with response_mode=form_post: a form that posts itself
    form.feed(answer.text)
    return httpx.post(form.action, data=form.fields).status_code


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_browser_sign_in_comes_back_to_the_loopback_address(
        cli: Cli, oauth: FakeOAuthServer, provider: str) -> None:
    cli.env.update(auth_env(oauth, provider))
    ws = Workspace(load_settings(cli.workspace, _env(cli)), env=_env(cli))
    try:
        attempt = start_sign_in(ws, "browser")
        prompt = attempt.wait_prompt(30)
        assert prompt is not None and prompt.flow == "browser"
        wrong = prompt.url.replace("state=", "state=not-")
        assert act_as_the_browser(wrong, oauth) == 400, "another sign-in's answer is refused"
        assert act_as_the_browser(prompt.url, oauth) == 200
        grant = attempt.wait(30)
        assert grant.account == "staff" and grant.provider == provider
        assert sign_in_status(ws, check=True).checked
    finally:
        ws.close()
    assert cli.json("auth", "status")["signed_in"] is True


def test_google_has_no_device_flow(cli: Cli, oauth: FakeOAuthServer) -> None:
    cli.env.update(auth_env(oauth, "google"))
    result = cli.run("auth", "login", "--flow", "device", ok=False)
    assert result.exit_code == 2 and "--flow browser" in result.stderr


def test_logout_forgets_the_sign_in(cli: Cli, oauth: FakeOAuthServer) -> None:
    signed_in(cli, oauth)
    assert "signed out" in cli.run("auth", "logout").stdout
    assert not (cli.workspace / FILE_NAME).exists()
    result = cli.run("auth", "status", ok=False)
    assert result.exit_code == 10 and "nobody is signed in" in result.stdout


# -- the watcher -------------------------------------------------------------------------------


def _env(cli: Cli) -> dict[str, str]:
    return {k: v for k, v in {**os.environ, **cli.env}.items() if v is not None}


def test_watch_refreshes_after_a_dropped_session_and_outlives_a_revoked_sign_in(
        cli: Cli, oauth: FakeOAuthServer, mailbox: DovecotServer) -> None:
    ref, letter_id = sent_request(cli)
    signed_in(cli, oauth, mailbox)
    ws = Workspace(load_settings(cli.workspace, _env(cli)), env=_env(cli))
    stop, state = threading.Event(), WatchState()
    thread = threading.Thread(target=watch, args=(ws, stop),
                              kwargs={"state": state, "sign_in_retry": 0.5, "other_every": 2.0},
                              daemon=True)  # IDLE of 2 s at most: it stops soon when asked
    thread.start()
    try:
        wait_for(lambda: state.idle, 60, "IDLE")
        # The session ends as Exchange ends it when the token expires mid-IDLE; mail lands
        # while the watcher is away.
        oauth.expire_access_tokens()
        mailbox.kick()
        put(mailbox, mail(f"[{ref}] We received your request", sender="support@zoom.us",
                          headers={"Auto-Submitted": "auto-replied"}, day=9))
        wait_for(lambda: row(cli, ref)["state"] == "acknowledged", 60, "the mail read")
        assert "refresh_token" in oauth.grants
        # Consent withdrawn: the watcher says so and keeps trying, and carries on once a
        # person signed in again.
        oauth.revoke()
        oauth.expire_access_tokens()
        mailbox.kick()
        wait_for(lambda: "tracker auth login" in state.last_error, 60, "the sign-in error")
        assert thread.is_alive()
        put(mailbox, mail("Re: your letter", in_reply_to=letter_id, day=16))
        again = start_sign_in(ws, "device")
        again.wait(60)
        wait_for(lambda: row(cli, ref)["state"] == "answered", 60, "the reply after sign-in")
    finally:
        stop.set()
        thread.join(30)
        ws.close()
    assert not thread.is_alive()
    assert stored_count(cli) == 2


# -- where the sign-in is kept ----------------------------------------------------------------


def test_the_sign_in_file_is_refused_when_others_can_read_it(tmp_path: Path) -> None:
    store = FileStore(tmp_path / FILE_NAME)
    store.save({"provider": "microsoft"})
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    assert store.load() == {"provider": "microsoft"}
    os.chmod(tmp_path / FILE_NAME, 0o644)
    with pytest.raises(ConfigError, match=r"can be read by others \(mode 644\).*chmod 600"):
        store.load()
    os.chmod(tmp_path / FILE_NAME, 0o600)
    (tmp_path / FILE_NAME).write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        store.load()
    assert store.delete() and not store.delete()


class _MemoryKeyring:
    """A keyring backend that really keeps secrets (in memory), as a desktop's would."""

    priority = 5

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.kept.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.kept[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        import keyring.errors

        if self.kept.pop((service, user), None) is None:
            raise keyring.errors.PasswordDeleteError("not there")


def test_the_keyring_is_used_when_the_machine_has_one(
        cli: Cli, oauth: FakeOAuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    backend: Any = type("Memory", (_MemoryKeyring, KeyringBackend), {})()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        signed_in(cli, oauth)
        monkeypatch.delenv("TRACKER_AUTH_TOKEN_STORE", raising=False)
        cli.env["TRACKER_AUTH_TOKEN_STORE"] = "auto"
        cli.run("auth", "login")
        assert cli.json("auth", "status")["kept_in"] == "the system keyring"
        kept = "".join(backend.kept.values())
        assert any(token in kept for token in oauth.refresh_tokens)
    finally:
        keyring.set_keyring(previous)


def test_status_without_a_provider_says_how_to_connect(cli: Cli) -> None:
    result = cli.run("auth", "status")
    assert "[auth] provider is not set" in result.stdout


def test_login_with_provider_and_client_id_writes_them_to_the_settings(
        cli: Cli, oauth: FakeOAuthServer) -> None:
    env = auth_env(oauth)
    del env["TRACKER_AUTH_PROVIDER"], env["TRACKER_AUTH_CLIENT_ID"]
    cli.env.update(env)
    result = cli.run("auth", "login", "--provider", "microsoft", "--client-id", oauth.client_id)
    assert "signed in to Microsoft as staff" in result.stdout
    text = (cli.workspace / "tracker.toml").read_text()
    assert "[auth]" in text and f'client_id = "{oauth.client_id}"' in text
    assert 'provider = "microsoft"' in text
