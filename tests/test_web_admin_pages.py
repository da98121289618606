"""The web's reading pages and their few actions: platforms (with the admins' override form),
templates, the weekly report and its downloads, statistics, evidence bundles, settings.

Everything runs on the demo workspace served in-process (tests/web_client.py), as of the demo's
day; pages are read as parsed HTML and compared with what the services and the CLI give.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from conftest import Cli
from web_client import Browser, Site, make_site

from tracker.evidence import export_bundle
from tracker.jobs.watch import WatchState
from tracker.report import read_platform_stats
from tracker.services.demo import build_demo
from tracker.store import db
from tracker.store.models import Event, FolderState, ScheduleRun
from tracker.web.views import evidence as evidence_view

TODAY = "2020-07-20"
DOWNLOADS = {"html": ("text/html", "html"), "markdown": ("text/markdown", "md"),
             "text": ("text/plain", "txt"), "csv": ("text/csv", "csv"),
             "json": ("application/json", "json")}


def _inert(page: BeautifulSoup) -> None:
    """No script but tracker's own files, no handler attributes, no javascript: link."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith("/static/") and not script.string, script
    for element in page.find_all(True):
        assert not [a for a in element.attrs if a.lower().startswith("on")], element
        for attribute in ("href", "src", "action"):
            assert not str(element.get(attribute, "")).lower().startswith("javascript:")


def _texts(table: object) -> list[list[str]]:
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"])]
            for row in table.find("tbody").find_all("tr")]  # type: ignore[attr-defined]


def _cli(site: Site) -> Cli:
    return Cli(workspace=site.path, env={"TRACKER_TODAY": TODAY, "TRACKER_WORKSPACE": None,
                                         "TRACKER_DATABASE_URL": None}, check=False)


# ------------------------------------------------------------------ platforms


