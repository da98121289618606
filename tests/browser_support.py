"""A real `tracker serve` in a subprocess, a real Chromium driving it, and axe-core checking it.

`Served` starts `python -m tracker serve` on a free loopback port for a workspace (with a real
SMTP server and a real Dovecot when the test gives them), and stops it with SIGTERM. Pages are
photographed into the test output folder (``$TRACKER_TEST_OUTPUT``, default
``test-output/`` at the top of the source tree) for a person to look at: CI keeps them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(os.environ.get("TRACKER_TEST_OUTPUT")
              or Path(__file__).resolve().parent.parent / "test-output")
SCREENSHOTS = OUTPUT / "screenshots"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """`tracker serve` for *workspace* with *env*, until `stop`."""

    def __init__(self, workspace: Path, env: dict[str, str], log: Path,
                 *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full = {**os.environ, **env, "TRACKER_WORKSPACE": str(workspace)}
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "serve", "--port", str(self.port), *extra],
            env=full, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tracker serve exited: {log.read_text()}")
            try:
                urllib.request.urlopen(self.url + "/login", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"tracker serve did not answer: {log.read_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless (Playwright cannot download a browser here)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox"])


def sign_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def photograph(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page (offline: axe ships in the
    package)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [str(node.get("target")) for node in violation.get("nodes", [])][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} "
                         f"at {', '.join(targets)}")
    return found
