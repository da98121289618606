"""The Requests page: filters, sorting, pages, the search box, hostile mail shown inert.

On the demo workspace (as of 2020-07-20: one request overdue, one due within the week, one
undelivered, one draft) served in-process; every check reads the parsed page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup, Tag
from web_client import Browser, Site

from tracker.services import actions
from tracker.services.listing import PER_PAGE
from tracker.store import db
from tracker.store.models import Request

HOSTILE_SUBJECT = 'Re: <script>alert("s")</script> \u202eevil\u202c <img src="https://evil.example/p.png">'
HOSTILE_BODY = ('Click <a href="javascript:alert(1)">here</a> or javascript:alert(2) '
                '<img src="https://evil.example/track.gif" onerror="alert(3)"> '
                'the Trojan words end here')


def reply_eml(subject: str, body: str, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Legal <legal@zoom.us>"
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Wed, 15 Jul 2020 10:00:00 +0000"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def record(site: Site, ref: str, subject: str, body: str, kind: str = "acknowledgement") -> None:
    actions.record_reply(site.ws, ref, datetime(2020, 7, 15, 10, tzinfo=UTC), kind, "by post",
                         datetime(2020, 7, 16, 9, tzinfo=UTC),
                         raw=reply_eml(subject, body, f"<{abs(hash(body))}@zoom.us>"))


def rows(page: BeautifulSoup) -> list[Tag]:
    table = page.find("table", class_="requests")
    return table.find("tbody").find_all("tr") if isinstance(table, Tag) else []


def refs(page: BeautifulSoup) -> list[str]:
    return [row.find("td").find("a").get_text() for row in rows(page)]


def column(page: BeautifulSoup, index: int) -> list[str]:
    return [row.find_all("td")[index].get_text(" ", strip=True) for row in rows(page)]


@pytest.fixture
def viewer(demo_site: Site) -> Browser:
    return demo_site.signed_in("viewer")


def test_default_list_is_open_requests_longest_silence_first(viewer: Browser) -> None:
    page = viewer.page("/requests")
    assert refs(page) == ["HC-2020-0001", "HC-2020-0002", "HC-2020-0005", "HC-2020-0003",
                          "HC-2020-0004"]
    days = [int(d) for d in column(page, 5) if d]
    assert days == sorted(days, reverse=True) and days
    for row in rows(page):  # each row leads to its request
        link = row.find("td").find("a")
        assert link["href"] == f"/requests/{link.get_text()}"


def test_dashboard_cards_lead_to_lists_of_as_many_requests(viewer: Browser) -> None:
    dashboard = viewer.page("/")
    checked = 0
    for card in dashboard.select("ul.cards li.card a"):
        href = str(card["href"])
        if not href.startswith("/requests"):
            continue
        count = int(card.find("span", class_="n").get_text())
        assert len(rows(viewer.page(href))) == count, href
        checked += 1
    assert checked == 6  # overdue, very overdue, due this week, undelivered, drafts, open


@pytest.mark.parametrize(("query", "expected"), [
    ("overdue=1", ["HC-2020-0001"]),
    ("overdue=very", []),
    ("due=week", ["HC-2020-0005"]),
    ("undelivered=1", ["HC-2020-0005"]),
    ("state=draft", ["HC-2020-0004"]),
    ("draft=1", ["HC-2020-0004"]),
    ("state=answered", ["HC-2020-0003"]),
    ("platform=zoom", ["HC-2020-0001", "HC-2020-0002"]),
    ("platform=zoom&overdue=1", ["HC-2020-0001"]),
    ("language=zh-Hans", ["HC-2020-0004"]),
    ("case=1&sort=ref", ["HC-2020-0001", "HC-2020-0002", "HC-2020-0003", "HC-2020-0004",
                         "HC-2020-0005"]),
    ("case=2", []),
    ("state=closed", []),
])
def test_filters(viewer: Browser, query: str, expected: list[str]) -> None:
    page = viewer.page(f"/requests?{query}")
    assert refs(page) == expected
    if not expected:
        assert page.find("p", class_="count").get_text(" ", strip=True).startswith(
            "No request matches")


def test_overdue_rows_are_marked(viewer: Browser) -> None:
    page = viewer.page("/requests")
    marked = {row.find("td").get_text(" ", strip=True).split()[0]: row.get("class") or []
              for row in rows(page)}
    assert marked["HC-2020-0001"] == ["overdue"]
    assert marked["HC-2020-0002"] == []


@pytest.mark.parametrize(("sort", "index"), [("ref", 0), ("platform", 1), ("state", 3)])
def test_sorting_by_a_column(viewer: Browser, sort: str, index: int) -> None:
    values = column(viewer.page(f"/requests?sort={sort}"), index)
    assert values == sorted(values) and len(values) == 5


def test_sorting_by_due_date_puts_requests_without_one_last(viewer: Browser) -> None:
    page = viewer.page("/requests?sort=due")
    dues = column(page, 4)
    dated = [d for d in dues if d]
    assert dated == sorted(dated) and dues[-1] == "" and dues[:len(dated)] == dated


def test_a_click_on_a_platform_filters_by_it_and_keeps_the_rest(viewer: Browser) -> None:
    page = viewer.page("/requests?sort=ref")
    link = next(row.find_all("td")[1].find("a") for row in rows(page)
                if row.find_all("td")[1].get_text(strip=True) == "zoom")
    assert parse_qs(urlsplit(link["href"]).query) == {"platform": ["zoom"], "sort": ["ref"]}
    assert set(column(viewer.page(str(link["href"])), 1)) == {"zoom"}


def test_pages_of_fifty(demo_site: Site, viewer: Browser) -> None:
    with db.transaction(demo_site.ws.engine) as session:
        for n in range(60):
            session.add(Request(ref=f"HC-2020-9{n:03d}", case_id=1, platform_slug="zoom",
                                template="account-suspension", language="en",
                                deadline_rule="30d", state="draft"))
    first = viewer.page("/requests?sort=ref")
    assert len(rows(first)) == PER_PAGE
    nav = first.find("nav", class_="pages")
    assert nav.find("a", attrs={"aria-current": "page"}).get_text() == "1"
    following = nav.find("a", rel="next")
    assert parse_qs(urlsplit(following["href"]).query) == {"sort": ["ref"], "page": ["2"]}
    second = viewer.page(str(following["href"]))
    assert len(rows(second)) == 65 - PER_PAGE
    assert not set(refs(first)) & set(refs(second))
    assert sorted(refs(first) + refs(second)) == refs(first) + refs(second)
    # The default order pages the same way (derived, not SQL), and a page past the end is
    # the last one.
    assert len(rows(viewer.page("/requests?page=2"))) == 65 - PER_PAGE
    assert refs(viewer.page("/requests?sort=ref&page=99")) == refs(second)


@pytest.mark.parametrize("query", ["sort=bogus", "page=x", "page=0", "overdue=2", "state=lost",
                                   "case=-1", "undelivered=yes"])
def test_a_wrong_value_is_a_plain_error(viewer: Browser, query: str) -> None:
    page = viewer.page(f"/requests?{query}", status=400)
    assert page.find("main").get_text(" ", strip=True)
    assert "Traceback" not in page.get_text()


@pytest.mark.parametrize(("query", "ref", "where", "marked"), [
    ("hc-2020-0003", "HC-2020-0003", "reference", "HC-2020-0003"),
    ("Facebook", "HC-2020-0003", "platform", "Facebook"),
    ("account review completed", "HC-2020-0001", "subject", "Account review completed"),
    ("confirm your identity", "HC-2020-0001", "message", "confirm your identity"),
    ("账号已被封禁", "HC-2020-0002", "message", "账号已被封禁"),  # trigram index
    ("封禁", "HC-2020-0002", "message", "封禁"),  # two characters: no trigram
    ("禁", "HC-2020-0002", "message", "禁"),
    ("申诉结果", "HC-2020-0002", "subject", "申诉结果"),
])
def test_search_box_finds_english_and_chinese(demo_site: Site, viewer: Browser, query: str,
                                              ref: str, where: str, marked: str) -> None:
    record(demo_site, "HC-2020-0002", "关于申诉结果的通知", "您好，您的账号已被封禁，无法恢复。")
    page = viewer.page(f"/requests?q={query}")
    found = {row.find("td").find("a").get_text(): row for row in rows(page)}
    assert ref in found
    cell = found[ref].find("td", class_="found")
    assert cell.find("span", class_="tag").get_text() == where
    assert cell.find("mark").get_text().casefold() == marked.casefold()
    # The box shows what was searched, and the search keeps the other filters.
    assert page.find("input", attrs={"name": "q"})["value"] == query
    assert ref in refs(viewer.page(f"/requests?q={query}&state=all"))
    assert refs(viewer.page(f"/requests?q={query}&platform=youtube")) == []


def test_search_that_finds_nothing(viewer: Browser) -> None:
    page = viewer.page("/requests?q=%25%25%25")  # "%%%": a literal, not a wildcard
    assert refs(page) == []


def test_hostile_mail_is_shown_inert(demo_site: Site, viewer: Browser) -> None:
    record(demo_site, "HC-2020-0002", HOSTILE_SUBJECT, HOSTILE_BODY)
    with db.transaction(demo_site.ws.engine) as session:  # the letter's subject as the row shows it
        session.execute(sa.text("UPDATE message SET subject = :s WHERE id = 1"),
                        {"s": HOSTILE_SUBJECT})
    for path in ("/requests", "/requests?q=evil", "/requests?q=Trojan",
                 "/requests?q=%3Cscript%3E"):
        page = viewer.page(path)
        main = page.find("main")
        assert main.find_all(["script", "img", "iframe", "object"]) == [], path
        for element in main.find_all(True):
            assert not any(name.startswith("on") for name in element.attrs), (path, element)
            href = str(element.get("href", ""))
            assert not href.lower().startswith("javascript:"), (path, href)
        text = main.get_text()
        assert "\u202e" not in text and "\u202c" not in text, path
    shown = viewer.page("/requests?q=javascript%3Aalert%282%29")
    cell = shown.find("td", class_="found")
    assert "javascript:alert(2)" in cell.get_text()  # as words, not as a link
    subject = viewer.page("/requests").find("td", class_="subject").get_text()
    assert '<script>alert("s")</script>' in subject and "\ufffdevil\ufffd" in subject


def test_the_form_works_without_javascript(viewer: Browser) -> None:
    """A plain GET form: every field labelled; sending it as a browser would filters the list."""
    page = viewer.page("/requests")
    form = page.find("form", class_="filters")
    assert form["method"] == "get" and form["action"] == "/requests"
    assert not form.find_all(attrs={re.compile("^hx-"): True})
    fields = form.find_all(["input", "select"])
    assert {f["name"] for f in fields} >= {"q", "platform", "state", "overdue", "due",
                                           "language", "case", "sort", "undelivered", "draft"}
    for f in fields:
        assert form.find("label", attrs={"for": f["id"]}), f["name"]
    # What a browser sends: every select's chosen option and the text fields; a checked box.
    sent: dict[str, str] = {}
    for f in fields:
        if f.name == "select":
            chosen = f.find("option", selected=True) or f.find("option")
            sent[f["name"]] = str(chosen["value"])
        elif f.get("type") != "checkbox":
            sent[f["name"]] = str(f.get("value", ""))
    sent["undelivered"] = "1"
    result = viewer.client.get("/requests", params=sent)
    assert result.status_code == 200
    assert refs(BeautifulSoup(result.text, "html.parser")) == ["HC-2020-0005"]


def test_anonymous_visitors_sign_in_first(demo_site: Site) -> None:
    response = demo_site.browser().get("/requests?overdue=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Frequests%3Foverdue%3D1"
