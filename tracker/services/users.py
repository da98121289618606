"""People who use the web face: accounts, passwords, sign-in, sessions, second factor.

Passwords are kept as Argon2id hashes (argon2-cffi). A session is a random token in the
browser's cookie; the database keeps only its SHA-256, so a copy of the database lets nobody in.
Failed sign-ins are counted per name and per address, and a name or address with too many in
the last quarter of an hour must wait. Every change to an account is an event with its actor.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tracker.config.settings import WebSettings
from tracker.core.errors import AccessError, InputError, NotFoundError, not_found
from tracker.services.workspace import Workspace
from tracker.store import db
from tracker.store.events import record_admin_event
from tracker.store.models import LoginAttempt, Role, User, WebSession

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # Argon2 hashes anything; a megabyte "password" is an attack, not a secret
LOCK_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
LANGUAGES = ("en", "zh-Hans")
_TOUCH_EVERY = timedelta(minutes=1)  # a session's last use is written at most this often


def _hasher() -> PasswordHasher:
    # Imported when used: the CLI's other commands never hash a password.
    from argon2 import PasswordHasher

    return PasswordHasher()  # Argon2id, with the library's (RFC 9106 low-memory) parameters


def hash_password(password: str) -> str:
    check_password(password)
    return str(_hasher().hash(password))


def check_password(password: str) -> None:
    """Refuse a password too short or too long to be one."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is too short: use at least {MIN_PASSWORD} characters "
                         "(a few words make a good one)")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password is longer than {MAX_PASSWORD} characters")


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the name is unknown, so that an unknown name takes as long as a
# wrong password and the answer does not tell which names exist.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = str(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY_HASH


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InputError(f"user name {name!r}: use 1-64 letters, digits and . _ - @")
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InputError(f"role {role!r}: use admin, editor or viewer") from None


def _user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        names = session.exec(select(User.name)).all()
        raise not_found("user", name, names, "see `tracker user list`")
    return user


def add_user(ws: Workspace, name: str, role: str, password: str, now: datetime, *,
             language: str = "en") -> User:
    """Create an account; the name must be new."""
    name, the_role = check_name(name), check_role(role)
    if language not in LANGUAGES:
        raise InputError(f"language {language!r}: use en or zh-Hans")
    password_hash = hash_password(password)
    with db.transaction(ws.engine) as session:
        if session.exec(select(User).where(User.name == name)).first() is not None:
            raise InputError(f"user {name!r} exists already; choose another name, or "
                             f"`tracker user passwd {name}` to change the password")
        user = User(name=name, role=the_role.value, password_hash=password_hash,
                    language=language, created_at=now, password_changed_at=now)
        session.add(user)
        record_admin_event(session, "user_added", ws.actor, now, user=name, role=the_role.value)
    return user


def has_users(ws: Workspace) -> bool:
    with db.transaction(ws.engine) as session:
        return session.exec(select(User.id).limit(1)).first() is not None


def list_users(ws: Workspace) -> list[User]:
    with db.transaction(ws.engine) as session:
        return list(session.exec(select(User).order_by(User.name)).all())


def get_user(ws: Workspace, user_id: int) -> User:
    with db.transaction(ws.engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"no user number {user_id}")
        return user


def set_disabled(ws: Workspace, name: str, disabled: bool, now: datetime) -> User:
    """Disable an account (its sessions end at once) or enable it again."""
    with db.transaction(ws.engine) as session:
        user = _user(session, name)
        if disabled and user.role == Role.ADMIN and not user.disabled:
            admins = session.exec(select(sa.func.count()).select_from(User).where(
                User.role == Role.ADMIN, User.disabled == sa.false())).one()
            if admins <= 1:
                raise InputError(f"{name} is the last admin; add another admin first")
        user.disabled = disabled
        session.add(user)
        if disabled:
            session.execute(sa.delete(WebSession).where(col(WebSession.user_id) == user.id))
        record_admin_event(session, "user_disabled" if disabled else "user_enabled", ws.actor, now,
                     user=name)
        return user


def set_password(ws: Workspace, name: str, password: str, now: datetime) -> User:
    """Change the password; every session of the account ends."""
    password_hash = hash_password(password)
    with db.transaction(ws.engine) as session:
        user = _user(session, name)
        user.password_hash, user.password_changed_at = password_hash, now
        session.add(user)
        session.execute(sa.delete(WebSession).where(col(WebSession.user_id) == user.id))
        record_admin_event(session, "password_changed", ws.actor, now, user=name)
        return user


def set_role(ws: Workspace, name: str, role: str, now: datetime) -> User:
    the_role = check_role(role)
    with db.transaction(ws.engine) as session:
        user = _user(session, name)
        if user.role == Role.ADMIN and the_role != Role.ADMIN:
            admins = session.exec(select(sa.func.count()).select_from(User).where(
                User.role == Role.ADMIN, User.disabled == sa.false())).one()
            if admins <= 1:
                raise InputError(f"{name} is the last admin; add another admin first")
        user.role = the_role.value
        session.add(user)
        record_admin_event(session, "role_changed", ws.actor, now, user=name, role=the_role.value)
        return user


