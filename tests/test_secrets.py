"""tracker.net.secrets: secrets from the environment or a command, hidden in server text."""

from __future__ import annotations

import pytest

from tracker.core.errors import ConfigError
from tracker.net.secrets import one_line, read_secret, redact, token_from_command


def test_secret_from_environment_and_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HC_PW", "s3cret")
    assert read_secret("smtp", "HC_PW", "") == "s3cret"
    assert read_secret("smtp", "", "printf command-secret") == "command-secret"
    assert read_secret("smtp", "", "") is None
    monkeypatch.delenv("HC_PW")
    with pytest.raises(ConfigError, match=r"\$HC_PW"):
        read_secret("smtp", "HC_PW", "")
    with pytest.raises(ConfigError, match="exited with 1"):
        read_secret("smtp", "", "false")
    with pytest.raises(ConfigError, match="could not run"):
        read_secret("smtp", "", "/nonexistent/tool")


def test_token_command_output_is_stripped_and_must_not_be_empty() -> None:
    assert token_from_command("imap", "printf ' ya29.tok\\n'") == "ya29.tok"
    with pytest.raises(ConfigError, match=r"^\[imap\] oauth2_token_command printed no token$"):
        token_from_command("imap", "printf '\\n'")
    with pytest.raises(ConfigError, match=r"^\[imap\] oauth2_token_command exited with 1; "):
        token_from_command("imap", "false")


def test_server_text_is_one_short_line_without_the_secret() -> None:
    assert redact("bad password hunter2x", "hunter2x") == "bad password ***"
    assert redact("abc abc", "abc") == "abc abc"  # too short to search for
    assert redact("text", None) == "text"
    assert one_line(b"NO \x07login\r\n  failed for hunter2x", 200, "hunter2x") == \
        "NO ?login failed for ***"
    assert one_line("x" * 50, 10) == "xxxxxxx..."
