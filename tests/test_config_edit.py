"""`tracker config show|set|unset`: tracker.toml changed one key at a time, comments kept,
values typed and checked, secrets refused, the file replaced atomically and kept private."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import pytest
from conftest import Cli

from tracker.config.editing import set_value, set_values, unset_value
from tracker.config.settings import SECTIONS
from tracker.core.errors import ConfigError
from tracker.services.configuration import change_settings

WS = Path("/nonexistent/ws")  # the pure functions never touch it

# A file as a person may have written it: comments everywhere, odd spacing, blank lines.
COMMENTED = """\
# Our settings.   Ask Lin before changing the mailbox.

[organisation]
name    = "Humanitarian China"   # as it signs letters
timezone = 'Europe/Berlin'
  # the calendar of public holidays
country = "DE"

# --- the mailbox ---
[imap]
host = "imap.hrgroup.example"  # the organisation's server
folders = [ "INBOX",   "Platforms" ]

# --- the weekly report ---
[report]
schedule = "MON 09:00"   # Monday morning
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about the file, not the database."""
    return f"sqlite:///{tmp_path / 'tracker.db'}"


def config_file(cli: Cli) -> Path:
    return cli.workspace / "tracker.toml"


# (key, value, the line the file has afterwards in place of `host = ...` or at the end of its
# section): each type of setting, written as TOML of that type.
TYPED = [
    ("imap.host", "mail.org.example",
     COMMENTED.replace('"imap.hrgroup.example"', '"mail.org.example"')),
    ("imap.port", "993", COMMENTED.replace('"Platforms" ]\n', '"Platforms" ]\nport = 993\n')),
    ("imap.port", " +143 ", COMMENTED.replace('"Platforms" ]\n', '"Platforms" ]\nport = 143\n')),
    ("imap.timeout", "90", COMMENTED.replace('"Platforms" ]\n',
                                             '"Platforms" ]\ntimeout = 90.0\n')),
    ("imap.timeout", "2.5", COMMENTED.replace('"Platforms" ]\n',
                                              '"Platforms" ]\ntimeout = 2.5\n')),
    ("imap.dkim_verify", "yes", COMMENTED.replace('"Platforms" ]\n',
                                                  '"Platforms" ]\ndkim_verify = true\n')),
    ("imap.dkim_verify", "TRUE", COMMENTED.replace('"Platforms" ]\n',
                                                   '"Platforms" ]\ndkim_verify = true\n')),
    ("imap.dkim_verify", "1", COMMENTED.replace('"Platforms" ]\n',
                                                '"Platforms" ]\ndkim_verify = true\n')),
    ("imap.accept_unverified", "no", COMMENTED.replace(
        '"Platforms" ]\n', '"Platforms" ]\naccept_unverified = false\n')),
    ("imap.accept_unverified", "0", COMMENTED.replace(
        '"Platforms" ]\n', '"Platforms" ]\naccept_unverified = false\n')),
    ("imap.folders", "INBOX, Archive,, Platforms ", COMMENTED.replace(
        '[ "INBOX",   "Platforms" ]', '["INBOX", "Archive", "Platforms"]')),
    ("imap.border_hosts", "", COMMENTED.replace('"Platforms" ]\n',
                                                '"Platforms" ]\nborder_hosts = []\n')),
    ("imap.provider", "fastmail", COMMENTED.replace('"Platforms" ]\n',
                                                    '"Platforms" ]\nprovider = "fastmail"\n')),
    ("organisation.timezone", "Asia/Taipei",
     COMMENTED.replace("'Europe/Berlin'", '"Asia/Taipei"')),
    ("organisation.name", 'Say "no" \\ to\tsilence',  # TOML escapes, read back exactly
     COMMENTED.replace('"Humanitarian China"', '"Say \\"no\\" \\\\ to\\tsilence"')),
    ("report.schedule", "", COMMENTED.replace('"MON 09:00"', '""')),
    # A section not in the file yet: added at the end, after one blank line.
    ("smtp.host", "smtp.org.example", COMMENTED + '\n[smtp]\nhost = "smtp.org.example"\n'),
    ("web.require_totp", "yes", COMMENTED + "\n[web]\nrequire_totp = true\n"),
    ("database.url", "postgresql://tracker@db.org.example/tracker",
     COMMENTED + '\n[database]\nurl = "postgresql://tracker@db.org.example/tracker"\n'),
]


@pytest.mark.parametrize(("key", "value", "expected"), TYPED, ids=[f"{k}={v!r}" for k, v, _ in
                                                                   TYPED])
def test_set_writes_the_value_as_its_type_and_keeps_every_other_byte(
        key: str, value: str, expected: str) -> None:
    assert set_value(COMMENTED, key, value, WS) == expected


@pytest.mark.parametrize(("text", "key", "value", "expected"), [
    ("", "imap.host", "x.example", '[imap]\nhost = "x.example"\n'),
    ('[smtp]\nhost = "s"', "imap.host", "x.example",  # no newline at the end of the file
     '[smtp]\nhost = "s"\n\n[imap]\nhost = "x.example"\n'),
    ("[imap]\r\nhost = 'a'\r\n", "smtp.host", "s",  # Windows line ends stay Windows line ends
     "[imap]\r\nhost = 'a'\r\n\r\n[smtp]\r\nhost = \"s\"\r\n"),
    ("[imap]\n# nothing yet\n\n[smtp]\nhost = 's'\n", "imap.host", "x",
     "[imap]\n# nothing yet\nhost = \"x\"\n\n[smtp]\nhost = 's'\n"),
], ids=["empty file", "no final newline", "crlf", "section with only a comment"])
def test_set_in_files_of_other_shapes(text: str, key: str, value: str, expected: str) -> None:
    assert set_value(text, key, value, WS) == expected


def test_set_in_an_inline_table_or_dotted_keys() -> None:
    inline = set_value("imap = { host = 'a' }\n", "imap.port", "993", WS)
    assert inline.startswith("imap = {") and inline.count("\n") == 1
    assert tomllib.loads(inline) == {"imap": {"host": "a", "port": 993}}
    dotted = set_value("imap.host = 'a'\n", "imap.port", "993", WS)
    assert tomllib.loads(dotted) == {"imap": {"host": "a", "port": 993}}


@pytest.mark.parametrize(("key", "expected"), [
    ("imap.host", COMMENTED.replace('host = "imap.hrgroup.example"  # the organisation\'s '
                                    'server\n', "")),
    ("organisation.country", COMMENTED.replace('country = "DE"\n', "")),
    # The last key of a section takes the section with it; the comments before stay.
    ("report.schedule", COMMENTED.replace('[report]\nschedule = "MON 09:00"   # Monday morning\n',
                                          "").rstrip("\n") + "\n"),
])
def test_unset_removes_the_key_and_an_emptied_section(key: str, expected: str) -> None:
    assert unset_value(COMMENTED, key, WS) == expected


def test_set_then_unset_gives_back_the_file() -> None:
    added = set_value(COMMENTED, "imap.sent_folder", "Sent", WS)
    assert unset_value(added, "imap.sent_folder", WS) == COMMENTED
    added = set_value(COMMENTED, "reminders.every", "21d", WS)
    assert unset_value(added, "reminders.every", WS) == COMMENTED


@pytest.mark.parametrize(("key", "value", "message"), [
    # Unknown names: one line, with the closest ones.
    ("imap.hots", "x", "unknown key 'imap.hots' (did you mean: host"),
    ("imap.xyzzy", "x", "unknown key 'imap.xyzzy' ([imap] has: host, port,"),
    ("imapp.host", "x", "unknown section 'imapp' in 'imapp.host' (did you mean: imap?)"),
    ("imap", "x", "give the setting as SECTION.KEY, e.g. imap.host"),
    ("imap.host.name", "x", "give the setting as SECTION.KEY"),
    # Types.
    ("imap.port", "many", "imap.port is a whole number (e.g. 993), not 'many'"),
    ("imap.port", "１４３", "is a whole number"),  # fullwidth digits: int() would take them
    ("imap.port", "99999999999999999999", "is a whole number"),  # beyond TOML's integers
    ("imap.port", "true", "is a whole number"),
    ("imap.timeout", "nan", "imap.timeout is a number"),
    ("imap.timeout", "inf", "imap.timeout is a number"),
    ("imap.dkim_verify", "maybe", "imap.dkim_verify is yes or no: give true or false"),
    ("imap.tls", "tsl", "imap.tls must be one of ssl, starttls, none, not 'tsl' "
                        "(did you mean: ssl?)"),
    ("imap.provider", "Gmail", "must be one of generic, gmail, microsoft365, fastmail"),
    # Meaning: what every command checks when it loads the file.
    ("organisation.timezone", "Mars/Olympus", "is not a known time zone"),
    ("organisation.country", "XX", "has no public-holiday calendar"),
    ("organisation.reference_prefix", "H-C", "must be 1-10 letters or digits"),
    ("organisation.email", "Zoom <privacy@zoom.us>", "[organisation] email"),
    ("report.recipients", "board@hrgroup.example, nobody", "[report] recipients"),
    ("reminders.final_notice_days", "0", "from 1 to 365"),
    ("web.base_url", "ftp://tracker.example", "[web] base_url"),
    ("database.url", "mysql://u@db/x", "tracker works with SQLite and PostgreSQL"),
])
def test_set_refuses_what_the_file_must_not_hold(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        set_value(COMMENTED, key, value, WS)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("key", "instead"), [
    ("smtp.password", "set smtp.password_env or smtp.password_command instead"),
    ("imap.password", "set imap.password_env or imap.password_command instead"),
    ("imap.oauth2_token", "set imap.oauth2_token_command instead"),
    ("imap.token", "a *_command key is a command that prints it"),
    ("imap.secret", "instead"),
    ("smtp.api_key", "set smtp.password_env or smtp.password_command"),
    ("smtp.client_secret", "instead"),
    ("imap.smtp_password", "set imap.password_env"),
    ("imap.access_token", "instead"),
    ("nosuch.password", "set an *_env or *_command key instead (an *_env key names the "
                        "environment variable holding the secret"),
])
def test_secrets_are_refused_with_the_key_to_use_instead(key: str, instead: str) -> None:
    with pytest.raises(ConfigError) as caught:
        set_value(COMMENTED, key, "hunter2", WS)
    text = str(caught.value)
    assert f"{key}: secrets never go in tracker.toml" in text and instead in text
    assert "hunter2" not in text and "\n" not in text


def test_a_database_url_with_a_password_is_refused() -> None:
    for url in ("postgresql://tracker:hunter2@db/tracker", "postgresql://db/t?password=hunter2"):
        with pytest.raises(ConfigError, match="TRACKER_DATABASE_URL") as caught:
            set_value(COMMENTED, "database.url", url, WS)
        assert "hunter2" not in str(caught.value)


@dataclass(frozen=True)
class ExtraSettings:
    """A section another version of tracker may have (tracker.config.settings)."""

    client_id: str = ""
    client_secret_env: str = ""
    client_secret_command: str = ""
    token_endpoint: str = ""
    token_store: Literal["auto", "keyring", "file"] = "auto"
    retries: int = 3


def test_sections_and_keys_come_from_the_settings_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """A section added to SECTIONS can be set at once, typed from its dataclass; its keys that
    only mention a secret word (an endpoint, a choice of store) are not secrets."""
    monkeypatch.setitem(SECTIONS, "extra", ExtraSettings)
    text = set_value(COMMENTED, "extra.retries", "5", WS)
    text = set_value(text, "extra.token_store", "file", WS)
    text = set_value(text, "extra.token_endpoint", "https://login.example/token", WS)
    text = set_value(text, "extra.client_secret_env", "EXTRA_SECRET", WS)
    assert text == COMMENTED + ('\n[extra]\nretries = 5\ntoken_store = "file"\n'
                                'token_endpoint = "https://login.example/token"\n'
                                'client_secret_env = "EXTRA_SECRET"\n')
    with pytest.raises(ConfigError, match="must be one of auto, keyring, file"):
        set_value(text, "extra.token_store", "disk", WS)
    with pytest.raises(ConfigError, match=re.escape("set extra.client_secret_env or "
                                                    "extra.client_secret_command instead")):
        set_value(text, "extra.client_secret", "s3cret", WS)
    with pytest.raises(ConfigError, match=re.escape("unknown key 'extra.client_idd' (did you mean: "
                                                    "client_id")):
        set_value(text, "extra.client_idd", "x", WS)


@pytest.mark.parametrize(("text", "key", "message"), [
    (COMMENTED, "imap.port", "imap.port is not set in tracker.toml, so there is nothing to "
                             "unset"),
    (COMMENTED, "smtp.host", "smtp.host is not set in tracker.toml"),
    (COMMENTED, "imap.hots", "unknown key 'imap.hots' (did you mean: host"),
    (COMMENTED, "imapp.host", "unknown section 'imapp'"),
    ("[imap]\nhost = \n", "imap.host", "tracker.toml is not valid TOML"),
    # The result is checked as well: a file broken elsewhere stays as it is.
    ("[organisation]\ntimezone = 'Mars'\nname = 'x'\n", "organisation.name",
     "is not a known time zone"),
])
def test_unset_refuses(text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        unset_value(text, key, WS)
    assert message in str(caught.value)


@pytest.mark.parametrize("key", ["password", "hots"])
def test_unset_mends_a_file_with_a_secret_or_a_typo_written_by_hand(key: str) -> None:
    text = f"[smtp]\nhost = 's'\n{key} = 'hunter2'\n"
    assert unset_value(text, f"smtp.{key}", WS) == "[smtp]\nhost = 's'\n"


def test_set_values_changes_several_keys_checked_once() -> None:
    text = set_values(COMMENTED, {"imap.host": "imap.fastmail.com", "imap.port": "993",
                                  "imap.provider": "fastmail", "smtp.host": "smtp.fastmail.com",
                                  "report.schedule": "", "organisation.country": ""}, WS)
    assert text == (COMMENTED.replace('"imap.hrgroup.example"', '"imap.fastmail.com"')
                    .replace('"Platforms" ]\n', '"Platforms" ]\nport = 993\nprovider = '
                                               '"fastmail"\n')
                    .replace('"MON 09:00"', '""')  # not the default: written
                    .replace('country = "DE"\n', "")  # empty is the default: removed
                    + '\n[smtp]\nhost = "smtp.fastmail.com"\n')
    with pytest.raises(ConfigError, match=r"imap\.tls must be one of"):
        set_values(COMMENTED, {"imap.host": "imap.fastmail.com", "imap.tls": "tsl"}, WS)
    with pytest.raises(ConfigError, match="secrets never go"):
        set_values(COMMENTED, {"imap.host": "x", "imap.password": "hunter2"}, WS)


# Through the command line, on a workspace made by `tracker init`.


def test_set_and_unset_through_the_cli(cli: Cli) -> None:
    before = config_file(cli).read_text()
    done = cli.run("config", "set", "imap.host", "imap.org.example")
    assert done.stdout == "imap.host set to imap.org.example\n"
    cli.run("config", "set", "imap.folders", "INBOX,Platforms")
    text = config_file(cli).read_text()
    assert text == before + '\n[imap]\nhost = "imap.org.example"\nfolders = ["INBOX", ' \
                            '"Platforms"]\n'
    assert cli.run("config", "unset", "imap.host").stdout == "imap.host removed from " \
                                                             "tracker.toml\n"
    cli.run("config", "unset", "imap.folders")
    assert config_file(cli).read_text() == before


def test_a_refused_change_leaves_the_file_as_it_was(cli: Cli) -> None:
    path = config_file(cli)
    before = path.read_bytes()
    for args in (("set", "organisation.timezone", "Europe/Berlinn"),
                 ("set", "imap.port", "nine"),
                 ("set", "smtp.password", "hunter2"),
                 ("set", "smtp.hots", "x"),
                 ("unset", "smtp.host")):
        done = cli.run("config", *args, ok=False)
        assert done.exit_code == 2, done.output
        assert done.stdout == ""
        assert done.stderr.startswith("tracker: error: ") and done.stderr.count("\n") == 1
        assert "hunter2" not in done.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in cli.workspace.iterdir()) == sorted(
        ["platforms", "templates", "tag.key", "tracker.toml"]
        + [p.name for p in cli.workspace.glob("tracker.db*")])  # no temporary file left


def test_set_mends_a_broken_file_and_refuses_to_keep_it_broken(cli: Cli) -> None:
    path = config_file(cli)
    path.write_text(path.read_text().replace("Europe/Berlin", "Europe/Berlim"))
    assert cli.run("status", ok=False).exit_code == 2  # every command refuses the file
    done = cli.run("config", "set", "imap.host", "imap.org.example", ok=False)
    assert done.exit_code == 2 and "is not a known time zone" in done.stderr
    assert "imap.host" not in path.read_text()
    cli.run("config", "set", "organisation.timezone", "Europe/Berlin")
    cli.run("status")


@pytest.mark.parametrize(("mode", "kept"), [(0o600, 0o600), (0o400, 0o400), (0o644, 0o600),
                                            (0o640, 0o600)])
def test_the_file_stays_private(cli: Cli, mode: int, kept: int) -> None:
    path = config_file(cli)
    path.chmod(mode)
    cli.run("config", "set", "smtp.host", "smtp.org.example")
    assert stat.S_IMODE(path.stat().st_mode) == kept
    cli.run("config", "unset", "smtp.host")
    assert stat.S_IMODE(path.stat().st_mode) == kept


def test_a_symbolic_link_is_followed(cli: Cli, tmp_path: Path) -> None:
    real = tmp_path / "kept-elsewhere.toml"
    config_file(cli).rename(real)
    config_file(cli).symlink_to(real)
    cli.run("config", "set", "smtp.host", "smtp.org.example")
    assert config_file(cli).is_symlink()
    assert 'host = "smtp.org.example"' in real.read_text()


def test_a_utf8_byte_order_mark_is_kept(cli: Cli) -> None:
    path = config_file(cli)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    cli.run("config", "set", "smtp.host", "smtp.org.example")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf# tracker workspace settings")


def test_show_says_where_each_value_comes_from(cli: Cli) -> None:
    cli.run("config", "set", "imap.host", "imap.org.example")
    rows = cli.json("config", "show", env={"TRACKER_IMAP_PORT": "1143",
                                           "TRACKER_IMAP_HOST": "127.0.0.1"})
    by_key = {row["key"]: row for row in rows}
    assert set(by_key) == {f"{section}.{f.name}" for section, cls in SECTIONS.items()
                           for f in fields(cls)}
    assert [row["key"] for row in rows][:2] == ["organisation.name", "organisation.signatory"]
    assert by_key["imap.host"] == {"key": "imap.host", "value": "127.0.0.1",
                                   "from": "$TRACKER_IMAP_HOST"}
    assert by_key["imap.port"] == {"key": "imap.port", "value": "1143",
                                   "from": "$TRACKER_IMAP_PORT"}
    assert by_key["organisation.timezone"] == {"key": "organisation.timezone",
                                               "value": "Europe/Berlin", "from": "tracker.toml"}
    assert by_key["imap.tls"] == {"key": "imap.tls", "value": "ssl", "from": "default"}
    assert by_key["imap.folders"]["value"] == "INBOX"
    assert by_key["database.url"]["from"] == "$TRACKER_DATABASE_URL"
    assert cli.json("config", "show")[[r["key"] for r in rows].index("imap.host")] == {
        "key": "imap.host", "value": "imap.org.example", "from": "tracker.toml"}


def test_show_as_a_table(cli: Cli) -> None:
    out = cli.run("config", "show", env={"TRACKER_SMTP_HOST": "127.0.0.1"}).stdout
    lines = out.splitlines()
    assert "key" in lines[1] and "value" in lines[1] and "from" in lines[1]
    smtp = next(line for line in lines if "smtp.host" in line)
    assert "127.0.0.1" in smtp and "$TRACKER_SMTP_HOST" in smtp
    assert "Humanitarian China" in next(line for line in lines if "organisation.name" in line)


def test_commands_and_secrets_are_never_shown(cli: Cli) -> None:
    done = cli.run("config", "set", "imap.password_command", "pass show mail/hunter2")
    assert done.stdout == "imap.password_command set\n"
    cli.run("config", "set", "smtp.password_env", "HC_SMTP_PASSWORD")
    env: dict[str, str | None] = {
        "HC_SMTP_PASSWORD": "hunter2", "TRACKER_SMTP_PASSWORD_COMMAND": "echo hunter2",
        "TRACKER_DATABASE_URL": "postgresql://tracker:hunter2@db.example/tracker"}
    for args in (("config", "show"), ("config", "show", "--json")):
        out = cli.run(*args, env=env).stdout
        assert "hunter2" not in out
    by_key = {row["key"]: row for row in cli.json("config", "show", env=env)}
    assert by_key["imap.password_command"]["value"] == "set"
    assert by_key["smtp.password_command"] == {"key": "smtp.password_command", "value": "set",
                                               "from": "$TRACKER_SMTP_PASSWORD_COMMAND"}
    assert by_key["smtp.password_env"]["value"] == "HC_SMTP_PASSWORD (set in the environment)"
    assert by_key["imap.oauth2_token_command"]["value"] == "(none)"
    assert by_key["database.url"]["value"] == "postgresql://tracker:***@db.example/tracker"


def test_a_note_when_the_environment_overrides_what_was_set(cli: Cli) -> None:
    done = cli.run("config", "set", "smtp.host", "smtp.org.example",
                   env={"TRACKER_SMTP_HOST": "127.0.0.1"})
    assert "$TRACKER_SMTP_HOST is set and overrides smtp.host" in done.stderr


def test_change_settings_writes_all_or_nothing_and_says_what_changed(cli: Cli) -> None:
    path = config_file(cli)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="is not a known time zone"):
        change_settings(cli.workspace, {"smtp.host": "smtp.org.example",
                                        "organisation.timezone": "Europe/Nowhere"})
    assert path.read_bytes() == before
    changed = change_settings(cli.workspace, {"smtp.host": "smtp.org.example",
                                              "organisation.timezone": "Europe/Berlin",
                                              "smtp.username": ""})
    assert changed == {"smtp.host": "smtp.org.example"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().endswith('\n[smtp]\nhost = "smtp.org.example"\n')


def test_config_needs_a_workspace(tmp_path: Path) -> None:
    empty = Cli(workspace=tmp_path / "nowhere", env={"TRACKER_WORKSPACE": None}, check=False)
    done = empty.run("config", "set", "imap.host", "x", ok=False)
    assert done.exit_code == 2 and "run `tracker init" in done.stderr
    assert not os.path.exists(tmp_path / "nowhere")
