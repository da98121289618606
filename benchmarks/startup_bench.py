"""What a command costs before it does anything: Python starting and importing.

    python benchmarks/startup_bench.py                     # 21 runs of each, interleaved
    python benchmarks/startup_bench.py --runs 31 --write
    python benchmarks/startup_bench.py --baseline /tmp/old # also an older source tree's tracker

Builds the demo workspace (`tracker demo --dir`) in a temporary folder, then runs each command
below as a fresh subprocess, round-robin so that a busy neighbour slows all of them alike, and
prints the median and the fastest wall time of each as a Markdown table, with the median CPU
time (user + system, of the child): on a VM whose neighbours take turns with the CPU, the CPU
time shows what the start itself costs when the wall time jumps.

- ``python -c pass``: the interpreter alone;
- ``python -c "import sqlmodel"``: the reference, the database layer every command that reads
  the database needs;
- ``tracker --version`` and ``tracker --help``, which must not import the database layer;
- ``tracker status`` on the demo workspace, which should cost at most 1.3x the reference.

The tracker commands run this checkout's package (its root first on ``PYTHONPATH``, from a
folder outside it); ``--baseline DIR`` runs them once more from the source tree *DIR*, in the
same rounds: before and after a change, measured alike.
``--where`` adds where `tracker status` spends its imports (``python -X importtime``, the
fastest of five runs per module, summed by package; tracker's own by subpackage).
``--write`` puts the table into benchmarks/RESULTS.md between the ``startup_bench`` markers
(appended the first time, replaced afterwards).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARK_START = "<!-- startup_bench:start -->"
MARK_END = "<!-- startup_bench:end -->"
TARGET = 1.3  # `tracker status` / `import sqlmodel`, at most
TODAY = "2026-12-02"  # the demo's clocks as of a fixed day: the same rows in every run
STATUS = "`tracker status` (demo workspace)"


@dataclass
class Command:
    """One command to time, and its (wall, CPU) times in seconds."""

    label: str
    argv: list[str]
    env: dict[str, str]
    times: list[tuple[float, float]] = field(default_factory=list)

    def median(self, which: int) -> float:
        return statistics.median(t[which] for t in self.times)


def on_path(tree: Path, env: dict[str, str]) -> dict[str, str]:
    """*env* with the package of source tree *tree* first on ``PYTHONPATH``."""
    return {**env, "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [
        env.get("PYTHONPATH")])])}


def commands(workspace: Path, env: dict[str, str], baseline: Path | None) -> list[Command]:
    python = sys.executable
    tracker = [python, "-m", "tracker"]
    found = [Command("`python -c pass`", [python, "-c", "pass"], env),
             Command('`python -c "import sqlmodel"` (reference)', [python, "-c", "import sqlmodel"],
                     env)]
    trees = [("", on_path(ROOT, env))]
    if baseline is not None:
        trees.append((f" (baseline {baseline.name})", on_path(baseline.resolve(), env)))
    for suffix, tree_env in trees:
        found += [Command(f"`tracker --version`{suffix}", [*tracker, "--version"], tree_env),
                  Command(f"`tracker --help`{suffix}", [*tracker, "--help"], tree_env),
                  Command(f"{STATUS}{suffix}", [*tracker, "-w", str(workspace), "status"],
                          tree_env)]
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: Command, cwd: Path) -> tuple[float, float]:
    """The wall time and the CPU time of one run of *command*."""
    c0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(command.argv, check=True, stdout=subprocess.DEVNULL, env=command.env,
                   cwd=cwd)
    return time.perf_counter() - t0, _children_cpu() - c0


def measure(runs: int, baseline: Path | None,
            imports: bool) -> tuple[list[Command], str, str | None]:
    """Each command with its times, the tracker version measured, and (with *imports*) where
    `tracker status` spends its imports."""
    env = {**os.environ, "TRACKER_TODAY": TODAY, "COLUMNS": "140"}
    with tempfile.TemporaryDirectory() as tmp:
        # Run from outside any checkout: `python -m` looks in the current folder first.
        cwd, workspace = Path(tmp), Path(tmp) / "demo"
        ours = on_path(ROOT, env)
        subprocess.run([sys.executable, "-m", "tracker", "demo", "--dir", str(workspace)],
                       check=True, stdout=subprocess.DEVNULL, env=ours, cwd=cwd)
        version = subprocess.run([sys.executable, "-m", "tracker", "--version"], check=True,
                                 capture_output=True, text=True, env=ours,
                                 cwd=cwd).stdout.strip()
        todo = commands(workspace, env, baseline)
        for command in todo:  # warm: the bytecode caches, the page cache
            run_once(command, cwd)
        for _ in range(runs):
            for command in todo:
                command.times.append(run_once(command, cwd))
        spent = where(workspace, cwd, ours) if imports else None
    return todo, version, spent


def where(workspace: Path, cwd: Path, env: dict[str, str], runs: int = 5) -> str:
    """Import time of `tracker status` by package, as a Markdown table (see the docstring)."""
    fastest: dict[str, int] = {}
    line = re.compile(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)")
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tracker", "-w",
                               str(workspace), "status"], check=True, capture_output=True,
                              text=True, env=env, cwd=cwd)
        for own, module in line.findall(done.stderr):
            fastest[module] = min(fastest.get(module, 10**9), int(own))
    packages: dict[str, int] = {}
    for module, own in fastest.items():
        parts = module.split(".")
        key = ".".join(parts[:2]) if parts[0] == "tracker" else parts[0]
        packages[key] = packages.get(key, 0) + own
    total = sum(packages.values())
    rows = ["| package | import time (fastest per module) | share |", "| --- | ---: | ---: |"]
    for key, own in sorted(packages.items(), key=lambda item: -item[1])[:15]:
        rows.append(f"| `{key}` | {own / 1000:.0f} ms | {own / total:.0%} |")
    rows.append(f"| all imports | {total / 1000:.0f} ms | |")
    return "\n".join(rows)


def table(results: list[Command], runs: int, version: str) -> str:
    wall_ref, cpu_ref = results[1].median(0), results[1].median(1)
    lines = ["| command | wall, median | wall, fastest | / reference | CPU, median | "
             "/ reference |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for command in results:
        wall, cpu = command.median(0), command.median(1)
        fastest = min(t[0] for t in command.times)
        lines.append(f"| {command.label} | {wall * 1000:.0f} ms | {fastest * 1000:.0f} ms | "
                     f"{wall / wall_ref:.2f}x | {cpu * 1000:.0f} ms | {cpu / cpu_ref:.2f}x |")
    status = next(c for c in results if c.label == STATUS)
    ratio = status.median(0) / wall_ref
    verdict = "pass" if ratio <= TARGET else "**FAIL**"
    lines += ["", f"`tracker status` on the demo workspace: {ratio:.2f}x `import sqlmodel` in "
              f"wall time (target <= {TARGET}x: {verdict}), {status.median(1) / cpu_ref:.2f}x "
              f"in CPU time. {runs} runs of each command, interleaved; {version}, Python "
              f"{platform.python_version()}, {platform.machine()}, `nproc` = {os.cpu_count()}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21, help="runs of each command")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="also time the tracker commands of this source tree")
    parser.add_argument("--where", action="store_true",
                        help="also show where `tracker status` spends its imports")
    parser.add_argument("--write", action="store_true",
                        help="put the table into benchmarks/RESULTS.md")
    args = parser.parse_args()
    results, version, spent = measure(args.runs, args.baseline, args.where)
    text = table(results, args.runs, version)
    if spent:
        text += "\n\nWhere `tracker status` spends its imports:\n\n" + spent
    print(text)
    if args.write:
        write_results(text, args)


def write_results(text: str, args: argparse.Namespace) -> None:
    command = f"python benchmarks/startup_bench.py --runs {args.runs}"
    if args.baseline is not None:
        command += f" --baseline {args.baseline}"
    if args.where:
        command += " --where"
    section = (f"{MARK_START}\n### Start-up: `tracker --help`, `--version`, `status`\n\n"
               f"Run {date.today().isoformat()}; each command as a fresh subprocess, with Python "
               f"starting and importing.\n\n```\n{command}\n```\n\n{text}\n{MARK_END}\n")
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
