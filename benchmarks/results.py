"""Writing one benchmark's block into RESULTS.md, between its markers, leaving the rest."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_block(start: str, end: str, text: str, results: Path = RESULTS) -> None:
    """Put *text* between the markers *start* and *end* (appended if they are not there)."""
    old = results.read_text() if results.exists() else "# Benchmark results\n"
    block = f"{start}\n{text}{end}"
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(new)
