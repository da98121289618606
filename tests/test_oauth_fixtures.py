"""The OAuth test fakes (tests/oauth_server.py, and the XOAUTH2 options of tests/dovecot.py and
tests/smtp_server.py) work with the real libraries: MSAL, google-auth-oauthlib, google-auth,
imapclient and smtplib, all on loopback."""

from __future__ import annotations

import base64
import json
import re
import smtplib
import ssl
import time
import warnings
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import httpx
import imapclient
import msal
import pytest
import requests
from dovecot import USER, DovecotServer, _require_dovecot
from google_auth_oauthlib.flow import Flow
from imapclient.exceptions import LoginError
from oauth_server import (
    DEVICE_CODE_GRANT,
    FakeOAuthServer,
    free_loopback_port,
    oauth_server_fixture,  # noqa: F401
)
from smtp_server import XOAUTH2_ERROR, SmtpTestServer

MS_SCOPES = ["https://outlook.office.com/IMAP.AccessAsUser.All",
             "https://outlook.office.com/SMTP.Send"]
GOOGLE_SCOPES = ["https://mail.google.com/"]


def msal_app(server: FakeOAuthServer, tenant: str = "organizations",
             client_id: str | None = None) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        client_id or server.client_id, authority=f"{server.url}/{tenant}",
        validate_authority=False, instance_discovery=False,
        http_client=server.http_session(), token_cache=msal.SerializableTokenCache())


def google_flow(server: FakeOAuthServer, redirect_uri: str) -> Flow:
    flow = Flow.from_client_config(
        {"installed": {"client_id": server.client_id, "client_secret": server.client_secret,
                       "auth_uri": f"{server.url}/google/auth",
                       "token_uri": f"{server.url}/google/token",
                       "redirect_uris": ["http://127.0.0.1"]}},
        GOOGLE_SCOPES, redirect_uri=redirect_uri)
    server.trust(flow.oauth2session)
    return flow


def trusting(server: FakeOAuthServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_file)


def follow_authorize(server: FakeOAuthServer, auth_uri: str, redirect_uri: str) -> dict[str, str]:
    """What the browser brings back to *redirect_uri* (the user signs in and consents)."""
    response = httpx.get(auth_uri, verify=trusting(server), follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri)
    return dict(parse_qsl(urlsplit(location).query))


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


# -- Microsoft (MSAL) ----------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Attempted too soon")
def test_msal_device_flow_pending_slow_down_then_tokens_then_silent_refresh_rotates() -> None:
    with FakeOAuthServer(access_lifetime=1) as server:
        app = msal_app(server)
        flow = app.initiate_device_flow(MS_SCOPES)
        assert flow["interval"] == 1 and server.url in flow["message"]
        assert flow["user_code"] in flow["message"]
        # MSAL's own loop, one poll per call (exit_condition): slow_down would otherwise make
        # MSAL sleep 1 + 5 s, as RFC 8628 asks.
        answers = []
        for _ in range(3):
            result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
            answers.append(result.get("error") or "tokens")
        assert answers == ["authorization_pending", "slow_down", "tokens"]
        assert flow["interval"] == 6  # MSAL understood slow_down
        assert server.grants == [DEVICE_CODE_GRANT] * 3
        assert server.is_valid(result["access_token"])
        assert set(MS_SCOPES) <= set(result["scope"].split())
        assert "offline_access" in result["scope"].split()
        first_refresh = result["refresh_token"]
        assert result["id_token_claims"]["aud"] == server.client_id

        [account] = app.get_accounts()
        assert account["username"] == server.user
        assert account["home_account_id"] == f"{server.object_id}.{server.tenant_id}"
        # expires_in 1 s: MSAL counts anything under 5 minutes as expired and refreshes.
        silent = app.acquire_token_silent(MS_SCOPES, account)
        assert silent is not None and "access_token" in silent, silent
        assert server.grants[-1] == "refresh_token"
        assert silent["access_token"] != result["access_token"]
        assert silent["refresh_token"] != first_refresh  # rotated...
        assert server.refresh_tokens == [silent["refresh_token"]]  # ...the old one is dead
        cached = json.loads(app.token_cache.serialize())
        assert [rt["secret"] for rt in cached["RefreshToken"].values()] == [
            silent["refresh_token"]]
        with server.http_session() as session:
            old = session.post(f"{server.url}/organizations/oauth2/v2.0/token", data={
                "client_id": server.client_id, "grant_type": "refresh_token",
                "refresh_token": first_refresh})
        assert old.status_code == 400 and old.json()["error"] == "invalid_grant"


