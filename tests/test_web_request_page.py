"""The request page and the message page: what they show, and every action through them.

Each action through the page must change a request exactly as its command does: the same
workspace is copied, one copy is changed through the web by "editor", the other by `tracker`,
and their state, messages and events are compared (times of "now" and new Message-IDs aside).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from click.testing import CliRunner
from smtp_server import SmtpTestServer
from web_client import Browser, Site, make_site

from tracker.cli import main
from tracker.evidence import verify_bundle
from tracker.services.demo import build_demo
from tracker.services.importer import import_path
from tracker.store import db

TODAY = {"TRACKER_TODAY": "2020-07-20"}
CLI_ENV: dict[str, str | None] = {**TODAY, "TRACKER_ACTOR": "cli-person",
                                  "TRACKER_DATABASE_URL": None, "DATABASE_URL": None,
                                  "TRACKER_WORKSPACE": None, "TRACKER_TAG_SECRET": None}
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "exe.pdf" shown as "fdp.exe"
# What a value of "now" or a fresh Message-ID makes differ between two runs of one action.
VOLATILE = {"message_id", "sha256", "granted_at"}


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace, built once; each test works on copies of it."""
    path = tmp_path_factory.mktemp("demo") / "demo"
    build_demo(path).close()
    return path


def _copy(demo: Path, target: Path) -> Path:
    shutil.copytree(demo, target)
    return target


@pytest.fixture
def site(demo_copy: Path, tmp_path: Path) -> Iterator[Site]:
    made = make_site(_copy(demo_copy, tmp_path / "web"), dict(TODAY))
    yield made
    made.ws.close()


def tracker(workspace: Path, *args: str, env: dict[str, str | None] | None = None) -> str:
    result = CliRunner().invoke(main, ["--workspace", str(workspace), *args],
                                env={**CLI_ENV, **(env or {})}, catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result.output


def record(ws_path: Path, ref: str) -> dict[str, Any]:
    """What a request is: its columns, its messages and its events, without what differs
    between two runs of the same action (moments of "now", Message-IDs, the actor)."""
    engine = sa.create_engine(f"sqlite:///{ws_path / 'tracker.db'}")
    try:
        with engine.connect() as conn:
            req = conn.execute(sa.text(
                "select id, state, resolution, due_on, deadline_rule, extensions, "
                "delivery_failed, channel from request where ref = :ref"), {"ref": ref}).one()
            messages = conn.execute(sa.text(
                "select direction, status, kind, channel, template, language, note, subject, "
                "to_addrs, admission, raw is not null from message where request_id = :id "
                "order by id"), {"id": req.id}).all()
            events = conn.execute(sa.text(
                "select kind, from_state, to_state, data, actor from event "
                "where request_id = :id order by id"), {"id": req.id}).all()
    finally:
        engine.dispose()
    import json

    def steady(data: str | dict[str, Any]) -> dict[str, Any]:
        values = json.loads(data) if isinstance(data, str) else data
        return {k: v for k, v in values.items() if k not in VOLATILE}

    return {"state": req.state, "resolution": req.resolution, "due_on": str(req.due_on),
            "rule": req.deadline_rule, "channel": req.channel,
            "delivery_failed": bool(req.delivery_failed),
            "extensions": [steady(x) for x in json.loads(req.extensions)],
            "messages": [tuple(m) for m in messages],
            "events": [(e.kind, e.from_state, e.to_state, steady(e.data)) for e in events],
            "actors": [e.actor for e in events]}


def same_change(web: Path, cli: Path, ref: str) -> dict[str, Any]:
    """The request *ref* is the same in both workspaces, but for who did the last steps."""
    by_web, by_cli = record(web, ref), record(cli, ref)
    web_actors, cli_actors = by_web.pop("actors"), by_cli.pop("actors")
    assert by_web == by_cli
    changed = [a for a, b in zip(web_actors, cli_actors, strict=True) if a != b]
    assert changed and set(changed) == {"editor"}, web_actors
    assert {b for a, b in zip(web_actors, cli_actors, strict=True) if a != b} == {"cli-person"}
    return by_web


def form_action(page: BeautifulSoup, action: str) -> Any:
    found = page.find("form", attrs={"action": action})
    assert found is not None, f"no form to {action}"
    return found


def submit(browser: Browser, ref: str, action: str, data: dict[str, str]) -> Any:
    """Fill and send the form of request *ref*'s page that does *action*, as a browser
    would: the page's own fields (token, defaults) with *data* over them."""
    form = form_action(browser.page(f"/requests/{ref}"), f"/requests/{ref}/{action}")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input")
              if i.get("name") and i.get("type") != "file"}
    for chosen in form.find_all("select"):
        picked = chosen.find("option", selected=True) or chosen.find("option")
        fields[chosen["name"]] = picked["value"] if picked else ""
    fields.update(data)
    response = browser.post(f"/requests/{ref}/{action}", fields)
    assert response.status_code == 303, (action, response.status_code, response.text[-500:])
    return response


