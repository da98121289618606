"""`tracker serve`: which addresses it agrees to serve on, https with a certificate, and the
second factor (TOTP) end to end."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp
import pytest
import trustme
from browser_support import free_port
from click.testing import CliRunner
from web_client import PASSWORD, Site, make_site

from tracker.cli import main
from tracker.services import users
from tracker.services.demo import build_demo


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    path = tmp_path / "demo"
    build_demo(path).close()
    return path


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--host", "0.0.0.0"], {}, "would serve the workspace unencrypted to the network"),
    (["--host", "192.0.2.10"], {}, "serve on 127.0.0.1 behind a reverse proxy with TLS"),
    (["--host", "0.0.0.0", "--behind-proxy"], {},
     "--behind-proxy needs [web] base_url = \"https://...\""),
    (["--behind-proxy"], {"TRACKER_WEB_BASE_URL": "http://tracker.hrgroup.example"},
     "--behind-proxy needs [web] base_url"),
    (["--certfile", "cert.pem"], {}, "give both --certfile and --keyfile"),
    (["--certfile", "missing.pem", "--keyfile", "missing.key", "--host", "0.0.0.0"], {},
     "does not exist"),
    (["--port", "70000"], {}, "give a port from 1 to 65535"),
    (["--workers", "0"], {}, "--workers 0: give 1 to 32"),
    (["--workers", "2"], {"TRACKER_IMAP_HOST": "127.0.0.1"},
     "add --no-watch and run `tracker watch` beside it"),
])
def test_serve_refuses_what_would_expose_the_workspace(demo_path: Path, args: list[str],
                                                       env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(main, ["-w", str(demo_path), "serve", *args], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_web_setting_is_one_clear_line(demo_path: Path) -> None:
    for env, message in [({"TRACKER_WEB_BASE_URL": "tracker.example"}, "scheme and host only"),
                         ({"TRACKER_WEB_IDLE_MINUTES": "0"}, "give 1 to 1440 minutes")]:
        result = CliRunner().invoke(main, ["-w", str(demo_path), "serve"], env=env)
        assert result.exit_code == 2 and message in result.output, result.output


def test_several_workers_serve_one_team_from_one_port(demo_path: Path, tmp_path: Path) -> None:
    """`--workers 2`: two processes answer on the port; a session made through one is good in
    the other (sessions live in the database), and Ctrl-C (SIGTERM) stops them all."""
    from browser_support import Served

    served = Served(demo_path, {"TRACKER_TODAY": "2020-07-20"}, tmp_path / "serve.log",
                    "--no-watch", "--workers", "2")
    try:
        make_site(demo_path).ws.close()  # people named as their roles
        with httpx.Client(base_url=served.url) as client:
            form = client.get("/login").text
            token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = client.post("/login", data={"name": "viewer", "csrf_token": token,
                                                 "password": PASSWORD})
            assert signed.status_code == 303, signed.text
            cookies = dict(client.cookies)
        # A new connection each time: the kernel hands them to both processes.
        pages = [httpx.get(served.url + "/", cookies=cookies) for _ in range(20)]
        assert {page.status_code for page in pages} == {200}
        assert all("HC-2020-0001" in page.text for page in pages)
        found = httpx.get(served.url + "/requests?q=tiananmen-vigil-1989", cookies=cookies)
        assert found.status_code == 200
    finally:
        code = served.stop()
    assert code == 0, served.output()
    assert served.output().count("Started server process") == 2, served.output()
    # What staff searched for stays out of the server's log; the page they opened is in it.
    assert '"GET /requests HTTP/1.1" 200' in served.output(), served.output()
    assert "tiananmen" not in served.output()


def test_serve_over_https_with_a_certificate(demo_path: Path, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    port = free_port()
    env = {**os.environ, "TRACKER_WORKSPACE": str(demo_path)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--port", str(port),
                                 "--certfile", str(certfile), "--keyfile", str(keyfile)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        answer = None
        for _ in range(200):
            try:
                # No one can sign in yet: the first visit from this computer makes the admin.
                answer = httpx.get(f"https://127.0.0.1:{port}/setup",
                                   verify=ssl.create_default_context(cafile=str(cafile)))
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200, log.read_text()
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert "__Host-tracker_login=" in answer.headers["set-cookie"]
        assert "Secure" in answer.headers["set-cookie"]
        with pytest.raises(httpx.ConnectError):  # a certificate nobody vouches for: refused
            httpx.get(f"https://127.0.0.1:{port}/login")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert "Traceback" not in log.read_text()


def test_a_second_factor_once_on_is_asked_at_every_sign_in(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    page = browser.page("/account/totp")
    secret = str(page.find("input", attrs={"name": "secret"})["value"])
    token = browser.session_token()
    wrong = browser.post("/account/totp", {"secret": secret, "code": "000000"}, token=token)
    assert wrong.status_code == 400 and "does not match" in wrong.text
    code = pyotp.TOTP(secret).now()
    assert browser.post("/account/totp", {"secret": secret, "code": code},
                        token=token).status_code == 303
    assert demo_site.browser().login("editor").status_code == 401  # the password alone
    assert demo_site.browser().login("editor", code="123456").status_code == 401
    assert demo_site.browser().login("editor", code=pyotp.TOTP(secret).now()).status_code == 303


def test_when_a_second_factor_is_required_everyone_sets_one_up_first(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    site = make_site(path, {"TRACKER_WEB_REQUIRE_TOTP": "true"})
    browser = site.signed_in("viewer")
    first = browser.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/account/totp"
    page = browser.page("/account/totp")
    secret = str(page.find("input", attrs={"name": "secret"})["value"])
    assert browser.post("/account/totp", {"secret": secret, "code": pyotp.TOTP(secret).now()},
                        token=str(page.find("input", attrs={"name": "csrf_token"})["value"])
                        ).status_code == 303
    assert browser.get("/").status_code == 200
    assert {u.name: bool(u.totp_secret) for u in users.list_users(site.ws)}["viewer"]
    site.ws.close()


def _serve(workspace: Path, tmp_path: Path, env: dict[str, str], *args: str
           ) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--port", str(port),
                                 *args], env={**os.environ, "TRACKER_WORKSPACE": str(workspace),
                                              **env},
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/login")
            return proc, url, log
        except httpx.ConnectError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(log.read_text())


@pytest.mark.parametrize(("trusted", "seen"), [("127.0.0.1", "203.0.113.9"),
                                              ("192.0.2.1", "127.0.0.1")])
def test_behind_a_proxy_only_the_trusted_proxy_names_the_client(
        demo_site: Site, tmp_path: Path, trusted: str, seen: str) -> None:
    """The address a failed sign-in is counted against is the one the proxy forwarded, but
    only when the connection comes from a proxy in [web] trusted_proxies."""
    import re

    import sqlalchemy as sa

    from tracker.store import db

    env = {"TRACKER_WEB_BASE_URL": "https://tracker.hrgroup.example",
           "TRACKER_WEB_TRUSTED_PROXIES": trusted}
    proc, url, log = _serve(demo_site.path, tmp_path, env, "--behind-proxy")
    forwarded = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    try:
        with httpx.Client(base_url=url, headers=forwarded) as client:
            assert client.get("/setup").headers["location"] == "/login"  # never behind a proxy
            form = client.get("/login")
            assert "__Host-tracker_login=" in form.headers["set-cookie"]
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            cookie = form.headers["set-cookie"].split(";")[0]
            refused = client.post("/login", data={"name": "editor", "password": "wrong one!",
                                                  "csrf_token": token.group(1)},
                                  headers={"cookie": cookie,
                                           "origin": "https://tracker.hrgroup.example"})
            assert refused.status_code == 401
            cross = client.post("/login", data={"name": "editor", "password": "x",
                                                "csrf_token": token.group(1)},
                                headers={"cookie": cookie, "origin": url})
            assert cross.status_code == 403  # the backend's own address is not the site
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    with db.transaction(demo_site.ws.engine) as session:
        addresses = session.execute(sa.text("select address from loginattempt")).scalars().all()
    assert addresses == [seen]
    assert "Traceback" not in log.read_text()
