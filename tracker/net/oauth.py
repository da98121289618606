"""Signing in with the mail provider (OAuth2), and the access tokens IMAP and SMTP log in with.

Microsoft 365 through MSAL (``PublicClientApplication``: the device-code flow, or the
authorization-code flow in a browser on a loopback redirect); Google through google-auth
(the installed-app flow on a loopback redirect: Google refuses the device flow for mail
scopes). One :class:`MailSignIn` per workspace serves both IMAP and SMTP:

- an access token is used until five minutes before it expires, then refreshed;
- a refresh token the provider rotates (Microsoft, on every use) is saved at once, under the
  workspace's sign-in lock so that two processes never spend the same one;
- ``access_token(fresh=True)`` refreshes whatever the cached expiry says: the caller asks for
  it after the server refused a token (an IMAP session ended with ``AccessTokenExpired``);
- ``invalid_grant`` and withdrawn consent raise :class:`SignInNeeded`, one line telling staff
  to run ``tracker auth login`` again.

Tokens never leave this module except as the return value of ``access_token``: not in
errors (provider texts are cut to one line and searched for them), logs or ``status``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tracker.config.settings import Settings
from tracker.core.errors import ConfigError, SignInError, SignInNeeded
from tracker.net.oauth_parts import (
    Grant,
    Prompt,
    aware,
    expiry_of,
    google_error,
    id_token_claim,
    iso,
    parse_moment,
    pin_ca,
)
from tracker.net.secrets import one_line, read_secret
from tracker.net.token_store import TokenStore, locked, token_store

# MSAL adds offline_access (the refresh token), openid and profile itself, and refuses them.
MICROSOFT_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All",
                    "https://outlook.office.com/SMTP.Send")
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
GOOGLE_SCOPES = ("https://mail.google.com/", "openid", "email")  # openid, email: who signed in
GOOGLE_AUTHORIZATION = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret
REFRESH_MARGIN = timedelta(minutes=5)
HTTP_TIMEOUT = 30.0
_NEEDED = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
_PROVIDER_NAMES = {"microsoft": "Microsoft", "google": "Google"}
_LOCK = threading.Lock()  # one refresh at a time in this process (the file lock: between them)


def provider_name(provider: str) -> str:
    return _PROVIDER_NAMES.get(provider, provider)


class MailSignIn:
    """The workspace's sign-in with ``[auth] provider``; see the module docstring."""

    def __init__(self, settings: Settings, store: TokenStore | None = None) -> None:
        auth = settings.auth
        if not auth.provider:
            raise ConfigError("[auth] provider is not set; set it to microsoft or google "
                              "(`tracker config set auth.provider microsoft`)")
        if not auth.client_id.strip():
            raise ConfigError(
                "[auth] client_id is not set: register the organisation's own app with "
                f"{provider_name(auth.provider)} (docs/mail-providers.md) and set its id "
                "(`tracker config set auth.client_id ID`)")
        self.settings = settings
        self.auth = auth
        self.provider = auth.provider
        self.store = store or token_store(settings)
        self._msal: tuple[Any, Any] | None = None

    # -- signing in ---------------------------------------------------------------------------

    def start_device(self) -> Prompt:
        """Begin the device-code flow (Microsoft only): a code to type at a Microsoft page."""
        if self.provider != "microsoft":
            raise ConfigError("Google does not allow the device flow for mail; sign in with "
                              "--flow browser")
        app, _ = self._msal_app()
        flow = self._msal_call(lambda: app.initiate_device_flow(scopes=list(MICROSOFT_SCOPES)))
        if "user_code" not in flow:
            raise self._refused(flow, "starting the device sign-in")
        return Prompt("device", str(flow.get("verification_uri", "")), str(flow["user_code"]),
                      one_line(str(flow.get("message", "")), 300),
                      datetime.fromtimestamp(float(flow.get("expires_at", 0)), UTC),
                      state={"flow": flow})

    def finish_device(self, prompt: Prompt, cancelled: Callable[[], bool] = lambda: False,
                      ) -> Grant:
        """Wait until the person has typed the code (or it expired, or *cancelled*)."""
        app, cache = self._msal_app()
        flow = prompt.state["flow"]

        def stop(_flow: Mapping[str, Any]) -> bool:
            return cancelled()

        result = self._msal_call(lambda: app.acquire_token_by_device_flow(
            flow, exit_condition=stop))
        if cancelled():
            raise SignInError("the sign-in was cancelled")
        try:
            return self._msal_signed_in(result, cache)
        except SignInError as exc:
            # Many tenants block sign-in with a code (Conditional Access, since 2025).
            raise type(exc)(f"{exc}; if your organisation does not allow signing in with a "
                            "code, sign in in the browser: `tracker auth login --flow "
                            "browser`") from None

    def start_browser(self, redirect_uri: str) -> Prompt:
        """Begin the browser flow; the provider sends the browser back to *redirect_uri*."""
        if self.provider == "microsoft":
            app, _ = self._msal_app()
            flow = self._msal_call(lambda: app.initiate_auth_code_flow(
                list(MICROSOFT_SCOPES), redirect_uri=redirect_uri, prompt="select_account",
                response_mode="form_post"))  # the code not in the address bar or history
            return Prompt("browser", str(flow["auth_uri"]), expected_state=str(flow["state"]),
                          state={"flow": flow})
        google = self._google_flow(redirect_uri)
        url, expected = google.authorization_url(access_type="offline", prompt="consent")
        return Prompt("browser", url, expected_state=str(expected), state={"flow": google})

    def finish_browser(self, prompt: Prompt, answer: Mapping[str, str]) -> Grant:
        """Complete the browser flow with the query the provider redirected with."""
        if "error" in answer:
            why = one_line(answer.get("error_description") or answer["error"], 200)
            raise SignInError(f"{provider_name(self.provider)} did not sign in: {why}")
        if self.provider == "microsoft":
            app, cache = self._msal_app()
            result = self._msal_call(lambda: app.acquire_token_by_auth_code_flow(
                prompt.state["flow"], dict(answer)))
            return self._msal_signed_in(result, cache)
        google = prompt.state["flow"]
        if answer.get("state") != prompt.expected_state:
            raise SignInError("the browser came back with another sign-in's answer; "
                              "start again")
        self._google_call(lambda: google.fetch_token(code=answer.get("code", "")))
        credentials = google.credentials
        document = self._document(
            account=id_token_claim(getattr(credentials, "id_token", None), "email"),
            scopes=tuple(credentials.granted_scopes or credentials.scopes or GOOGLE_SCOPES),
            expires_at=aware(credentials.expiry),
            state={"refresh_token": credentials.refresh_token, "token": credentials.token})
        if not credentials.refresh_token:
            raise SignInError("Google gave no refresh token; sign in again (the consent "
                              "screen must be shown: tracker asks for it)")
        with _LOCK, locked(self.settings):
            self.store.save(document)
        return self._grant(document)

    # -- using it -----------------------------------------------------------------------------

    def access_token(self, fresh: bool = False) -> str:
        """A valid access token; refreshed first when it is close to expiry or *fresh*."""
        with _LOCK, locked(self.settings):
            document = self._current()
            state = document.get("state") or {}
            expiry = parse_moment(document.get("expires_at"))
            if (not fresh and state.get("token") and expiry is not None
                    and expiry - datetime.now(UTC) > REFRESH_MARGIN):
                return str(state["token"])
            if self.provider == "microsoft":
                token, changed = self._msal_token(document, fresh)
            else:
                token, changed = self._google_token(document, fresh)
            if changed is not None:
                self.store.save(changed)
            return token

    def status(self) -> Grant | None:
        """Who is signed in (None: nobody, or another provider or app registration)."""
        document = self.store.load()
        if not document or not self._matches(document):
            return None
        return self._grant(document)

    def logout(self) -> bool:
        """Forget the sign-in here (the provider keeps its consent; revoke it there)."""
        with _LOCK, locked(self.settings):
            return self.store.delete()

    # -- shared -------------------------------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        document = self.store.load()
        name = provider_name(self.provider)
        if not document:
            raise SignInNeeded(f"nobody is signed in to {name} for the mailbox; run "
                               "`tracker auth login` (or Settings, Connect mailbox, on the web)")
        if not self._matches(document):
            raise SignInNeeded(f"the sign-in kept here is for another provider or app "
                               f"registration than [auth]; run `tracker auth login` with {name}")
        return document

    def _matches(self, document: Mapping[str, Any]) -> bool:
        return (document.get("provider") == self.provider
                and document.get("client_id") == self.auth.client_id)

    def _document(self, account: str, scopes: tuple[str, ...], expires_at: datetime | None,
                  state: dict[str, Any], signed_in_at: str | None = None) -> dict[str, Any]:
        return {"version": 1, "provider": self.provider, "client_id": self.auth.client_id,
                "account": account, "scopes": sorted(scopes),
                "signed_in_at": signed_in_at or iso(datetime.now(UTC)),
                "expires_at": iso(expires_at), "state": state}

    def _grant(self, document: Mapping[str, Any]) -> Grant:
        return Grant(self.provider, str(document.get("account") or ""),
                     tuple(document.get("scopes") or ()),
                     parse_moment(document.get("signed_in_at")) or datetime.now(UTC),
                     parse_moment(document.get("expires_at")), self.store.where)

    def _session(self) -> Any:
        import requests

        session = requests.Session()
        pin_ca(session, self.auth.ca_file)
        return session

    def _endpoint_host(self) -> str:
        url = (self.auth.authority or MICROSOFT_AUTHORITY if self.provider == "microsoft"
               else self.auth.token_endpoint or GOOGLE_TOKEN)
        return urlsplit(url).netloc

    def _unreachable(self, exc: BaseException) -> SignInError:
        reason = one_line(str(exc), 200)
        return SignInError(f"could not reach {provider_name(self.provider)}'s sign-in server "
                           f"{self._endpoint_host()} ({reason}); check the network, or "
                           "[auth] authority / token_endpoint and ca_file")

    def _refused(self, result: Mapping[str, Any], doing: str) -> SignInError:
        error = str(result.get("error") or "unknown_error")
        text = one_line(str(result.get("error_description") or ""), 240)
        name = provider_name(self.provider)
        if error in _NEEDED or "AADSTS65001" in text:
            why = ("an administrator must grant consent to the app (docs/mail-providers.md)"
                   if "AADSTS65001" in text or error == "consent_required"
                   else "the sign-in expired or was revoked")
            return SignInNeeded(f"{name} refused the sign-in while {doing} ({error}: {why}); "
                                "run `tracker auth login` again")
        if error in ("invalid_client", "unauthorized_client"):
            return SignInError(f"{name} refused [auth] client_id while {doing} ({error}); "
                               "check the app registration (docs/mail-providers.md)")
        return SignInError(f"{name} refused {doing}: {error}" + (f" ({text})" if text else ""))

    # -- Microsoft (MSAL) ---------------------------------------------------------------------

    def _msal_app(self, cache_text: str = "") -> tuple[Any, Any]:
        """MSAL's app (built once: it reads the authority's metadata over the network) with
        its token cache loaded from *cache_text*, as the store has it now."""
        if self._msal is None:
            import msal

            cache = msal.SerializableTokenCache()
            custom = bool(self.auth.authority)
            authority = (self.auth.authority.rstrip("/") if custom
                         else f"{MICROSOFT_AUTHORITY}/{self.auth.tenant}")
            try:
                app = msal.PublicClientApplication(
                    self.auth.client_id, authority=authority, token_cache=cache,
                    http_client=self._session(), timeout=HTTP_TIMEOUT,
                    validate_authority=not custom, instance_discovery=not custom)
            except ValueError as exc:
                raise ConfigError(f"[auth] authority {authority!r}: {one_line(str(exc), 200)}"
                                  ) from None
            except Exception as exc:
                raise self._unreachable(exc) from None
            self._msal = (app, cache)
        app, cache = self._msal
        cache.deserialize(cache_text or "{}")
        cache.has_state_changed = False
        return app, cache

    def _msal_call(self, call: Callable[[], Any]) -> Any:
        import requests

        try:
            return call()
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None

    def _msal_signed_in(self, result: Mapping[str, Any] | None, cache: Any) -> Grant:
        if not result or "access_token" not in result:
            raise self._refused(result or {}, "signing in")
        claims = result.get("id_token_claims") or {}
        scopes = tuple(str(result.get("scope", "")).split()) or MICROSOFT_SCOPES
        document = self._document(
            account=str(claims.get("preferred_username") or claims.get("email") or ""),
            scopes=scopes, expires_at=expiry_of(result),
            state={"msal_cache": cache.serialize(), "token": result["access_token"]})
        with _LOCK, locked(self.settings):
            self.store.save(document)
        return self._grant(document)

    def _msal_token(self, document: dict[str, Any], fresh: bool,
                    ) -> tuple[str, dict[str, Any] | None]:
        app, cache = self._msal_app(str(document.get("state", {}).get("msal_cache", "")))
        accounts = self._msal_call(app.get_accounts)
        if not accounts:
            raise SignInNeeded("the Microsoft sign-in kept here has no account; run "
                               "`tracker auth login` again")
        account = next((a for a in accounts if a.get("username") == document.get("account")),
                       accounts[0])
        result = self._msal_call(lambda: app.acquire_token_silent_with_error(
            list(MICROSOFT_SCOPES), account, force_refresh=fresh))
        if not result or "access_token" not in result:
            raise self._refused(result or {"error": "invalid_grant"}, "refreshing the token")
        # A new access token and the rotated refresh token (or MSAL's cached one, kept too).
        changed = dict(document, state={"msal_cache": cache.serialize(),
                                        "token": result["access_token"]},
                       expires_at=iso(expiry_of(result)))
        return str(result["access_token"]), changed

    # -- Google (google-auth) -----------------------------------------------------------------

    def _client_secret(self) -> str:
        secret = read_secret("auth", self.auth.client_secret_env, self.auth.client_secret_command)
        return secret or ""

    def _google_flow(self, redirect_uri: str) -> Any:
        from google_auth_oauthlib.flow import Flow

        config = {"installed": {
            "client_id": self.auth.client_id, "client_secret": self._client_secret(),
            "auth_uri": self.auth.authorization_endpoint or GOOGLE_AUTHORIZATION,
            "token_uri": self.auth.token_endpoint or GOOGLE_TOKEN,
            "redirect_uris": [redirect_uri]}}
        flow = Flow.from_client_config(config, list(GOOGLE_SCOPES), redirect_uri=redirect_uri,
                                       autogenerate_code_verifier=True)
        pin_ca(flow.oauth2session, self.auth.ca_file)
        return flow

    def _google_call(self, call: Callable[[], Any]) -> Any:
        import requests
        from google.auth.exceptions import GoogleAuthError
        from oauthlib.oauth2.rfc6749.errors import OAuth2Error

        try:
            return call()
        except OAuth2Error as exc:
            raise self._refused({"error": exc.error, "error_description": exc.description},
                                "signing in") from None
        except GoogleAuthError as exc:
            raise self._refused(google_error(exc), "refreshing the token") from None
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None

    def _google_token(self, document: dict[str, Any], fresh: bool,
                      ) -> tuple[str, dict[str, Any] | None]:
        state = dict(document.get("state") or {})
        if not state.get("refresh_token"):
            raise SignInNeeded("the Google sign-in kept here has no refresh token; run "
                               "`tracker auth login` again")
        import google.auth.transport.requests
        from google.oauth2.credentials import Credentials

        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None, refresh_token=state["refresh_token"],
            token_uri=self.auth.token_endpoint or GOOGLE_TOKEN,
            client_id=self.auth.client_id, client_secret=self._client_secret() or None,
            scopes=list(document.get("scopes") or GOOGLE_SCOPES))
        request = google.auth.transport.requests.Request(session=self._session())
        self._google_call(lambda: credentials.refresh(request))  # type: ignore[no-untyped-call]
        expires_at = aware(credentials.expiry)
        state.update(token=credentials.token,
                     refresh_token=credentials.refresh_token or state["refresh_token"])
        return str(credentials.token), dict(document, state=state, expires_at=iso(expires_at))