# ---------------------------------------------------------------- every action, as the CLI


def test_every_action_through_the_page_changes_the_request_as_its_command(
        demo_copy: Path, tmp_path: Path) -> None:
    web_path, cli_path = _copy(demo_copy, tmp_path / "web"), _copy(demo_copy, tmp_path / "cli")
    site = make_site(web_path, dict(TODAY))
    editor = site.signed_in("editor")
    try:
        steps: list[tuple[str, str, dict[str, str], tuple[str, ...]]] = [
            ("HC-2020-0004", "mark-sent", {"channel": "post", "on": "2020-07-15",
                                           "note": "posted at the main office"},
             ("mark-sent", "--channel", "post", "--on", "2020-07-15",
              "--note", "posted at the main office")),
            ("HC-2020-0002", "reply", {"on": "2020-07-18", "kind": "acknowledgement",
                                       "note": "they phoned: it is being looked at"},
             ("record-reply", "--on", "2020-07-18", "--kind", "acknowledgement",
              "--note", "they phoned: it is being looked at")),
            ("HC-2020-0001", "follow-up", {"template": "final-notice", "language": "en"},
             ("follow-up", "--template", "final-notice", "--language", "en")),
            ("HC-2020-0001", "draft/approve", {}, ("draft", "approve")),
            ("HC-2020-0001", "draft/discard", {"reason": "they answered by phone"},
             ("draft", "discard", "--reason", "they answered by phone")),
            ("HC-2020-0005", "extend", {"rule": "14d", "reason": "asked for two weeks"},
             ("extend", "14d", "--reason", "asked for two weeks")),
            ("HC-2020-0002", "reply", {"on": "2020-07-19", "kind": "answer", "note": "a letter"},
             ("record-reply", "--on", "2020-07-19", "--kind", "answer", "--note", "a letter")),
            ("HC-2020-0002", "close", {"resolution": "partial", "note": "half an answer"},
             ("close", "--resolution", "partial", "--note", "half an answer")),
            ("HC-2020-0002", "reopen", {}, ("reopen",)),
        ]
        for ref, action, form, command in steps:
            submit(editor, ref, action, form)
            if command[0] == "draft":
                tracker(cli_path, *command, ref)
            elif command[0] == "extend":
                tracker(cli_path, "extend", ref, *command[1:])
            else:
                tracker(cli_path, command[0], ref, *command[1:])
            after = same_change(web_path, cli_path, ref)
            assert after["events"], action
        # What the steps did, as the commands did it too.
        assert record(web_path, "HC-2020-0004")["state"] == "awaiting"
        assert record(web_path, "HC-2020-0002")["state"] == "answered"
        assert [m[1] for m in record(web_path, "HC-2020-0001")["messages"]][-1] == "discarded"
        assert record(web_path, "HC-2020-0005")["extensions"][-1]["rule"] == "14d"
    finally:
        site.ws.close()


