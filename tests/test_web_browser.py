"""The web face in a real browser: Chromium (Playwright) against `tracker serve` in a subprocess,
with a real SMTP server and a real Dovecot, the mailbox watcher running inside the server.

Every page visited is photographed into the test output folder (browser_support.SCREENSHOTS)
and checked with axe-core: no serious or critical accessibility violation anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from browser_support import Served, photograph, serious_violations, sign_in
from click.testing import CliRunner
from conftest import INIT_ARGS
from dovecot import DovecotServer, dovecot_available
from smtp_server import SmtpTestServer

from tracker.cli import main
from tracker.config.loading import load_settings
from tracker.services import users
from tracker.services.workspace import Workspace

PASSWORD = "a long enough passphrase"
USER = "inquiries@hrgroup.example"


@dataclass
class Site:
    served: Served
    workspace: Path
    env: dict[str, str]
    smtp: SmtpTestServer
    imap: DovecotServer

    @property
    def url(self) -> str:
        return self.served.url

    def ws(self) -> Workspace:
        return Workspace(load_settings(self.workspace, self.env), env=self.env)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not dovecot_available():
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed")
        pytest.skip("dovecot is not installed")
    root = tmp_path_factory.mktemp("web")
    workspace = root / "ws"
    with SmtpTestServer() as smtp, DovecotServer(tmp_dir="/tmp") as imap:
        imap_settings = imap.settings()
        env = {
            "TRACKER_SMTP_HOST": smtp.host, "TRACKER_SMTP_PORT": str(smtp.port),
            "TRACKER_SMTP_TLS": "none",
            "TRACKER_IMAP_HOST": imap_settings.host, "TRACKER_IMAP_PORT": str(imap_settings.port),
            "TRACKER_IMAP_USERNAME": imap_settings.username, "TRACKER_IMAP_TLS": "none",
            "TRACKER_IMAP_PASSWORD_COMMAND": imap_settings.password_command,
            "TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": "mx.hrgroup.example",
            "TRACKER_TAG_SECRET": "", "TRACKER_DATABASE_URL": "", "DATABASE_URL": "",
        }
        env = {k: v for k, v in env.items() if v}
        result = CliRunner().invoke(main, ["init", str(workspace), *INIT_ARGS], env=env,
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        ws = Workspace(load_settings(workspace, env), env=env)
        for role in ("viewer", "editor", "admin"):
            users.add_user(ws, role, role, PASSWORD, datetime.now(UTC))
        ws.close()
        served = Served(workspace, env, root / "serve.log")
        try:
            yield Site(served, workspace, env, smtp, imap)
        finally:
            code = served.stop()
            output = served.output()
            assert "Traceback" not in output, output[-4000:]
            assert code in (0, -15, 143), output[-2000:]


@pytest.fixture
def page(site: Site, chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # A Content-Security-Policy violation or a script error shows in the console. A page that
    # answers 401, 403 or 404 on purpose is logged there too: those are checked by the tests,
    # and what the page itself loads (scripts, styles, icons) must never fail.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    yield page
    context.close()
    assert errors == []


def visit(page: Any, site: Site, path: str, shot: str) -> None:
    """Open *path*, photograph it, and check it with axe-core."""
    page.goto(site.url + path)
    photograph(page, shot)
    assert serious_violations(page) == [], path


def test_sign_in_see_the_dashboard_and_sign_out(site: Site, page: Any) -> None:
    page.goto(site.url + "/")
    assert page.url.startswith(site.url + "/login")
    photograph(page, "login")
    assert serious_violations(page) == []
    sign_in(page, site.url, "editor", PASSWORD)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    visit(page, site, "/", "dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site.url + "/login")
    assert page.get_by_role("status").inner_text() == "you are signed out"


def test_a_wrong_password_is_said_plainly(site: Site, page: Any) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Name").fill("editor")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    assert "sign-in failed" in page.get_by_role("alert").inner_text()


def test_admin_pages_and_an_account_added_in_the_browser(site: Site, page: Any) -> None:
    sign_in(page, site.url, "admin", PASSWORD)
    visit(page, site, "/users", "users")
    page.get_by_label("Name", exact=True).fill("dora")
    page.get_by_label("Password").fill("dora's long passphrase")
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Add").click()
    assert "added dora (editor)" in page.get_by_role("status").inner_text()
    visit(page, site, "/account", "account")
    ws = site.ws()
    try:
        assert ("dora", "editor") in {(u.name, u.role) for u in users.list_users(ws)}
    finally:
        ws.close()
