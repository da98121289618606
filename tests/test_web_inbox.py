"""The inbox page: each waiting message with tracker's guess and reasons, shown inert; link
(with the sender's domain approved), dismiss, several at once; a viewer only reads."""

from __future__ import annotations

import base64
from pathlib import Path

import sqlalchemy as sa
from bs4 import BeautifulSoup, Tag
from web_client import Browser, Site

from tracker.services.importer import import_path
from tracker.store import db
from tracker.store.models import ApprovedDomain, Event, Message

DEMO_ITEM = 7  # the demo's forged "confirm your identity" mail, guessed as HC-2020-0001
HOSTILE_SUBJECT = "Re: [HC-2020-0002] <script>alert('s')</script> \u202egnp.exe"
HOSTILE_BODY = ("<script>alert(1)</script> \u202eVERIFIED <a href=\"javascript:alert(1)\">x</a>"
                "\r\n<img src=\"https://tracker.example/pixel.gif\">\r\n")


def _hostile(site: Site, number: int, ref: str = "HC-2020-0002") -> int:
    """Import a message with a hostile subject and body into the inbox; its id."""
    subject = HOSTILE_SUBJECT.replace("HC-2020-0002", ref)
    raw = ("From: \"<img src=x onerror=alert(1)>\u202e\" <help@zoom-support.example>\r\n"
           "To: inquiries@hrgroup.example\r\n"
           f"Subject: =?utf-8?b?{base64.b64encode(subject.encode()).decode()}?=\r\n"
           f"Message-ID: <hostile{number}@zoom-support.example>\r\n"
           f"Date: Tue, 14 Jul 2020 10:0{number}:00 +0000\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           + HOSTILE_BODY)
    path = site.path / f"hostile{number}.eml"
    path.write_bytes(raw.encode("utf-8"))
    assert import_path(site.ws, Path(path)).held == 1
    with db.transaction(site.ws.engine) as session:
        return int(session.execute(sa.select(sa.func.max(Message.id))).scalar_one())


def _message(site: Site, message_id: int) -> Message:
    with db.transaction(site.ws.engine) as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


def _events(site: Site, message_id: int) -> list[Event]:
    with db.transaction(site.ws.engine) as session:
        return list(session.execute(sa.select(Event).where(
            Event.message_id == message_id).order_by(Event.id)).scalars())


def _inbox(browser: Browser) -> BeautifulSoup:
    return browser.page("/inbox")


def _item(page: BeautifulSoup, message_id: int) -> Tag:
    found = page.find(id=f"m{message_id}")
    assert isinstance(found, Tag), f"message {message_id} is not in the inbox"
    return found


def test_the_demo_inbox_shows_the_guess_its_reasons_and_the_first_lines(demo_site: Site) -> None:
    page = _inbox(demo_site.signed_in("editor"))
    item = _item(page, DEMO_ITEM)
    assert item.find("a", href=f"/messages/{DEMO_ITEM}").get_text() == \
        "Re: [HC-2020-0001] Account review completed"
    guess = item.select_one(".guess a")
    assert guess is not None and guess["href"] == "/requests/HC-2020-0001"
    assert "subject-tag" in item.select_one(".guess").get_text()
    assert item.select_one(".tag.suspicious").get_text() == "suspicious"
    assert "dmarc=fail" in item.select_one(".hold").get_text()
    reasons = [li.get_text() for li in item.select(".why li")]
    assert "subject carries [HC-2020-0001]" in reasons
    assert item.select_one("pre.first-lines").get_text().startswith("Dear user,")
    # The link form starts from tracker's guess; the bulk checkbox belongs to the bulk form.
    assert item.select_one(f"#ref-{DEMO_ITEM} option[selected]")["value"] == "HC-2020-0001"
    assert item.select_one(f"#pick-{DEMO_ITEM}")["form"] == "bulk"
    bulk = page.find("form", id="bulk")
    assert isinstance(bulk, Tag)
    # Dismissing several needs no request: the browser must not insist on one.
    assert not bulk.select_one("#bulk-ref").has_attr("required")


def test_link_makes_the_message_count_and_records_who(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    response = browser.post(f"/inbox/{DEMO_ITEM}/link", {"ref": "HC-2020-0001",
                                                          "kind": "answer"},
                            token=browser.session_token())
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    message = _message(demo_site, DEMO_ITEM)
    assert (message.triage, message.kind, message.admission) == ("linked", "reply",
                                                                 "staff-confirmed")
    assert ("linked", "editor") in [(e.kind, e.actor) for e in _events(demo_site, DEMO_ITEM)]
    page = _inbox(browser)
    assert page.find(id=f"m{DEMO_ITEM}") is None
    assert "linked message 7 to HC-2020-0001" in page.select_one(".flash").get_text()


def test_link_can_approve_the_senders_domain_for_the_platform(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    hostile = _hostile(demo_site, 1)
    label = _inbox(browser).find("label", attrs={"for": f"approve-{hostile}"})
    assert label is not None and "zoom-support.example" in label.get_text()
    response = browser.post(f"/inbox/{hostile}/link", {"ref": "HC-2020-0002",
                                                        "approve_domain": "true"},
                            token=browser.session_token())
    assert response.status_code == 303
    with db.transaction(demo_site.ws.engine) as session:
        approved = session.execute(sa.select(ApprovedDomain)).scalars().all()
    assert [(a.platform_slug, a.domain, a.approved_by) for a in approved] == [
        ("zoom", "zoom-support.example", "editor")]
    assert "domain_approved" in [e.kind for e in _events(demo_site, hostile)]


def test_dismiss_keeps_the_message_and_its_reason(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    response = browser.post(f"/inbox/{DEMO_ITEM}/dismiss", {"reason": "phishing"},
                            token=browser.session_token())
    assert response.status_code == 303
    assert _message(demo_site, DEMO_ITEM).triage == "dismissed"
    [event] = [e for e in _events(demo_site, DEMO_ITEM) if e.kind == "dismissed"]
    assert (event.actor, event.data["reason"]) == ("editor", "phishing")
    again = browser.post(f"/inbox/{DEMO_ITEM}/dismiss", {"reason": "x"},
                         token=browser.session_token())
    assert again.status_code == 400 and "already dismissed" in again.text


def test_several_at_once_link_or_dismiss_all_or_none(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    first, second, third = (_hostile(demo_site, n) for n in (1, 2, 3))
    token = browser.session_token()
    nothing = browser.post("/inbox/bulk", {"action": "dismiss"}, token=token)
    assert nothing.status_code == 400 and "choose at least one message" in nothing.text
    # One already sorted in the batch: nothing of the batch changes.
    browser.post(f"/inbox/{third}/dismiss", {}, token=token)
    refused = browser.post("/inbox/bulk", {"action": "dismiss", "ids": [first, third]},
                           token=token)
    assert refused.status_code == 400 and _message(demo_site, first).triage == "pending"
    no_request = browser.post("/inbox/bulk", {"action": "link", "ids": [first]}, token=token)
    assert no_request.status_code == 400 and "choose the request" in no_request.text
    linked = browser.post("/inbox/bulk", {"action": "link", "ids": [first, second],
                                          "ref": "HC-2020-0002", "kind": "answer"},
                          token=token)
    assert linked.status_code == 303
    assert [_message(demo_site, m).triage for m in (first, second)] == ["linked", "linked"]
    dismissed = browser.post("/inbox/bulk", {"action": "dismiss", "ids": [DEMO_ITEM],
                                             "reason": "phishing"}, token=token)
    assert dismissed.status_code == 303
    assert _message(demo_site, DEMO_ITEM).triage == "dismissed"
    assert "The inbox is empty." in _inbox(browser).find("main").get_text()


def test_hostile_subject_sender_and_first_lines_are_inert(demo_site: Site) -> None:
    hostile = _hostile(demo_site, 1)
    for role in ("viewer", "editor"):
        response = demo_site.signed_in(role).get("/inbox")
        assert "\u202e" not in response.text  # no bidi control reaches the page
        page = BeautifulSoup(response.text, "html.parser")
        main = page.find("main")
        assert isinstance(main, Tag)
        assert main.find_all(["script", "img", "iframe"]) == []
        assert not [a for a in main.find_all("a") if "javascript" in a.get("href", "")]
        assert not [t for t in main.find_all(True) if any(k.startswith("on") for k in t.attrs)]
        item = _item(page, hostile)
        subject = item.find("a", href=f"/messages/{hostile}").get_text()
        assert "<script>alert('s')</script>" in subject  # shown as text, not obeyed
        lines = item.select_one("pre.first-lines").get_text()
        assert '<a href="javascript:alert(1)">' in lines and "pixel.gif" in lines
        assert item.select_one(".from").get_text() == "help@zoom-support.example"


def test_a_viewer_sees_no_forms_and_is_refused(demo_site: Site) -> None:
    browser = demo_site.signed_in("viewer")
    page = _inbox(browser)
    main = page.find("main")
    assert isinstance(main, Tag)
    assert main.find_all("form") == [] and main.find_all("input") == []
    assert _item(page, DEMO_ITEM).select_one(".guess a") is not None  # still reads it all
    token = browser.session_token()
    for path, data in ((f"/inbox/{DEMO_ITEM}/link", {"ref": "HC-2020-0001"}),
                       (f"/inbox/{DEMO_ITEM}/dismiss", {"reason": "x"}),
                       ("/inbox/bulk", {"action": "dismiss", "ids": [DEMO_ITEM]})):
        assert browser.post(path, data, token=token).status_code == 403, path
    assert _message(demo_site, DEMO_ITEM).triage == "pending"
