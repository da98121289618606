"""How fast `tracker sync` and `tracker watch` are on a big mailbox (real Dovecot, SQLite).

    python benchmarks/sync_bench.py --messages 20000          # the issue's size (~6 minutes)
    python benchmarks/sync_bench.py --messages 1000 --no-write # quick smoke run

Needs Dovecot (``apt-get install dovecot-imapd``) and root (its mail processes run as
``nobody``). Everything lives in a temporary directory: a private Dovecot (``tests/dovecot.py``),
a tracker workspace made through the CLI with ``--requests`` requests whose letters were sent by
email, and an INBOX of ``--messages`` synthetic messages (``benchmarks/mailgen.py``: about 5% with
an attachment of 50-500 KB, 1% replies to the requests by In-Reply-To or ``[REF]`` subject tag,
the rest unrelated). Filling the mailbox is timed but not counted.

What is measured (see RESULTS.md for the targets):

(a) first sync of the whole INBOX: ``sync_all`` in-process, and the ``tracker sync`` command's
    wall time, each divided by a bare imapclient session in the same run (connect, login, EXAMINE,
    one UID SEARCH, ``BODY.PEEK[HEADER]`` of every message in batches of 1000, logout); the
    runs take turns. "In-process" times the call alone, in a fresh Python process (see
    ``in_child``), as is the bare session. The same bare session with imaplib's debug output
    off (tracker turns it off; imapclient turns it on) is shown for comparison;
(b) a sync with nothing new: ``sync_all`` in-process on a warm workspace (median of
    ``--repeat``) of the INBOX and of a folder ``Small`` holding the first ``--small`` of the
    same messages (the two alternate, so that both see the same machine), plus the command's
    wall time;
(c) peak RSS of the ``tracker sync`` process during the first sync (``/usr/bin/time -f %M``);
(d) ``tracker watch`` latency: APPEND of a reply to an awaiting request (one at a time, over a
    connection opened beforehand) until the request's new state is visible in the database,
    polled every 20 ms; median of ``--watch`` replies.

Each workspace is a copy of one template made before any sync, so every first sync starts from
the same database. Before (b), a read-write session plays the staff's mail client (see
``open_like_a_mail_client``): with read-only readers only, Dovecot's maildir never settles and
its EXAMINE alone costs 15-70 ms at 20,000 messages; the table shows both.

The results are printed as a Markdown table and, for full-size runs (or with ``--write``),
written into benchmarks/RESULTS.md between the ``sync_bench`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import imapclient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # tests/dovecot.py: the Dovecot test server

import mailgen  # noqa: E402
from dovecot import PASSWORD, USER, DovecotServer, dovecot_available  # noqa: E402
from mailgen import Letter  # noqa: E402
from results import write_block  # noqa: E402

from tracker.config.loading import load_settings  # noqa: E402
from tracker.services.sync import sync_all  # noqa: E402
from tracker.services.workspace import Workspace  # noqa: E402

RESULTS = HERE / "RESULTS.md"
START, END = "<!-- sync_bench:start -->", "<!-- sync_bench:end -->"
PLATFORMS = ("zoom", "discord", "slack", "amazon", "tiktok", "linkedin", "x", "telegram")
INIT_ARGS = ["--org-name", "Humanitarian China", "--signatory", "Zhou Fengsuo",
             "--email", mailgen.OUR_ADDRESS, "--reply-to", mailgen.OUR_ADDRESS,
             "--reference-prefix", "HC", "--timezone", "Europe/Berlin", "--country", "DE"]
CHUNK = 250  # messages generated per worker task and appended per MULTIAPPEND


def log(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


# -- the server ------------------------------------------------------------------------------


def start_dovecot(tmp: Path) -> DovecotServer:
    server = DovecotServer(tmp_dir=tmp)
    server.start()
    # Setup speed only: Dovecot fsyncs every appended message by default (~320 msg/s here);
    # without it appends run at ~650 msg/s. Reading is unaffected.
    with open(server.conf, "a") as conf:
        conf.write("mail_fsync = never\n")
    subprocess.run(["doveadm", "-c", server.conf, "reload"], check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with server.client():
                break
        except Exception:  # still restarting
            time.sleep(0.05)
    return server


def env_for(server: DovecotServer, workspace: Path) -> dict[str, str]:
    settings = server.settings()
    return {"TRACKER_WORKSPACE": str(workspace), "TRACKER_IMAP_HOST": settings.host,
            "TRACKER_IMAP_PORT": str(settings.port), "TRACKER_IMAP_USERNAME": settings.username,
            "TRACKER_IMAP_TLS": "none", "TRACKER_IMAP_PASSWORD_COMMAND": settings.password_command,
            "TRACKER_IMAP_TRUSTED_AUTHSERV_IDS": f"mx.{mailgen.OUR_DOMAIN}",
            "TRACKER_TODAY": "2026-01-20"}


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRACKER_") and k != "DATABASE_URL"}
    return {**env, **extra}


def _generate(args: tuple[int, int, list[Letter], int]) -> list[tuple[bytes, datetime, bool]]:
    start, count, letters, seed = args
    return mailgen.mailbox(count, letters, seed=seed, start=start)


def fill(server: DovecotServer, letters: list[Letter], start: int, stop: int,
         seed: int, tally: dict[str, int], folder: str = "INBOX") -> float:
    """Append messages start..stop to *folder* (generated in worker processes); return seconds.

    *tally* counts what went in: messages, bytes, attachments, replies.
    """
    began = time.perf_counter()
    tasks = [(i, min(CHUNK, stop - i), letters, seed) for i in range(start, stop, CHUNK)]
    done = start
    with ProcessPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1)) as pool, \
            server.client() as client:
        for batch in pool.map(_generate, tasks):
            client.multiappend(folder, [{"msg": raw, "date": when} for raw, when, _ in batch])
            for raw, _when, is_reply in batch:
                tally["messages"] = tally.get("messages", 0) + 1
                tally["bytes"] = tally.get("bytes", 0) + len(raw)
                tally["replies"] = tally.get("replies", 0) + is_reply
                tally["attachments"] = tally.get("attachments", 0) + (
                    b"Content-Disposition: attachment" in raw)
            done += len(batch)
            if done % 5000 < CHUNK:
                log(f"appended {done:,} messages")
    return time.perf_counter() - began


# -- the workspace ---------------------------------------------------------------------------


def make_workspace(path: Path, requests: int) -> list[Letter]:
    """`tracker init` and *requests* requests sent by email; return their letters."""
    from click.testing import CliRunner

    from tracker.cli import main

    base_env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TRACKER_")}
    runner = CliRunner()

    def run(*args: str, today: str = "2026-01-02") -> Any:
        result = runner.invoke(main, list(args), env={**base_env, "TRACKER_TODAY": today},
                               catch_exceptions=False)
        if result.exit_code != 0:
            raise RuntimeError(f"tracker {' '.join(args)}: {result.output}{result.stderr}")
        return result

    run("init", str(path), *INIT_ARGS)
    ws = ["--workspace", str(path)]
    spec = json.loads(run(*ws, "template", "show", "account-suspension", "--json").stdout)
    variables = [a for v in spec["variables"] for a in ("--var", f"{v['name']}={v['example']}")]
    workspace = Workspace(load_settings(path, env={}), env={})
    letters = []
    for i in range(requests):
        slug = PLATFORMS[i % len(PLATFORMS)]
        ref = json.loads(run(*ws, "request", "new", "--platform", slug, "--template",
                             "account-suspension", *variables, "--json").stdout)["ref"]
        run(*ws, "mark-sent", ref, "--on", "2026-01-02", "--channel", "email")
        raw = run(*ws, "letter", ref, "--format", "eml").stdout_bytes
        message_id = str(message_from_bytes(raw)["Message-ID"]).strip()
        letters.append(Letter(ref, message_id, workspace.platforms[slug].reply_domains[0]))
    workspace.close()
    return letters


def copy_workspace(template: Path, path: Path) -> Path:
    shutil.copytree(template, path)
    return path


def open_workspace(path: Path, env: dict[str, str]) -> Workspace:
    return Workspace(load_settings(path, env=env), env=env)


# -- measurements ----------------------------------------------------------------------------


def bare_headers(server: DovecotServer, batch: int = 1000,
                 quiet: bool = False) -> tuple[float, int]:
    """The floor: one imapclient session reading every header; (seconds, messages).

    Connect, login, EXAMINE, one UID SEARCH, BODY.PEEK[HEADER] in batches, logout: the same
    scope as a sync_all call. In a fresh process, like the syncs it is compared with. *quiet*:
    with imaplib's debug output off, as tracker runs it (imapclient turns it on, and formats
    every line of the conversation for its logger, listened to or not).
    """
    seconds, seen = in_child({"run": "_bare", "host": server.host, "port": server.port,
                              "batch": batch, "quiet": quiet})
    return seconds, seen


def _bare(host: str, port: int, batch: int, quiet: bool = False) -> tuple[float, int]:
    began = time.perf_counter()
    client = imapclient.IMAPClient(host, port, ssl=False,
                                   timeout=imapclient.SocketTimeout(connect=10, read=120))
    if quiet:
        client._imap.debug = 0
    client.login(USER, PASSWORD)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["UID", "1:*"])
    seen = 0
    for i in range(0, len(uids), batch):
        seen += len(client.fetch(uids[i:i + batch], ["BODY.PEEK[HEADER]"]))
    client.logout()
    return time.perf_counter() - began, seen


def examine_ms(server: DovecotServer, folder: str, runs: int = 9) -> float:
    """Median time of EXAMINE (CONDSTORE enabled, as tracker does) in a fresh session, ms."""
    times = []
    for _ in range(runs):
        client = imapclient.IMAPClient(server.host, server.port, ssl=False, timeout=30)
        client.login(USER, PASSWORD)
        client.enable("CONDSTORE")
        began = time.perf_counter()
        client.select_folder(folder, readonly=True)
        times.append(time.perf_counter() - began)
        client.logout()
    return statistics.median(times) * 1000


def open_like_a_mail_client(server: DovecotServer, folders: list[str]) -> None:
    """Use each folder read-write for a moment, as the staff's mail client does all day.

    With only read-only readers, Dovecot's maildir stays unsettled and every EXAMINE of a
    20,000-message folder costs 15-70 ms instead of ~1 ms: appended mail waits in ``new/`` for a
    read-write session to move it to ``cur/``, the index records the cache entries of tracker's
    first FETCH only at a read-write sync, and a directory's mtime is trusted only once it is a
    few seconds old. tracker, being read-only, settles none of it; a mail client does. So: SELECT,
    set and clear \\Flagged on the newest message (as reading mail changes \\Seen), wait, SELECT
    again. The messages end as they were.
    """
    for settle in (True, False):
        with server.client() as client:
            for folder in folders:
                client.select_folder(folder)
                if settle and (uids := client.search(["ALL"])):
                    client.add_flags(uids[-1:], [imapclient.FLAGGED])
                    client.remove_flags(uids[-1:], [imapclient.FLAGGED])
                client.unselect_folder()
        if settle:
            time.sleep(3)


def in_child(task: dict[str, Any]) -> Any:
    """Run *task* (``_first_sync``, ``_empty_syncs`` or ``_bare``) in a fresh Python process.

    "In-process" times the ``sync_all`` call alone, but not in this process: after making the
    workspace through the CLI its heap is big enough to make the garbage collector's full
    passes, and so a first sync, measurably slower than in a `tracker` process.
    """
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"],
                          input=json.dumps(task), capture_output=True, text=True,
                          env=clean_env({}), cwd=tempfile.gettempdir(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {task['run']} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def timed_sync(env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """A first sync in-process (a fresh process): a new Workspace, the sync_all call timed."""
    seconds, counts = in_child({"run": "_first_sync", "env": env})
    return seconds, counts


def _first_sync(env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    ws = open_workspace(Path(env["TRACKER_WORKSPACE"]), env)
    try:
        began = time.perf_counter()
        counts = sync_all(ws)
        return time.perf_counter() - began, counts.as_dict()
    finally:
        ws.close()


def cli_sync(env: dict[str, str], *args: str) -> tuple[float, float, dict[str, Any]]:
    """`tracker sync --json` as a subprocess: (wall seconds, peak RSS in MB, counts).

    The peak comes from ``/usr/bin/time -f %M``: the rusage of a child forked from this (big)
    process would count the parent's pages it shared before exec.
    """
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        command = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file),
                   sys.executable, "-m", "tracker", *(args or ("sync", "--json"))]
        began = time.perf_counter()
        done = subprocess.run(command, env=clean_env(env), capture_output=True, check=False,
                              cwd=tmp)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"tracker {' '.join(args)} exited {done.returncode}: "
                               f"{done.stderr.decode()}")
        peak = int(rss_file.read_text().split()[-1]) / 1024
    return wall, peak, json.loads(done.stdout) if not args else {}


def empty_syncs(envs: list[dict[str, str]], repeat: int) -> list[list[float]]:
    """Syncs with nothing new, each workspace warm and open (as `watch` runs them); the
    workspaces take turns, so that both see the same machine. In a fresh process."""
    times: list[list[float]] = in_child({"run": "_empty_syncs", "envs": envs, "repeat": repeat})
    return times


def _empty_syncs(envs: list[dict[str, str]], repeat: int) -> list[list[float]]:
    spaces = [open_workspace(Path(env["TRACKER_WORKSPACE"]), env) for env in envs]
    try:
        for ws in spaces:
            sync_all(ws)  # warm: engine, platform directory, imports
        times: list[list[float]] = [[] for _ in spaces]
        for _ in range(repeat):
            for ws, seconds in zip(spaces, times, strict=True):
                began = time.perf_counter()
                counts = sync_all(ws)
                seconds.append(time.perf_counter() - began)
                assert counts.screened == 0, counts
        return times
    finally:
        for ws in spaces:
            ws.close()


def request_states(db: Path, refs: list[str]) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        marks = ",".join("?" * len(refs))
        return dict(conn.execute(f"select ref, state from request where ref in ({marks})",
                                 refs).fetchall())
    finally:
        conn.close()


def inbound_count(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("select count(*) from message where direction = 'in'")
                   .fetchone()[0])
    finally:
        conn.close()


@contextmanager
def watching(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "watch"], env=clean_env(env),
                                stdout=subprocess.DEVNULL, stderr=err, cwd=log_path.parent)
    try:
        deadline = time.monotonic() + 60
        while b"connected to" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tracker watch did not connect:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def watch_latency(server: DovecotServer, path: Path, env: dict[str, str],
                  letters: list[Letter], seed: int) -> list[float]:
    """Append one reply per letter while `tracker watch` runs; seconds until each is in the DB."""
    db = path / "tracker.db"
    refs = [letter.ref for letter in letters]
    before = request_states(db, refs)
    assert set(before.values()) == {"awaiting"}, before
    latencies = []
    with watching(env, path.parent / f"{path.name}-watch.log"), server.client() as client:
        time.sleep(1.0)  # the initial sync is done once "connected" is logged; let IDLE begin
        for n, letter in enumerate(letters):
            rng = mailgen.random.Random(seed * 7919 + n)
            when = datetime(2026, 1, 19, 9, tzinfo=UTC) + timedelta(minutes=n)
            raw = mailgen.reply(rng, when, letter, by_subject=n % 2 == 1,
                                acknowledgement=n % 3 == 0)
            stored = inbound_count(db)
            began = time.perf_counter()
            client.append("INBOX", raw, msg_time=when)
            while True:
                # Stored is what counts: an acknowledgement whose random filler reads like an
                # answer is stored and waits for a person, its request stays awaiting.
                if inbound_count(db) > stored:
                    latencies.append(time.perf_counter() - began)
                    break
                if time.perf_counter() - began > 30:
                    raise RuntimeError(f"watch did not pick up the reply to {letter.ref}")
                time.sleep(0.02)
            time.sleep(0.2)  # one at a time: let watch settle back into IDLE
    return latencies


# -- reporting ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def table(r: dict[str, Any]) -> str:
    n, small = r["messages"], r["small"]
    rows = [
        ("bare imapclient: EXAMINE + UID SEARCH + BODY.PEEK[HEADER] x1000 "
         f"(median of {len(r['bare'])})", ms(r["bare_median"]), "", "reference"),
        ("the same with imaplib's debug output off, as tracker runs it (median of "
         f"{len(r['quiet'])})", ms(r["quiet_median"]), "", "for comparison"),
        ("(a) first sync, `sync_all` in-process (median of "
         f"{len(r['first_inproc'])})", ms(r["first_inproc_median"]),
         f"{r['ratio_inproc']:.2f}x bare ({r['ratio_quiet']:.2f}x the quiet loop)",
         f"<= 1.5x: {verdict(r['ratio_inproc'] <= 1.5)}"),
        ("(a) the first of those runs: Dovecot had not yet cached the header fields the "
         "screen asks for, as on a real first sync", ms(r["first_inproc"][0]),
         f"{r['ratio_uncached']:.2f}x the bare loop just before it",
         f"<= 1.5x: {verdict(r['ratio_uncached'] <= 1.5)}"),
        ("(a) first sync, `tracker sync` command wall (median of "
         f"{len(r['first_cli'])})", ms(r["first_cli_median"]),
         f"{r['ratio_cli']:.2f}x bare", "beside (a): adds start-up and the workspace"),
        (f"server alone: EXAMINE of the {n:,} / {small:,} folder (fresh session, CONDSTORE)",
         f"{r['examine_cur'][0]:.1f} / {r['examine_cur'][1]:.1f} ms",
         f"{r['examine_new'][0]:.1f} / {r['examine_new'][1]:.1f} ms before any read-write "
         "client settled the maildir", "part of (b)"),
        (f"(b) nothing new at {small:,} messages, `sync_all` (median of {r['repeat']})",
         ms(r["empty_small_median"]), f"command wall {ms(r['empty_small_cli'])}", ""),
        (f"(b) nothing new at {n:,} messages, `sync_all` (median of {r['repeat']})",
         ms(r["empty_median"]), f"command wall {ms(r['empty_cli'])}",
         f"<= 50 ms: {verdict(r['empty_median'] <= 0.05)}; "
         f"{r['empty_ratio']:.2f}x the {small:,} case (<= 1.2x: "
         f"{verdict(r['empty_ratio'] <= 1.2)})"),
        ("startup alone: `tracker --help` wall (median of 3)", ms(r["help_wall"]),
         f"{r['help_wall'] / r['bare_median']:.2f}x bare", "in every command's wall time"),
        ("(c) peak RSS of `tracker sync`, first sync", f"{r['rss_mb']:.0f} MB",
         f"`--help` alone: {r['rss_help_mb']:.0f} MB",
         f"<= 100 MB: {verdict(r['rss_mb'] <= 100)}"),
        (f"(d) `tracker watch`, APPEND -> state in DB (median of {len(r['watch'])})",
         ms(r["watch_median"]), f"min {ms(min(r['watch']))}, max {ms(max(r['watch']))}",
         f"<= 1 s: {verdict(r['watch_median'] <= 1.0)}"),
    ]
    lines = ["| measurement | value | detail | target |", "| --- | ---: | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def report(r: dict[str, Any], command: str) -> str:
    counts = r["counts"]
    return "\n".join([
        f"### `tracker sync` / `tracker watch`, {r['messages']:,} messages",
        "",
        f"Run {r['date']} on {r['machine']}; Dovecot {r['dovecot']} on loopback, SQLite "
        "(WAL, synchronous=FULL).",
        "",
        "```",
        command,
        "```",
        "",
        f"Mailbox: {r['messages']:,} messages, {r['mailbox_mb']:,.0f} MB, "
        f"{r['attachments']:,} with an attachment, {r['replies']} replies to "
        f"{r['requests']} requests; filled in {r['fill_s']:.0f} s (not counted). "
        f"First sync stored {counts['stored']} (matched {counts['matched']}, unmatched "
        f"{counts['unmatched']}, probable {counts['probable']}) of {counts['screened']:,} "
        "screened.",
        "",
        table(r),
        "",
        "All first-sync runs: in-process " + ", ".join(ms(t) for t in r["first_inproc"])
        + "; command " + ", ".join(ms(t) for t in r["first_cli"]) + "; bare "
        + ", ".join(ms(t) for t in r["bare"]) + "; quiet bare "
        + ", ".join(ms(t) for t in r["quiet"]) + ".",
        "",
    ])


def write_results(text: str) -> None:
    write_block(START, END, text, RESULTS)


# -- the run -----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def run(args: argparse.Namespace) -> dict[str, Any]:
    n, small = args.messages, min(args.small, args.messages)
    r: dict[str, Any] = {"messages": n, "small": small, "repeat": args.repeat,
                         "requests": args.requests}
    tmp = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    os.chmod(tmp, 0o755)  # Dovecot's processes (user nobody) must traverse it
    server = start_dovecot(tmp)
    try:
        r["dovecot"] = subprocess.run(["dovecot", "--version"], capture_output=True,
                                      text=True).stdout.split()[0]
        template = tmp / "template"
        began = time.perf_counter()
        letters = make_workspace(template, args.requests)
        bulk, watched = letters[:-args.watch], letters[-args.watch:]
        log(f"workspace with {len(letters)} sent requests in {time.perf_counter() - began:.1f} s")

        # The nothing-new comparison reads a folder of the first --small messages.
        server.create_folder("Small")
        fill(server, bulk, 0, small, args.seed, {}, folder="Small")
        env_small = {**env_for(server, copy_workspace(template, tmp / "ws-small")),
                     "TRACKER_IMAP_FOLDERS": "Small"}
        t, counts = timed_sync(env_small)
        log(f"{small:,} messages: first sync {ms(t)} ({counts['stored']} stored)")
        tally: dict[str, int] = {}
        fill_s = fill(server, bulk, 0, n, args.seed, tally)
        r["fill_s"] = fill_s
        r["mailbox_mb"] = tally["bytes"] / 1e6
        r["replies"], r["attachments"] = tally["replies"], tally["attachments"]
        log(f"mailbox filled: {n:,} messages, {r['mailbox_mb']:,.0f} MB in {fill_s:.0f} s")
        r["examine_new"] = examine_ms(server, "INBOX"), examine_ms(server, "Small")
        open_like_a_mail_client(server, ["INBOX", "Small"])

        bare_headers(server)  # warm-up: Dovecot's index and cache, the page cache
        bare: list[float] = []
        quiet: list[float] = []
        first_inproc: list[float] = []
        first_cli: list[float] = []
        rss: list[float] = []
        for i in range(args.first_runs):
            t, seen = bare_headers(server)
            assert seen == n, (seen, n)
            bare.append(t)
            quiet.append(bare_headers(server, quiet=True)[0])
            env_a = env_for(server, copy_workspace(template, tmp / f"ws-a{i}"))
            t, counts = timed_sync(env_a)
            first_inproc.append(t)
            env_b = env_for(server, copy_workspace(template, tmp / f"ws-b{i}"))
            wall, peak, cli_counts = cli_sync(env_b)
            first_cli.append(wall)
            rss.append(peak)
            assert cli_counts["stored"] == counts["stored"], (cli_counts, counts)
            log(f"first sync run {i + 1}: bare {ms(bare[-1])}, in-process {ms(t)}, command "
                f"{ms(wall)}, {peak:.0f} MB")
        bare.append(bare_headers(server)[0])
        r.update(bare=bare, quiet=quiet, first_inproc=first_inproc, first_cli=first_cli,
                 counts=counts, bare_median=median(bare), quiet_median=median(quiet),
                 first_inproc_median=median(first_inproc),
                 first_cli_median=median(first_cli), rss_mb=max(rss))
        r["ratio_inproc"] = r["first_inproc_median"] / r["bare_median"]
        r["ratio_cli"] = r["first_cli_median"] / r["bare_median"]
        r["ratio_uncached"] = first_inproc[0] / bare[0]
        r["ratio_quiet"] = r["first_inproc_median"] / r["quiet_median"]
        helps = [cli_sync({}, "--help") for _ in range(3)]
        r["help_wall"] = median([h[0] for h in helps])
        r["rss_help_mb"] = max(h[1] for h in helps)

        env_a = env_for(server, tmp / "ws-a0")
        open_like_a_mail_client(server, ["INBOX", "Small"])  # after the first syncs' reading
        r["examine_cur"] = examine_ms(server, "INBOX"), examine_ms(server, "Small")
        r["empty"], r["empty_small"] = empty_syncs([env_a, env_small], args.repeat)
        r["empty_median"] = median(r["empty"])
        r["empty_small_median"] = median(r["empty_small"])
        r["empty_ratio"] = r["empty_median"] / r["empty_small_median"]
        walls: list[list[float]] = [[], []]
        for _ in range(3):
            for env, wall in zip((env_a, env_small), walls, strict=True):
                wall.append(cli_sync(env)[0])
        r["empty_cli"], r["empty_small_cli"] = median(walls[0]), median(walls[1])
        log(f"nothing new: {ms(r['empty_small_median'])} at {small:,}, "
            f"{ms(r['empty_median'])} at {n:,}; EXAMINE alone {r['examine_cur'][1]:.1f} / "
            f"{r['examine_cur'][0]:.1f} ms (in new/: {r['examine_new'][1]:.1f} / "
            f"{r['examine_new'][0]:.1f} ms)")

        r["watch"] = watch_latency(server, tmp / "ws-a0", env_a, watched, args.seed)
        r["watch_median"] = median(r["watch"])
        log(f"watch latency median {ms(r['watch_median'])}")
    finally:
        server.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept {tmp}")
    r["date"] = datetime.now().strftime("%Y-%m-%d")
    r["machine"] = (f"{platform.machine()}, `nproc` = {os.cpu_count()}, "
                    f"Python {platform.python_version()}, {platform.system()} "
                    f"{platform.release()}")
    return r


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="INBOX size")
    parser.add_argument("--small", type=int, default=1_000,
                        help="the smaller INBOX for the nothing-new comparison")
    parser.add_argument("--requests", type=int, default=60, help="requests sent by email")
    parser.add_argument("--watch", type=int, default=20,
                        help="replies appended one at a time while `tracker watch` runs; their "
                             "requests get no other mail")
    parser.add_argument("--repeat", type=int, default=15, help="runs of the nothing-new sync")
    parser.add_argument("--first-runs", type=int, default=5, help="first syncs of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help=f"write {RESULTS.name} (default: only with --messages >= 20000)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # see in_child()
        task = json.load(sys.stdin)
        runner = {"_first_sync": _first_sync, "_empty_syncs": _empty_syncs,
                  "_bare": _bare}[task.pop("run")]
        json.dump(runner(**task), sys.stdout)
        return
    if not dovecot_available():
        sys.exit("Dovecot is not installed (apt-get install dovecot-imapd)")
    if os.geteuid() != 0:
        sys.exit("run as root: Dovecot's mail processes run as nobody")
    if not 0 < args.watch < args.requests:
        sys.exit("--watch must be between 1 and --requests - 1")
    results = run(args)
    command = "python " + " ".join(
        [str(Path(sys.argv[0]).resolve().relative_to(HERE.parent))
         if Path(sys.argv[0]).resolve().is_relative_to(HERE.parent) else sys.argv[0],
         *(argv if argv is not None else sys.argv[1:])])
    text = report(results, command)
    print(text)
    if args.write or (args.write is None and args.messages >= 20_000):
        write_results(text)
        print(f"written to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
