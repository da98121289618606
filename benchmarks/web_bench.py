"""How fast the web face answers on a big workspace, alone and under load (SQLite).

    python benchmarks/web_bench.py --write              # 10,000 requests, 100,000 messages
    python benchmarks/web_bench.py --requests 1000 --load-seconds 5

Builds a throw-away workspace filled as benchmarks/report_bench.py fills it (N requests over
eight platforms, ten messages each on average, with raw bytes), starts a real
`tracker serve --no-watch` on a free loopback port, signs in, and then:

1. one page at a time, ``--repeat`` times each, after a first visit: the dashboard, the
   first page of a filtered request list, a request page and a search; the time from sending
   the request to the last byte of the answer on loopback (the server's time, plus well under
   a millisecond). The first visit computes what the page shows; the server keeps it while
   the record is unchanged (tracker.services.memo), so the first visit after any change costs
   what the "first visit" column says and the visits after it what the median says;
2. under load: ``wrk`` (Debian package `wrk`) with ``--clients`` connections for
   ``--load-seconds``, cycling through those pages as a signed-in person: requests answered,
   errors (any answer but 200, and socket errors) and the latency percentiles.

Targets (issue 10): median ≤ 150 ms for the dashboard and the filtered list, ≤ 50 ms for a
request page, ≤ 200 ms for a search; under 50 clients no error and p95 ≤ 300 ms.
``--workers N`` serves with `tracker serve --workers N`. ``--write`` puts the results into
benchmarks/RESULTS.md between the ``web_bench`` markers (one block for each --workers).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_bench import AS_OF, fill

from tracker.config.loading import load_settings
from tracker.services import users
from tracker.services.workspace import Workspace, init_workspace

HERE = Path(__file__).resolve().parent
MARK_START = "<!-- web_bench:start -->"
MARK_END = "<!-- web_bench:end -->"
PASSWORD = "benchmark passphrase"
TARGETS = {"dashboard": 150, "filtered list": 150, "request page": 50, "search": 200}


def pages(n: int) -> dict[str, str]:
    middle = f"HC-2024-{n // 2 + 3:05d}"
    return {
        "dashboard": "/",
        "filtered list": "/requests?platform=zoom&overdue=1",
        "request page": f"/requests/{middle}",
        "search": f"/requests?q={middle}",
    }


def build(path: Path, n: int, raw_kb: float) -> int:
    init_workspace(path, {"organisation": {"name": "Bench", "timezone": "Europe/Berlin",
                                           "country": "DE"}}, env={})
    ws = Workspace(load_settings(path, {}), env={})
    try:
        count = fill(ws, n, raw_kb)
        users.add_user(ws, "bench", "viewer", PASSWORD, datetime.now(UTC))
    finally:
        ws.close()
    return count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(path: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRACKER_WORKSPACE": str(path), "TRACKER_TODAY": AS_OF.isoformat()}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--no-watch",
                                 "--port", str(port), "--workers", str(workers)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"tracker serve did not start: {log.read_text()}")


def sign_in(client: httpx.Client) -> str:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    answer = client.post("/login", data={"name": "bench", "password": PASSWORD,
                                         "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.text
    cookie = client.cookies.get("tracker_session")
    assert cookie
    return cookie


def time_pages(client: httpx.Client, paths: dict[str, str], repeat: int
               ) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, path in paths.items():
        began = time.perf_counter()
        first = client.get(path)
        first_ms = (time.perf_counter() - began) * 1000
        if first.status_code != 200:
            results[name] = {"status": first.status_code}
            continue
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            answer = client.get(path)
            answer.read()
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
        times.sort()
        results[name] = {"status": 200, "median": statistics.median(times),
                         "p95": times[max(0, int(len(times) * 0.95) - 1)], "max": times[-1],
                         "bytes": len(first.content), "first": first_ms}
    return results


WRK_SCRIPT = """
local paths = {%s}
local cookie = "tracker_session=%s"
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Cookie"] = cookie})
end
local non200 = 0
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%%d errors=%%d non200=%%d p50=%%.1f p95=%%.1f p99=%%.1f max=%%.1f\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, non200, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def load(port: int, cookie: str, paths: list[str], clients: int, seconds: int,
         workdir: Path) -> dict[str, float] | None:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk): no load test", file=sys.stderr)
        return None
    script = workdir / "pages.lua"
    quoted = ", ".join(f'"{p}"' for p in paths)
    script.write_text(WRK_SCRIPT % (quoted, cookie))
    done = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s",
                           "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
                          capture_output=True, text=True, check=True)
    found = re.search(r"RESULT (.*)", done.stdout)
    assert found, done.stdout + done.stderr
    values = dict(part.split("=") for part in found.group(1).split())
    result = {k: float(v) for k, v in values.items()}
    result["seconds"] = seconds
    return result