def test_the_timeline_shows_each_event_with_who_did_it(site: Site) -> None:
    editor = site.signed_in("editor")
    submit(editor, "HC-2020-0003", "close", {"resolution": "answered", "note": "done"})
    page = editor.page("/requests/HC-2020-0003")
    rows = page.select("table.timeline tr.event")
    shown = [(row.find_all("td")[1].get_text(" ", strip=True), row.select_one("td.actor")
              .get_text(strip=True)) for row in rows]
    assert shown[0] == ("created", "demo")  # the demo was made by "demo"
    closed = [(n, row) for n, row in enumerate(rows) if shown[n][0].startswith("closed")]
    assert len(closed) == 1
    number, row = closed[0]
    assert shown[number] == ("closed answered → closed", "editor")
    assert "note: done" in row.select_one("td.data").get_text()
    # Every event of the request is on the page, each with its actor.
    with db.transaction(site.ws.engine) as session:
        stored = session.execute(sa.text(
            "select id, actor from event where request_id = (select id from request where "
            "ref = 'HC-2020-0003') order by id")).all()
    assert sorted((f"e{i}", actor) for i, actor in stored) == sorted(
        (row["id"], row.select_one("td.actor").get_text(strip=True)) for row in rows)
    # Messages are there too, each a link to its page.
    links = [a["href"] for a in page.select("table.timeline tr.message a")]
    assert links and all(href.startswith("/messages/") for href in links)


def test_the_page_shows_the_deadline_explained_the_platform_and_the_case(site: Site) -> None:
    page = site.signed_in("viewer").page("/requests/HC-2020-0002")
    explanation = page.select_one("p.explanation").get_text(" ", strip=True)
    assert "extended by 2 months" in explanation and "due Tue 15 Sep 2020" in explanation
    facts = {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(" ", strip=True)
             for dt in page.select("dl.facts dt")}
    assert facts["Platform"] == "zoom" and facts["Recipient"] == "privacy@zoom.us"
    assert facts["Due"] == "2020-09-15" and facts["Rule"] == "gdpr"
    assert facts["Days without response"].startswith("35")
    assert facts["Case"].startswith("Zoom shut down our account")
    assert "Article 15" in page.select_one("pre.letter").get_text()


def test_a_letter_is_shown_in_the_other_language_as_a_preview(site: Site) -> None:
    page = site.signed_in("viewer").page("/requests/HC-2020-0002?language=zh-Hans")
    assert "个人数据" in page.select_one("pre.letter").get_text()
    assert "not what went out" in page.select_one("p.hint").get_text()
    assert site.signed_in("viewer").get("/requests/HC-2020-0002?language=xx").status_code == 400


# ---------------------------------------------------------------- sending by SMTP


def test_send_asks_first_then_goes_to_the_smtp_server(demo_copy: Path, tmp_path: Path) -> None:
    with SmtpTestServer() as server:
        smtp = {"TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(server.port),
                "TRACKER_SMTP_TLS": "none"}
        web_path = _copy(demo_copy, tmp_path / "web")
        cli_path = _copy(demo_copy, tmp_path / "cli")
        site = make_site(web_path, {**TODAY, **smtp})
        try:
            editor = site.signed_in("editor")
            page = editor.page("/requests/HC-2020-0004")
            ask = form_action(page, "/requests/HC-2020-0004/send")
            assert ask["method"] == "get"  # the button opens the confirmation, sends nothing
            confirm = editor.page("/requests/HC-2020-0004/send")
            assert server.messages == []
            facts = {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(strip=True)
                     for dt in confirm.select("dl.facts dt")}
            assert facts["To"] == "data-access-requests@google.com"
            form = form_action(confirm, "/requests/HC-2020-0004/send")
            assert form["method"] == "post" and form["data-confirm"]
            submit_confirm = editor.post("/requests/HC-2020-0004/send",
                                         {"csrf_token": form.find("input")["value"]})
            assert submit_confirm.status_code == 303
            assert len(server.messages) == 1
            sent = server.messages[0]
            assert sent.rcpt_tos == ["data-access-requests@google.com"]
            with db.transaction(site.ws.engine) as session:
                stored = session.execute(sa.text(
                    "select raw from message where request_id = (select id from request "
                    "where ref = 'HC-2020-0004') and status = 'sent'")).scalar_one()
            assert bytes(stored) == sent.raw  # what left is what is kept
            tracker(cli_path, "send", "HC-2020-0004", env=dict(smtp))
            assert len(server.messages) == 2
            same_change(web_path, cli_path, "HC-2020-0004")
            # Nothing is left to send: the page offers no send, and a second POST is refused.
            assert not editor.page("/requests/HC-2020-0004").find(
                "form", attrs={"action": "/requests/HC-2020-0004/send"})
            again = editor.post("/requests/HC-2020-0004/send", {"csrf_token": editor
                                                                .session_token()})
            assert again.status_code == 400 and len(server.messages) == 2
        finally:
            site.ws.close()


