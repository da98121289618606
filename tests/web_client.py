"""Driving the web app in-process: a workspace with people in each role, and a browser-like
client that signs in, reads pages as parsed HTML and sends forms with their CSRF token."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

with warnings.catch_warnings():  # starlette's note about httpx2; TestClient works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tracker.config.loading import load_settings
from tracker.services import users
from tracker.services.workspace import Workspace
from tracker.web.app import create_app

PASSWORD = "a long enough passphrase"
ROLES = ("viewer", "editor", "admin")
ORIGIN = "http://127.0.0.1"


class Browser:
    """One browser: its own cookies. Unsafe requests carry what a browser sends for a form of
    this site (``Sec-Fetch-Site: same-origin``) unless told otherwise."""

    def __init__(self, app: Any, address: str = "127.0.0.1") -> None:
        self.client = TestClient(app, base_url=ORIGIN, client=(address, 50000),
                                 follow_redirects=False)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def page(self, path: str, status: int = 200) -> BeautifulSoup:
        response = self.get(path)
        assert response.status_code == status, (path, response.status_code,
                                                response.headers.get("location"))
        return BeautifulSoup(response.text, "html.parser")

    def token(self, path: str = "/") -> str:
        found = self.page(path).find("input", attrs={"name": "csrf_token"})
        assert found is not None, f"no form with a CSRF token on {path}"
        return str(found["value"])

    def post(self, path: str, data: dict[str, Any] | None = None, *, token: str | None = None,
             site: str | None = "same-origin", files: Any = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if site is not None:
            headers.setdefault("sec-fetch-site", site)
        form = dict(data or {})
        if token is not None:
            form["csrf_token"] = token
        return self.client.post(path, data=form, files=files, headers=headers, **kwargs)

    def login(self, name: str, password: str = PASSWORD, code: str = "") -> Any:
        token = self.token("/login")
        return self.post("/login", {"name": name, "password": password, "code": code},
                         token=token)

    def session_token(self) -> str:
        """The CSRF token of the signed-in session (from any page's forms)."""
        return self.token("/account")


@dataclass
class Site:
    """A workspace served in-process, with one person of each role (named as the role)."""

    ws: Workspace
    app: Any
    path: Path

    def browser(self, address: str = "127.0.0.1") -> Browser:
        return Browser(self.app, address)

    def signed_in(self, role: str) -> Browser:
        browser = self.browser()
        response = browser.login(role)
        assert response.status_code == 303, response.text
        return browser


def make_site(path: Path, env: dict[str, str] | None = None, **app_options: Any) -> Site:
    ws = Workspace(load_settings(path, env or {}), env=env or {}, actor="test")
    now = datetime.now(UTC)
    for role in ROLES:
        if role not in {u.name for u in users.list_users(ws)}:
            users.add_user(ws, role, role, PASSWORD, now)
    return Site(ws=ws, app=create_app(ws, **app_options), path=path)
