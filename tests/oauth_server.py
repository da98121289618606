"""A fake OAuth 2.0 server for tests: Microsoft's identity platform and Google, on loopback.

    with FakeOAuthServer() as server:
        app = msal.PublicClientApplication(
            server.client_id, authority=f"{server.url}/organizations",
            validate_authority=False, instance_discovery=False,
            http_client=server.http_session(),  # verify=ca_file and trust_env=False
            token_cache=msal.SerializableTokenCache())
        flow = app.initiate_device_flow(["https://outlook.office.com/IMAP.AccessAsUser.All"])
        result = app.acquire_token_by_device_flow(flow)     # pending, slow_down, then tokens
        assert server.is_valid(result["access_token"])

One ThreadingHTTPServer speaks HTTPS on ``server.url`` (``https://127.0.0.1:PORT``) with a
certificate from a throwaway trustme CA (PEM at ``server.ca_file``); a second, plain-HTTP
listener answers token introspection at ``server.introspection_url`` (for Dovecot's oauth2
passdb, ``introspection_mode = post``; a ``Authorization: Bearer`` request works too).

Microsoft, for any tenant segment T (``common``, ``organizations``, a GUID...):
``GET /T/v2.0/.well-known/openid-configuration``, ``GET /T/oauth2/v2.0/authorize``,
``POST /T/oauth2/v2.0/devicecode`` and ``POST /T/oauth2/v2.0/token``. Token responses carry
``client_info`` (so that MSAL creates an account) and an unsigned ``id_token`` (aud = client id,
iss, tid, oid, preferred_username = ``server.user``, the nonce of the authorize request);
a refresh token only when ``offline_access`` was asked (MSAL always asks).
Google: ``GET /google/auth`` and ``POST /google/token`` (client id and secret by HTTP Basic or
in the body; ``server.client_secret`` must match when given).

The authorize endpoints act as if the user signed in and consented: a GET answers ``302`` to
``redirect_uri`` with ``code`` and ``state`` in the query (or ``error=server.authorize_error``
when set); with ``response_mode=form_post`` it answers ``200`` with the self-posting HTML form
Entra sends (hidden ``code`` and ``state`` inputs), with ``fragment`` a ``#`` redirect.
The code remembers nonce, PKCE challenge, redirect_uri and scopes; the token endpoint checks the
verifier (S256 or plain) and the redirect_uri, and a code works once.

Grants at the token endpoints: ``authorization_code``, ``refresh_token`` and (Microsoft)
``urn:ietf:params:oauth:grant-type:device_code``, whose answers follow ``device_script``
(default ``["authorization_pending", "slow_down"]``, each an error answer with HTTP 400, then
success; the script is copied when the device code is issued; interval 1 s). Mind that MSAL adds
5 s to the interval on ``slow_down`` (RFC 8628), so a test letting MSAL's own loop poll through
``slow_down`` waits ~6 s: pass ``device_script=["authorization_pending"]`` or drive the loop
with ``exit_condition=lambda flow: True``. Refresh tokens rotate: each use issues a new one and
kills the old, and an old, revoked or foreign one gets ``400 invalid_grant``. Scopes granted
are the scopes asked (a refresh without scope keeps the original ones). A client id other than
``server.client_id`` gets ``invalid_client``.

Controls: ``access_lifetime`` (seconds, ``expires_in``; MSAL counts a token with less than
300 s left as expired, so 200 makes every ``acquire_token_silent`` refresh while the tokens stay
valid), ``token_length`` (pad access tokens to that many characters), ``device_script``,
``authorize_error``, ``user``; ``revoke()`` (every refresh token dies; access tokens live on),
``expire_access_tokens()`` (every access token issued so far stops being valid for
introspection and ``is_valid``, without changing its advertised expiry). An access token is
also invalid once its ``expires_in`` has passed.

Records: ``grants`` (grant types asked, in order, including refused ones), ``requests``
(method, path and the query/form parameters of every request), ``introspected`` (tokens Dovecot
asked about), ``valid_access_tokens``, ``refresh_tokens`` (the currently valid ones).
``is_valid(token)`` or ``is_valid(user, token)`` (the ``SmtpTestServer(xoauth2=...)``
signature) checks an access token as the mail servers do.

Fixture: ``oauth_server`` (``from oauth_server import oauth_server_fixture  # noqa: F401``).
Import it as ``from oauth_server import FakeOAuthServer`` (``tests/`` has no ``__init__.py``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import socket
import ssl
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import pytest
import requests
import trustme

HOST = "127.0.0.1"
USER = "staff"  # tests/dovecot.py's user
CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_INTERVAL = 1
_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_GENERIC_TENANTS = {"common", "organizations", "consumers"}
_MS_PATH = re.compile(
    r"^/(?P<tenant>[^/]+)/(?:(?P<config>v2\.0/\.well-known/openid-configuration)"
    r"|oauth2/v2\.0/(?P<endpoint>authorize|devicecode|token))$")


class OAuthError(Exception):
    """An OAuth error answer: ``{"error": ..., "error_description": ...}`` with *status*."""

    def __init__(self, error: str, description: str = "", status: int = 400,
                 codes: Iterable[int] = ()) -> None:
        super().__init__(error)
        self.error = error
        self.description = description or error
        self.status = status
        self.codes = list(codes)


@dataclass
class _Grant:
    """What a code or refresh token stands for."""

    provider: str  # "microsoft" or "google"
    client_id: str
    scopes: list[str]
    tenant: str = ""
    redirect_uri: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str = "plain"


@dataclass
class _Device:
    grant: _Grant
    script: list[str] = field(default_factory=list)


@dataclass
class _Access:
    expires_at: float
    scopes: list[str]
    client_id: str
    killed: bool = False


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    header = {"typ": "JWT", "alg": "none"}
    return ".".join((_b64url(json.dumps(header).encode()),
                     _b64url(json.dumps(claims).encode()), ""))


class _TLSHTTPServer(ThreadingHTTPServer):
    """HTTPS; the TLS handshake happens in the request's own thread, never in the accept loop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 fake: FakeOAuthServer, context: ssl.SSLContext | None) -> None:
        self.fake = fake
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            wrapped = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a client that gave up or distrusted the certificate
        with wrapped:
            super().finish_request(wrapped, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request is no test failure; anything else is worth a trace.
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _TLSHTTPServer
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a test's output is not the place for an access log

    # -- plumbing ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            params.update(parse_qsl(body, keep_blank_values=True))
        with fake.lock:
            fake.requests.append((method, parts.path, dict(params)))
        try:
            if self.server.context is None:  # the introspection listener
                self._introspect(method, parts.path, params)
            else:
                self._route(method, parts.path, params)
        except OAuthError as error:
            answer: dict[str, Any] = {"error": error.error,
                                      "error_description": error.description}
            if error.codes:
                answer["error_codes"] = error.codes
            self._json(error.status, answer)

    def _route(self, method: str, path: str, params: dict[str, str]) -> None:
        fake = self.server.fake
        if path == "/google/auth" and method == "GET":
            self._authorize("google", "", params)
            return
        if path == "/google/token" and method == "POST":
            self._json(200, fake.token("google", "", params, self._basic_auth()))
            return
        match = _MS_PATH.match(path)
        if match is None or match["tenant"] == "google":
            self._json(404, {"error": "not_found", "error_description": path})
            return
        tenant = match["tenant"]
        if match["config"] and method == "GET":
            self._json(200, fake.openid_configuration(tenant))
        elif match["endpoint"] == "authorize" and method == "GET":
            self._authorize("microsoft", tenant, params)
        elif match["endpoint"] == "devicecode" and method == "POST":
            self._json(200, fake.device_code(tenant, params))
        elif match["endpoint"] == "token" and method == "POST":
            self._json(200, fake.token("microsoft", tenant, params, self._basic_auth()))
        else:
            self._json(405, {"error": "invalid_request",
                             "error_description": f"{method} not allowed"})

    def _authorize(self, provider: str, tenant: str, params: dict[str, str]) -> None:
        redirect_uri, answer = self.server.fake.authorize(provider, tenant, params)
        mode = params.get("response_mode", "query")
        if mode == "form_post":  # what a browser gets: a form that posts itself
            inputs = "".join(f'<input type="hidden" name="{html.escape(name)}" '
                             f'value="{html.escape(value)}">' for name, value in answer.items())
            page = (f'<!DOCTYPE html><html><head><title>Working...</title></head>'
                    f'<body onload="document.forms[0].submit()"><form method="POST" '
                    f'name="hiddenform" action="{html.escape(redirect_uri)}">{inputs}'
                    f'<noscript><input type="submit" value="Continue"></noscript></form>'
                    f'</body></html>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(page)
            return
        if mode == "fragment":
            location = f"{redirect_uri}#{urlencode(answer)}"
        else:
            separator = "&" if urlsplit(redirect_uri).query else "?"
            location = f"{redirect_uri}{separator}{urlencode(answer)}"
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _introspect(self, method: str, path: str, params: dict[str, str]) -> None:
        # post mode: form "token=..."; get mode: "?access_token=..." (or whatever the URL ends
        # with); auth mode: "Authorization: Bearer ...". Any path: the URL is Dovecot's setting.
        header = self.headers.get("Authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = params.get("token") or params.get("access_token") or bearer
        if not token:
            self._json(400, {"error": "invalid_request", "error_description": "no token"})
            return
        self._json(200, self.server.fake.introspect(token))

    def _basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except ValueError:
            raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)

    def _json(self, status: int, value: dict[str, Any]) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        self.end_headers()
        self.wfile.write(body)


class FakeOAuthServer:
    """Microsoft's and Google's OAuth endpoints on loopback; see the module docstring."""

    def __init__(self, user: str = USER, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET, access_lifetime: int = 3600,
                 token_length: int = 0,
                 device_script: Iterable[str] = ("authorization_pending", "slow_down")) -> None:
        self.user = user
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_lifetime = access_lifetime
        self.token_length = token_length
        self.device_script = list(device_script)
        self.authorize_error = ""
        self.tenant_id = str(uuid.uuid4())
        self.object_id = str(uuid.uuid4())  # the user's oid (and client_info uid)
        self.host = HOST
        self.port = 0
        self.introspection_port = 0
        self.grants: list[str] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.introspected: list[str] = []
        self.lock = threading.RLock()
        self._codes: dict[str, _Grant] = {}
        self._devices: dict[str, _Device] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, _Access] = {}
        self._dir = tempfile.TemporaryDirectory(prefix="tracker-oauth-")
        self.ca = trustme.CA()
        self.ca_file = str(Path(self._dir.name) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self._servers: list[_TLSHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT`` (no trailing slash)."""
        return f"https://{self.host}:{self.port}"

    @property
    def introspection_url(self) -> str:
        """The plain-HTTP introspection endpoint (what Dovecot's ``introspection_url`` gets)."""
        return f"http://{self.host}:{self.introspection_port}/introspect"

    def start(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(HOST, "localhost").configure_cert(context)
        https = _TLSHTTPServer((HOST, 0), _Handler, self, context)
        plain = _TLSHTTPServer((HOST, 0), _Handler, self, None)
        self.port = https.server_address[1]
        self.introspection_port = plain.server_address[1]
        for server in (https, plain):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"fake-oauth-{server.server_address[1]}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        self._dir.cleanup()

    def __enter__(self) -> FakeOAuthServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def http_session(self) -> requests.Session:
        """A requests.Session that trusts this server's CA (MSAL's ``http_client``, Google's
        ``Request(session)``); see :meth:`trust`."""
        return self.trust(requests.Session())

    def trust(self, session: requests.Session) -> requests.Session:
        """Make *session* (e.g. a google-auth-oauthlib ``flow.oauth2session``) trust this CA.

        ``session.verify = ca_file`` alone is not enough: with ``trust_env`` (the default)
        requests lets ``$REQUESTS_CA_BUNDLE`` / ``$CURL_CA_BUNDLE`` override a session's
        ``verify`` (psf/requests#3829), and both are set on this machine. ``trust_env = False``
        also keeps loopback requests away from any ``$HTTPS_PROXY``.
        """
        session.verify = self.ca_file
        session.trust_env = False
        return session

    # -- controls and records ----------------------------------------------------------------

    def revoke(self) -> None:
        """Every refresh token issued so far stops working (``invalid_grant``)."""
        with self.lock:
            self._refresh.clear()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops being valid (its ``expires_in`` stays)."""
        with self.lock:
            for access in self._access.values():
                access.killed = True

    @property
    def valid_access_tokens(self) -> list[str]:
        """The access tokens that would pass introspection now, oldest first."""
        now = time.time()
        with self.lock:
            return [token for token, access in self._access.items()
                    if not access.killed and now < access.expires_at]

    @property
    def refresh_tokens(self) -> list[str]:
        """The refresh tokens that work now, oldest first."""
        with self.lock:
            return list(self._refresh)

    def is_valid(self, user_or_token: str, token: str | None = None) -> bool:
        """``is_valid(token)``: a live access token; ``is_valid(user, token)`` also wants the
        token's user (case-insensitive), as a mail server compares it with the login name."""
        if token is None:
            token = user_or_token
        elif user_or_token.lower() != self.user.lower():
            return False
        return token in self.valid_access_tokens

    def introspect(self, token: str) -> dict[str, Any]:
        """The introspection answer for *token* (RFC 7662)."""
        with self.lock:
            self.introspected.append(token)
            access = self._access.get(token)
        if access is None or not self.is_valid(token):
            return {"active": False}
        return {"active": True, "username": self.user, "client_id": access.client_id,
                "scope": " ".join(access.scopes), "token_type": "Bearer",
                "exp": int(access.expires_at)}

    # -- Microsoft ---------------------------------------------------------------------------

    def _issuer(self, tenant: str) -> str:
        if tenant in _GENERIC_TENANTS:
            return f"{self.url}/{{tenantid}}/v2.0"
        return f"{self.url}/{tenant}/v2.0"

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {
            "issuer": self._issuer(tenant),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "private_key_jwt", "client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce",
                                 "preferred_username", "name", "tid", "oid", "ver"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": "EU",
            "request_uri_parameter_supported": False,
        }

    def device_code(self, tenant: str, params: dict[str, str]) -> dict[str, Any]:
        self._check_client("microsoft", params.get("client_id", ""), None)
        scopes = params.get("scope", "").split()
        if not scopes:
            raise OAuthError("invalid_request", "AADSTS900144: The request body must contain "
                             "the following parameter: 'scope'.", codes=[900144])
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        with self.lock:
            self._devices[device_code] = _Device(
                _Grant("microsoft", params["client_id"], scopes, tenant),
                list(self.device_script))
        verification_uri = f"{self.url}/devicelogin"
        return {
            "user_code": user_code, "device_code": device_code,
            "verification_uri": verification_uri, "expires_in": 900,
            "interval": DEVICE_INTERVAL,
            "message": f"To sign in, use a web browser to open the page {verification_uri} "
                       f"and enter the code {user_code} to authenticate.",
        }

    # -- both --------------------------------------------------------------------------------

    def authorize(self, provider: str, tenant: str,
                  params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The redirect_uri and the parameters the browser brings it (raises for a 400 page)."""
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise OAuthError("invalid_request", "redirect_uri is missing")
        # An unknown client gets an error page, never a redirect (RFC 6749 4.1.2.1).
        self._check_client(provider, params.get("client_id", ""), None)
        answer: dict[str, str] = {}
        scopes = params.get("scope", "").split()
        if params.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        elif not scopes:
            answer["error"] = "invalid_request"
            answer["error_description"] = "scope is missing"
        elif self.authorize_error:
            answer["error"] = self.authorize_error
        else:
            code = secrets.token_urlsafe(32)
            method = params.get("code_challenge_method", "plain")
            with self.lock:
                self._codes[code] = _Grant(
                    provider, params["client_id"], scopes, tenant, redirect_uri=redirect_uri,
                    nonce=params.get("nonce"), code_challenge=params.get("code_challenge"),
                    code_challenge_method=method)
            answer["code"] = code
        if "state" in params:
            answer["state"] = params["state"]
        return redirect_uri, answer

    def token(self, provider: str, tenant: str, params: dict[str, str],
              basic: tuple[str, str] | None) -> dict[str, Any]:
        """The token endpoint's answer to *params* (raises OAuthError for an error answer)."""
        grant_type = params.get("grant_type", "")
        with self.lock:
            self.grants.append(grant_type)
        client_id = basic[0] if basic else params.get("client_id", "")
        secret = basic[1] if basic else params.get("client_secret")
        self._check_client(provider, client_id, secret)
        if grant_type == "authorization_code":
            grant = self._redeem_code(provider, client_id, params)
        elif grant_type == "refresh_token":
            grant = self._redeem_refresh_token(provider, client_id, params)
        elif grant_type == DEVICE_CODE_GRANT and provider == "microsoft":
            grant = self._poll_device(client_id, params)
        else:
            raise OAuthError("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")
        return self._issue(grant)

    def _check_client(self, provider: str, client_id: str, secret: str | None) -> None:
        if client_id != self.client_id:
            if provider == "google":
                raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
            raise OAuthError("invalid_client", f"AADSTS700016: Application with identifier "
                             f"'{client_id}' was not found in the directory.", codes=[700016])
        if provider == "google" and secret is not None and secret != self.client_secret:
            raise OAuthError("invalid_client", "Unauthorized", 401)

    def _redeem_code(self, provider: str, client_id: str, params: dict[str, str]) -> _Grant:
        with self.lock:
            grant = self._codes.pop(params.get("code", ""), None)
        if grant is None or grant.provider != provider or grant.client_id != client_id:
            raise self._invalid_grant(provider, "The authorization code is invalid or was "
                                      "already used.")
        if grant.redirect_uri and params.get("redirect_uri") != grant.redirect_uri:
            raise self._invalid_grant(provider, "redirect_uri does not match the one of the "
                                      "authorization request.")
        verifier = params.get("code_verifier")
        if grant.code_challenge or verifier:
            if not grant.code_challenge or not verifier:
                raise self._invalid_grant(provider, "PKCE code_verifier and code_challenge "
                                          "do not go together.")
            if grant.code_challenge_method == "S256":
                expected = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
            else:
                expected = verifier
            if expected != grant.code_challenge:
                raise self._invalid_grant(provider, "The code_verifier does not match the "
                                          "code_challenge.")
        scope = params.get("scope", "").split()
        if scope:  # MSAL repeats the scopes here; granted = asked
            grant.scopes = scope
        return grant

    def _redeem_refresh_token(self, provider: str, client_id: str,
                              params: dict[str, str]) -> _Grant:
        with self.lock:
            grant = self._refresh.pop(params.get("refresh_token", ""), None)
        if grant is None or grant.provider != provider or grant.client_id != client_id:
            raise self._invalid_grant(provider, "The refresh token has expired, was revoked "
                                      "or was already used.")
        scope = params.get("scope", "").split()
        return _Grant(provider, client_id, scope or grant.scopes, grant.tenant)

    def _poll_device(self, client_id: str, params: dict[str, str]) -> _Grant:
        code = params.get("device_code", "")
        with self.lock:
            device = self._devices.get(code)
            if device is None or device.grant.client_id != client_id:
                raise OAuthError("invalid_grant", "AADSTS70000: The device code is invalid "
                                 "or was already used.", codes=[70000])
            if device.script:
                error = device.script.pop(0)
                descriptions = {
                    "authorization_pending": "AADSTS70016: OAuth 2.0 device flow error. "
                                             "Authorization is pending. Continue polling.",
                    "slow_down": "AADSTS70016: Polling too fast; slow down.",
                    "expired_token": "AADSTS70020: The provided value for the input parameter "
                                     "'device_code' is not valid. This device code has expired.",
                    "authorization_declined": "AADSTS70019: The user declined.",
                }
                raise OAuthError(error, descriptions.get(error, error))
            del self._devices[code]
        return device.grant

    def _invalid_grant(self, provider: str, description: str) -> OAuthError:
        if provider == "google":
            return OAuthError("invalid_grant", "Token has been expired or revoked.")
        return OAuthError("invalid_grant", f"AADSTS70000: {description}", codes=[70000])

    def _new_access_token(self) -> str:
        token = secrets.token_urlsafe(32)
        if self.token_length > len(token):
            token += "".join(secrets.choice(_TOKEN_ALPHABET)
                             for _ in range(self.token_length - len(token)))
        elif self.token_length:
            token = token[:self.token_length]
        return token

    def _issue(self, grant: _Grant) -> dict[str, Any]:
        now = int(time.time())
        lifetime = int(self.access_lifetime)
        access_token = self._new_access_token()
        answer: dict[str, Any] = {
            "token_type": "Bearer", "scope": " ".join(grant.scopes),
            "expires_in": lifetime, "access_token": access_token,
        }
        refresh_token = None
        if grant.provider == "google" or "offline_access" in grant.scopes:
            refresh_token = secrets.token_urlsafe(48)
            answer["refresh_token"] = refresh_token
        if grant.provider == "microsoft":
            answer["ext_expires_in"] = lifetime
            answer["client_info"] = _b64url(json.dumps(
                {"uid": self.object_id, "utid": self.tenant_id}).encode())
            if "openid" in grant.scopes:
                claims: dict[str, Any] = {
                    "aud": grant.client_id, "iss": f"{self.url}/{self.tenant_id}/v2.0",
                    "iat": now, "nbf": now, "exp": now + 3600, "sub": self.object_id,
                    "oid": self.object_id, "tid": self.tenant_id, "ver": "2.0",
                    "name": self.user, "preferred_username": self.user,
                }
                if grant.nonce:
                    claims["nonce"] = grant.nonce
                answer["id_token"] = _unsigned_jwt(claims)
        elif "openid" in grant.scopes:
            claims = {"iss": "https://accounts.google.com", "aud": grant.client_id,
                      "azp": grant.client_id, "sub": self.object_id, "email": self.user,
                      "email_verified": True, "iat": now, "exp": now + 3600}
            if grant.nonce:
                claims["nonce"] = grant.nonce
            answer["id_token"] = _unsigned_jwt(claims)
        with self.lock:
            self._access[access_token] = _Access(now + lifetime, list(grant.scopes),
                                                 grant.client_id)
            if refresh_token:
                self._refresh[refresh_token] = _Grant(grant.provider, grant.client_id,
                                                      list(grant.scopes), grant.tenant)
        return answer


def free_loopback_port() -> int:
    """A loopback port that was free a moment ago (for a redirect_uri nobody listens on)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="oauth_server")
def oauth_server_fixture() -> Iterator[FakeOAuthServer]:
    """A fresh FakeOAuthServer (defaults: user ``staff``, client id ``test-client-id``)."""
    with FakeOAuthServer() as server:
        yield server

