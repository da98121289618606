"""Letters on paper: the print layout of a letter, and the PDF WeasyPrint makes of it.

`paper_html` is pure: a `PaperLetter` (what the page says) in, the HTML of
``letter_print.html`` out, every value escaped. `render_pdf` turns that HTML into PDF bytes
with WeasyPrint and Pango, in the Noto CJK serif face (Latin and Chinese from one font, so a
Chinese name in an English letter has its glyphs too). The same HTML gives the same bytes: the
PDF carries no creation date and WeasyPrint's document identifier is derived from the content,
so a letter's PDF can be hashed into the evidence. The engine reads nothing from outside the
HTML: no image, style sheet or font is fetched from an address found in it.

When WeasyPrint, its system libraries or the fonts are missing, `PdfEngineMissing` names what
to install, in one line.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, NoReturn

from tracker.core.errors import TrackerError
from tracker.letters.rendering import longdate, paragraphs_of
from tracker.pages import render_page

FONT_FAMILY = "Noto Serif CJK SC"
FONT_PACKAGE = "fonts-noto-cjk"
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"
PAPERS = {"A4": "A4", "letter": "letter"}


@dataclass(frozen=True)
class Window:
    """Where a window envelope shows the address, in mm from the page's top left corner."""

    top: int
    left: int
    width: int
    height: int


# DIN 5008 form B: the address field of an A4 letter folded for C5, C6 or DL window envelopes.
# US Letter folded in three for a #10 window envelope (window 4 1/2 x 1 1/8 in, 7/8 in from the
# left edge, its top about 2 in down the sheet).
WINDOWS = {"A4": Window(top=45, left=20, width=85, height=45),
           "letter": Window(top=51, left=22, width=102, height=35)}

_LABELS = {
    "en": {"reference": "Our reference: ", "matter": "Matter: ", "joiner": ", "},
    "zh-Hans": {"reference": "我方编号：", "matter": "事由：", "joiner": "，"},
}


class PdfEngineMissing(TrackerError):
    """The PDF engine, its system libraries or its fonts are not installed."""

    exit_code = 11


@dataclass(frozen=True)
class PaperLetter:
    """What one printed letter says, and how it is laid out."""

    language: str
    subject: str
    text: str  # the letter's text from the salutation to the signature
    sender_name: str
    sender_address: tuple[str, ...]  # the organisation's address, line by line
    sender_email: str
    recipient_lines: tuple[str, ...]
    letter_date: date
    ref: str
    matter: str = ""
    place: str = ""
    paper: str = "A4"
    window: bool = False


def place_and_date(place: str, on: date, language: str) -> str:
    """``Berlin, 8 June 2020`` / ``柏林，2020年6月8日``; the date alone without a place."""
    day = longdate(on, language)
    return f"{place}{_labels(language)['joiner']}{day}" if place else day


def _labels(language: str) -> dict[str, str]:
    return _LABELS.get(language, _LABELS["en"])


def paper_html(letter: PaperLetter) -> str:
    """The HTML of *letter* for printing (``letter_print.html``)."""
    if letter.paper not in PAPERS:
        raise ValueError(f"paper {letter.paper!r}: use A4 or letter")
    window = WINDOWS[letter.paper] if letter.window else None
    address = " · ".join(letter.sender_address)
    return render_page("letter_print.html", {
        "lang": letter.language, "subject": letter.subject,
        "paragraphs": paragraphs_of(letter.text), "sender_name": letter.sender_name,
        "sender_lines": [line for line in (address, letter.sender_email) if line],
        "recipient_lines": letter.recipient_lines,
        "return_line": " · ".join(p for p in (letter.sender_name, address) if p),
        "ref": letter.ref, "matter": letter.matter,
        "place_date": place_and_date(letter.place, letter.letter_date, letter.language),
        "labels": _labels(letter.language), "paper_css": PAPERS[letter.paper],
        "window": window,
    })


@lru_cache(maxsize=1)
def _engine() -> tuple[Any, Any]:
    """WeasyPrint's HTML class, and a URL fetcher that fetches nothing."""
    try:
        import weasyprint
        from weasyprint.urls import URLFetcher
    except ImportError:
        raise PdfEngineMissing("PDF letters need WeasyPrint: pip install weasyprint (it comes "
                               "with tracker; reinstall tracker in its environment)") from None
    except OSError as exc:  # WeasyPrint loads Pango when imported
        raise PdfEngineMissing(f"PDF letters need Pango ({str(exc)[:80]}): on Debian or Ubuntu "
                               f"run apt-get install {PANGO_PACKAGES}") from None

    class NoFetching(URLFetcher):  # type: ignore[misc]
        # Nothing in a letter refers to a file or an address; if something did, it stays out.
        def fetch(self, url: str, headers: Any = None) -> NoReturn:
            raise ValueError(f"a letter does not load {url[:40]!r}")

    return weasyprint.HTML, NoFetching()


@lru_cache(maxsize=1)
def _has_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, f":family={FONT_FAMILY}", "family"],
                           capture_output=True, text=True, timeout=30, check=False)
    return FONT_FAMILY in found.stdout


def check_engine() -> None:
    """PdfEngineMissing unless WeasyPrint, Pango and the Noto CJK fonts are all there."""
    if not _has_font():  # first: WeasyPrint warns when it finds no fonts at all
        raise PdfEngineMissing(f"PDF letters need the font {FONT_FAMILY} (and fontconfig's "
                               f"fc-list): on Debian or Ubuntu run apt-get install "
                               f"{FONT_PACKAGE} fontconfig")
    _engine()


def render_pdf(html: str) -> bytes:
    """The PDF of *html*; the same HTML gives the same bytes."""
    check_engine()
    html_class, fetcher = _engine()
    document = html_class(string=html, url_fetcher=fetcher, base_url=None)
    pdf: bytes = document.write_pdf()
    return pdf


def letter_pdf(letter: PaperLetter) -> bytes:
    """*letter* as a print-ready PDF."""
    return render_pdf(paper_html(letter))


def address_lines(*blocks: str | Sequence[str]) -> tuple[str, ...]:
    """The non-empty lines of *blocks* (multi-line strings or lines), each stripped, in order."""
    lines: list[str] = []
    for block in blocks:
        for line in (block.splitlines() if isinstance(block, str) else block):
            if line.strip():
                lines.append(line.strip())
    return tuple(lines)