def set_language(ws: Workspace, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise InputError(f"language {language!r}: use en or zh-Hans")
    with db.transaction(ws.engine) as session:
        user = session.get(User, user_id)
        if user is not None:
            user.language = language
            session.add(user)


# --- the second factor (TOTP, RFC 6238) ------------------------------------------------------

def new_totp_secret() -> str:
    import pyotp

    return str(pyotp.random_base32())


def totp_uri(secret: str, name: str, issuer: str) -> str:
    import pyotp

    return str(pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer))


def _totp_ok(secret: str, code: str, now: datetime) -> bool:
    import pyotp

    code = code.strip().replace(" ", "")
    return bool(code.isdigit() and pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1))


def enable_totp(ws: Workspace, user_id: int, secret: str, code: str, now: datetime) -> None:
    """Turn the second factor on, once the person has shown a code from their app."""
    if not _totp_ok(secret, code, now):
        raise InputError("that code does not match; check the time on your phone and try "
                         "the newest code")
    with db.transaction(ws.engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"no user number {user_id}")
        user.totp_secret = secret
        session.add(user)
        record_admin_event(session, "totp_enabled", ws.actor, now, user=user.name)


# --- sign-in and sessions ---------------------------------------------------------------------

@dataclass(frozen=True)
class SignedIn:
    """A session: the token for the cookie (shown once), and whose it is."""

    token: str
    user: User
    csrf_token: str


@dataclass(frozen=True)
class Current:
    """The person behind a request's cookie."""

    user: User
    csrf_token: str
    token_hash: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _failures(session: Session, column: Any, value: str,
              since: datetime) -> int:
    return int(session.exec(select(sa.func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.at >= since)).one())


def sign_in(ws: Workspace, name: str, password: str, code: str, address: str,
            now: datetime) -> SignedIn:
    """Check name, password (and the one-time code where the account has one); open a session.

    Raises AccessError, saying only that sign-in failed, or that this name or address must wait.
    """
    name, address = name.strip()[:64], address[:64]
    since = now - LOCK_WINDOW
    with db.transaction(ws.engine) as session:
        if (_failures(session, col(LoginAttempt.name), name, since) >= MAX_FAILURES_PER_NAME
                or _failures(session, col(LoginAttempt.address), address, since)
                >= MAX_FAILURES_PER_ADDRESS):
            raise AccessError("too many failed sign-ins; wait 15 minutes and try again")
        user = session.exec(select(User).where(User.name == name)).first()
    ok = _verify(user.password_hash if user else _dummy_hash(), password[:MAX_PASSWORD])
    if ok and user is not None and user.totp_secret:
        ok = _totp_ok(user.totp_secret, code, now)
    if not ok or user is None or user.disabled:
        with db.transaction(ws.engine) as session:
            session.add(LoginAttempt(name=name, address=address, at=now))
            session.execute(sa.delete(LoginAttempt).where(
                col(LoginAttempt.at) < now - timedelta(days=1)))
        raise AccessError("sign-in failed: the name, the password or the code is wrong")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db.transaction(ws.engine) as session:
        session.add(WebSession(token_hash=_token_hash(token), user_id=user.id or 0, csrf_token=csrf,
                               created_at=now, last_seen_at=now, address=address))
        session.execute(sa.delete(LoginAttempt).where(col(LoginAttempt.name) == name))
    return SignedIn(token=token, user=user, csrf_token=csrf)


def current_session(ws: Workspace, settings: WebSettings, token: str,
                    now: datetime) -> Current | None:
    """The live session for the cookie *token*, or None (unknown, timed out, user disabled)."""
    if not token or len(token) > 100:
        return None
    token_hash = _token_hash(token)
    with db.reading(ws.engine) as session:  # every page: no write lock unless one is due
        found = session.exec(select(WebSession, User).join(  # one query for each page
            User, col(User.id) == col(WebSession.user_id), isouter=True)
            .where(col(WebSession.token_hash) == token_hash)).first()
    if found is None:
        return None
    row, user = found
    expired = (now - row.last_seen_at > timedelta(minutes=settings.idle_minutes)
               or now - row.created_at > timedelta(hours=settings.session_hours))
    if user is None or user.disabled or expired:
        with db.transaction(ws.engine) as session:
            session.execute(sa.delete(WebSession).where(
                col(WebSession.token_hash) == token_hash))
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        with db.transaction(ws.engine) as session:
            session.execute(sa.update(WebSession).where(
                col(WebSession.token_hash) == token_hash).values(last_seen_at=now))
    return Current(user=user, csrf_token=row.csrf_token, token_hash=token_hash)


def sign_out(ws: Workspace, token: str) -> None:
    with db.transaction(ws.engine) as session:
        session.execute(sa.delete(WebSession).where(
            col(WebSession.token_hash) == _token_hash(token)))
