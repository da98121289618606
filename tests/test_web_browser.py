"""The web face in a real browser: Chromium (Playwright) against `tracker serve` in a subprocess,
with a real SMTP server and a real Dovecot, the mailbox watcher running inside the server.

Every page visited is photographed into the test output folder (browser_support.SCREENSHOTS)
and checked with axe-core: no serious or critical accessibility violation anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
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
from oauth_server import FakeOAuthServer
from smtp_server import SmtpTestServer
from test_receipts import PNG

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
    oauth: FakeOAuthServer

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
    with SmtpTestServer() as smtp, DovecotServer(tmp_dir="/tmp") as imap, \
            FakeOAuthServer(device_script=["authorization_pending"]) as oauth:
        imap_settings = imap.settings()
        env = {
            # The sign-in server, should a test connect the mailbox to "Microsoft" (the
            # password below still logs in to IMAP: it comes first).
            "TRACKER_AUTH_AUTHORITY": f"{oauth.url}/organizations",
            "TRACKER_AUTH_CA_FILE": oauth.ca_file, "TRACKER_AUTH_TOKEN_STORE": "file",
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
            yield Site(served, workspace, env, smtp, imap, oauth)
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
    page.get_by_label("Password", exact=True).fill("dora's long passphrase")
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Add").click()
    assert "added dora (editor)" in page.get_by_role("status").inner_text()
    visit(page, site, "/account", "account")
    ws = site.ws()
    try:
        assert ("dora", "editor") in {(u.name, u.role) for u in users.list_users(ws)}
    finally:
        ws.close()


def _reply(subject: str, sender: str, in_reply_to: str = "") -> bytes:
    """A reply as it arrives now, with our border's Authentication-Results for its domain."""
    import random
    from email import policy
    from email.message import EmailMessage
    from email.utils import format_datetime

    domain = sender.rpartition("@")[2]
    now = format_datetime(datetime.now(UTC))
    msg = EmailMessage()
    msg["Authentication-Results"] = (f"mx.hrgroup.example; dkim=pass header.d={domain}; "
                                     f"dmarc=pass header.from={domain}")
    msg["Received"] = (f"from mail.{domain} (mail.{domain} [192.0.2.7]) by mx.hrgroup.example "
                       f"(Postfix) with ESMTPS id 4TqZ; {now}")
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = sender, USER, subject, now
    msg["Message-ID"] = f"<{random.getrandbits(64):x}@{domain}>"
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content("We have reviewed the suspension of your account and will answer in full.")
    return msg.as_bytes(policy=policy.SMTP)


