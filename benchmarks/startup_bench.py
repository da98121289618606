"""What a command costs before it does anything: Python starting and importing (wall time).

    python benchmarks/startup_bench.py                 # 21 runs of each, interleaved
    python benchmarks/startup_bench.py --runs 31 --write

Builds the demo workspace (`tracker demo --dir`) in a temporary folder, then runs each command
below as a fresh subprocess, round-robin so that a busy neighbour slows all of them alike, and
prints the median and the fastest run of each as a Markdown table, with the median CPU time
(user + system, of the child): on a VM whose neighbours take turns with the CPU, the CPU time
shows what the start itself costs when the wall time jumps.

- ``python -c pass``: the interpreter alone;
- ``python -c "import sqlmodel"``: the reference, the database layer every command that reads
  the database needs;
- ``tracker --version`` and ``tracker --help``, which must not import the database layer;
- ``tracker status`` on the demo workspace, which should cost at most 1.3x the reference.

``--write`` puts the table into benchmarks/RESULTS.md between the ``startup_bench`` markers
(appended the first time, replaced afterwards).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK_START = "<!-- startup_bench:start -->"
MARK_END = "<!-- startup_bench:end -->"
TARGET = 1.3  # `tracker status` / `import sqlmodel`, at most
TODAY = "2026-12-02"  # the demo's clocks as of a fixed day: the same rows in every run


def commands(workspace: Path) -> list[tuple[str, list[str]]]:
    python = sys.executable
    tracker = [python, "-m", "tracker"]
    return [
        ("`python -c pass`", [python, "-c", "pass"]),
        ('`python -c "import sqlmodel"` (reference)', [python, "-c", "import sqlmodel"]),
        ("`tracker --version`", [*tracker, "--version"]),
        ("`tracker --help`", [*tracker, "--help"]),
        ("`tracker status` (demo workspace)", [*tracker, "-w", str(workspace), "status"]),
    ]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time and the CPU time of one run of *argv*."""
    c0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0, _children_cpu() - c0


Times = list[tuple[float, float]]  # (wall, cpu) of each run


def measure(runs: int) -> tuple[list[tuple[str, Times]], str]:
    """Each command's times, and the tracker version measured."""
    env = {**os.environ, "TRACKER_TODAY": TODAY, "COLUMNS": "140"}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "demo"
        subprocess.run([sys.executable, "-m", "tracker", "demo", "--dir", str(workspace)],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        version = subprocess.run([sys.executable, "-m", "tracker", "--version"], check=True,
                                 capture_output=True, text=True, env=env).stdout.strip()
        todo = commands(workspace)
        times: list[Times] = [[] for _ in todo]
        for argv in (argv for _, argv in todo):  # warm: the bytecode caches, the page cache
            run_once(argv, env)
        for _ in range(runs):
            for i, (_, argv) in enumerate(todo):
                times[i].append(run_once(argv, env))
    return [(label, t) for (label, _), t in zip(todo, times, strict=True)], version


def table(results: list[tuple[str, Times]], runs: int, version: str) -> str:
    def median(times: Times, which: int) -> float:
        return statistics.median(t[which] for t in times)

    wall_ref, cpu_ref = median(results[1][1], 0), median(results[1][1], 1)
    lines = ["| command | wall, median | wall, fastest | / reference | CPU, median | "
             "/ reference |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, times in results:
        wall, cpu = median(times, 0), median(times, 1)
        fastest = min(t[0] for t in times)
        lines.append(f"| {label} | {wall * 1000:.0f} ms | {fastest * 1000:.0f} ms | "
                     f"{wall / wall_ref:.2f}x | {cpu * 1000:.0f} ms | {cpu / cpu_ref:.2f}x |")
    status = median(results[-1][1], 0) / wall_ref
    verdict = "pass" if status <= TARGET else "**FAIL**"
    lines += ["", f"`tracker status` on the demo workspace: {status:.2f}x "
              f"`import sqlmodel` in wall time (target <= {TARGET}x: {verdict}), "
              f"{median(results[-1][1], 1) / cpu_ref:.2f}x in CPU time. {runs} runs of each "
              f"command, interleaved; {version}, Python {platform.python_version()}, "
              f"{platform.machine()}, `nproc` = {os.cpu_count()}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21, help="runs of each command")
    parser.add_argument("--write", action="store_true",
                        help="put the table into benchmarks/RESULTS.md")
    args = parser.parse_args()
    results, version = measure(args.runs)
    text = table(results, args.runs, version)
    print(text)
    if args.write:
        write_results(text, args)


def write_results(text: str, args: argparse.Namespace) -> None:
    command = f"python benchmarks/startup_bench.py --runs {args.runs}"
    section = (f"{MARK_START}\n### Start-up: `tracker --help`, `--version`, `status`\n\n"
               f"Run {date.today().isoformat()}; wall time of each command as a subprocess, "
               f"with Python starting and importing.\n\n```\n{command}\n```\n\n{text}\n"
               f"{MARK_END}\n")
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
