"""How long `tracker status` takes as the number of requests grows (SQLite, in-process).

    python benchmarks/status_bench.py 1000 10000 [--repeat 3]

Builds a throw-away workspace per size, fills it with N requests (each with one sent letter,
a third with an acknowledgement, a sixth answered, a tenth extended), then times
``status_rows`` (the whole status computation: query, clock, business days for DE) and the
whole `tracker status --json` command as a subprocess. Prints a Markdown table row per size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker.config.loading import load_settings
from tracker.services.status import status_rows
from tracker.services.workspace import Workspace, init_workspace
from tracker.store.db import transaction
from tracker.store.models import Case, Message, Platform, Request

PLATFORMS = ["zoom", "facebook", "youtube", "x", "microsoft", "tiktok", "wechat", "discord"]


def fill(ws: Workspace, n: int) -> None:
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    with transaction(ws.engine) as session:
        for slug in PLATFORMS:
            session.add(Platform(slug=slug, name=slug, record={}))
        case = Case(title="bench")
        session.add(case)
        session.flush()
        for i in range(n):
            sent = start + timedelta(hours=7 * i % (24 * 600))
            req = Request(ref=f"HC-2024-{i + 1:05d}", case_id=case.id or 0,
                          platform_slug=PLATFORMS[i % len(PLATFORMS)],
                          template="account-suspension", language="en",
                          recipient="privacy@zoom.us", deadline_rule="gdpr" if i % 2 else "30d",
                          state="awaiting",
                          extensions=[{"rule": "2m", "granted_at": (sent + timedelta(days=5))
                                       .isoformat(), "reason": "bench"}] if i % 10 == 0 else [])
            session.add(req)
            session.flush()
            session.add(Message(request_id=req.id, direction="out", status="sent",
                                kind="initial", subject=f"[{req.ref}] Suspension",
                                occurred_at=sent))
            if i % 3 == 0:
                session.add(Message(request_id=req.id, direction="in", status="received",
                                    kind="auto_reply", occurred_at=sent + timedelta(hours=1)))
            if i % 6 == 0:
                session.add(Message(request_id=req.id, direction="in", status="received",
                                    kind="reply", occurred_at=sent + timedelta(days=20)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"| requests | status_rows (best of {args.repeat}) | `tracker status --json` wall |")
    print("| ---: | ---: | ---: |")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ws"
            init_workspace(path, {"organisation": {"country": "DE",
                                                   "timezone": "Europe/Berlin"}}, env={})
            ws = Workspace(load_settings(path, env={}), env={})
            fill(ws, n)
            as_of = datetime(2026, 11, 25).date()
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                with transaction(ws.engine) as session:
                    rows = status_rows(ws, session, as_of)
                best = min(best, time.perf_counter() - t0)
            assert len(rows) == n
            ws.close()
            env = {**os.environ, "TRACKER_TODAY": "2026-11-25"}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tracker", "-w", str(path), "status", "--json"],
                           check=True, stdout=subprocess.DEVNULL, env=env)
            wall = time.perf_counter() - t0
            print(f"| {n:,} | {best * 1000:.0f} ms | {wall * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
