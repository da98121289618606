"""The sign-in's records and small helpers (`tracker.net.oauth` uses them): what a grant and a
prompt hold, and how the providers' answers are read (expiry times, ID-token claims, errors).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Grant:
    """Who is signed in, with what, until when: what ``tracker auth status`` shows."""

    provider: str
    account: str
    scopes: tuple[str, ...]
    signed_in_at: datetime
    expires_at: datetime | None  # of the current access token
    store: str  # where the sign-in is kept, in words


@dataclass
class Prompt:
    """What the person must do to sign in: open *url* (and, for a device code, type
    *user_code* there)."""

    flow: str  # "device" or "browser"
    url: str
    user_code: str = ""
    message: str = ""
    expires_at: datetime | None = None
    expected_state: str = ""  # the browser flow's anti-CSRF state, which must come back
    state: dict[str, Any] = field(default_factory=dict, repr=False)


def pin_ca(session: Any, ca_file: str) -> None:
    """Trust only *ca_file*, when set. requests lets $REQUESTS_CA_BUNDLE override a session's
    own ``verify`` (psf/requests#3829) unless the environment is ignored."""
    if ca_file:
        session.verify = ca_file
        session.trust_env = False


def google_error(exc: BaseException) -> dict[str, str]:
    """The OAuth error in a google-auth RefreshError (its args hold the parsed response)."""
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, Mapping) and "error" in arg:
            return {"error": str(arg["error"]),
                    "error_description": str(arg.get("error_description", ""))}
    text = str(exc)
    error = "invalid_grant" if "invalid_grant" in text else "refresh_failed"
    return {"error": error, "error_description": ""}


def id_token_claim(id_token: object, name: str) -> str:
    """A claim of an ID token received straight from the token endpoint over TLS (so it is
    not verified again: it only names the account for people)."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return ""
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return ""
    return str(claims.get(name) or "") if isinstance(claims, dict) else ""


def expiry_of(result: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.now(UTC) + timedelta(seconds=float(result["expires_in"]))
    except (KeyError, TypeError, ValueError):
        return None


def aware(value: datetime | None) -> datetime | None:
    """google-auth's expiry is naive UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def parse_moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