def test_the_platform_pages_show_the_directory_to_a_viewer(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    listing = viewer.page("/platforms")
    rows = _texts(listing.find("table", class_="platforms"))
    assert [r[0] for r in rows] == sorted(demo_site.ws.platforms)
    assert listing.find("form", action="/platforms") is None  # the override form is for admins
    _inert(listing)
    zoom = demo_site.ws.platforms["zoom"]
    page = viewer.page("/platforms/zoom")
    assert page.find("h1").get_text(" ", strip=True).startswith(zoom.name)
    contacts = _texts(page.find("table", class_="contacts"))
    assert [(r[0], r[1], r[2]) for r in contacts] == [(c.purpose, c.channel, c.value)
                                                      for c in zoom.contacts]
    assert contacts[0][5].startswith(zoom.contacts[0].checked.isoformat())  # type: ignore[union-attr]
    entities = _texts(page.find("table", class_="entities"))
    assert [r[1] for r in entities] == [e.name for e in zoom.entities]
    assert page.find("dd", class_="reply-domains").get_text() == ", ".join(zoom.reply_domains)
    assert page.find("a", href=zoom.contacts[0].source) is not None
    assert page.find("h2", id="h-authority") is not None
    assert page.find("form", action="/platforms") is None
    assert viewer.get("/platforms/no-such-platform").status_code == 404


def test_a_platform_with_a_lead_authority_names_it(demo_site: Site) -> None:
    from tracker.directory.authorities import load_authorities

    led = next(p for p in demo_site.ws.platforms.values() if p.lead_authority)
    page = demo_site.signed_in("viewer").page(f"/platforms/{led.slug}")
    shown = page.find("dl", class_="authority").get_text(" ", strip=True)
    assert load_authorities()[led.lead_authority].name in shown


OVERRIDE = {"slug": "zoom", "name": "Zoom (our record)", "source": "https://zoom.us/privacy",
            "email": "privacy@zoom.example", "purpose": "dpo", "region": "EU",
            "reply_domains": "zoom.us, zoom.example", "laws": ["GDPR", "DSA"], "language": "en"}


def test_an_admin_overrides_a_platform_and_every_page_sees_it(demo_site: Site) -> None:
    admin = demo_site.signed_in("admin")
    page = admin.page("/platforms/zoom")
    form = page.find("form", action="/platforms")
    assert form is not None and form.find("input", attrs={"name": "csrf_token"})
    for name in ("slug", "name", "source", "email", "reply_domains"):
        assert form.find("label", attrs={"for": f"f-{name}"}), name
    response = admin.post("/platforms", OVERRIDE, token=admin.session_token())
    assert response.status_code == 303 and response.headers["location"] == "/platforms/zoom"
    zoom = demo_site.ws.platforms["zoom"]  # the app's own workspace, refreshed
    assert (zoom.name, zoom.origin, zoom.reply_domains) == (
        "Zoom (our record)", "workspace", ("zoom.us", "zoom.example"))
    assert [(c.purpose, c.value, c.checked.isoformat()) for c in zoom.contacts] == [  # type: ignore[union-attr]
        ("dpo", "privacy@zoom.example", TODAY)]
    assert (demo_site.path / "platforms" / "zoom.toml").is_file()
    shown = admin.page("/platforms/zoom")
    assert shown.find("h1").get_text(" ", strip=True).startswith("Zoom (our record)")
    assert "privacy@zoom.example" in [r[2] for r in _texts(shown.find("table", class_="contacts"))]
    assert shown.find("p", class_="flash").get_text().startswith("saved")
    # Another person's next request sees it too (a per-person copy of the workspace).
    listing = demo_site.signed_in("viewer").page("/platforms")
    assert ["zoom", "Zoom (our record)"] in [r[:2] for r in _texts(listing.find("table"))]
    with db.transaction(demo_site.ws.engine) as session:
        event = session.execute(sa.select(Event).where(Event.kind == "platform-saved")).scalar_one()
        assert (event.actor, event.data) == ("admin", {"slug": "zoom"})


def test_saving_over_a_workspace_record_needs_replace(demo_site: Site) -> None:
    admin = demo_site.signed_in("admin")
    token = admin.session_token()
    assert admin.post("/platforms", OVERRIDE, token=token).status_code == 303
    again = admin.post("/platforms", {**OVERRIDE, "name": "Zoom again"}, token=token)
    assert again.status_code == 400
    page = BeautifulSoup(again.text, "html.parser")
    assert "replace it" in page.find(role="alert").get_text()
    assert page.find("input", attrs={"name": "name"})["value"] == "Zoom again"  # kept
    assert demo_site.ws.platforms["zoom"].name == "Zoom (our record)"
    replaced = admin.post("/platforms", {**OVERRIDE, "name": "Zoom again", "replace": "true"},
                          token=token)
    assert replaced.status_code == 303
    assert demo_site.ws.platforms["zoom"].name == "Zoom again"


@pytest.mark.parametrize(("change", "words"), [
    ({"email": "not an address"}, "is not an email address"),
    ({"email": "", "webform": "", "postal_address": ""}, "at least one of"),
    ({"slug": "Bad Slug!"}, "slug"),
    ({"source": "javascript:alert(1)"}, "source"),
    ({"laws": ["NOT-A-LAW"]}, "NOT-A-LAW"),
])
def test_a_wrong_platform_record_is_refused_in_plain_words(
        demo_site: Site, change: dict[str, object], words: str) -> None:
    admin = demo_site.signed_in("admin")
    response = admin.post("/platforms", {**OVERRIDE, "slug": "acme", **change},
                          token=admin.session_token())
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    error = page.find(role="alert").get_text()
    assert words in error and "Traceback" not in response.text
    assert "\n" not in error.strip()
    _inert(page)
    assert not (demo_site.path / "platforms" / "acme.toml").exists()
    assert "acme" not in demo_site.ws.platforms


def test_hostile_text_in_a_platform_record_stays_text(demo_site: Site) -> None:
    admin = demo_site.signed_in("admin")
    hostile = {**OVERRIDE, "slug": "acme", "name": "<script>alert(1)</script>Acme\u202e",
               "postal_address": "<img src=https://evil.example/x.png>\n1 Road"}
    assert admin.post("/platforms", hostile, token=admin.session_token()).status_code == 303
    page = admin.page("/platforms/acme")
    _inert(page)
    assert not page.find("img")
    assert "<script>alert(1)</script>Acme\ufffd" in page.find("h1").get_text()


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_only_an_admin_may_save_a_platform(demo_site: Site, who: str) -> None:
    browser = demo_site.signed_in(who)
    response = browser.post("/platforms", {**OVERRIDE, "slug": "acme"},
                            token=browser.session_token())
    assert response.status_code == 403
    assert not (demo_site.path / "platforms" / "acme.toml").exists()
    assert "acme" not in demo_site.ws.platforms


# ------------------------------------------------------------------ templates


def test_the_templates_pages_show_purpose_languages_variables_and_text(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    templates = demo_site.ws.templates
    listing = viewer.page("/templates")
    rows = _texts(listing.find("table", class_="templates"))
    assert [r[0] for r in rows] == sorted({tid for tid, _ in templates})
    page = viewer.page("/templates/account-suspension")
    versions = sorted(t for (tid, t) in templates if tid == "account-suspension")
    assert [s["lang"] for s in page.find_all("section", class_="template-version")] == versions
    for language in versions:
        template = templates[("account-suspension", language)]
        section = page.find("section", id=f"lang-{language}")
        assert template.title in section.find("h2").get_text()
        variables = _texts(section.find("table", class_="variables"))
        assert [(r[0], r[2], r[3]) for r in variables] == [
            (v.name, v.description, v.example) for v in template.variables]
        assert section.find("pre", class_="template-body").get_text() == template.body
        assert section.find("pre", class_="template-subject").get_text() == template.subject
    assert viewer.get("/templates/no-such-template").status_code == 404


# ------------------------------------------------------------------ report and statistics


def test_the_weekly_report_page_shows_its_sections_for_a_day(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    page = viewer.page("/report")
    assert page.find("input", attrs={"name": "as_of"})["value"] == TODAY
    assert page.find("label", attrs={"for": "f-as_of"})
    keys = [s["id"] for s in page.find_all("section", class_="report-section")]
    assert keys == ["s-summary", "s-overdue", "s-due_soon", "s-inbound", "s-needs_attention",
                    "s-platforms"]
    overdue = _texts(page.find("section", id="s-overdue").find("table"))
    assert [r[0] for r in overdue] == ["HC-2020-0001"]
    assert page.find("section", id="s-overdue").find("tr", class_="tone-bad")
    links = [a["href"] for a in page.find("ul", class_="downloads").find_all("a")]
    assert links == [f"/report/weekly.{fmt}?as_of={TODAY}&language=en" for fmt in DOWNLOADS]
    _inert(page)
    earlier = viewer.page("/report?as_of=2020-06-15")
    assert "15 Jun 2020" in earlier.find("p", class_="as-of").get_text()
    chinese = viewer.page("/report?language=zh-Hans")
    assert chinese.find("section", class_="report")["lang"] == "zh-Hans"
    wrong = viewer.get("/report?as_of=yesterday")
    assert wrong.status_code == 400 and "is not a date" in wrong.text


@pytest.mark.parametrize("fmt", list(DOWNLOADS))
def test_every_report_download_is_what_the_cli_gives(demo_site: Site, fmt: str) -> None:
    response = demo_site.signed_in("viewer").get(f"/report/weekly.{fmt}")
    media, extension = DOWNLOADS[fmt]
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.headers["content-disposition"] == (
        f'attachment; filename="weekly-report-{TODAY}.{extension}"')
    # The bytes: Result.stdout would turn the CSV's CRLF line ends into LF.
    expected = _cli(demo_site).run("report", "weekly", "--format", fmt).stdout_bytes
    assert response.content == expected
    assert len(expected) > 200


def test_a_report_download_for_another_day_and_an_unknown_format(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    response = viewer.get("/report/weekly.json?as_of=2020-06-15&language=zh-Hans")
    assert 'filename="weekly-report-2020-06-15.json"' in response.headers["content-disposition"]
    assert response.content == _cli(demo_site).run("report", "weekly", "--format", "json",
                                                   "--as-of", "2020-06-15", "--language",
                                                   "zh-Hans").stdout_bytes
    assert viewer.get("/report/weekly.terminal").status_code == 404
    assert viewer.get("/report/weekly.exe").status_code == 404


def test_the_statistics_page_shows_each_platform(demo_site: Site) -> None:
    page = demo_site.signed_in("viewer").page("/stats")
    stats = read_platform_stats(demo_site.ws, datetime.fromisoformat(TODAY).date())
    tables = page.find_all("table", class_="report-block")
    assert len(tables) == 1 + len(stats.by_year)
    rows = _texts(tables[0])
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (s.name, str(s.requests), str(s.open)) for s in stats.all_time]
    assert page.find("input", attrs={"name": "as_of"})["value"] == TODAY
    before = demo_site.signed_in("viewer").page("/stats?as_of=2020-01-01")
    assert before.find("p", class_="none") is not None


# ------------------------------------------------------------------ evidence


def _verify(browser: Browser, data: bytes, name: str = "bundle.zip") -> tuple[int, BeautifulSoup]:
    response = browser.post("/evidence/verify", token=browser.session_token(),
                            files={"bundle": (name, data, "application/zip")})
    return response.status_code, BeautifulSoup(response.text, "html.parser")


def test_a_downloaded_bundle_is_the_exported_one_and_verifies(demo_site: Site,
                                                             tmp_path: Path) -> None:
    viewer = demo_site.signed_in("viewer")
    page = viewer.page("/evidence")
    refs = [o["value"] for o in page.find("select", id="f-ref").find_all("option")]
    assert "HC-2020-0001" in refs
    response = viewer.get("/evidence/bundle?ref=HC-2020-0001")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="evidence-HC-2020-0001-{TODAY}.zip"')
    exported = export_bundle(demo_site.ws, ["HC-2020-0001"], tmp_path / "e.zip",
                             datetime.fromisoformat(TODAY).date())
    assert response.content == (tmp_path / "e.zip").read_bytes()  # the same bytes as the CLI's
    assert response.headers["x-manifest-sha256"] == exported.manifest_sha256
    status, result = _verify(viewer, response.content)
    assert status == 200
    verdict = result.find("p", class_="verdict").get_text()
    assert verdict.startswith("OK: ") and "verified" in verdict
    lines = result.find("pre", class_="verification-lines").get_text().splitlines()
    cli_lines = _cli(demo_site).run("evidence", "verify", str(tmp_path / "e.zip")).stdout
    assert lines == cli_lines.splitlines()


def test_a_case_bundle_holds_every_request_of_the_case(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    case = viewer.page("/evidence").find("select", id="f-case").find("option")["value"]
    response = viewer.get(f"/evidence/bundle?case={case}")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        folders = {n.split("/")[0] for n in archive.namelist() if "/" in n}
    with db.transaction(demo_site.ws.engine) as session:
        refs = set(session.execute(sa.text("select ref from request where case_id = :c"),
                                   {"c": int(case)}).scalars())
    assert folders == refs and len(refs) > 1
    assert viewer.get("/evidence/bundle?case=999").status_code == 404
    assert viewer.get("/evidence/bundle?ref=HC-2099-0001").status_code == 404
    assert viewer.get("/evidence/bundle").status_code == 400


def _tampered(data: bytes) -> tuple[bytes, str]:
    """The zip with one byte of one message file changed, everything else as it was."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target = next(n for n in source.namelist() if n.endswith(".eml"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == target:
                content = content[:100] + bytes([content[100] ^ 1]) + content[101:]
            archive.writestr(info, content)
    return out.getvalue(), target


def test_a_tampered_bundle_is_reported_as_failing(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    bundle = viewer.get("/evidence/bundle?ref=HC-2020-0001").content
    tampered, member = _tampered(bundle)
    status, page = _verify(viewer, tampered)
    assert status == 200
    assert page.find("section", class_="verification")["class"] == ["verification", "failed"]
    verdict = page.find("p", class_="verdict")
    assert verdict["role"] == "alert" and "problem" in verdict.get_text()
    lines = page.find("pre", class_="verification-lines").get_text().splitlines()
    assert any(line.startswith(f"changed: {member}") for line in lines)
    assert not any(line.startswith("OK") for line in lines)


def test_hostile_names_in_an_uploaded_zip_are_shown_inert(demo_site: Site) -> None:
    viewer = demo_site.signed_in("viewer")
    bundle = viewer.get("/evidence/bundle?ref=HC-2020-0001").content
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info))
        archive.writestr("<script>alert(1)</script>\u202egpj.eml", b"x")
    status, page = _verify(viewer, out.getvalue(), name="<img src=x onerror=alert(1)>.zip")
    assert status == 200
    _inert(page)
    assert not page.find("img")
    text = page.find("pre", class_="verification-lines").get_text()
    assert "unsafe: <script>alert(1)</script>\ufffdgpj.eml" in text and "\u202e" not in text


def test_verifying_needs_a_zip_a_token_and_a_reasonable_size(
        demo_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = demo_site.signed_in("viewer")
    status, page = _verify(viewer, b"not a zip at all")
    assert status == 400 and "not a readable zip file" in page.get_text()
    no_token = viewer.post("/evidence/verify", files={"bundle": ("b.zip", b"x", "application/zip")})
    assert no_token.status_code == 403
    empty = viewer.post("/evidence/verify", token=viewer.session_token())
    assert empty.status_code == 400 and "choose a bundle" in empty.text
    monkeypatch.setattr(evidence_view, "UPLOAD_LIMIT", 4096)
    bundle = viewer.get("/evidence/bundle?ref=HC-2020-0001").content
    assert len(bundle) > 4096
    status, page = _verify(viewer, bundle)
    assert status == 413
    assert "tracker evidence verify" in page.find("p", class_="problem").get_text()


# ------------------------------------------------------------------ settings


def test_settings_show_the_configuration_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    env = {"TRACKER_TODAY": TODAY, "TRACKER_SMTP_PASSWORD_ENV": "HC_SMTP",
           "HC_SMTP": "s3cret-value", "TRACKER_SMTP_HOST": "smtp.hrgroup.example",
           "TRACKER_IMAP_HOST": "imap.hrgroup.example",
           "TRACKER_IMAP_PASSWORD_COMMAND": "echo hunter2-in-a-command",
           "TRACKER_TAG_SECRET": "tag-secret-value"}
    site = make_site(path, env)
    try:
        site.app.state.watch = WatchState(
            running=True, connected=False, idle=False, last_sync_at=datetime.now(UTC),
            last_error="<script>alert(1)</script> login refused\u202e",
            last_error_at=datetime.now(UTC))
        with db.transaction(site.ws.engine) as session:
            session.add(FolderState(account="inquiries@imap.hrgroup.example", folder="INBOX",
                                    uidvalidity=7, last_uid=4242))
            session.add(ScheduleRun(job="weekly-report", period="2020-W30", status="failed",
                                    detail="smtp refused"))
        for role in ("viewer", "admin"):
            response = site.signed_in(role).get("/settings")
            assert response.status_code == 200
            for secret in ("s3cret-value", "hunter2", "tag-secret-value"):
                assert secret not in response.text, (role, secret)
            page = BeautifulSoup(response.text, "html.parser")
            _inert(page)
            smtp = dict(r[:2] for r in _texts(page.find("table", id="settings-smtp")))
            assert smtp["host"] == "smtp.hrgroup.example"
            assert smtp["password_env"] == "HC_SMTP (set in the environment)"
            imap = dict(r[:2] for r in _texts(page.find("table", id="settings-imap")))
            assert imap["password_command"] == "set" and imap["port in use"] == "993"
            assert "trusted_authserv_ids" in imap
            database = dict(r[:2] for r in _texts(page.find("table", id="settings-database")))
            assert database["url"].startswith("sqlite:///")
            assert page.find("table", id="settings-web") is not None
            assert page.find("table", id="settings-report") is not None
            assert page.find("dd", class_="watch-running").get_text() == "running"
            error = page.find("dd", class_="watch-error").get_text()
            assert "<script>alert(1)</script> login refused\ufffd" in error
            assert [r[:4] for r in _texts(page.find("table", class_="folders"))] == [
                ["inquiries@imap.hrgroup.example", "INBOX", "7", "4242"]]
            runs = _texts(page.find("table", class_="runs"))
            assert [r[:3] for r in runs] == [["weekly-report", "2020-W30", "failed"]]
    finally:
        site.ws.close()


def test_settings_say_when_a_password_variable_is_not_set(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    site = make_site(path, {"TRACKER_IMAP_PASSWORD_ENV": "HC_IMAP"})
    try:
        page = site.signed_in("viewer").page("/settings")
        imap = dict(r[:2] for r in _texts(page.find("table", id="settings-imap")))
        assert imap["password_env"] == "HC_IMAP (not set in the environment)"
        assert page.find("dd", class_="watch-running").get_text() == "not running in this server"
    finally:
        site.ws.close()