def _until(page: Any, url: str, selector: str, text: str, seconds: float = 60) -> None:
    """Reload *url* until its *selector* shows *text* (mail comes through the server's
    watcher)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        found = page.locator(selector)
        if found.count() and text in found.first.inner_text():
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} never showed {text!r} in {selector}: "
                         f"{page.inner_text('main')[:2000]}")


def test_the_whole_cycle_in_the_browser(site: Site, page: Any, tmp_path: Path) -> None:
    """Create a request with the guided form, preview it in both languages, send it to the SMTP
    server, see the reply Dovecot delivers appear (the watcher runs inside `tracker serve`),
    link a help-desk answer from the inbox, extend, close, download the evidence bundle and
    verify it by upload."""
    import email
    from email import policy

    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of data-confirm
    sign_in(page, site.url, "editor", PASSWORD)
    visit(page, site, "/requests/new", "new-request")
    page.locator("#f-platform").select_option("zoom")
    page.locator("#f-template").select_option("account-suspension")
    page.get_by_role("button", name="Show the fields for this platform and template").click()
    ws = site.ws()
    try:
        template = ws.templates[("account-suspension", "en")]
    finally:
        ws.close()
    for variable in template.variables:
        page.locator(f'[name="var.{variable.name}"]').fill(variable.example or "a value")
    photograph(page, "new-request-filled")
    page.get_by_role("button", name="Preview the letter").click()
    english, chinese = page.locator("#letter-en"), page.locator("#letter-zh-Hans")
    assert english.is_visible() and chinese.is_visible()
    assert "account" in english.inner_text().lower()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese.inner_text())
    photograph(page, "new-request-preview")
    assert serious_violations(page) == []
    page.get_by_label("I have read the letter").check()
    page.get_by_role("button", name="Send now").click()
    page.wait_for_url(f"{site.url}/requests/HC-*")
    ref = page.url.rsplit("/", 1)[1]
    assert len(site.smtp.messages) == 1
    sent = email.message_from_bytes(site.smtp.messages[0].raw, policy=policy.default)
    assert f"[{ref}]" in str(sent["Subject"])
    visit(page, site, f"/requests/{ref}", "request-sent")
    # While it waits, the platform asks for two more weeks.
    page.get_by_label("By how long").fill("14d")
    page.get_by_label("Who extended it and why").fill("they asked for two more weeks")
    page.get_by_role("button", name="Extend", exact=True).click()
    assert "extended" in page.get_by_role("status").inner_text()

    # The platform answers; the watcher inside the server stores it.
    site.imap.append(_reply(f"Re: {sent['Subject']}", "legal@zoom.us",
                            str(sent["Message-ID"])))
    _until(page, f"{site.url}/requests/{ref}", "p.state strong", "answered")
    photograph(page, "request-answered")
    # A help desk answers from a domain the directory does not list: it waits in the inbox.
    site.imap.append(_reply(f"[{ref}] About your letter", "agent@zoom.zendesk.com"))
    _until(page, f"{site.url}/inbox", "main", "agent@zoom.zendesk.com")
    photograph(page, "inbox")
    assert serious_violations(page) == []
    item = page.locator("article, li, section").filter(has_text="agent@zoom.zendesk.com").last
    item.get_by_label("for the request's platform").check()
    item.get_by_role("button", name="Link", exact=True).click()
    assert "linked" in page.get_by_role("status").inner_text()

    # Close.
    page.goto(f"{site.url}/requests/{ref}")
    page.get_by_label("How it ended").select_option("answered")
    page.get_by_role("button", name="Close the request").click()
    assert "closed" in page.get_by_role("status").inner_text()
    photograph(page, "request-closed")
    timeline = page.locator("#h-timeline ~ *").first.inner_text()
    assert "editor" in timeline  # who did what

    # The evidence bundle, downloaded and verified by upload.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the evidence bundle (.zip)").click()
    bundle = tmp_path / download.value.suggested_filename
    download.value.save_as(bundle)
    visit(page, site, "/evidence", "evidence")
    page.get_by_label("Bundle (.zip)").set_input_files(str(bundle))
    page.get_by_role("button", name="Verify", exact=True).click()
    result = page.inner_text("main")
    assert re.search(r"OK: \d+ files .* verified", result), result
    photograph(page, "evidence-verified")
    assert serious_violations(page) == []


def test_a_letter_printed_posted_and_its_receipt_kept_in_the_browser(
        site: Site, page: Any, tmp_path: Path) -> None:
    """Download the letter's PDF, record it as posted with a scanned receipt and a tracking
    number, and see both kept, each with its hash."""
    made = CliRunner().invoke(main, [
        "--workspace", str(site.workspace), "request", "new", "--platform", "zoom",
        "--template", "gdpr-access", "--case", "posted", "--var", "account=hr@example.org",
        "--var", "data_subject=Chen Hua", "--channel", "post", "--json"], env=site.env,
        catch_exceptions=False)
    assert made.exit_code == 0, made.output
    ref = json.loads(made.stdout)["ref"]
    sign_in(page, site.url, "editor", PASSWORD)
    visit(page, site, f"/requests/{ref}", "request-post-draft")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the letter as PDF, to print").click()
    printed = tmp_path / download.value.suggested_filename
    download.value.save_as(printed)
    assert printed.read_bytes().startswith(b"%PDF-") and printed.name.startswith(ref)
    scan = tmp_path / "post-office-receipt.png"
    scan.write_bytes(PNG)
    form = page.locator("#act-mark-sent")
    form.get_by_label("How it went out").select_option("post")
    form.get_by_label("Proof it went").set_input_files(str(scan))
    form.get_by_label("Tracking number (registered post)").fill("RR123456785DE")
    form.get_by_role("button", name="Record as sent").click()
    said = page.get_by_role("status").inner_text()
    assert "kept post-office-receipt.png" in said and "Deutsche Post" in said
    kept = page.locator("table.documents")
    assert kept.locator("tbody tr").count() == 2
    assert "post-office-receipt.png" in kept.inner_text()
    digest = hashlib.sha256(printed.read_bytes()).hexdigest()
    assert digest in kept.inner_text()  # the PDF kept is the one printed today
    photograph(page, "request-posted")
    assert serious_violations(page) == []


@pytest.mark.parametrize("path", ["/platforms", "/platforms/zoom", "/templates",
                                  "/templates/account-suspension", "/report", "/stats",
                                  "/settings", "/settings/mail", "/inbox", "/requests/new"])
def test_every_page_is_accessible(site: Site, page: Any, path: str) -> None:
    sign_in(page, site.url, "admin", PASSWORD)
    visit(page, site, path, "page" + path.replace("/", "-"))


def test_the_demo_in_the_browser(chromium: Any, tmp_path: Path, _demo_template: Path) -> None:
    """The demo workspace's pages, full of data (a forged-looking reply, a bounce, an
    extension), pass axe; their photographs are the README's (docs/images/)."""
    import shutil

    path = tmp_path / "demo"
    shutil.copytree(_demo_template, path)
    served = Served(path, {"TRACKER_TODAY": "2020-07-20"}, tmp_path / "serve.log")
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        sign_in(page, served.url, "editor", PASSWORD)
        for name, where in [("demo-dashboard", "/"), ("demo-request", "/requests/HC-2020-0001"),
                            ("demo-inbox", "/inbox"), ("demo-report", "/report")]:
            page.goto(served.url + where)
            photograph(page, name, full_page=name != "demo-request")
            assert serious_violations(page) == [], where
        page.goto(served.url + "/requests/HC-2020-0001")
        assert "suspicious" in page.locator("p.state").inner_text()
    finally:
        context.close()
        served.stop()
    assert "Traceback" not in served.output()


