"""Time ``tracker.mail.classify.classify`` per message on the sample mail, optionally against a
revision.

    python benchmarks/classify_bench.py [--against main] [--repeat 20]

Messages: tests/data/classify and tests/data/mail, parsed once (``parse_message`` is timed too,
for scale: it runs on every stored message before the classifier). ``--against REV`` loads that
revision's tracker/mail/classify.py (``git show``) and times it on the same parsed messages.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracker.mail.classify import classify
from tracker.mail.parsing import parse_message

ROOT = Path(__file__).resolve().parent.parent


def per_message(run: Callable[[Any], object], items: list[Any], repeat: int) -> float:
    """Best of three mean times of *run* over *items*, in microseconds."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            for item in items:
                run(item)
        best = min(best, (time.perf_counter() - start) / (repeat * len(items)))
    return best * 1e6


def load_revision(rev: str) -> Callable[[Any], object]:
    # The revision's classify.py runs with today's other modules: compare revisions of the
    # same layout (tracker/mail/classify.py, from the packages-by-layer move on).
    source = subprocess.run(["git", "show", f"{rev}:tracker/mail/classify.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "classify_at_rev.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("classify_at_rev", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["classify_at_rev"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.classify  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision to compare with, e.g. main")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    files = sorted((ROOT / "tests/data/classify").glob("*.eml"))
    files += sorted((ROOT / "tests/data/mail").glob("*.eml"))
    raw = [p.read_bytes() for p in files]
    parsed = [parse_message(r) for r in raw]
    print(f"{len(files)} messages, Python {sys.version.split()[0]}")
    print(f"parse_message: {per_message(parse_message, raw, args.repeat):.0f} us/message")
    print(f"classify (this tree): {per_message(classify, parsed, args.repeat):.0f} us/message")
    if args.against:
        old = load_revision(args.against)
        print(f"classify ({args.against}): {per_message(old, parsed, args.repeat):.0f} us/message")


if __name__ == "__main__":
    main()
