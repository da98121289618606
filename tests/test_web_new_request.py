"""The guided new-request form: what it offers, the preview in both languages, saving, sending
to a real SMTP server, and bad input shown in the form with what was typed kept."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner
from smtp_server import SmtpTestServer
from web_client import Browser, Site, make_site

from tracker.cli import main
from tracker.letters.loading import example_variables, get_template
from tracker.services import intake, records
from tracker.services.demo import build_demo
from tracker.store import db
from tracker.store.models import Event, Request

TODAY = {"TRACKER_TODAY": "2020-07-20"}
NEXT_REF = "HC-2020-0006"  # the demo has five requests


def _form(site: Site, template: str = "account-suspension", **extra: str) -> dict[str, str]:
    values = example_variables(get_template(site.ws.templates, template, "en"))
    return {"platform": "zoom", "template": template, "language": "en",
            **{f"var.{name}": value for name, value in values.items()}, **extra}


def _labelled(page: BeautifulSoup, control: Tag) -> str:
    label = page.find("label", attrs={"for": control["id"]})
    assert label is not None, control
    return " ".join(label.get_text(" ").split())


def _request_count(site: Site) -> int:
    with db.transaction(site.ws.engine) as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(Request)).scalar_one())


def _error_line(page: BeautifulSoup) -> str:
    errors = page.select("#form-error")
    assert len(errors) == 1, errors
    text = errors[0].get_text()
    assert "\n" not in text.strip() and "Traceback" not in text
    return text.strip()


def test_the_form_offers_platforms_templates_and_the_templates_variables(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    page = browser.page("/requests/new?platform=zoom&template=account-suspension")
    main_part = page.find("main")
    assert isinstance(main_part, Tag)
    for control in main_part.find_all(["input", "select", "textarea"]):
        if control.get("type") not in ("hidden", None) or control.name != "input":
            assert _labelled(page, control), control  # every field has a visible label
    platforms = {o["value"]: o.get_text() for o in page.select("#f-platform option")}
    assert platforms["zoom"] == "Zoom" and "youtube" in platforms and "tiktok" in platforms
    assert page.select_one("#f-platform option[selected]")["value"] == "zoom"
    # The chosen platform's contacts and the channel it prefers.
    facts = page.select_one("#platform-facts")
    assert facts is not None and facts.select_one(".channel").get_text() == "email"
    assert "privacy@zoom.us" in [td.get_text() for td in facts.select("table.contacts td")]
    # Templates that open a request, each with what it is for; no follow-ups.
    templates = {o["value"]: o.get_text() for o in page.select("#f-template option")}
    assert "gdpr-access" in templates and "follow-up" not in templates
    assert "final-notice" not in templates
    template = get_template(demo_site.ws.templates, "account-suspension", "en")
    assert templates["account-suspension"] == f"account-suspension: {template.title}"
    assert page.select_one("#template-facts .purpose").get_text() == template.title
    languages = [o["value"] for o in page.select("#f-language option")]
    assert languages == ["en", "zh-Hans"]
    # Each declared variable: a field labelled with its description, required ones marked.
    assert template.variables
    for variable in template.variables:
        control = page.find("input", attrs={"name": f"var.{variable.name}"})
        assert isinstance(control, Tag), variable.name
        label = _labelled(page, control)
        assert (variable.description or variable.name) in label
        assert ("(required)" in label) is variable.required, variable.name
        if variable.example:
            hint = page.find(id=control["aria-describedby"])
            assert hint is not None and variable.example in hint.get_text()
    deadline_hint = page.select_one("#f-deadline-hint").get_text()
    assert "30d" in deadline_hint or (template.deadline or "") in deadline_hint
    cases = [o.get_text() for o in page.select("#f-case_id option")]
    assert cases[0] == "A new case" and len(cases) == 2  # the demo's one case


def test_changing_the_template_shows_its_fields_with_what_was_typed(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    token = browser.session_token()
    response = browser.post("/requests/new", {"platform": "zoom", "template": "gdpr-access",
                                              "case_title": "kept title"}, token=token)
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    declared = {v.name for v in get_template(demo_site.ws.templates, "gdpr-access",
                                             "en").variables}
    shown = {i["name"].removeprefix("var.") for i in page.select("input[name^='var.']")}
    assert shown == declared
    assert page.select_one("#f-case_title")["value"] == "kept title"


def _preview(browser: Browser, form: dict[str, str]) -> BeautifulSoup:
    response = browser.post("/requests/new/preview", form, token=browser.session_token())
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def _letter(page: BeautifulSoup, language: str) -> tuple[str, str]:
    section = page.select_one(f"#letter-{language}")
    assert section is not None, language
    assert section["lang"] == language
    return section.select_one(".subject-text").get_text(), section.select_one("pre.letter").string


def _tracker_letter(site: Site, ref: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["--workspace", str(site.path), "letter", ref, *args],
                                env=TODAY, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_preview_is_the_letter_tracker_prints_after_saving_in_both_languages(
        demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    before = _request_count(demo_site)
    page = _preview(browser, _form(demo_site))
    assert page.select_one(".preview-facts .ref").get_text() == NEXT_REF
    assert page.select_one(".preview-facts .recipient").get_text().startswith("privacy@zoom.us")
    letters = {language: _letter(page, language) for language in ("en", "zh-Hans")}
    assert letters["en"][0] != letters["zh-Hans"][0]
    assert _request_count(demo_site) == before  # a preview saves nothing
    # The preview page carries the form to the next step.
    save_form = page.find("form", attrs={"action": "/requests/new/save"})
    assert isinstance(save_form, Tag)
    kept = {i["name"]: i["value"] for i in save_form.find_all("input", attrs={"type": "hidden"})}
    response = browser.post("/requests/new/save", kept)
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{NEXT_REF}"
    assert _request_count(demo_site) == before + 1
    for language, (subject, text) in letters.items():
        extra = () if language == "en" else ("--language", language)
        assert _tracker_letter(demo_site, NEXT_REF, *extra) == f"Subject: {subject}\n\n{text}\n"
    with db.transaction(demo_site.ws.engine) as session:
        request = records.get_request(session, NEXT_REF)
        created = session.exec(sa.select(Event).where(  # type: ignore[call-overload]
            Event.request_id == request.id, Event.kind == "created")).scalars().one()
        assert request.state == "draft" and request.platform_slug == "zoom"
    assert created.actor == "editor"  # the person signed in, not the workspace's default


def test_a_new_request_for_an_existing_case_takes_the_cases_facts(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    [case] = intake.list_cases(demo_site.ws)
    page = _preview(browser, {"platform": "youtube", "template": "account-suspension",
                              "language": "zh-Hans", "case_id": str(case.id)})
    subject, text = _letter(page, "zh-Hans")
    assert subject and text.strip()
    assert page.select_one("#letter-en") is not None  # the other language, too
    assert case.account and case.account in text  # a fact of the case, not typed again
    assert case.title in page.select_one(".preview-facts").get_text()


def _smtp_site(tmp_path: Path, server: SmtpTestServer) -> Site:
    path = tmp_path / "demo"
    build_demo(path).close()
    return make_site(path, {**TODAY, "TRACKER_SMTP_HOST": "127.0.0.1",
                            "TRACKER_SMTP_PORT": str(server.port), "TRACKER_SMTP_TLS": "none"})


def test_send_now_asks_for_a_confirmation_then_sends_by_smtp(tmp_path: Path) -> None:
    with SmtpTestServer() as server:
        site = _smtp_site(tmp_path, server)
        try:
            browser = site.signed_in("editor")
            form = _form(site)
            page = _preview(browser, form)
            send_form = page.find("form", attrs={"action": "/requests/new/send"})
            assert isinstance(send_form, Tag)
            confirm = send_form.find("input", attrs={"name": "confirm"})
            assert isinstance(confirm, Tag) and "privacy@zoom.us" in _labelled(page, confirm)
            unconfirmed = browser.post("/requests/new/send", form,
                                       token=browser.session_token())
            assert unconfirmed.status_code == 400
            assert "confirm" in _error_line(BeautifulSoup(unconfirmed.text, "html.parser"))
            assert server.messages == [] and _request_count(site) == 5
            sent = browser.post("/requests/new/send", {**form, "confirm": "yes"},
                                token=browser.session_token())
            assert sent.status_code == 303, sent.text
            assert sent.headers["location"] == f"/requests/{NEXT_REF}"
            [received] = server.messages
            assert received.rcpt_tos == ["privacy@zoom.us"]
            letter = email.message_from_bytes(received.raw, policy=policy.default)
            assert NEXT_REF in str(letter["Subject"])
            with db.transaction(site.ws.engine) as session:
                request = records.get_request(session, NEXT_REF)
                events = session.exec(sa.select(Event).where(  # type: ignore[call-overload]
                    Event.request_id == request.id)).scalars().all()
                assert request.state == "awaiting"
            assert [(e.kind, e.actor) for e in events] == [
                ("created", "editor"), ("sending", "editor"), ("sent", "editor")]
        finally:
            site.ws.close()


def _rejected(browser: Browser, form: dict[str, Any]) -> BeautifulSoup:
    response = browser.post("/requests/new/preview", form, token=browser.session_token())
    assert response.status_code == 400, response.text
    return BeautifulSoup(response.text, "html.parser")


def test_bad_input_is_one_line_in_the_form_with_what_was_typed_kept(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    before = _request_count(demo_site)
    missing = _form(demo_site)
    missing["var.suspension_date"] = ""
    page = _rejected(browser, missing)
    assert "suspension_date" in _error_line(page)
    assert page.select_one("input[name='var.account']")["value"] == missing["var.account"]
    assert page.select_one("#f-platform option[selected]")["value"] == "zoom"
    assert page.select_one("#f-template option[selected]")["value"] == "account-suspension"

    page = _rejected(browser, _form(demo_site, platform="zooom"))
    assert "did you mean: zoom" in _error_line(page)
    assert page.select_one("input[name='var.account']")["value"] == missing["var.account"]

    page = _rejected(browser, _form(demo_site, deadline="soon"))
    assert "soon" in _error_line(page)
    assert page.select_one("#f-deadline")["value"] == "soon"

    page = _rejected(browser, _form(demo_site, to="not an address@", channel="email"))
    assert "--to" in _error_line(page) or "address" in _error_line(page)
    assert page.select_one("#f-to")["value"] == "not an address@"

    saved = browser.post("/requests/new/save", _form(demo_site, platform="zooom"),
                         token=browser.session_token())
    assert saved.status_code == 400
    assert "zooom" in _error_line(BeautifulSoup(saved.text, "html.parser"))
    assert _request_count(demo_site) == before


def test_a_viewer_cannot_open_or_use_the_form(demo_site: Site) -> None:
    browser = demo_site.signed_in("viewer")
    assert browser.get("/requests/new").status_code == 403
    token = browser.session_token()
    assert browser.post("/requests/new/save", _form(demo_site), token=token).status_code == 403
    assert _request_count(demo_site) == 5
