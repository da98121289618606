"""Decode fidelity: does tracker read real mail as mail clients show it?

Over the corpus in tests/data/realworld/ (real messages from many clients and languages, with
the subject, sender and first line of text a mail client shows: see the README there), the
share of messages where each field agrees, and where all of them do. Target: 100%. Every
disagreement is listed with what was expected and what tracker read.

    python benchmarks/fidelity.py --write
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from realworld import FIELDS, cases, compare  # noqa: E402
from results import write_block  # noqa: E402

START, END = "<!-- fidelity:start -->", "<!-- fidelity:end -->"
TARGET = 100.0


def run() -> tuple[int, dict[str, int], int, list[tuple[str, dict[str, tuple[str, str]]]]]:
    found = cases()
    agree = dict.fromkeys(FIELDS, 0)
    whole = 0
    wrong = []
    for case in found:
        differs = compare(case)
        for field in FIELDS:
            agree[field] += field not in differs
        whole += not differs
        if differs:
            wrong.append((case.file, differs))
    return len(found), agree, whole, wrong


def table(total: int, agree: dict[str, int], whole: int,
          wrong: list[tuple[str, dict[str, tuple[str, str]]]]) -> str:
    share = 100 * whole / total if total else 0.0
    lines = [
        "### Decode fidelity: real mail read as mail clients show it",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d} over the {total} messages of tests/data/realworld/; "
        f"target {TARGET:.0f}%.",
        "",
        "```",
        "python benchmarks/fidelity.py --write",
        "```",
        "",
        "| field | messages that agree |",
        "| --- | ---: |",
        *(f"| {field} | {agree[field]} / {total} ({100 * agree[field] / total:.0f}%) |"
          for field in FIELDS),
        f"| **all fields** | **{whole} / {total} ({share:.0f}%: "
        f"{'pass' if share >= TARGET else 'FAIL'})** |",
        "",
    ]
    for file, differs in wrong:
        for field, (expected, got) in differs.items():
            lines.append(f"- `{file}` {field}: expected {expected!r}, read {got!r}")
    lines += ["" if wrong else "No message disagrees.", "",
              f"Python {platform.python_version()}, {platform.machine()}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write RESULTS.md")
    args = parser.parse_args()
    total, agree, whole, wrong = run()
    text = table(total, agree, whole, wrong)
    print(text)
    if args.write:
        write_block(START, END, text)
        print("written to RESULTS.md", file=sys.stderr)
    if whole < total:
        sys.exit(1)


if __name__ == "__main__":
    main()