def test_msal_blocking_device_flow_with_a_pending_answer_takes_one_interval() -> None:
    with FakeOAuthServer(device_script=["authorization_pending"]) as server:
        app = msal_app(server)
        flow = app.initiate_device_flow(MS_SCOPES)
        started = time.monotonic()
        result = app.acquire_token_by_device_flow(flow)
        assert time.monotonic() - started < 3
        assert "access_token" in result, result
        assert server.grants == [DEVICE_CODE_GRANT] * 2
        # A fresh token (expires_in 3600) comes from the cache, no request.
        [account] = app.get_accounts()
        again = app.acquire_token_silent(MS_SCOPES, account)
        assert again is not None and again["access_token"] == result["access_token"]
        assert len(server.grants) == 2


def test_msal_auth_code_flow_with_pkce_and_nonce() -> None:
    with FakeOAuthServer() as server:
        app = msal_app(server, tenant="common")
        redirect_uri = f"http://localhost:{free_loopback_port()}"
        with warnings.catch_warnings():  # MSAL recommends form_post; query works as well
            warnings.simplefilter("ignore", UserWarning)
            flow = app.initiate_auth_code_flow(MS_SCOPES, redirect_uri=redirect_uri)
        reply = follow_authorize(server, flow["auth_uri"], redirect_uri)
        assert reply["state"] == flow["state"] and "code" in reply
        result = app.acquire_token_by_auth_code_flow(flow, reply)
        assert "access_token" in result, result
        assert server.grants == ["authorization_code"]
        assert server.is_valid(USER, result["access_token"])
        [account] = app.get_accounts()
        assert account["account_source"] == "authorization_code"
        # The code works once.
        again = app.acquire_token_by_auth_code_flow(flow, reply)
        assert again.get("error") == "invalid_grant"


