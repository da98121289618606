"""`tracker user`: accounts for the web face, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import Cli

from tracker.cli import main
from tracker.store import db

PASSWORD = "a long enough passphrase"


def _user(cli: Cli, *args: str, stdin: str = f"{PASSWORD}\n", ok: bool = True) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--workspace", str(cli.workspace), "user", *args],
                                input=stdin, env=cli.env, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them


def test_add_list_disable_enable_role(cli: Cli) -> None:
    assert "no users yet" in _user(cli, "list")[1]
    assert _user(cli, "add", "ana", "--role", "admin")[1].strip() == "added ana (admin)"
    _user(cli, "add", "bo", "--role", "editor", "--language", "zh-Hans")
    listed = json.loads(_user(cli, "list", "--json")[1])
    assert listed == [
        {"name": "ana", "role": "admin", "disabled": False, "language": "en",
         "second_factor": False},
        {"name": "bo", "role": "editor", "disabled": False, "language": "zh-Hans",
         "second_factor": False}]
    _user(cli, "disable", "bo")
    assert json.loads(_user(cli, "list", "--json")[1])[1]["disabled"] is True
    _user(cli, "enable", "bo")
    _user(cli, "role", "bo", "viewer")
    assert json.loads(_user(cli, "list", "--json")[1])[1]["role"] == "viewer"


def test_the_password_is_kept_only_as_an_argon2id_hash(cli: Cli) -> None:
    _user(cli, "add", "ana", "--role", "admin")
    from tracker.config.loading import load_settings
    from tracker.services.workspace import Workspace

    ws = Workspace(load_settings(cli.workspace, {k: v for k, v in cli.env.items() if v}))
    with db.transaction(ws.engine) as session:
        stored = session.execute(sa.text("select password_hash from person")).scalar_one()
    ws.close()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_every_change_to_an_account_is_an_event_with_its_actor(cli: Cli) -> None:
    _user(cli, "add", "ana", "--role", "admin")
    _user(cli, "add", "bo", "--role", "editor")
    _user(cli, "passwd", "bo", stdin="another long passphrase\n")
    _user(cli, "disable", "bo")
    from tracker.config.loading import load_settings
    from tracker.services.workspace import Workspace

    ws = Workspace(load_settings(cli.workspace, {k: v for k, v in cli.env.items() if v}))
    with db.transaction(ws.engine) as session:
        rows = session.execute(sa.text("select kind, actor, data from event order by id")).all()
    ws.close()
    kinds = [(kind, json.loads(data) if isinstance(data, str) else data) for kind, _, data in rows]
    assert kinds == [("user_added", {"user": "ana", "role": "admin"}),
                     ("user_added", {"user": "bo", "role": "editor"}),
                     ("password_changed", {"user": "bo"}),
                     ("user_disabled", {"user": "bo"})]
    assert all(actor for _, actor, _ in rows)
    assert not any("passphrase" in str(data) for _, _, data in rows)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["add", "ana", "--role", "admin"], "short\n", "too short: use at least 10 characters"),
    (["add", "an a", "--role", "admin"], f"{PASSWORD}\n", "use 1-64 letters, digits"),
    (["add", "ana", "--role", "admin"], "", "no password given"),
    (["disable", "nobody"], "", "unknown user 'nobody'"),
    (["passwd", "nobody"], f"{PASSWORD}\n", "unknown user 'nobody'"),
])
def test_bad_input_is_one_clear_line(cli: Cli, args: list[str], stdin: str, message: str) -> None:
    code, output = _user(cli, *args, stdin=stdin, ok=False)
    assert code != 0
    assert message in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_the_same_name_twice_and_the_last_admin_are_refused(cli: Cli) -> None:
    _user(cli, "add", "ana", "--role", "admin")
    code, output = _user(cli, "add", "ana", "--role", "viewer", ok=False)
    assert code == 2 and "exists already" in output
    code, output = _user(cli, "disable", "ana", ok=False)
    assert code == 2 and "last admin" in output
    code, output = _user(cli, "role", "ana", "editor", ok=False)
    assert code == 2 and "last admin" in output
    _user(cli, "add", "cy", "--role", "admin")
    _user(cli, "disable", "ana")
