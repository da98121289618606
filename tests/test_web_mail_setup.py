"""Settings, Connect the mailbox, in the web face: an admin sets up Microsoft 365, signs in
with a device code (the fake Microsoft of tests/oauth_server.py), and tests both connections
against a real Dovecot and aiosmtpd taking XOAUTH2."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imapclient
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from conftest import Cli
from dovecot import PASSWORD, DovecotServer
from oauth_server import FakeOAuthServer
from smtp_server import SmtpTestServer
from web_client import Site, make_site

from tracker.config.loading import load_settings
from tracker.web.rendering import _outside_link


# Signing in touches the database only to record who did it: SQLite is enough here (the
# stores are tested on both elsewhere), and these tests wait on real servers.
@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"

ADDRESS = "inquiries@hrgroup.example"


@pytest.fixture
def servers() -> Iterator[tuple[FakeOAuthServer, DovecotServer, SmtpTestServer]]:
    with FakeOAuthServer(user=ADDRESS, device_script=["authorization_pending"]) as oauth, \
            DovecotServer(oauth2_introspection_url=oauth.introspection_url) as imap, \
            SmtpTestServer(xoauth2=oauth.is_valid) as smtp:
        users = imap.root / "users"  # the mailbox as Exchange has it, with its Sent Items
        users.write_text(users.read_text() + f"{ADDRESS}:{{PLAIN}}{PASSWORD}\n")
        with imapclient.IMAPClient(imap.host, imap.port, ssl=False) as client:
            client.login(ADDRESS, PASSWORD)
            client.create_folder("Sent Items")
        yield oauth, imap, smtp


@pytest.fixture
def site(cli: Cli, servers: tuple[FakeOAuthServer, DovecotServer, SmtpTestServer],
         ) -> Iterator[Site]:
    oauth, imap, smtp = servers
    env = {k: v for k, v in cli.env.items() if v is not None}
    env.update({  # where the presets' hosts really are here, and the fake Microsoft
        "TRACKER_IMAP_HOST": imap.host, "TRACKER_IMAP_PORT": str(imap.port),
        "TRACKER_IMAP_TLS": "none", "TRACKER_SMTP_HOST": "127.0.0.1",
        "TRACKER_SMTP_PORT": str(smtp.port), "TRACKER_SMTP_TLS": "none",
        "TRACKER_AUTH_AUTHORITY": f"{oauth.url}/organizations",
        "TRACKER_AUTH_CA_FILE": oauth.ca_file, "TRACKER_AUTH_TOKEN_STORE": "file"})
    made = make_site(cli.workspace, env)
    yield made
    made.ws.close()


def _events(site: Site, kind: str) -> list[Any]:
    with site.ws.engine.connect() as conn:
        return list(conn.execute(sa.text("select actor, data from event where kind = :k"),
                                 {"k": kind}))


def _text(page: BeautifulSoup, selector: str) -> str:
    found = page.select_one(selector)
    assert found is not None, f"no {selector} on the page"
    return " ".join(found.get_text(" ").split())


def test_an_admin_connects_microsoft_365_from_the_browser(
        site: Site, servers: tuple[FakeOAuthServer, DovecotServer, SmtpTestServer]) -> None:
    oauth, _imap, smtp = servers
    admin = site.signed_in("admin")
    token = admin.session_token()
    saved = admin.post("/settings/mail", {"provider": "microsoft365", "address": "staff",
                                          "client_id": oauth.client_id}, token=token)
    assert saved.status_code == 400 and "not usable" in saved.text  # "staff" is no address
    saved = admin.post("/settings/mail", {"provider": "microsoft365",
                                          "address": ADDRESS,
                                          "client_id": oauth.client_id}, token=token)
    assert saved.status_code == 303
    settings = load_settings(site.path, {})
    assert settings.imap.host == "outlook.office365.com" and settings.auth.provider == "microsoft"
    assert settings.imap.sent_folder == "Sent Items" and settings.smtp.port == 587
    assert [actor for actor, _data in _events(site, "settings_changed")] == ["admin"]
    page = admin.page("/settings/mail")
    assert "Nobody is signed in" in _text(page, ".signin-state")
    assert site.ws.settings.auth.provider == "microsoft", "the server read the file again"

    started = admin.post("/settings/mail/sign-in", {"flow": "device"}, token=token)
    assert started.status_code == 303
    attempt_page = started.headers["location"]
    page = admin.page(attempt_page)
    code = _text(page, ".user-code")
    assert len(code) == 9 and page.select_one("a.verification-url")["href"].startswith(oauth.url)
    deadline = time.monotonic() + 30
    while "Signed in as" not in (fragment := admin.get(
            attempt_page, headers={"hx-request": "true"}).text):
        assert 'hx-trigger="every 2s"' in fragment, "the page asks again until it is done"
        assert time.monotonic() < deadline, "the device sign-in did not finish"
        time.sleep(0.3)
    assert "hx-trigger" not in fragment, "a finished sign-in stops polling"
    assert [actor for actor, _data in _events(site, "mailbox_signed_in")] == ["admin"]
    assert ADDRESS in _text(admin.page("/settings/mail"), ".signin-account")

    checked = admin.post("/settings/mail/test", token=token)
    page = BeautifulSoup(checked.text, "html.parser")
    results = [" ".join(li.get_text(" ").split()) for li in page.select("li.check")]
    assert [r.split(":")[0].strip() for r in results] == ["IMAP", "SMTP"]
    assert all("works" in r and "NOT" not in r for r in results), results
    assert smtp.messages == [], "the test sends nothing"

    out = admin.post("/settings/mail/sign-out", token=token)
    assert out.status_code == 303 and _events(site, "mailbox_signed_out")


def test_editors_and_viewers_cannot_connect_the_mailbox(site: Site) -> None:
    for role in ("viewer", "editor"):
        browser = site.signed_in(role)
        assert browser.get("/settings/mail").status_code == 403
        token = browser.session_token()
        refused = browser.post("/settings/mail/sign-in", {"flow": "device"}, token=token)
        assert refused.status_code == 403


@pytest.mark.parametrize(("url", "shown"), [
    ("https://microsoft.com/devicelogin", "https://microsoft.com/devicelogin"),
    ("http://127.0.0.1:8400/", "http://127.0.0.1:8400/"),
    ("http://evil.example/", "about:blank"),
    ("javascript:alert(1)", "about:blank"),
    ("data:text/html,<script>", "about:blank"),
    ("//evil.example/", "about:blank"),
])
def test_a_sign_in_link_from_outside_is_only_https_or_loopback(url: str, shown: str) -> None:
    assert _outside_link(url) == shown