def test_msal_auth_code_flow_with_form_post() -> None:
    class Form(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.action = ""
            self.fields: dict[str, str] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = {name: value or "" for name, value in attrs}
            if tag == "form":
                self.action = values["action"]
            elif tag == "input" and values.get("type") == "hidden":
                self.fields[values["name"]] = values["value"]

    with FakeOAuthServer() as server:
        app = msal_app(server)
        redirect_uri = f"http://localhost:{free_loopback_port()}/callback"
        flow = app.initiate_auth_code_flow(MS_SCOPES, redirect_uri=redirect_uri,
                                           response_mode="form_post")
        page = httpx.get(flow["auth_uri"], verify=trusting(server), follow_redirects=False)
        assert page.status_code == 200
        form = Form()
        form.feed(page.text)
        assert form.action == redirect_uri
        result = app.acquire_token_by_auth_code_flow(flow, form.fields)
        assert "access_token" in result, result


def test_a_wrong_pkce_verifier_and_a_foreign_client_are_refused() -> None:
    with FakeOAuthServer() as server:
        app = msal_app(server)
        redirect_uri = f"http://localhost:{free_loopback_port()}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            flow = app.initiate_auth_code_flow(MS_SCOPES, redirect_uri=redirect_uri)
        reply = follow_authorize(server, flow["auth_uri"], redirect_uri)
        result = app.acquire_token_by_auth_code_flow(dict(flow, code_verifier="x" * 43), reply)
        assert result.get("error") == "invalid_grant"

        stranger = msal_app(server, client_id="someone-else")
        answer = stranger.initiate_device_flow(MS_SCOPES)
        assert answer.get("error") == "invalid_client"


def test_msal_refresh_after_revoke_is_invalid_grant() -> None:
    with FakeOAuthServer(device_script=[], access_lifetime=200) as server:
        app = msal_app(server)
        result = app.acquire_token_by_device_flow(app.initiate_device_flow(MS_SCOPES))
        assert "access_token" in result, result
        [account] = app.get_accounts()
        server.revoke()
        failed = app.acquire_token_silent_with_error(MS_SCOPES, account)
        assert failed is not None and failed["error"] == "invalid_grant"
        assert server.grants[-1] == "refresh_token"
        assert server.is_valid(result["access_token"])  # revoke() leaves access tokens be


# -- Google (google-auth-oauthlib, google-auth) -----------------------------------------------

def test_google_installed_app_flow_then_refresh_rotates() -> None:
    with FakeOAuthServer() as server:
        redirect_uri = f"http://127.0.0.1:{free_loopback_port()}/"
        flow = google_flow(server, redirect_uri)
        auth_url, state = flow.authorization_url(access_type="offline", prompt="consent")
        reply = follow_authorize(server, auth_url, redirect_uri)
        assert reply["state"] == state
        token = flow.fetch_token(code=reply["code"])
        assert server.grants == ["authorization_code"]
        assert token["scope"] == GOOGLE_SCOPES
        credentials = flow.credentials
        assert server.is_valid(credentials.token)
        assert credentials.refresh_token

        first_access, first_refresh = credentials.token, credentials.refresh_token
        with server.http_session() as session:
            credentials.refresh(google.auth.transport.requests.Request(session))
            assert server.grants == ["authorization_code", "refresh_token"]
            assert credentials.token != first_access and server.is_valid(credentials.token)
            assert credentials.refresh_token != first_refresh
            assert credentials.valid

            # A stored refresh token is what tracker keeps: build the credentials from it.
            stored = google.oauth2.credentials.Credentials(
                None, refresh_token=credentials.refresh_token,
                token_uri=f"{server.url}/google/token", client_id=server.client_id,
                client_secret=server.client_secret, scopes=GOOGLE_SCOPES)
            stored.refresh(google.auth.transport.requests.Request(session))
            assert server.is_valid(stored.token)

            # The old refresh tokens are dead, and after revoke() the new one too.
            old = google.oauth2.credentials.Credentials(
                None, refresh_token=first_refresh, token_uri=f"{server.url}/google/token",
                client_id=server.client_id, client_secret=server.client_secret)
            with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
                old.refresh(google.auth.transport.requests.Request(session))
            server.revoke()
            with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
                stored.refresh(google.auth.transport.requests.Request(session))


def test_google_token_endpoint_answers_like_google() -> None:
    with FakeOAuthServer() as server, server.http_session() as session:
        url = f"{server.url}/google/token"
        revoked = session.post(url, data={
            "grant_type": "refresh_token", "refresh_token": "nope",
            "client_id": server.client_id, "client_secret": server.client_secret})
        assert revoked.status_code == 400
        assert revoked.json()["error"] == "invalid_grant"
        stranger = session.post(url, data={"grant_type": "refresh_token", "refresh_token": "x",
                                           "client_id": "other", "client_secret": "s"})
        assert stranger.status_code == 401 and stranger.json()["error"] == "invalid_client"
        assert server.grants == ["refresh_token", "refresh_token"]


def test_consent_refused_redirects_with_the_error() -> None:
    with FakeOAuthServer() as server:
        server.authorize_error = "access_denied"
        redirect_uri = f"http://127.0.0.1:{free_loopback_port()}/"
        flow = google_flow(server, redirect_uri)
        auth_url, state = flow.authorization_url()
        reply = follow_authorize(server, auth_url, redirect_uri)
        assert reply == {"error": "access_denied", "state": state}


def test_tokens_can_be_padded_and_expired(oauth_server: FakeOAuthServer) -> None:
    oauth_server.token_length = 4000
    app = msal_app(oauth_server)
    oauth_server.device_script = []
    result = app.acquire_token_by_device_flow(app.initiate_device_flow(MS_SCOPES))
    token = result["access_token"]
    assert len(token) == 4000 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert oauth_server.valid_access_tokens == [token]
    with requests.Session() as plain:
        plain.trust_env = False
        active = plain.post(oauth_server.introspection_url, data={"token": token}).json()
        assert active == {**active, "active": True, "username": USER}
        oauth_server.expire_access_tokens()
        assert plain.post(oauth_server.introspection_url,
                          data={"token": token}).json() == {"active": False}
    assert not oauth_server.is_valid(token) and oauth_server.valid_access_tokens == []


# -- the mail servers -----------------------------------------------------------------------------

def issue_token(server: FakeOAuthServer) -> str:
    """An access token from the Google flow (no library: the fake's own endpoints)."""
    redirect_uri = f"http://127.0.0.1:{free_loopback_port()}/"
    flow = google_flow(server, redirect_uri)
    auth_url, _ = flow.authorization_url()
    reply = follow_authorize(server, auth_url, redirect_uri)
    token: dict[str, Any] = flow.fetch_token(code=reply["code"])
    return str(token["access_token"])


def test_dovecot_accepts_a_valid_token_and_refuses_an_expired_one() -> None:
    _require_dovecot()
    with FakeOAuthServer(token_length=6000) as oauth, \
            DovecotServer(oauth2_introspection_url=oauth.introspection_url) as dovecot:
        token = issue_token(oauth)
        client = imapclient.IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5)
        try:
            assert b"AUTH=XOAUTH2" in client.capabilities()
            assert b"AUTH=OAUTHBEARER" in client.capabilities()
            client.oauth2_login(USER, token)
            assert client.select_folder("INBOX")[b"EXISTS"] == 0
        finally:
            client.logout()
        client = imapclient.IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5)
        try:
            client.oauthbearer_login(USER, token)
        finally:
            client.logout()
        with dovecot.client() as helper:  # the password still works
            assert helper.folder_exists("INBOX")
        assert oauth.introspected == [token, token]

        oauth.expire_access_tokens()  # failures last: the next login would wait ~4 s
        client = imapclient.IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5)
        try:
            with pytest.raises(LoginError, match="AUTHENTICATIONFAILED"):
                client.oauth2_login(USER, token)
        finally:
            client.shutdown()


