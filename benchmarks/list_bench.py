"""How long the request list (/requests) and the search take on 10,000 requests (SQLite).

    python benchmarks/list_bench.py 10000 --workspace /tmp/list-bench   # build once, keep
    python benchmarks/list_bench.py 10000 --workspace /tmp/list-bench --repeat 7

Builds (unless the workspace exists) the weekly report benchmark's workspace (report_bench.fill:
N requests, 10 N messages, Europe/Berlin, DE holidays), gives every message real mail bytes
(English or Chinese text of about 1.5 KB, so that the search has words to find), settles each
request's due date as tracker keeps it (the migration's data would have it), and reads every
message's words into the search index (`search.reindex`, what migration 0007 does for data
stored before it).

Then times, in a warm process, the service calls the page makes (`listing.list_requests`, one
page of 50 rows; `search.search`), median and best of ``--repeat``, wall and CPU time. The
route adds the template (a few ms for 50 rows).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_bench import AS_OF, fill

from tracker.config.loading import load_settings
from tracker.services import listing, search
from tracker.services.facts import derive
from tracker.services.status import letter_rows, load_requests, select_requests
from tracker.services.workspace import Workspace, init_workspace
from tracker.store.db import transaction

ENGLISH = ("We have received your request concerning the suspension of the account. Our team "
           "is reviewing the case and will respond within the statutory period. ")
CHINESE = "我们已收到您关于账号被封禁的申诉。我们的团队正在审核此案，并将在法定期限内答复。"


def mail_for(message_id: int, subject: str, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender or "legal@platform.example"
    msg["To"] = "inquiries@hrgroup.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<bench{message_id}@platform.example>"
    words = CHINESE * 8 if message_id % 5 == 0 else ENGLISH * 8
    msg.set_content(f"Ticket {message_id:07d}\n\n{words}\n")
    return msg.as_bytes(policy=SMTP)


def build(path: Path, n: int) -> Workspace:
    init_workspace(path, {"organisation": {"country": "DE", "timezone": "Europe/Berlin"}},
                   env={})
    ws = Workspace(load_settings(path, env={}), env={})
    t0 = time.perf_counter()
    fill(ws, n, 0)
    with transaction(ws.engine) as session:
        conn = session.connection()
        rows = conn.execute(sa.text("SELECT id, subject, from_addr FROM message")).all()
        updates = []
        for id_, subject, sender in rows:
            raw = mail_for(id_, subject, sender)
            updates.append({"id": id_, "raw": raw, "sha": hashlib.sha256(raw).hexdigest()})
        conn.execute(sa.text("UPDATE message SET raw = :raw, sha256 = :sha WHERE id = :id"),
                     updates)
        # The due date tracker keeps on each request (settle_state), from its messages.
        requests = load_requests(session, select_requests(include_closed=True))
        letters = letter_rows(session, None)
        dues = [{"id": r.id, "due": derive(ws, r, letters[r.id], AS_OF).wait.due_on}
                for r in requests]
        conn.execute(sa.text("UPDATE request SET due_on = :due WHERE id = :id"), dues)
    print(f"filled in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    count = search.reindex(ws)
    print(f"indexed {count} messages in {time.perf_counter() - t0:.0f} s", flush=True)
    return ws


def timed(repeat: int, work: Callable[[], Any]) -> tuple[float, float, float, Any]:
    """(median wall, best wall, median CPU) in ms, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = work()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return statistics.median(walls), min(walls), statistics.median(cpus), result


LISTS = [
    ("default (open, longest silence first)", {}),
    ("?overdue=1", {"overdue": "1"}),
    ("?overdue=very", {"overdue": "very"}),
    ("?due=week", {"due": "week"}),
    ("?undelivered=1", {"undelivered": "1"}),
    ("?state=draft", {"state": "draft"}),
    ("?platform=zoom", {"platform": "zoom"}),
    ("?platform=zoom&overdue=1", {"platform": "zoom", "overdue": "1"}),
    ("?overdue=1&sort=due", {"overdue": "1", "sort": "due"}),
    ("?state=all&sort=ref&page=100", {"state": "all", "sort": "ref", "page": "100"}),
    ("?q=HC-2024-0999", {"q": "HC-2024-0999"}),
    ("?q=0004242 (a ticket number in a message)", {"q": "0004242"}),
]
SEARCHES = ["HC-2024-0999", "0004242", "statutory period", "账号被封禁", "账号", "封", "zoom"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("size", type=int)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if (args.workspace / "tracker.toml").exists():
        ws = Workspace(load_settings(args.workspace, env={}), env={})
        search.reindex(ws)  # catches up if an earlier build stopped while indexing
    else:
        ws = build(args.workspace, args.size)
    with transaction(ws.engine) as session:
        counts = session.execute(sa.text(
            "SELECT (SELECT count(*) FROM request), (SELECT count(*) FROM message), "
            "(SELECT count(*) FROM messagetext)")).one()
    print(f"{counts[0]:,} requests, {counts[1]:,} messages, {counts[2]:,} indexed; as of "
          f"{AS_OF}; median / best wall, median CPU of {args.repeat}\n")
    print("| list_requests | rows | total | median | best | CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, params in LISTS:
        filters = listing.parse_filters(params)
        med, best, cpu, page = timed(args.repeat,
                                     lambda f=filters: listing.list_requests(ws, f, AS_OF))
        print(f"| {label} | {len(page.rows)} | {page.total:,} | {med:.0f} ms | {best:.0f} ms "
              f"| {cpu:.0f} ms |", flush=True)
    print("\n| search.search | found | median | best | CPU |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for text in SEARCHES:
        med, best, cpu, result = timed(args.repeat, lambda t=text: search.search(ws, t))
        print(f"| {text} | {result.total:,} | {med:.0f} ms | {best:.0f} ms | {cpu:.0f} ms |",
              flush=True)


if __name__ == "__main__":
    main()
