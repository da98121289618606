"""Optional dependencies: PostgreSQL's driver and dkimpy are extras, and a setting that needs a
missing one says, in one line, which extra to install."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tracker.core.errors import ConfigError
from tracker.mail.authenticity import DKIM_EXTRA, judge
from tracker.services.workspace import init_workspace
from tracker.store.db import POSTGRES_EXTRA

ROOT = Path(__file__).resolve().parent.parent

# Runs the command line with the named top-level packages missing, as on a machine where they
# were never installed.
WITHOUT = """
import sys

missing = set(sys.argv[1].split(","))


class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Uninstalled())
from tracker.cli import main

main(sys.argv[2:], prog_name="tracker")
"""

MESSAGE = (b"From: Zoom Privacy <privacy@zoom.us>\r\nTo: inquiries@hrgroup.example\r\n"
           b"Subject: Re: your request\r\nMessage-ID: <r1@zoom.us>\r\n"
           b"DKIM-Signature: v=1; a=rsa-sha256; d=zoom.us; s=s1; h=from; bh=x; b=y\r\n"
           b"\r\nWe have received your request.\r\n")


def without(packages: str, workspace: Path, *args: str,
            **env: str) -> subprocess.CompletedProcess[str]:
    """`tracker -w WORKSPACE ARGS` with *packages* (comma-separated) uninstalled."""
    environ = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-c", WITHOUT, packages, "-w", str(workspace),
                           *args], capture_output=True, text=True, env=environ, timeout=120)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    init_workspace(path, {"organisation": {"name": "HC", "email": "inquiries@hrgroup.example"}},
                   env={})
    return path


def test_the_extras_are_not_required() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = " ".join(project["dependencies"])
    assert "psycopg" not in required and "dkimpy" not in required
    assert project["optional-dependencies"]["postgres"] == ["psycopg[binary]>=3.1"]
    assert project["optional-dependencies"]["dkim"] == ["dkimpy>=1.1"]


def test_ci_and_the_readme_install_the_extras_the_tests_need() -> None:
    readme = (ROOT / "README.md").read_text()
    install = re.findall(r"```sh\n(.*?)```", readme, re.S)[1].split("&&")[0].strip()
    assert install == "pip install -e '.[test,postgres,dkim]'"
    ci = re.findall(r"^python -m pip install -q (-e .*)$", (ROOT / ".ci" / "run").read_text(),
                    re.M)
    assert ci == [install.removeprefix("pip install ")]


def test_a_postgresql_url_without_its_driver_names_the_extra(workspace: Path) -> None:
    done = without("psycopg", workspace, "status",
                   TRACKER_DATABASE_URL="postgresql://tracker@127.0.0.1:9/tracker")
    assert done.returncode == ConfigError.exit_code, done.stderr
    assert done.stderr.splitlines() == [
        "tracker: error: database postgresql+psycopg://tracker@127.0.0.1:9/tracker is "
        "PostgreSQL, which needs the psycopg driver; it is not installed: "
        f"{POSTGRES_EXTRA}"]
    assert POSTGRES_EXTRA == "pip install 'tracker[postgres]'"


def test_sqlite_needs_no_postgresql_driver(workspace: Path) -> None:
    done = without("psycopg", workspace, "status")
    assert (done.returncode, done.stderr) == (0, "")


def test_dkim_verify_without_dkimpy_names_the_extra(workspace: Path, tmp_path: Path) -> None:
    eml = tmp_path / "reply.eml"
    eml.write_bytes(MESSAGE)
    done = without("dkim", workspace, "inspect", str(eml), TRACKER_IMAP_DKIM_VERIFY="true")
    assert done.returncode == ConfigError.exit_code, done.stderr
    assert done.stderr.splitlines() == [
        "tracker: error: [imap] dkim_verify is on, and checking DKIM signatures needs dkimpy, "
        f"which is not installed: {DKIM_EXTRA} (or turn dkim_verify off)"]
    assert DKIM_EXTRA == "pip install 'tracker[dkim]'"
    # Off (the default), nothing needs dkimpy.
    done = without("dkim", workspace, "inspect", str(eml))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_judge_names_the_extra_when_dkimpy_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dkim", None)  # what an uninstalled package looks like
    assert judge(MESSAGE, "zoom.us", ["mx.hrgroup.example"]).authenticity == "unverified"
    with pytest.raises(ConfigError, match=re.escape(DKIM_EXTRA)):
        judge(MESSAGE, "zoom.us", ["mx.hrgroup.example"], dkim_check=True)
