"""Shared fixtures: workspaces on real SQLite and real PostgreSQL, and a CLI runner."""

from __future__ import annotations

import os

# pytest-xdist's workers set COLUMNS=80; tracker's piped output is as wide as COLUMNS says, and
# the tests read tables as a reader's 140-column pipe gets them.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from tracker.cli import main
from tracker.store.db import normalise_url

POSTGRES_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_or_fail() -> sa.Engine:
    engine = sa.create_engine(normalise_url(POSTGRES_URL))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("select 1"))
            # In public, once: a test schema that created it would take its operator classes
            # (and every other schema's trigram indexes) along when it is dropped.
            conn.execute(sa.text("select pg_advisory_xact_lock(7310)"))
            conn.execute(sa.text("create extension if not exists pg_trgm schema public"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing service is a failure, never a skip
        pytest.skip(message)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    engine = _postgres_or_fail()
    schema = f"t_{secrets.token_hex(6)}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{normalise_url(POSTGRES_URL)}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            # A connection the test left in a transaction would make the drop wait for ever:
            # fail soon and say so instead.
            conn.execute(sa.text("set local lock_timeout = '20s'"))
            try:
                conn.execute(sa.text(f'drop schema "{schema}" cascade'))
            except sa.exc.OperationalError as exc:
                pytest.fail(f"the test left a connection to schema {schema} open (close "
                            f"every Session it made): {str(exc).splitlines()[0]}")
        engine.dispose()


@dataclass
class Cli:
    """Runs `tracker` in-process against one workspace, with a fixed environment."""

    workspace: Path
    env: dict[str, str | None] = field(default_factory=dict)

    check: bool = True  # check the record's invariants after every command
    _seen: tuple[Any, ...] = ()

    def run(self, *args: str, ok: bool = True, env: dict[str, str | None] | None = None) -> Result:
        runner = CliRunner()
        merged = {**self.env, **(env or {})}
        result = runner.invoke(main, ["--workspace", str(self.workspace), *args],
                               env=merged, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"tracker {' '.join(args)} exited {result.exit_code}:\n"
                                 f"{result.output}{result.stderr}")
        if self.check:
            self.check_invariants(merged, args)
        return result

    def check_invariants(self, env: dict[str, str | None], args: tuple[str, ...] = ()) -> None:
        """What is stored equals what the messages and events imply (tracker.invariants).

        Skipped when no message or event was added or changed since the last check.
        """
        from tracker.config.loading import load_settings
        from tracker.core.errors import TrackerError
        from tracker.services.invariants import check_invariants
        from tracker.services.workspace import Workspace
        from tracker.store.db import transaction

        full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        try:
            ws = Workspace(load_settings(self.workspace, full), env=full)
            with transaction(ws.engine) as session:
                seen = tuple(session.execute(sa.text(
                    "select (select count(*) from event), (select max(id) from event), "
                    "(select max(id) from message), (select count(*) from message where "
                    "triage = 'pending'), (select count(*) from request)")).one())
                if seen == self._seen:
                    return
                self._seen = seen
                today = date.fromisoformat(full["TRACKER_TODAY"]) if full.get(
                    "TRACKER_TODAY") else date.today()
                problems = check_invariants(ws, session, today)
        except TrackerError:
            return  # no workspace (yet), a read-only or broken one: the command said so
        finally:
            if "ws" in locals():
                ws.close()
        assert not problems, f"after `tracker {' '.join(args)}`: {problems}"

    def json(self, *args: str, env: dict[str, str | None] | None = None) -> Any:
        return json.loads(self.run(*args, "--json", env=env).stdout)


INIT_ARGS = ["--org-name", "Humanitarian China", "--signatory", "Zhou Fengsuo",
             "--email", "inquiries@hrgroup.example", "--reply-to", "inquiries@hrgroup.example",
             "--reference-prefix", "HC", "--timezone", "Europe/Berlin", "--country", "DE"]


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    """A workspace initialised through `tracker init`, on SQLite and on PostgreSQL."""
    ws = tmp_path / "ws"
    env: dict[str, str | None] = {"TRACKER_DATABASE_URL": database_url, "TRACKER_TAG_SECRET": None,
           "TRACKER_TODAY": None, "TRACKER_WORKSPACE": None, "DATABASE_URL": None}
    result = CliRunner().invoke(main, ["init", str(ws), *INIT_ARGS], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return Cli(workspace=ws, env=env)


def border_received(sender_domain: str, date: str, border: str = "mx.hrgroup.example") -> str:
    """The Received header our border adds when it takes a message from *sender_domain*.

    Our border's Authentication-Results count only above it (see tracker.authenticity).
    """
    return (f"from mail.{sender_domain} (mail.{sender_domain} [192.0.2.25]) by {border} "
            f"(Postfix) with ESMTPS id 4TqZ9x0Wk; {date}")


def bounce(recipient: str, letter_id: str, day: str = "2020-06-09") -> bytes:
    """A Postfix-style RFC 3464 bounce of our letter *letter_id* to *recipient*."""
    from datetime import date

    d = date.fromisoformat(day)
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mail.hrgroup.example>\r\n"
        "To: inquiries@hrgroup.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {d:%a}, {d.day} {d:%b %Y} 10:00:00 +0200\r\n"
        f"Message-ID: <dsn{secrets.token_hex(4)}@mail.hrgroup.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
        ' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n'
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; "
        f"mail.hrgroup.example\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"To: {recipient}\r\nMessage-ID: {letter_id}\r\n\r\n--b--\r\n"
    ).encode()


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace with one person of each role, built once; tests get copies."""
    from web_client import make_site

    from tracker.services.demo import build_demo

    path = tmp_path_factory.mktemp("demo-template") / "demo"
    build_demo(path).close()
    make_site(path).ws.close()
    return path


@pytest.fixture
def demo_site(tmp_path: Path, _demo_template: Path) -> Iterator[Any]:
    """The demo workspace (a case, requests, replies, the inbox) served in-process, with one
    person of each role (tests/web_client.py)."""
    import shutil

    from web_client import make_site

    path = tmp_path / "demo"
    shutil.copytree(_demo_template, path)
    site = make_site(path, {"TRACKER_TODAY": "2020-07-20"})
    yield site
    site.ws.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium for the browser tests (tests/browser_support.py)."""
    from browser_support import launch_chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