def report(args: argparse.Namespace, messages: int, size_mb: float,
           timed: dict[str, dict[str, Any]], loaded: dict[str, float] | None,
           paths: dict[str, str]) -> str:
    lines = [
        f"### The web face: {args.requests:,} requests, {messages:,} messages",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d}; SQLite ({size_mb:,.0f} MB); `tracker serve "
        f"--workers {args.workers}`, loopback.",
        "",
        "```",
        f"python benchmarks/web_bench.py --requests {args.requests} --repeat {args.repeat} "
        f"--clients {args.clients} --load-seconds {args.load_seconds} --workers {args.workers}",
        "```",
        "",
        "| page | path | first visit | median | p95 | max | target (median) |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, path in paths.items():
        found = timed[name]
        if found.get("status") != 200:
            lines.append(f"| {name} | `{path}` | answered {found.get('status')} | | | | "
                         f"<= {TARGETS[name]} ms |")
            continue
        verdict = "pass" if found["median"] <= TARGETS[name] else "**FAIL**"
        lines.append(f"| {name} | `{path}` | {found['first']:.0f} ms | {found['median']:.1f} ms | "
                     f"{found['p95']:.1f} ms | "
                     f"{found['max']:.1f} ms | <= {TARGETS[name]} ms: {verdict} |")
    lines.append("")
    if loaded is not None:
        ok = loaded["errors"] == 0 and loaded["non200"] == 0 and loaded["p95"] <= 300
        lines.append(
            f"Under load ({args.clients} connections for {args.load_seconds} s, wrk, the pages "
            f"above in turn): {int(loaded['requests']):,} answers "
            f"({loaded['requests'] / loaded['seconds']:,.0f}/s), {int(loaded['errors'])} socket "
            f"errors, {int(loaded['non200'])} not 200; latency p50 {loaded['p50']:.0f} ms, "
            f"p95 {loaded['p95']:.0f} ms, p99 {loaded['p99']:.0f} ms, max {loaded['max']:.0f} ms"
            f" (target: no error, p95 <= 300 ms: {'pass' if ok else '**FAIL**'}).")
        lines.append("")
    lines.append(f"Python {platform.python_version()}, {platform.machine()}, `nproc` = "
                 f"{os.cpu_count()}; the load generator runs on the same machine.")
    return "\n".join(lines)


def write_results(text: str, workers: int) -> None:
    """Put *text* between the markers of its --workers value (one block for each)."""
    path = HERE / "RESULTS.md"
    current = path.read_text() if path.exists() else ""
    start, end = ((MARK_START, MARK_END) if workers == 1 else
                  (MARK_START.replace(":start", f" workers={workers}:start"),
                   MARK_END.replace(":end", f" workers={workers}:end")))
    block = f"{start}\n{text}\n{end}"
    if start in current:
        head, rest = current.split(start, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--raw-kb", type=float, default=3)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--load-seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1,
                        help="tracker serve --workers (processes serving pages)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-web-bench-") as tmp:
        path = Path(tmp) / "ws"
        messages = build(path, args.requests, args.raw_kb)
        size_mb = (path / "tracker.db").stat().st_size / 1e6
        port = free_port()
        proc = serve(path, port, Path(tmp) / "serve.log", args.workers)
        try:
            paths = pages(args.requests)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                cookie = sign_in(client)
                timed = time_pages(client, paths, args.repeat)
            good = [p for name, p in paths.items() if timed[name].get("status") == 200]
            for _ in range(4 * args.workers):  # a new connection each: every process warm
                for page in good:
                    httpx.get(f"http://127.0.0.1:{port}{page}", timeout=60,
                              cookies={"tracker_session": cookie})
            loaded = load(port, cookie, good, args.clients, args.load_seconds, Path(tmp)) \
                if args.load_seconds else None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        text = report(args, messages, size_mb, timed, loaded, paths)
    print(text)
    if args.write:
        write_results(text, args.workers)


if __name__ == "__main__":
    main()
