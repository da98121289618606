"""tracker.toml, environment overrides, secrets and workspace lookup."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tracker.config.loading import find_workspace, load_settings
from tracker.config.settings import is_loopback
from tracker.core.errors import ConfigError


def write(ws: Path, text: str) -> Path:
    ws.mkdir(exist_ok=True)
    (ws / "tracker.toml").write_text(text, encoding="utf-8")
    return ws


def test_defaults_when_file_is_empty(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, ""), env={})
    assert s.organisation.reference_prefix == "HC"
    assert s.smtp.tls == "starttls"
    assert s.imap.folders == ("INBOX",)
    assert s.database_url == f"sqlite:///{tmp_path / 'tracker.db'}"


def test_environment_overrides_every_section(tmp_path: Path) -> None:
    ws = write(tmp_path, '[smtp]\nhost = "mail.example"\nport = 587\n')
    s = load_settings(ws, env={
        "TRACKER_SMTP_HOST": "smtp.other.example",
        "TRACKER_SMTP_PORT": "2525",
        "TRACKER_ORGANISATION_TIMEZONE": "Asia/Taipei",
        "TRACKER_IMAP_FOLDERS": "INBOX, Archive",
        "TRACKER_DATABASE_URL": "postgresql://u@db/tracker",
        "TRACKER_IMAP_DKIM_VERIFY": "yes",
    })
    assert s.imap.dkim_verify is True
    assert s.smtp.host == "smtp.other.example"
    assert s.smtp.port == 2525
    assert s.organisation.timezone == "Asia/Taipei"
    assert s.imap.folders == ("INBOX", "Archive")
    assert s.database_url == "postgresql://u@db/tracker"


def test_plain_database_url_variable_is_honoured(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, ""), env={"DATABASE_URL": "postgresql://u@db/x"})
    assert s.database.url == "postgresql://u@db/x"


@pytest.mark.parametrize(("text", "env", "message"), [
    ("[smtp]\npassword = 'hunter2'\n", {}, "secrets must not be written"),
    ("[database]\nurl = 'postgresql://u:pw@db/x'\n", {}, "contains a password"),
    ("[smtp]\nhots = 'x'\n", {}, "did you mean: host"),
    ("[smpt]\nhost = 'x'\n", {}, "unknown section"),
    ("[smtp]\nport = 'many'\n", {}, "wrong type"),
    ("[smtp]\ntls = 'yes'\n", {}, "must be one of ssl, starttls, none"),
    ("", {"TRACKER_SMTP_PORT": "x"}, "TRACKER_SMTP_PORT"),
    ("[organisation]\ntimezone = 'Mars/Olympus'\n", {}, "not a known time zone"),
    ("[organisation]\ncountry = 'XX'\n", {}, "no public-holiday calendar"),
    ("[organisation]\nreference_prefix = 'H C'\n", {}, "reference_prefix"),
    ("[organisation]\nemail = 'a@b.c, d@e.f'\n", {}, "not a plain email address"),
    ("[organisation]\ndefault_deadline = 'soon'\n", {}, "soon"),
    ("this is = not toml [", {}, "not valid TOML"),
])
def test_bad_configuration_is_one_clear_error(tmp_path: Path, text: str, env: dict[str, str],
                                               message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), env=env)


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tracker init"):
        load_settings(tmp_path, env={})


def test_workspace_lookup_order(tmp_path: Path) -> None:
    a, b = write(tmp_path / "a", ""), write(tmp_path / "b", "")
    nested = a / "deep" / "er"
    nested.mkdir(parents=True)
    assert find_workspace(str(b), cwd=nested, env={"TRACKER_WORKSPACE": str(a)}) == b
    assert find_workspace(None, cwd=tmp_path, env={"TRACKER_WORKSPACE": str(b)}) == b
    assert find_workspace(None, cwd=nested, env={}) == a
    with pytest.raises(ConfigError, match="tracker init"):
        find_workspace(None, cwd=tmp_path, env={})
    with pytest.raises(ConfigError, match="--workspace"):
        find_workspace(str(tmp_path), cwd=nested, env={})


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
    ("[::1]", True), ("mail.example", False), ("10.0.0.1", False), ("localhost.evil", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_init_creates_private_workspace(tmp_path: Path) -> None:
    from tracker.services.workspace import init_workspace

    ws = tmp_path / "ws"
    init_workspace(ws, {"organisation": {"name": "Org", "timezone": "Europe/Berlin"}}, env={})
    for name, mode in (("", 0o700), ("tracker.toml", 0o600), ("tracker.db", 0o600),
                       ("tag.key", 0o600), ("templates", 0o700), ("platforms", 0o700)):
        assert stat.S_IMODE(os.stat(ws / name).st_mode) == mode, name
    text = (ws / "tracker.toml").read_text()
    assert 'timezone = "Europe/Berlin"' in text
    with pytest.raises(ConfigError, match="already"):
        init_workspace(ws, {}, env={})


def test_init_with_bad_value_leaves_no_workspace_file(tmp_path: Path) -> None:
    from tracker.services.workspace import init_workspace

    ws = tmp_path / "ws"
    with pytest.raises(ConfigError, match="time zone"):
        init_workspace(ws, {"organisation": {"timezone": "Nowhere/Land"}}, env={})
    assert not (ws / "tracker.toml").exists()
    assert not (ws / "tracker.db").exists()