def test_an_admin_signs_the_mailbox_in_with_a_device_code(site: Site, page: Any) -> None:
    """Last in this module: it connects the shared workspace to the (fake) Microsoft."""
    sign_in(page, site.url, "admin", PASSWORD)
    page.goto(site.url + "/settings")
    page.get_by_role("link", name="Connect the mailbox").click()
    page.get_by_label("Who runs the mailbox").select_option("microsoft365")
    page.get_by_label("The mailbox's address (also its login name)").fill("staff@hrgroup.example")
    page.get_by_label("Client id").fill(site.oauth.client_id)
    page.get_by_role("button", name="Save").click()
    assert "setting(s) changed" in page.inner_text("main")
    assert "Nobody is signed in" in page.inner_text(".signin-state")
    page.get_by_label("How to sign in").select_option("device")
    page.get_by_role("button", name="Sign in", exact=True).click()
    code = page.inner_text(".user-code").strip()
    assert len(code) == 9
    photograph(page, "mail-sign-in-code")
    assert serious_violations(page) == []
    # The fake approves the code at its first poll; htmx asks this page every 2 s.
    page.wait_for_selector(".status-done", timeout=30_000)
    assert "Signed in as staff" in page.inner_text("#sign-in-state")
    photograph(page, "mail-signed-in")
    page.goto(site.url + "/settings/mail")
    assert "staff" in page.inner_text(".signin-account")
