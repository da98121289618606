"""The exceptions tracker raises on purpose.

Every error a user can cause or meet is a ``TrackerError``; the CLI turns it into one line on
stderr and a non-zero exit code. Anything else that escapes is a bug.

    TrackerError
    ├── ConfigError        tracker.toml, environment overrides, workspace lookup
    ├── NotFoundError      unknown platform, template, request reference, message
    ├── InputError         malformed dates, deadline rules, variables, header values
    ├── TemplateError      a letter template that cannot be loaded or rendered
    ├── StateError         an action the request's current state does not allow
    ├── DatabaseError      the database cannot be reached or is not migrated
    ├── SendError          SMTP refused, failed or could not be reached
    │   └── DeliveryUncertain  the connection broke after the letter was handed over
    └── AccessError        a wrong password, too many tries, a role that may not do this
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


class TrackerError(Exception):
    """Base of every error tracker reports to the user.

    The message is one line that says what is wrong and how to fix it. ``exit_code`` is what
    the CLI exits with.
    """

    exit_code = 1


class ConfigError(TrackerError):
    """The configuration or the workspace is missing, malformed or unsafe."""

    exit_code = 2


class NotFoundError(TrackerError):
    """A named thing (platform, template, request, message) does not exist."""

    exit_code = 3


class InputError(TrackerError):
    """A value given on the command line or in a file is malformed."""

    exit_code = 2


class TemplateError(TrackerError):
    """A letter template cannot be loaded or rendered (syntax, metadata, variables)."""

    exit_code = 4


class StateError(TrackerError):
    """The request's current state does not allow the action."""

    exit_code = 5


class DatabaseError(TrackerError):
    """The database cannot be reached, opened or is not at the current schema."""

    exit_code = 6


class SendError(TrackerError):
    """The mail server refused the letter or could not be reached; nothing was sent."""

    exit_code = 7


class DeliveryUncertain(SendError):
    """The connection was lost during DATA: the server may or may not have taken the letter.

    The letter is then neither "sent" nor a draft: tracker keeps its exact bytes and refuses to
    send it again until a person has checked (``send --retry`` or ``mark-sent``).
    """


class AccessError(TrackerError):
    """Sign-in failed, is locked for a while, or the person's role does not allow the action.

    The message never says which of name or password was wrong.
    """

    exit_code = 9


class SignInError(TrackerError):
    """The mail provider's sign-in (OAuth2) could not be used: its server could not be
    reached, or it refused the app registration."""

    exit_code = 10


class SignInNeeded(SignInError):
    """There is no sign-in, or the provider no longer accepts it (expired, revoked, consent
    withdrawn): a person must run ``tracker auth login`` again."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean: a, b?)"`` for close matches of *name*, or ``""``."""
    close = get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def not_found(kind: str, name: str, choices: Iterable[str], how: str = "") -> NotFoundError:
    """Build the standard "unknown X" error with close matches and a hint."""
    choices = sorted(choices)
    hint = suggest(name, choices)
    if not hint and choices and len(choices) <= 20:
        hint = f" (known: {', '.join(choices)})"
    tail = f"; {how}" if how else ""
    return NotFoundError(f"unknown {kind} {name!r}{hint}{tail}")
