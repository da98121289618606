"""Who may do what in the web face: every route of the app, each role, CSRF, sessions, sign-in.

The route table is read from the app itself, so a route added later is checked too: a route
that changes something and declares no role, or a role lower than it needs, fails here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from web_client import PASSWORD, Site

from tracker.services import users
from tracker.store import db
from tracker.store.models import LoginAttempt
from tracker.web import auth
from tracker.web.security import HEADERS

OPEN_ROUTES = {("GET", "/login"), ("POST", "/login"), ("GET", "/setup"), ("POST", "/setup")}
ROLE_OF = {auth.viewer: "viewer", auth.editor: "editor", auth.admin: "admin"}
RANK = {"viewer": 0, "editor": 1, "admin": 2}
SAMPLE = {"ref": "HC-2020-0001", "name": "viewer", "message_id": "1", "id": "1",
          "slug": "zoom", "template_id": "account-suspension", "language": "en",
          "fmt": "html", "attachment": "0"}


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as their own
    objects)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def _routes(site: Site) -> list[tuple[str, str, str | None]]:
    """(method, path with sample values, least role or None) of every route."""
    found = []
    for route in api_routes(site.app.routes):
        roles = [ROLE_OF[d.call] for d in route.dependant.dependencies if d.call in ROLE_OF]
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE.get(m.group(1), "x"), route.path)
        for method in sorted(route.methods):
            found.append((method, path, roles[0] if roles else None))
    return found


def test_every_route_but_sign_in_declares_a_role(demo_site: Site) -> None:
    routes = _routes(demo_site)
    assert len(routes) >= 10
    missing = [(m, p) for m, p, role in routes if role is None and (m, p) not in OPEN_ROUTES]
    assert missing == []


def test_anonymous_visitors_are_sent_to_sign_in(demo_site: Site) -> None:
    browser = demo_site.browser()
    for method, path, role in _routes(demo_site):
        if role is None:
            continue
        response = browser.client.request(method, path, headers={"sec-fetch-site":
                                                                  "same-origin"})
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login?next="), (method, path)


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_a_role_cannot_use_the_routes_above_it(demo_site: Site, who: str) -> None:
    browser = demo_site.signed_in(who)
    token = browser.session_token()
    checked = 0
    for method, path, role in _routes(demo_site):
        if role is None or RANK[role] <= RANK[who]:
            continue
        response = browser.client.request(
            method, path, headers={"sec-fetch-site": "same-origin", "x-csrf-token": token})
        assert response.status_code == 403, (who, method, path, response.status_code)
        checked += 1
    assert checked > 0


def test_a_viewer_changes_nothing(demo_site: Site) -> None:
    """Every unsafe route refuses a viewer, and the database is the same afterwards."""
    browser = demo_site.signed_in("viewer")
    token = browser.session_token()
    with db.transaction(demo_site.ws.engine) as session:
        before = session.execute(sa.text(
            "select (select count(*) from event), (select count(*) from message), "
            "(select count(*) from request), (select count(*) from person)")).one()
    for method, path, role in _routes(demo_site):
        if method == "POST" and role not in (None, "viewer"):
            response = browser.post(path, {"note": "x"}, token=token)
            assert response.status_code == 403, path
    with db.transaction(demo_site.ws.engine) as session:
        after = session.execute(sa.text(
            "select (select count(*) from event), (select count(*) from message), "
            "(select count(*) from request), (select count(*) from person)")).one()
    assert after == before


def test_a_cross_site_form_is_refused(demo_site: Site) -> None:
    browser = demo_site.signed_in("admin")
    token = browser.session_token()
    new = {"name": "mallory", "role": "admin", "password": PASSWORD}
    refused = [
        browser.post("/users", new, token=token, site="cross-site"),
        browser.post("/users", new, token=token, site="same-site"),
        browser.post("/users", new, token=token, site=None,
                     headers={"origin": "https://evil.example"}),
        browser.post("/users", new, token=None),  # same origin, no token
        browser.post("/users", new, token="forged"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert "mallory" not in {u.name for u in users.list_users(demo_site.ws)}
    accepted = browser.post("/users", new, token=token, site=None,
                            headers={"origin": "http://127.0.0.1"})
    assert accepted.status_code == 303
    assert "mallory" in {u.name for u in users.list_users(demo_site.ws)}


def test_sign_in_makes_a_new_session_id_and_a_planted_one_is_worthless(demo_site: Site) -> None:
    browser = demo_site.browser()
    cookie = demo_site.app.state.cookies.session
    browser.client.cookies.set(cookie, "planted-by-an-attacker", domain="127.0.0.1", path="/")
    assert browser.get("/").status_code == 303  # the planted id opens nothing
    browser.login("editor")
    issued = browser.client.cookies.get(cookie)
    assert issued and issued != "planted-by-an-attacker"
    assert browser.get("/").status_code == 200
    again = demo_site.browser()
    again.login("editor")
    assert again.client.cookies.get(cookie) != issued  # every sign-in, a new id


def test_the_session_cookie_is_http_only_and_same_site(demo_site: Site) -> None:
    browser = demo_site.browser()
    token = browser.token("/login")
    response = browser.post("/login", {"name": "viewer", "password": PASSWORD}, token=token)
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "tracker_session=" in header


def test_over_https_the_cookie_is_secure_with_the_host_prefix(demo_site: Site) -> None:
    from web_client import make_site

    site = make_site(demo_site.path, https=True)
    browser = site.browser()
    browser.client.base_url = "https://127.0.0.1"  # type: ignore[assignment]
    token = browser.token("/login")
    response = browser.post("/login", {"name": "viewer", "password": PASSWORD}, token=token)
    header = response.headers["set-cookie"]
    assert header.startswith("__Host-tracker_session=") and "Secure" in header
    assert "Domain" not in header and "Path=/" in header
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_signing_out_ends_the_session(demo_site: Site) -> None:
    browser = demo_site.signed_in("viewer")
    stolen = browser.client.cookies.get(demo_site.app.state.cookies.session)
    assert browser.post("/logout", token=browser.session_token()).status_code == 303
    thief = demo_site.browser()
    thief.client.cookies.set(demo_site.app.state.cookies.session, stolen or "",
                             domain="127.0.0.1", path="/")
    assert thief.get("/").status_code == 303


def test_a_disabled_person_is_out_at_once(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    assert browser.get("/").status_code == 200
    users.set_disabled(demo_site.ws, "editor", True, datetime.now(UTC))
    assert browser.get("/").status_code == 303
    assert demo_site.browser().login("editor").status_code == 401
    users.set_disabled(demo_site.ws, "editor", False, datetime.now(UTC))
    assert demo_site.browser().login("editor").status_code == 303


def test_a_changed_password_ends_the_sessions(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    users.set_password(demo_site.ws, "editor", "another long passphrase", datetime.now(UTC))
    assert browser.get("/").status_code == 303


def test_sessions_time_out_when_idle_and_after_their_lifetime(demo_site: Site) -> None:
    ws, web = demo_site.ws, demo_site.ws.settings.web
    now = datetime.now(UTC)
    opened = users.sign_in(ws, "viewer", PASSWORD, "", "127.0.0.1", now)
    assert users.current_session(ws, web, opened.token, now + timedelta(minutes=5))
    idle = now + timedelta(minutes=5 + web.idle_minutes + 1)
    assert users.current_session(ws, web, opened.token, idle) is None
    kept = users.sign_in(ws, "viewer", PASSWORD, "", "127.0.0.1", now)
    moment = now
    while moment < now + timedelta(hours=web.session_hours - 1):  # used all the time...
        moment += timedelta(minutes=web.idle_minutes - 1)
        assert users.current_session(ws, web, kept.token, moment), moment
    late = now + timedelta(hours=web.session_hours, minutes=1)  # ...still ends
    assert users.current_session(ws, web, kept.token, late) is None


def test_failed_sign_ins_lock_the_name_and_the_address_for_a_while(demo_site: Site) -> None:
    browser = demo_site.browser(address="192.0.2.7")
    for _ in range(users.MAX_FAILURES_PER_NAME):
        assert browser.login("editor", "wrong password, wrong").status_code == 401
    locked = browser.login("editor")  # the right password, too late
    assert locked.status_code == 401
    assert "too many failed sign-ins" in locked.text
    assert demo_site.browser().login("viewer").status_code == 303  # other names still work
    # An address guessing many names is stopped too: two guesses through the page, and the
    # rest of the limit's worth as the rows those guesses leave (each costs a hash to make).
    spray = demo_site.browser(address="198.51.100.9")
    for number in range(2):
        assert spray.login(f"guess{number}", "wrong password, wrong").status_code == 401
    with db.transaction(demo_site.ws.engine) as session:
        for number in range(2, users.MAX_FAILURES_PER_ADDRESS):
            session.add(LoginAttempt(name=f"guess{number}", address="198.51.100.9",
                                     at=datetime.now(UTC)))
    assert "too many" in spray.login("admin").text
    # A quarter of an hour later the name may try again.
    with db.transaction(demo_site.ws.engine) as session:
        session.execute(sa.update(LoginAttempt).values(
            at=datetime.now(UTC) - timedelta(minutes=16)))
    assert demo_site.browser().login("editor").status_code == 303


def test_the_answer_does_not_tell_whether_a_name_exists(demo_site: Site) -> None:
    unknown = demo_site.browser().login("nobody-here", "wrong password, wrong")
    wrong = demo_site.browser().login("editor", "wrong password, wrong")
    assert unknown.status_code == wrong.status_code == 401
    pick = re.compile(r'role="alert">([^<]*)<')
    assert pick.findall(unknown.text) == pick.findall(wrong.text)


def test_after_sign_in_only_a_path_of_this_site_is_followed(demo_site: Site) -> None:
    for target, expected in [("/inbox", "/inbox"), ("https://evil.example/", "/"),
                             ("//evil.example/x", "/"), ("/\\evil.example", "/")]:
        browser = demo_site.browser()
        token = browser.token("/login")
        response = browser.post("/login", {"name": "viewer", "password": PASSWORD,
                                           "next": target}, token=token)
        assert response.headers["location"] == expected, target


def test_every_answer_carries_the_security_headers(demo_site: Site) -> None:
    browser = demo_site.signed_in("viewer")
    for response in (browser.get("/"), browser.get("/login"), browser.get("/no-such-page"),
                     browser.get("/static/tracker.css")):
        for name, value in HEADERS:
            assert response.headers.get(name.decode()) == value.decode(), (response.url, name)
    csp = browser.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp


def test_pages_have_no_inline_script(demo_site: Site) -> None:
    browser = demo_site.signed_in("admin")
    for path in ("/", "/login", "/users", "/account"):
        page = browser.page(path) if path != "/login" else demo_site.browser().page(path)
        for script in page.find_all("script"):
            assert script.get("src", "").startswith("/static/"), (path, script)
            assert not script.string, path
        assert not page.find_all(attrs={"onclick": True}), path


def test_not_found_and_not_allowed_pages_are_plain(demo_site: Site) -> None:
    browser = demo_site.signed_in("viewer")
    missing = browser.get("/no-such-page")
    assert missing.status_code == 404 and "no such page" in missing.text
    refused = browser.get("/users")
    assert refused.status_code == 403 and "ask an admin" in refused.text
    for response in (missing, refused):
        assert "Traceback" not in response.text


def test_the_first_admin_is_made_on_first_visit_only_from_loopback(tmp_path: object) -> None:
    from web_client import Browser

    from tracker.config.loading import load_settings
    from tracker.services.demo import build_demo
    from tracker.services.workspace import Workspace
    from tracker.web.app import create_app

    path = tmp_path / "fresh"  # type: ignore[operator]
    build_demo(path).close()
    ws = Workspace(load_settings(path, {}), env={})
    app = create_app(ws)
    remote = Browser(app, address="203.0.113.5")
    assert remote.get("/setup").headers["location"] == "/login"
    local = Browser(app)
    assert local.get("/login").headers["location"] == "/setup"
    token = local.token("/setup")
    form = {"name": "ana", "password": PASSWORD, "password2": PASSWORD}
    assert remote.post("/setup", form, token=remote.token("/login")).status_code == 403
    assert local.post("/setup", {**form, "password2": "different passphrase"},
                      token=token).status_code == 400
    assert local.post("/setup", form, token=local.token("/setup")).status_code == 303
    assert [(u.name, u.role) for u in users.list_users(ws)] == [("ana", "admin")]
    # Once there is a user, the page is closed, also from loopback.
    again = Browser(app)
    assert again.get("/setup").headers["location"] == "/login"
    assert again.post("/setup", {**form, "name": "eve"},
                      token=again.token("/login")).status_code == 403
    behind = Browser(create_app(Workspace(load_settings(path, {}), env={}), behind_proxy=True))
    assert behind.get("/login").status_code == 200  # behind a proxy: never a setup page
    ws.close()
