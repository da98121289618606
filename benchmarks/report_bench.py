"""How long the weekly report takes as the database grows (SQLite, in-process).

    python benchmarks/report_bench.py 1000 2500 5000 10000 --write
    python benchmarks/report_bench.py 10000 --raw-kb 0      # messages without stored bytes
    python benchmarks/report_bench.py 10000 --mmap-mb 512   # SQLite reading through mmap

Builds a throw-away workspace per size (country DE, Europe/Berlin, so business days and
holidays are counted) and fills it with bulk inserts: N requests over eight platforms and four
deadline rules (gdpr, 30d, ccpa, 20bd), sent over the two years before the report day, and
exactly 10 messages per request on average (100,000 for 10,000 requests): the letter, follow-ups
every few weeks while waiting, acknowledgements, answers, later correspondence, and some
bounces, suspicious replies waiting in triage and drafted follow-ups. Every message keeps its
raw bytes (``--raw-kb`` KB on average, default 3) in its row, as a real mailbox would, so that
the table is as big on disk as the real one.

Then it times, best of ``--repeat`` in a warm process (wall time and CPU time):

- ``status_rows`` alone (what `tracker status` computes),
- ``build_weekly_report`` (the two queries and the whole report model),
- building plus rendering as JSON, HTML, Markdown and for the terminal (with colour, 100 rows
  a table), with the garbage collector held as `tracker report weekly` holds it,
- the whole `tracker report weekly --format html` command as a subprocess (wall time, with
  Python starting and importing, about a second on the reference VM).

Prints a Markdown table row per size; ``--write`` puts the table into benchmarks/RESULTS.md
between the ``report_bench`` markers (appended the first time, replaced afterwards).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from tracker.config.loading import load_settings
from tracker.report import build_weekly_report, render
from tracker.report.terminal import render_terminal
from tracker.services.status import paused_gc, status_rows
from tracker.services.workspace import Workspace, init_workspace
from tracker.store.db import transaction
from tracker.store.models import Case, Message, Platform, Request

HERE = Path(__file__).resolve().parent
PLATFORMS = ["zoom", "facebook", "youtube", "x", "microsoft", "tiktok", "wechat", "discord"]
RULES = ["gdpr", "30d", "ccpa", "20bd"]
AS_OF = date(2026, 11, 23)  # a Monday
MARK_START = "<!-- report_bench:start -->"
MARK_END = "<!-- report_bench:end -->"


def _messages_for(i: int, req_id: int, ref: str, rng: random.Random, now: datetime,
                  raw: Callable[[], bytes]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The messages of request *i*, and the request's own changed columns."""
    kind_of = i % 20
    changes: dict[str, Any] = {}
    subject = f"[{ref}] Suspension of our account"
    out: list[dict[str, Any]] = []

    def add(at: datetime | None, direction: str, status: str, kind: str, **extra: Any) -> None:
        out.append({"request_id": req_id, "direction": direction, "status": status,
                    "kind": kind, "occurred_at": at, "created_at": at or now,
                    "subject": extra.pop("subject", subject if direction == "out"
                                         else f"Re: {subject}"),
                    "from_addr": "legal@platform.example" if direction == "in"
                    else "inquiries@hrgroup.example",
                    "message_id": f"<{ref.lower()}.{len(out)}@hrgroup.example>",
                    "raw": raw(), **extra})

    if kind_of == 0:  # still a draft
        add(None, "out", "draft", "initial", template="account-suspension")
        return out, {"state": "draft"}
    start = now - timedelta(days=rng.uniform(0, 700), hours=rng.uniform(0, 12))
    add(start, "out", "sent", "initial", template="account-suspension")
    if i % 2:
        add(start + timedelta(hours=1), "in", "received", "auto_reply")
    answered = kind_of in range(1, 9)
    answer_at = start + timedelta(days=rng.uniform(3, 80))
    if answered and answer_at > now:
        answered = False
    if answered:
        add(answer_at, "in", "received", "reply", authenticity="verified")
        at = answer_at
        for _ in range(rng.randint(1, 3)):  # the conversation goes on
            at += timedelta(days=rng.uniform(2, 20))
            if at > now:
                break
            add(at, "out", "sent", "follow-up", template="follow-up")
            at += timedelta(days=rng.uniform(1, 10))
            if at > now:
                break
            add(at, "in", "received", "reply", authenticity="verified")
        changes["state"] = "closed" if kind_of in (1, 2) else "answered"
        if kind_of in (1, 2):
            changes["resolution"] = "answered"
    else:
        at = start
        for _ in range(3):  # follow-ups while waiting
            at += timedelta(days=rng.uniform(20, 45))
            if at > now:
                break
            add(at, "out", "sent", "follow-up", template="follow-up")
            if rng.random() < 0.5:
                add(at + timedelta(hours=2), "in", "received", "auto_reply")
        changes["state"] = "acknowledged" if i % 2 else "awaiting"
        if i % 97 == 5:
            add(start + timedelta(minutes=5), "in", "received", "bounce",
                bounced=["privacy@platform.example"])
            changes["delivery_failed"] = True
        if i % 89 == 7:
            add(start + timedelta(days=9), "in", "received", "reply",
                authenticity="suspicious", triage="pending")
        if i % 53 == 3:
            add(None, "out", "draft", "follow-up", template="follow-up")
    return out, changes


