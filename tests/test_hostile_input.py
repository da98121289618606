"""Hostile and awkward input: one clear line on stderr, a non-zero exit, never a traceback,
never a half-written record or workspace.

Read-only media are simulated for real: folders 0500, files 0400 and, because root ignores
file modes (the suite may run as root), ``chattr +i`` on every file and folder, which even root
cannot write through (EPERM, as on a read-only mount). It needs no mount or namespace and works
on ext4, where this suite runs; where it does not, the test is skipped (and fails under CI).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner, Result
from conftest import POSTGRES_URL, Cli

from tracker.cli import main
from tracker.config.loading import load_settings
from tracker.config.settings import SmtpSettings
from tracker.core.errors import ConfigError, InputError, SendError
from tracker.letters.rendering import RenderedLetter
from tracker.mail.outbound import build_email
from tracker.net import smtp as mailer
from tracker.store import db

DATA = Path(__file__).parent / "data" / "mail"
DAY0 = {"TRACKER_TODAY": "2020-06-08"}
# Run every command in a clean environment: nothing of the developer's own leaks in.
CLEAN: dict[str, str | None] = {
    "TRACKER_DATABASE_URL": None, "DATABASE_URL": None, "TRACKER_WORKSPACE": None,
    "TRACKER_TODAY": None, "TRACKER_TAG_SECRET": None,
}
NOTE = "tracker: note: workspace "


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """`tracker ARGS` in-process; an exception tracker does not handle fails the test."""
    return CliRunner().invoke(main, list(args), env={**CLEAN, **(env or {})},
                              catch_exceptions=False)


def one_error(result: Result, *contains: str, note: bool = False) -> str:
    """Assert a failure reported as ONE `tracker: error:` line (after the read-only note, if
    *note*), with a non-zero exit code and no traceback; return that line."""
    assert result.exit_code not in (0, None), result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    if note:
        assert lines and lines[0].startswith(NOTE) and "read-only" in lines[0], result.stderr
        lines = lines[1:]
    assert len(lines) == 1 and lines[0].startswith("tracker: error: "), result.stderr
    for text in contains:
        assert text in lines[0], lines[0]
    return lines[0]


def tree(root: Path) -> dict[str, int]:
    """Every path under *root* with its mode: what a failed command must leave as it was."""
    return {str(p.relative_to(root)): p.lstat().st_mode for p in [root, *root.rglob("*")]}


def template_vars(cli: Cli, template: str = "account-suspension") -> list[str]:
    spec = cli.json("template", "show", template)
    return [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]


def new_request(cli: Cli, *extra: str) -> str:
    data = cli.json("request", "new", "--platform", "zoom", "--template", "account-suspension",
                    *template_vars(cli), *extra, env=DAY0)
    return str(data["ref"])


def sent_request(cli: Cli) -> str:
    ref = new_request(cli)
    cli.run("mark-sent", ref, "--on", "2020-06-08", "--channel", "webform", env=DAY0)
    return ref


# ------------------------------------------------------------------ read-only media


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """Make a folder tree truly read-only (for root too); undone after the test."""
    done: list[Path] = []

    def make(root: Path) -> None:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o500 if path.is_dir() else 0o400)
        done.append(root)
        if os.geteuid() == 0:  # root writes through file modes: make the inodes immutable
            made = subprocess.run(["chattr", "-R", "+i", str(root)], capture_output=True,
                                  text=True, check=False)
            if made.returncode != 0:
                message = f"cannot make {root} read-only for root: {made.stderr.strip()}"
                if os.environ.get("CI"):
                    pytest.fail(message)
                pytest.skip(message)

    yield make
    for root in done:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True, check=False)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)


@pytest.fixture
def sqlite_ws(tmp_path: Path) -> Cli:
    """A workspace with its SQLite database inside it (the default), as staff make one."""
    ws = tmp_path / "ws"
    assert run("init", str(ws), "--email", "inquiries@hrgroup.example").exit_code == 0
    return Cli(workspace=ws, env=dict(CLEAN))


def _archive(cli: Cli, target: Path, wal: str) -> str:
    """Copy the workspace with a sent request to *target*, as an archive would.

    "clean": after every connection closed (no -wal). "wal+shm" / "wal": copied while another
    reader held a snapshot from before the request, so the request is only in the -wal file
    (with or without the -shm index beside it): reading it needs the -wal, not just the file.
    """
    keeper = sqlite3.connect(cli.workspace / "tracker.db")
    keeper.execute("begin")
    keeper.execute("select count(*) from request").fetchall()
    ref = sent_request(cli)
    if wal == "clean":
        keeper.close()
    shutil.copytree(cli.workspace, target)
    keeper.close()
    if wal == "wal":
        (target / "tracker.db-shm").unlink()
    assert (target / "tracker.db-wal").exists() == (wal != "clean")
    return ref


@pytest.mark.parametrize("wal", ["clean", "wal+shm"])
def test_read_only_workspace_is_read_and_says_so_once(
        sqlite_ws: Cli, tmp_path: Path, read_only: Callable[[Path], None], wal: str) -> None:
    archive = Cli(workspace=tmp_path / "archive", env=sqlite_ws.env)
    ref = _archive(sqlite_ws, archive.workspace, wal)
    read_only(archive.workspace)
    result = archive.run("status", "--json", env={"TRACKER_TODAY": "2020-07-20"})
    assert [row["ref"] for row in json.loads(result.stdout)] == [ref]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(NOTE), result.stderr
    assert "is read-only: the database is opened read-only" in lines[0]
    assert archive.run("request", "show", ref, env=DAY0).exit_code == 0


def test_read_only_workspace_with_a_wal_but_no_shm_is_one_line(
        sqlite_ws: Cli, tmp_path: Path, read_only: Callable[[Path], None]) -> None:
    """SQLite cannot read such a copy without writing the -shm: it says how to get at it."""
    archive = Cli(workspace=tmp_path / "archive", env=sqlite_ws.env)
    _archive(sqlite_ws, archive.workspace, "wal")
    read_only(archive.workspace)
    one_error(archive.run("status", ok=False), "no tracker.db-shm", "copy the workspace",
              note=True)


def test_read_only_workspace_refuses_every_change_in_one_line(
        sqlite_ws: Cli, tmp_path: Path, read_only: Callable[[Path], None]) -> None:
    archive = Cli(workspace=tmp_path / "archive", env=sqlite_ws.env)
    ref = _archive(sqlite_ws, archive.workspace, "clean")
    read_only(archive.workspace)
    before = archive.run("status", "--all", "--json", env=DAY0).stdout
    changes = [
        ("request", "new", "--platform", "zoom", "--template", "account-suspension",
         *template_vars(archive)),
        ("close", ref, "--resolution", "withdrawn"),
        ("record-reply", ref, "--on", "2020-06-08"),
        ("extend", ref, "14d", "--reason", "Zoom asked for two weeks"),
    ]
    for args in changes:
        one_error(archive.run(*args, ok=False, env=DAY0), "read-only", "nothing was changed",
                  note=True)
    # Saving a platform records who did it, so the read-only database stops it first.
    one_error(archive.run("platform", "add", "--slug", "acme", "--name", "Acme", "--email",
                          "privacy@acme.example", "--source", "https://acme.example/privacy",
                          ok=False), "read-only", "nothing was changed", note=True)
    assert not (archive.workspace / "platforms" / "acme.toml").exists()
    assert archive.run("status", "--all", "--json", env=DAY0).stdout == before


def test_platform_add_on_a_read_only_workspace_is_one_line(
        cli: Cli, read_only: Callable[[Path], None]) -> None:
    read_only(cli.workspace / "platforms")
    one_error(cli.run("platform", "add", "--slug", "acme", "--name", "Acme", "--email",
                      "privacy@acme.example", "--source", "https://acme.example/privacy",
                      ok=False), "cannot write", "acme.toml")


# ------------------------------------------------------------------ tracker init


@pytest.mark.parametrize(("url", "secret"), [
    ("postgresql://u:hunter2@127.0.0.1/db", "hunter2"),
    ("postgresql://u@127.0.0.1/db?password=hunter2", "hunter2"),
    ("postgresql://u@127.0.0.1/db?sslmode=require&PassWord=hunter2", "hunter2"),
])
def test_init_refuses_a_database_url_with_a_password(tmp_path: Path, url: str,
                                                     secret: str) -> None:
    before = tree(tmp_path)
    result = run("init", str(tmp_path / "ws"), "--database-url", url)
    one_error(result, "contains a password", "TRACKER_DATABASE_URL")
    assert secret not in result.stdout + result.stderr
    assert tree(tmp_path) == before


def _conflicting_sqlite(tmp_path: Path) -> dict[str, str | None]:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    for table in ("platform", "case", "request", "message", "event"):
        con.execute(f'create table "{table}" (x)')
    con.commit()
    con.close()
    return {"TRACKER_DATABASE_URL": f"sqlite:///{path}"}


@pytest.mark.parametrize("cause", ["bad value", "password in URL", "unreachable database",
                                   "failed migration", "read-only folder"])
def test_init_that_fails_leaves_nothing_behind(tmp_path: Path, cause: str,
                                               read_only: Callable[[Path], None]) -> None:
    target, args, env = tmp_path / "new" / "ws", ["--timezone", "Europe/Berlin"], {}
    if cause == "bad value":
        args = ["--timezone", "Nowhere/Land"]
    elif cause == "password in URL":
        args = ["--database-url", "postgresql://u@127.0.0.1/db?password=x"]
    elif cause == "unreachable database":
        env = {"TRACKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    elif cause == "failed migration":
        env = _conflicting_sqlite(tmp_path)
    else:
        target = tmp_path / "archive"
        target.mkdir()
        read_only(target)
    before = tree(tmp_path)
    one_error(run("init", str(target), *args, env=env))
    assert tree(tmp_path) == before


@pytest.mark.parametrize("where", ["under a file", "in /proc", "read-only folder"])
def test_init_in_an_impossible_place_is_one_line(tmp_path: Path, where: str,
                                                 read_only: Callable[[Path], None]) -> None:
    (tmp_path / "afile").write_text("x")
    if where == "under a file":
        target = tmp_path / "afile" / "ws"
    elif where == "in /proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc here")
        target = Path("/proc") / "tracker-ws"
    else:
        (tmp_path / "ro").mkdir()
        read_only(tmp_path / "ro")
        target = tmp_path / "ro" / "ws"
    one_error(run("init", str(target)), "cannot create a workspace", "choose a folder")
    assert not target.exists()


# ------------------------------------------------------------------ database URLs


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql://u:hunter2@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u@h/db?password=hunter2", "postgresql://u@h/db?password=***"),
    ("postgresql://u@h/db?sslmode=require&password=hunter2&x=1",
     "postgresql://u@h/db?sslmode=require&password=***&x=1"),
    ("postgresql://u@h/db?sslpassword=hunter2", "postgresql://u@h/db?sslpassword=***"),
    ("postgresql://u@h/db?pass%77ord=hunter2", "postgresql://u@h/db?pass%77ord=***"),
    ("postgresql://u:hun@ter/2?x@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u:hunter2@h:notaport/db", "postgresql://u:***@h:notaport/db"),
    ("postgresql+psycopg://u:hunter2@[::1/db", "postgresql+psycopg://u:***@[::1/db"),
    ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
    ("sqlite:////srv/a:b@c/tracker.db", "sqlite:////srv/a:b@c/tracker.db"),
])
def test_safe_url_masks_every_password(url: str, masked: str) -> None:
    assert db.safe_url(url) == masked
    assert db.has_password(url) == (url != masked)


def test_password_in_the_query_of_tracker_toml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tracker.toml").write_text(
        "[database]\nurl = 'postgresql://u@h/db?password=hunter2'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="contains a password") as info:
        load_settings(tmp_path, env={})
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(("url", "problem"), [
    ("postgresql://u@h:notaport/db", "not a database URL"),
    ("postgresql://[::1", "not a database URL"),
    ("postgres://u@h:99999/db", "port 99999 is not between 1 and 65535"),
    ("mysql://u@h/db", "not 'mysql'"),
    ("nonsense", "not a database URL"),
    ("postgresql://u@db.example/tracker", None),
    ("postgres://u@db.example:5433/tracker?sslmode=require", None),
    ("sqlite:////srv/tracker/tracker.db", None),
])
def test_url_problem_table(url: str, problem: str | None) -> None:
    found = db.url_problem(url)
    assert found is None if problem is None else problem in (found or "")


@pytest.mark.parametrize("url", ["postgresql://u@h:notaport/db", "postgresql://[::1",
                                 "postgresql://u:hunter2@h:notaport/db", "mysql://u@h/db"])
@pytest.mark.parametrize("command", [("status",), ("db", "current"), ("db", "upgrade"),
                                     ("platform", "list"), ("init",)])
def test_unusable_database_url_is_one_line_for_every_command(
        sqlite_ws: Cli, tmp_path: Path, url: str, command: tuple[str, ...]) -> None:
    env = {"TRACKER_DATABASE_URL": url}
    if command == ("init",):
        result = run("init", str(tmp_path / "other"), env=env)
        assert not (tmp_path / "other").exists()
    else:
        result = sqlite_ws.run(*command, ok=False, env=env)
    one_error(result, "TRACKER_DATABASE_URL")
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.postgres
def test_db_current_shows_the_url_with_its_passwords_masked(sqlite_ws: Cli) -> None:
    from conftest import _postgres_or_fail

    _postgres_or_fail().dispose()
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}password=hunter2"  # trust auth: the password is not needed
    result = sqlite_ws.run("db", "current", env={"TRACKER_DATABASE_URL": url})
    assert "password=***" in result.stdout and "hunter2" not in result.stdout
    unreachable = "postgresql://u:hunter2@127.0.0.1:1/db?password=hunter2"
    result = sqlite_ws.run("db", "current", ok=False,
                           env={"TRACKER_DATABASE_URL": unreachable})
    one_error(result, "u:***@127.0.0.1:1/db?password=***")
    assert "hunter2" not in result.stdout + result.stderr


# ------------------------------------------------------------------ tracker.toml encodings


def test_section_that_is_not_a_table_is_one_line(sqlite_ws: Cli) -> None:
    (sqlite_ws.workspace / "tracker.toml").write_text('organisation = "HC"\n', encoding="utf-8")
    one_error(sqlite_ws.run("status", ok=False), "organisation", "must be a section")


@pytest.mark.parametrize("text", ["[smtp]\nport = inf\n", "[smtp]\ntimeout = nan\n",
                                  "[imap]\ntimeout = -inf\n"])
def test_infinite_numbers_in_tracker_toml_are_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "tracker.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="has the wrong type"):
        load_settings(tmp_path, env={})


def test_utf8_bom_in_tracker_toml_is_read(tmp_path: Path) -> None:
    text = "[organisation]\nname = \"人權組織\"\n"
    (tmp_path / "tracker.toml").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_settings(tmp_path, env={}).organisation.name == "人權組織"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tracker_toml_says_to_save_it_as_utf8(sqlite_ws: Cli, encoding: str) -> None:
    text = "[organisation]\nname = \"X\"\n"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    (sqlite_ws.workspace / "tracker.toml").write_bytes(bom + text.encode(encoding))
    one_error(sqlite_ws.run("status", ok=False), "UTF-16", "save it as UTF-8")


def test_tracker_toml_in_another_encoding_is_one_line(sqlite_ws: Cli) -> None:
    (sqlite_ws.workspace / "tracker.toml").write_bytes("name = '人權'\n".encode("big5"))
    one_error(sqlite_ws.run("status", ok=False), "not UTF-8", "save it as UTF-8")


# ------------------------------------------------------------------ files and folders


def test_import_of_a_folder_holding_a_folder_named_like_a_message(cli: Cli,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    (folder / "x.eml").mkdir(parents=True)
    shutil.copy(DATA / "reply_subject_tag.eml", folder / "a.eml")
    shutil.copy(DATA / "bounce_postfix_dsn.eml", folder / "x.eml" / "inside.eml")
    assert cli.json("import", str(folder))["screened"] == 2


def test_import_never_opens_a_pipe(cli: Cli, tmp_path: Path) -> None:
    """Reading a named pipe waits for a writer forever: one in the folder is passed over, and
    one given as PATH is refused."""
    folder = tmp_path / "mail"
    folder.mkdir()
    os.mkfifo(folder / "y.eml")
    shutil.copy(DATA / "reply_subject_tag.eml", folder / "a.eml")
    assert cli.json("import", str(folder))["screened"] == 1
    one_error(cli.run("import", str(folder / "y.eml"), ok=False), "not a file or a folder")


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "too large"])
def test_record_reply_reads_only_a_bounded_regular_file(cli: Cli, tmp_path: Path,
                                                        source: str) -> None:
    ref = sent_request(cli)
    if source == "fifo":
        path = tmp_path / "reply.eml"
        os.mkfifo(path)
    elif source == "too large":
        path = tmp_path / "scan.pdf"
        with path.open("wb") as fh:
            fh.truncate(25 * 1024 * 1024 + 1)  # sparse: costs no disk
    else:
        path = Path(source)
    result = cli.run("record-reply", ref, "--on", "2020-06-08", "--file", str(path), ok=False,
                     env=DAY0)
    one_error(result, str(path), "larger than 25 MB" if source == "too large"
              else "not a regular file")
    assert cli.json("status", env=DAY0)[0]["state"] == "awaiting"  # nothing was recorded


def test_read_file_table(tmp_path: Path) -> None:
    from tracker.services.files import read_file

    (tmp_path / "ok.eml").write_bytes(b"x" * 10)
    os.mkfifo(tmp_path / "pipe")
    assert read_file(tmp_path / "ok.eml", limit=10) == b"x" * 10
    for path, limit, message in [(tmp_path / "ok.eml", 9, "larger than"),
                                 (tmp_path / "pipe", 10, "not a regular file"),
                                 (tmp_path, 10, "not a regular file"),
                                 (Path("/dev/zero"), 10, "not a regular file"),
                                 (tmp_path / "missing", 10, "cannot read")]:
        with pytest.raises(InputError, match=message):
            read_file(path, limit=limit)


# ------------------------------------------------------------------ days and ids


def test_check_day_bounds() -> None:
    from tracker.core.clock import check_day

    for day in (date(1900, 1, 1), date(2020, 6, 8), date(2999, 12, 31)):
        assert check_day(day, "--as-of") == day
    for day in (date(1, 1, 1), date(1899, 12, 31), date(3000, 1, 1), date(9999, 12, 31)):
        with pytest.raises(InputError, match="from 1900-01-01 to 2999-12-31"):
            check_day(day, "--as-of")


@pytest.mark.parametrize(("args", "env"), [
    (("report", "weekly", "--as-of", "0001-01-01"), {}),
    (("report", "weekly", "--as-of", "9999-12-31"), {}),
    (("status", "--as-of", "0001-01-01"), {}),
    (("status", "--as-of", "9999-12-31"), {}),
    (("request", "show", "HC-2020-0001", "--as-of", "9999-12-31"), {}),
    (("status",), {"TRACKER_TODAY": "9999-12-31"}),
    (("record-reply", "HC-2020-0001", "--on", "0001-01-01"), DAY0),
    (("request", "new", "--platform", "zoom", "--template", "account-suspension"),
     {"TRACKER_TODAY": "9999-12-30"}),
])
def test_days_outside_what_tracker_counts_are_one_line(cli: Cli, args: tuple[str, ...],
                                                       env: dict[str, str]) -> None:
    assert sent_request(cli) == "HC-2020-0001"
    if args[:2] == ("request", "new"):
        args = (*args, *template_vars(cli))
    one_error(cli.run(*args, ok=False, env=env), "outside the days tracker can count",
              "1900-01-01 to 2999-12-31")


@pytest.mark.parametrize("number", [10**23, 2**63, -(2**63) - 1])
@pytest.mark.parametrize("command", ["dismiss", "link"])
def test_message_id_out_of_range_is_not_found(cli: Cli, number: int, command: str) -> None:
    args = [command, "--", str(number)] + (["HC-2020-0001"] if command == "link" else [])
    one_error(cli.run(*args, ok=False), f"no inbound message {number}")


def test_case_id_out_of_range_is_not_found(cli: Cli) -> None:
    result = cli.run("request", "new", "--platform", "zoom", "--template",
                     "account-suspension", "--case-id", str(10**23), *template_vars(cli),
                     ok=False, env=DAY0)
    one_error(result, f"no case {10**23}")


# ------------------------------------------------------------------ email addresses

# One table for every entry point: (address, accepted).
ADDRESSES = [
    ("privacy@zoom.us", True),
    ("inquiries+hc-2020-0001-abc@hrgroup.example", True),
    ("Privacy@Zoom.US", True),
    ("privacy@bücher.example", True),  # sent as privacy@xn--bcher-kva.example
    ("@zoom.us", False),
    ("a@b", False),
    ("privacy@zoom.us\u202e", False),
    ("\u202eprivacy@zoom.us", False),
    ("privacy@\u2066zoom.us", False),
    ("priv\u200bacy@zoom.us", False),
    ("privacy@zoom.us\x1b[2J", False),
    ("privacy@zoom.us\x00", False),
    ("Zoom <privacy@zoom.us>", False),
    ("a@zoom.us, b@zoom.us", False),
    ("a@zoom.us\r\nBcc: spy@evil.example", False),
    ("a..b@zoom.us", False),
    ('"a b"@zoom.us', False),
    ("a@[127.0.0.1]", False),
    ("a@mail.local", False),
    ("用户@例子.广告", False),  # non-ASCII before the @: cannot go in an ASCII To: header
    ("privacy@zoom.us.", False),
    ("", False),
]


def test_address_validator_table() -> None:
    from tracker.mail.addresses import address_problem, check_address

    wrong = [a for a, ok in ADDRESSES if (address_problem(a) is None) != ok]
    assert wrong == []
    assert check_address("--to", "privacy@bücher.example") == "privacy@xn--bcher-kva.example"
    with pytest.raises(InputError, match=r"--to '@zoom.us' is not a plain email address"):
        check_address("--to", "@zoom.us")


def test_config_checks_addresses_with_the_same_validator(tmp_path: Path) -> None:
    wrong = []
    for address, ok in ADDRESSES:
        if not address:
            continue  # empty means "not set" in tracker.toml
        for section, key, value in (("organisation", "email", address),
                                    ("organisation", "reply_to", address),
                                    ("report", "recipients", [address])):
            (tmp_path / "tracker.toml").write_text(tomli_w.dumps({section: {key: value}}),
                                                   encoding="utf-8")
            try:
                load_settings(tmp_path, env={})
                accepted = True
            except ConfigError as exc:
                assert "is not a plain email address" in str(exc)
                accepted = False
            if accepted != ok:
                wrong.append((section, key, address))
    assert wrong == []


def test_request_new_refuses_what_send_would_refuse(cli: Cli) -> None:
    """Validated at the door: what `request new --to` accepts, `send` accepts too."""
    wrong = []
    for address, ok in ADDRESSES:
        if not address:
            continue  # no --to: the platform's own contact
        result = cli.run("request", "new", "--platform", "zoom", "--template",
                         "account-suspension", "--to", address, "--json", *template_vars(cli),
                         ok=False, env=DAY0)
        if ok:
            if result.exit_code != 0:
                wrong.append((address, result.stderr))
                continue
            ref = json.loads(result.stdout)["ref"]
            sent = cli.run("send", ref, "--dry-run", ok=False, env=DAY0)
            if sent.exit_code != 0:
                wrong.append((address, sent.stderr))
        elif result.exit_code == 0:
            wrong.append((address, "accepted"))
        else:
            one_error(result, "--to", repr(address))
    assert wrong == []


def test_letter_and_envelope_use_the_same_validator() -> None:
    letter = RenderedLetter(subject="Suspension of our account", text="Dear Zoom,\n", html="")
    unreachable = SmtpSettings(host="127.0.0.1", port=1, tls="none", timeout=5)
    wrong = []
    for address, ok in ADDRESSES:
        try:
            build_email(ref="HC-2020-0001", letter=letter, sender_name="HC",
                        sender="inquiries@hrgroup.example", recipient=address, reply_to=None,
                        message_id="<a.b@hrgroup.example>", date=datetime(2020, 6, 8, tzinfo=UTC))
            built = True
        except InputError:
            built = False
        with pytest.raises(SendError) as info:  # refused, or accepted and then unreachable
            mailer.send_raw(unreachable, "inquiries@hrgroup.example", [address],
                            b"Subject: x\r\n\r\nx\r\n")
        enveloped = "not a plain email address" not in str(info.value)
        if (built, enveloped) != (ok, ok):
            wrong.append((address, built, enveloped))
    assert wrong == []


def test_platform_add_checks_addresses_with_the_same_validator(cli: Cli) -> None:
    wrong = []
    for number, (address, ok) in enumerate(ADDRESSES):
        if not address:
            continue  # no --email: the command asks for a contact instead
        result = cli.run("platform", "add", "--slug", f"acme{number}", "--name", "Acme",
                         "--email", address, "--source", "https://acme.example/privacy",
                         ok=False)
        if (result.exit_code == 0) != ok:
            wrong.append((address, result.stderr))
        elif not ok:
            one_error(result, "is not an email address")
    assert wrong == []
