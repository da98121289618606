"""`tracker demo`, the README's first command: the sample case and mailbox give these states."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tracker.cli import main


def test_demo_builds_the_sample_case_and_imports_its_mailbox(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    env = {"TRACKER_TODAY": "2020-07-15", "TRACKER_DATABASE_URL": None,
           "TRACKER_WORKSPACE": None}
    result = CliRunner().invoke(main, ["demo", "--dir", str(ws)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "HC-2020-0001" in result.stdout
    rows = json.loads(CliRunner().invoke(main, ["-w", str(ws), "status", "--all", "--json"],
                                         env=env).stdout)
    by_ref = {r["ref"]: r for r in rows}
    assert by_ref["HC-2020-0001"]["state"] == "acknowledged"
    assert by_ref["HC-2020-0001"]["suspicious_replies"] == 1
    assert by_ref["HC-2020-0001"]["overdue"] is True  # 30 days from 11 June
    assert by_ref["HC-2020-0002"]["due_on"] == "2020-09-15"  # GDPR, extended by two months
    assert by_ref["HC-2020-0003"]["state"] == "answered"
    assert by_ref["HC-2020-0004"]["state"] == "draft"
    assert by_ref["HC-2020-0005"]["delivery_failed"] is True
    inbox = json.loads(CliRunner().invoke(main, ["-w", str(ws), "inbox", "--json"],
                                          env=env).stdout)
    assert [(i["ref"], i["authenticity"]) for i in inbox] == [("HC-2020-0001", "suspicious")]


def test_demo_serve_opens_the_demo_in_the_browser_with_a_demo_login(tmp_path: Path) -> None:
    """`tracker demo --serve`: the printed address and login open the demo's dashboard."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import httpx
    from browser_support import free_port

    port = free_port()
    env = {**os.environ, "TRACKER_TODAY": "2020-07-15"}
    env.pop("DISPLAY", None)
    env.pop("TRACKER_DATABASE_URL", None)
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "demo", "--serve", "--dir",
                                 str(tmp_path / "demo"), "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            found = None
            for _ in range(300):
                found = re.search(r"open (http://127\.0\.0\.1:\d+/) and sign in as (\w+) with "
                                  r"the password (\S+)", log.read_text())
                if found and b"Uvicorn running" in log.read_bytes():
                    break
                time.sleep(0.1)
            assert found, log.read_text()
            url, name, password = found.groups()
            with httpx.Client(base_url=url, follow_redirects=False) as client:
                form = client.get("/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
                assert token
                signed = client.post("/login", data={"name": name, "password": password,
                                                     "csrf_token": token.group(1)})
                assert signed.status_code == 303
                dashboard = client.get("/")
                assert dashboard.status_code == 200
                assert "Humanitarian China (demo)" in dashboard.text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    assert "Traceback" not in log.read_text()