def fill(ws: Workspace, n: int, raw_kb: float) -> int:
    """Insert *n* requests and 10 * n messages in bulk; return the number of messages."""
    rng = random.Random(n)
    now = datetime.combine(AS_OF, clock_time(8), tzinfo=UTC)
    pool = rng.randbytes(64 * 1024)
    mean = int(raw_kb * 1024)

    def raw() -> bytes:
        if not mean:
            return b""
        size = rng.randint(mean // 3, mean * 5 // 3)
        offset = rng.randrange(0, len(pool) - size)
        return pool[offset:offset + size]

    requests: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for i in range(n):
        ref = f"HC-2024-{i + 1:05d}"
        own, changes = _messages_for(i, i + 1, ref, rng, now, raw)
        messages.extend(own)
        sent = [m["occurred_at"] for m in own if m["direction"] == "out" and m["occurred_at"]]
        extensions = []
        if i % 10 == 4 and sent:
            extensions = [{"rule": "2m", "granted_at": (sent[0] + timedelta(days=5)).isoformat(),
                           "reason": "bench"}]
        requests.append({
            "id": i + 1, "ref": ref, "case_id": 1, "platform_slug": PLATFORMS[i % len(PLATFORMS)],
            "template": "account-suspension", "language": "en",
            "recipient": "privacy@platform.example", "channel": "email",
            "deadline_rule": RULES[i % len(RULES)], "state": "awaiting", "resolution": None,
            "variables": {}, "extensions": extensions, "delivery_failed": False, "tickets": [],
            "created_at": (sent[0] if sent else now) - timedelta(hours=1), "updated_at": now,
            **changes,
        })
    # Top up to exactly ten messages per request: the platforms' ticket-update mails.
    open_ids = [r["id"] for r in requests if r["state"] != "draft"]
    by_id = {r["id"]: r for r in requests}
    first_sent = {m["request_id"]: m["occurred_at"] for m in reversed(messages)
                  if m["direction"] == "out" and m["occurred_at"]}
    k = 0
    while len(messages) < 10 * n:
        req_id = open_ids[k % len(open_ids)]
        k += 1
        begin = first_sent[req_id]
        at = begin + (now - begin) * rng.random()
        messages.append({"request_id": req_id, "direction": "in", "status": "received",
                         "kind": "auto_reply", "occurred_at": at, "created_at": at,
                         "subject": f"Update on your case [{by_id[req_id]['ref']}]",
                         "from_addr": "noreply@platform.example",
                         "message_id": f"<upd{k}@platform.example>", "raw": raw()})
    messages = messages[:10 * n]
    defaults = {"template": "", "language": "", "variables": {}, "channel": "email",
                "to_addrs": "", "in_reply_to": "", "references": "", "headers": {},
                "sha256": "", "note": "", "authenticity": "", "reasons": [], "match_rule": "",
                "triage": "", "ticket": "", "bounced": [], "defects": []}
    with transaction(ws.engine) as session:
        for slug in PLATFORMS:
            session.add(Platform(slug=slug, name=slug.title(), record={}))
        session.add(Case(id=1, title="bench"))
        session.flush()
        conn = session.connection()
        for start in range(0, n, 5000):
            conn.execute(sa.insert(Request), requests[start:start + 5000])
        for start in range(0, len(messages), 5000):
            conn.execute(sa.insert(Message),
                         [{**defaults, **m} for m in messages[start:start + 5000]])
    return len(messages)


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, float]:
    """The best wall time and the best CPU time of *repeat* runs (the VM's neighbours make
    wall times jump; CPU time shows what the work itself costs)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        work()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def measure(n: int, repeat: int, raw_kb: float, mmap_mb: int = 0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ws"
        init_workspace(path, {"organisation": {"country": "DE", "timezone": "Europe/Berlin"}},
                       env={})
        ws = Workspace(load_settings(path, env={}), env={})
        t0 = time.perf_counter()
        count = fill(ws, n, raw_kb)
        filled = time.perf_counter() - t0
        size_mb = (path / "tracker.db").stat().st_size / 1e6
        if mmap_mb:  # what tracker.db could set for SQLite: reads through a memory map

            def _mmap(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.execute(f"PRAGMA mmap_size={mmap_mb * 1024 * 1024}")

            sa.event.listen(ws.engine, "connect", _mmap)
            ws.engine.dispose()

        def status() -> None:
            with transaction(ws.engine) as session:
                status_rows(ws, session, AS_OF)

        def build() -> Any:
            with transaction(ws.engine) as session:
                return build_weekly_report(ws, session, AS_OF)

        def rendered(fmt: str) -> Callable[[], Any]:
            def work() -> None:
                with paused_gc():  # as `tracker report weekly` does
                    report = build()
                    if fmt == "terminal":  # with colour, as on a terminal
                        console = Console(file=io.StringIO(), width=140, force_terminal=True,
                                          color_system="truecolor")
                        render_terminal(report, console)
                    else:
                        render(report, fmt)
            return work

        build()  # warm: holiday tables, templates, the platform directory
        times = {"status": best_of(repeat, status), "build": best_of(repeat, build)}
        for fmt in ("json", "html", "markdown", "terminal"):
            times[fmt] = best_of(repeat, rendered(fmt))
        report = build()
        ws.close()
        env = {**os.environ, "TRACKER_TODAY": AS_OF.isoformat()}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tracker", "-w", str(path), "report", "weekly",
                        "--format", "html"], check=True, stdout=subprocess.DEVNULL, env=env)
        times["command"] = time.perf_counter() - t0
    return {"n": n, "messages": count, "fill": filled, "size_mb": size_mb,
            "overdue": report.summary.overdue, "open": report.summary.open, **times}


def table(results: list[dict[str, Any]], repeat: int, raw_kb: float) -> str:
    def ms(times: tuple[float, float]) -> str:
        return f"{times[0] * 1000:.0f} ms ({times[1] * 1000:.0f})"

    lines = [
        "| requests | messages | db size | overdue / open | status_rows | build | "
        "**build+json** | **build+html** | build+markdown | build+terminal | "
        "`report weekly --format html` wall |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['messages']:,} | {r['size_mb']:.0f} MB | "
            f"{r['overdue']:,} / {r['open']:,} | {ms(r['status'])} | {ms(r['build'])} | "
            f"**{ms(r['json'])}** | **{ms(r['html'])}** | {ms(r['markdown'])} | "
            f"{ms(r['terminal'])} | {r['command'] * 1000:.0f} ms |"
        )
    lines.append("")
    lines.append(f"Each cell: best wall time of {repeat} runs in one warm process, and in brackets "
                 f"the best CPU time. Messages keep {raw_kb:g} KB of raw bytes on average. "
                 f"Python {platform.python_version()}, SQLite "
                 f"{__import__('sqlite3').sqlite_version}, {platform.machine()}, "
                 f"`nproc` = {os.cpu_count()}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw-kb", type=float, default=3.0,
                        help="average stored bytes per message in KB (0: none)")
    parser.add_argument("--mmap-mb", type=int, default=0,
                        help="in-process runs only: PRAGMA mmap_size in MB (0: SQLite's default)")
    parser.add_argument("--write", action="store_true",
                        help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    results = []
    for n in args.sizes:
        result = measure(n, args.repeat, args.raw_kb, args.mmap_mb)
        print(f"{n:,} requests: filled in {result['fill']:.1f} s", file=sys.stderr)
        results.append(result)
    text = table(results, args.repeat, args.raw_kb)
    if args.mmap_mb:
        text += f" In-process runs with `PRAGMA mmap_size` = {args.mmap_mb} MB."
    print(text)
    if args.write:
        write_results(text, args)


def write_results(text: str, args: argparse.Namespace) -> None:
    command = "python benchmarks/report_bench.py " + " ".join(
        [*map(str, args.sizes), f"--repeat {args.repeat}", f"--raw-kb {args.raw_kb:g}",
         *([f"--mmap-mb {args.mmap_mb}"] if args.mmap_mb else [])])
    section = (f"{MARK_START}\n### `tracker report weekly`: 1,000 to 10,000 requests, "
               f"10 messages each\n\nRun {date.today().isoformat()}; SQLite.\n\n"
               f"```\n{command}\n```\n\n{text}\n{MARK_END}\n")
    path = HERE / "RESULTS.md"
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK_START in current and MARK_END in current:
        head, _, rest = current.partition(MARK_START)
        _, _, tail = rest.partition(MARK_END)
        current = head + section.rstrip("\n") + tail
    else:
        current = current.rstrip("\n") + ("\n\n" if current else "") + section
    path.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()