def test_smtp_xoauth2_accepts_a_valid_token_and_answers_a_bad_one_like_gmail() -> None:
    with FakeOAuthServer(token_length=6000) as oauth, \
            SmtpTestServer(xoauth2=oauth.is_valid) as smtp:
        token = issue_token(oauth)
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.ehlo("org.example")
            assert client.esmtp_features["auth"].split() == ["XOAUTH2"]
            code, _ = client.auth("XOAUTH2", lambda challenge=None: xoauth2(USER, token))
            assert code == 235
            client.sendmail("inquiries@org.example", ["legal@platform.example"],
                            b"Subject: hi\r\n\r\nhello\r\n")
        [message] = smtp.messages
        assert message.login == USER

        challenges: list[bytes | None] = []

        def answer(challenge: bytes | None = None) -> str:
            challenges.append(challenge)
            return xoauth2(USER, "not-a-token") if challenge is None else ""

        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.ehlo("org.example")
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.auth("XOAUTH2", answer)
            assert refused.value.smtp_code == 535
            assert refused.value.smtp_error == b"5.7.8 Username and Password not accepted"
            assert challenges[0] is None
            assert challenges[1] is not None and json.loads(challenges[1]) == XOAUTH2_ERROR
            code, reply = client.mail("inquiries@org.example")
            assert code == 530  # still not logged in

        # Without the initial response, and a name that is not the token's user.
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.ehlo("org.example")
            code, reply = client.docmd("AUTH", "XOAUTH2")
            assert (code, reply) == (334, b"")
            blob = base64.b64encode(xoauth2("someone@else.example", token).encode()).decode()
            code, reply = client.docmd(blob)
            assert code == 334 and json.loads(base64.b64decode(reply)) == XOAUTH2_ERROR
            assert client.docmd("")[0] == 535
        assert [user for user, _ in smtp.xoauth2_attempts] == [
            USER, USER, "someone@else.example"]


def test_smtp_password_and_xoauth2_together_after_starttls() -> None:
    context = ssl.create_default_context
    with FakeOAuthServer() as oauth, \
            SmtpTestServer(tls="starttls", auth=("staff", "secret"),
                           xoauth2=oauth.is_valid) as smtp:
        token = issue_token(oauth)
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.ehlo("org.example")
            assert "auth" not in client.esmtp_features  # not before STARTTLS
            client.starttls(context=context(cafile=smtp.ca_file))
            client.ehlo("org.example")
            assert set(client.esmtp_features["auth"].split()) == {"LOGIN", "PLAIN", "XOAUTH2"}
            assert client.auth("XOAUTH2", lambda challenge=None: xoauth2(USER, token))[0] == 235
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.starttls(context=context(cafile=smtp.ca_file))
            assert client.login("staff", "secret")[0] == 235
