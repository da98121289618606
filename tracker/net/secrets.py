"""Secrets: read them from the environment or a command, and keep them out of what is shown.

A password or token never lives in ``tracker.toml``: ``password_env`` names an environment
variable, ``password_command`` and ``oauth2_token_command`` are commands that print it. Servers
sometimes echo what they were sent, so the text they answer with is made one short printable
line with the secret hidden before it goes into an error message.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from tracker.core.errors import ConfigError

_MIN_REDACTED = 4  # a shorter secret is not searched for: hiding it would only mangle the text


def read_secret(section: str, password_env: str, password_command: str) -> str | None:
    """Return the secret named by ``password_env`` or printed by ``password_command``."""
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise ConfigError(
                f"[{section}] password_env names ${password_env}, which is not set; "
                f"export it or use password_command"
            )
        return value
    if password_command:
        return _run(section, "password_command", password_command).strip("\r\n")
    return None


def token_from_command(section: str, command: str) -> str:
    """Return the OAuth2 access token that *command* (``oauth2_token_command``) prints."""
    token = _run(section, "oauth2_token_command", command).strip()
    if not token:
        raise ConfigError(f"[{section}] oauth2_token_command printed no token")
    return token


def _run(section: str, setting: str, command: str) -> str:
    """What *command* prints on stdout; ConfigError if it cannot run or fails."""
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"[{section}] {setting} could not run: {exc}") from None
    if done.returncode != 0:
        raise ConfigError(f"[{section}] {setting} exited with {done.returncode}; "
                          "run it by hand to see why")
    return done.stdout


def redact(text: str, secret: str | None) -> str:
    """*text* with *secret* replaced by ``***``, should a server have echoed it."""
    if secret and len(secret) >= _MIN_REDACTED:
        return text.replace(secret, "***")
    return text


def one_line(text: bytes | str, limit: int, secret: str | None = None) -> str:
    """Server text as one printable line of at most *limit* characters, *secret* hidden.

    The text may come from anyone on the path to the server: whitespace runs become one space,
    control characters ``?``.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    text = redact(text, secret)
    return text if len(text) <= limit else text[: limit - 3] + "..."