def test_a_failed_send_is_one_plain_line_and_nothing_is_sent(site: Site) -> None:
    editor = site.signed_in("editor")  # no [smtp] host in the demo workspace
    response = editor.post("/requests/HC-2020-0004/send", {"csrf_token": editor.session_token()})
    assert response.status_code == 400
    problem = BeautifulSoup(response.text, "html.parser").select_one("p.problem")
    assert "TRACKER_SMTP_HOST" in problem.get_text() and "Traceback" not in response.text
    assert "\n" not in problem.get_text().strip()
    assert record(site.path, "HC-2020-0004")["state"] == "draft"


@pytest.mark.parametrize(("path", "form", "says"), [
    ("mark-sent", {"channel": "post", "on": "15 July"}, "is not a date"),
    ("mark-sent", {"channel": "pigeon", "on": "2020-07-15"}, "use one of"),
    ("mark-sent", {"channel": "post", "on": "2031-01-01"}, "in the future"),
    ("reply", {"on": "2020-07-18", "kind": "rumour"}, "use answer or acknowledgement"),
    ("extend", {"rule": "14d", "reason": ""}, "--reason is required"),
    ("extend", {"rule": "a while", "reason": "x"}, "a while"),
    ("close", {"resolution": "bored"}, "use one of"),
    ("follow-up", {"template": "no-such-template"}, "no-such-template"),
])
def test_bad_input_is_a_plain_error_page_with_one_line(site: Site, path: str,
                                                       form: dict[str, str], says: str) -> None:
    editor = site.signed_in("editor")
    ref = "HC-2020-0004" if path == "mark-sent" else "HC-2020-0005"
    before = record(site.path, ref)
    response = editor.post(f"/requests/{ref}/{path}", form, token=editor.session_token())
    assert response.status_code in (400, 404), response.status_code
    problem = BeautifulSoup(response.text, "html.parser").select_one("p.problem")
    assert problem is not None and says in problem.get_text()
    assert "Traceback" not in response.text
    assert record(site.path, ref) == before


# ---------------------------------------------------------------- evidence


def test_the_evidence_download_is_the_bundle_tracker_evidence_writes(site: Site,
                                                                      tmp_path: Path) -> None:
    response = site.signed_in("viewer").get("/requests/HC-2020-0001/evidence.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="evidence-HC-2020-0001-2020-07-20.zip"')
    downloaded = tmp_path / "web.zip"
    downloaded.write_bytes(response.content)
    assert verify_bundle(downloaded).ok
    written = tmp_path / "cli.zip"
    tracker(site.path, "evidence", "HC-2020-0001", "--output", str(written))
    assert written.read_bytes() == response.content  # the same day gives the same bytes


# ---------------------------------------------------------------- hostile mail


def hostile_reply(ref: str) -> bytes:
    """A reply with markup, script, a javascript: link, a remote image and bidi overrides in
    its sender's name, subject, HTML-only body and attachment name."""
    msg = EmailMessage()
    msg["From"] = Address(display_name=f"<script>alert('from')</script> Zoom {RLO}gnp.exe",
                          addr_spec="privacy@zoom.us")
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = f"Re: [{ref}] <script>alert('subject')</script> {RLO}fdp.exe"
    msg["Date"] = format_datetime(datetime(2020, 7, 16, 10, 0,
                                           tzinfo=ZoneInfo("Europe/Berlin")))
    msg["Message-ID"] = "<hostile-web-1@zoom.us>"
    msg.set_content("<p>Dear <script>alert('body')</script> user</p>"
                    '<p><a href="javascript:alert(1)">read the decision</a> '
                    '<img src="http://tracker.example/pixel.png" alt="pixel"> '
                    f'<b onmouseover="alert(2)">{RLO}txt.exe</b> javascript:alert(3)</p>',
                    subtype="html")
    msg.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf",
                       filename=f"<script>alert('file')</script>decision{RLO}fdp.exe")
    return msg.as_bytes()


def _import_hostile(site: Site, tmp_path: Path) -> int:
    path = tmp_path / "hostile.eml"
    path.write_bytes(hostile_reply("HC-2020-0002"))
    assert import_path(site.ws, path).stored == 1
    with db.transaction(site.ws.engine) as session:
        found: int = session.execute(sa.text(
            "select id from message where message_id = '<hostile-web-1@zoom.us>'")).scalar_one()
    return found


def assert_inert(page: BeautifulSoup) -> None:
    """Nothing from the mail became markup: no script but tracker's, no image, no link out
    or to javascript:, no event handler, no bidi control."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith("/static/") and not script.string
    assert page.find_all("img") == []
    assert page.find_all(attrs={"onmouseover": True}) == []
    for link in page.find_all("a"):
        assert link["href"].startswith(("/", "#")), link
    for element in page.find_all(True):
        for name, value in element.attrs.items():
            assert "javascript:" not in str(value), (element.name, name)
    text = page.get_text()
    assert RLO not in text and "\u202e" not in str(page)


def test_hostile_mail_is_inert_on_the_request_page_and_the_message_page(
        site: Site, tmp_path: Path) -> None:
    message_id = _import_hostile(site, tmp_path)
    viewer = site.signed_in("viewer")
    request_page = viewer.page("/requests/HC-2020-0002")
    assert_inert(request_page)
    row = request_page.find("tr", id=f"m{message_id}")
    assert "<script>alert('subject')</script>" in row.get_text()  # shown as the text it is
    assert "\ufffdfdp.exe" in row.get_text()
    page = viewer.page(f"/messages/{message_id}")
    assert_inert(page)
    headers = {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(strip=True)
               for dt in page.select("dl.headers dt")}
    assert headers["From"] == "<script>alert('from')</script> Zoom \ufffdgnp.exe <privacy@zoom.us>"
    assert "\ufffdfdp.exe" in headers["Subject"]
    heading = page.find(id="h-text").get_text()
    assert "HTML" in heading
    text = page.select_one("pre.mail").get_text()
    assert "read the decision" in text and "javascript:alert(3)" in text
    assert "alert('body')" not in text and "pixel.png" not in text  # scripts, images: gone
    assert "\ufffdtxt.exe" in text
    judged = {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(" ", strip=True)
              for dt in page.select("dl.judged dt")}
    assert judged["Authenticity"] == "unverified"
    assert page.select_one("ul.attachments li").get_text().count("\ufffd") == 1


def test_attachments_and_the_exact_message_are_downloads_only(site: Site,
                                                              tmp_path: Path) -> None:
    message_id = _import_hostile(site, tmp_path)
    viewer = site.signed_in("viewer")
    page = viewer.page(f"/messages/{message_id}")
    link = page.select_one("ul.attachments a")
    assert link["href"] == f"/messages/{message_id}/attachments/0"
    response = viewer.get(link["href"])
    assert response.status_code == 200 and response.content == b"%PDF-1.4 not really"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.isascii() and disposition.startswith("attachment; filename=\"")
    plain = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert plain == "script_decisionfdp.exe"  # no folder, no bidi override, no markup
    assert "filename*=UTF-8''script_decisionfdp.exe" in disposition
    raw = viewer.get(f"/messages/{message_id}/raw")
    with db.transaction(site.ws.engine) as session:
        stored = session.execute(sa.text("select raw from message where id = :id"),
                                 {"id": message_id}).scalar_one()
    assert raw.content == bytes(stored)
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"].startswith(
        f'attachment; filename="message-{message_id}.eml"')
    assert viewer.get(f"/messages/{message_id}/attachments/1").status_code == 404
    assert viewer.get("/messages/99999/raw").status_code == 404


def test_a_non_ascii_attachment_name_keeps_its_letters_in_filename_star(site: Site,
                                                                        tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"] = "privacy@zoom.us", "inquiries@hrgroup.example"
    msg["Subject"], msg["Message-ID"] = "Re: [HC-2020-0002] 决定", "<cjk-1@zoom.us>"
    msg["Date"] = "Thu, 16 Jul 2020 10:00:00 +0200"
    msg.set_content("见附件")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="决定书.pdf")
    path = tmp_path / "cjk.eml"
    path.write_bytes(msg.as_bytes())
    import_path(site.ws, path)
    with db.transaction(site.ws.engine) as session:
        found = session.execute(sa.text(
            "select id from message where message_id = '<cjk-1@zoom.us>'")).scalar_one()
    response = site.signed_in("viewer").get(f"/messages/{found}/attachments/0")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"download.pdf\"; "
        "filename*=UTF-8''%E5%86%B3%E5%AE%9A%E4%B9%A6.pdf")


# ---------------------------------------------------------------- who may do what


ACTIONS = ["send", "mark-sent", "reply", "follow-up", "draft/approve", "draft/discard",
           "extend", "close", "reopen"]


def test_a_viewer_sees_no_action_forms_and_every_post_is_refused(site: Site) -> None:
    viewer = site.signed_in("viewer")
    for ref in ("HC-2020-0001", "HC-2020-0004"):
        page = viewer.page(f"/requests/{ref}")
        assert page.find("form", attrs={"action": lambda a: a and a.startswith(
            "/requests/")}) is None
        assert page.find(id="h-actions") is None
    before = {ref: record(site.path, ref) for ref in ("HC-2020-0001", "HC-2020-0004")}
    token = viewer.session_token()
    for action in ACTIONS:
        response = viewer.post(f"/requests/HC-2020-0004/{action}",
                               {"on": "2020-07-15", "channel": "post", "template": "follow-up",
                                "resolution": "refused", "rule": "14d", "reason": "x"},
                               token=token)
        assert response.status_code == 403, action
    assert viewer.get("/requests/HC-2020-0004/send").status_code == 403
    assert {ref: record(site.path, ref) for ref in before} == before


def test_an_editor_sees_the_forms_that_fit_the_state(site: Site) -> None:
    editor = site.signed_in("editor")
    actions_of = {}
    for ref in ("HC-2020-0001", "HC-2020-0004"):
        page = editor.page(f"/requests/{ref}")
        actions_of[ref] = {f["action"].rsplit(ref + "/", 1)[1] for f in page.find_all("form")
                           if f["action"].startswith(f"/requests/{ref}/")}
        for form in page.find_all("form", method="post"):
            assert form.find("input", attrs={"name": "csrf_token"}), form["action"]
        for field in page.select("form input:not([type=hidden]), form select"):
            assert page.find("label", attrs={"for": field["id"]}), field
    assert actions_of["HC-2020-0004"] == {"send", "mark-sent", "draft/approve", "close"}
    assert actions_of["HC-2020-0001"] == {"follow-up", "reply", "receipts", "extend", "close"}


def test_a_reply_recorded_with_its_scan_is_kept_as_the_command_keeps_it(
        demo_copy: Path, tmp_path: Path) -> None:
    web_path, cli_path = _copy(demo_copy, tmp_path / "web"), _copy(demo_copy, tmp_path / "cli")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scanned letter from TikTok")
    site = make_site(web_path, dict(TODAY))
    try:
        editor = site.signed_in("editor")
        response = editor.post("/requests/HC-2020-0005/reply",
                               {"on": "2020-07-17", "kind": "answer", "note": "by post"},
                               token=editor.session_token(),
                               files={"file": ("scan.pdf", scan.read_bytes(), "application/pdf")})
        assert response.status_code == 303
        tracker(cli_path, "record-reply", "HC-2020-0005", "--on", "2020-07-17", "--kind",
                "answer", "--note", "by post", "--file", str(scan))
        after = same_change(web_path, cli_path, "HC-2020-0005")
        assert after["state"] == "answered" and after["messages"][-1][-1] == 1  # bytes kept
        with db.transaction(site.ws.engine) as session:
            kept = session.execute(sa.text(
                "select id, raw from message where note = 'by post'")).one()
        assert bytes(kept.raw) == scan.read_bytes()
        assert editor.get(f"/messages/{kept.id}/raw").content == scan.read_bytes()
    finally:
        site.ws.close()


def test_an_interrupted_send_offers_a_retry_only_after_a_warning(site: Site) -> None:
    with db.transaction(site.ws.engine) as session:  # as a crash between the two steps leaves it
        session.execute(sa.text(
            "update message set status = 'sending' where status = 'draft' and request_id = "
            "(select id from request where ref = 'HC-2020-0004')"))
    page = site.signed_in("editor").page("/requests/HC-2020-0004")
    form = form_action(page, "/requests/HC-2020-0004/send")
    assert form["method"] == "post" and "Sent folder" in form["data-confirm"]
    assert form.find("input", attrs={"name": "retry"})["value"] == "true"
    assert "may have gone out" in page.select_one("#act-send p.problem").get_text()
