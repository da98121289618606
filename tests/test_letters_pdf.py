"""Letters on paper: the PDF `tracker letter --format pdf` makes, read back as a reader would.

Golden tests by text, not by pixel: the text extracted from the PDF (poppler's pdftotext) is the
letter's text, in English and in Chinese, with its heading, addresses and page numbers; words
sit where the layout puts them (the address in the envelope's window, nothing past the
margins); the page size and count are right, the only fonts are the Noto CJK faces, and the
same letter gives the same bytes. The first page of each is rendered to PNG (pdftoppm) into the
test output folder for a person to look at.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from browser_support import OUTPUT
from conftest import Cli
from pypdf import PdfReader
from test_cli import DAY0, example_vars

from tracker.config.loading import load_settings
from tracker.letters.pdf import PaperLetter, paper_html, place_and_date
from tracker.services.compose import render_message
from tracker.services.records import get_request, pending_letter, request_messages
from tracker.services.workspace import Workspace
from tracker.store.db import transaction

MM = 72 / 25.4  # points in a millimetre
PAGES = OUTPUT / "letters"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ADDRESS = "Postfach 1234\n10001 Berlin\nGermany"

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True, check=False).returncode != 0
    and not os.environ.get("CI"), reason="poppler-utils is not installed")


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


def words(pdf: Path) -> list[Word]:
    """Every word of *pdf* with its box in points from the page's top left (pdftotext)."""
    xhtml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           check=True).stdout
    root = ElementTree.fromstring(xhtml)
    found = []
    for number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        for word in page.iter("{http://www.w3.org/1999/xhtml}word"):
            found.append(Word(number, word.text or "", *(float(word.get(k, 0)) for k in (
                "xMin", "yMin", "xMax", "yMax"))))
    return found


def page_texts(pdf: Path) -> list[str]:
    pages = PdfReader(pdf).get_num_pages()
    return [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-enc", "UTF-8", str(pdf),
                            "-"], capture_output=True, check=True, text=True).stdout
            for n in range(1, pages + 1)]


def squeeze(text: str) -> str:
    """The text without any white space, in compatibility form (a ligature is its letters)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def print_text(cli: Cli, ref: str, today: date) -> tuple[str, str]:
    """The subject and text that go on paper, as the service renders them."""
    ws = Workspace(load_settings(cli.workspace, {"TRACKER_DATABASE_URL": cli.env[
        "TRACKER_DATABASE_URL"] or ""}), env={})
    try:
        with transaction(ws.engine) as session:
            request = get_request(session, ref)
            message = pending_letter(request_messages(session, request))
            assert message is not None
            letter = render_message(ws, session, request, message, today, medium="print")
            return letter.rendered.subject, letter.rendered.text
    finally:
        ws.close()


def keep_page(pdf: Path, name: str) -> Path:
    """Page 1 of *pdf* as a PNG in the test output folder, for a person to look at."""
    PAGES.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(PAGES / name)], check=True)
    return PAGES / f"{name}.png"


@pytest.fixture
def org(cli: Cli) -> Iterator[Cli]:
    cli.run("config", "set", "organisation.address", ADDRESS)
    cli.run("config", "set", "letters.place", "Berlin")
    yield cli


def _request(cli: Cli, *extra: str) -> str:
    data = cli.json("request", "new", "--platform", "zoom", "--template", "gdpr-access",
                    "--case", "Zoom account closed after the 4 June commemoration",
                    "--var", "account=hrgroup@example.org", "--var",
                    "data_subject=Chen Hua 陈华 <b>& co</b>", "--channel", "post", *extra,
                    env=DAY0)
    return str(data["ref"])


def _pdf(cli: Cli, ref: str, path: Path, env: dict[str, str | None] | None = None) -> Path:
    result = cli.run("letter", ref, "--format", "pdf", "--output", str(path), env=env or DAY0)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"sha256 {digest}" in result.stderr
    return path


ZOOM = ["Zoom Video Communications, Inc.", "55 Almaden Blvd", "Suite 600", "San Jose",
        "CA 95113", "United States of America"]


@SQLITE_ONLY
@pytest.mark.parametrize(("language", "place_date", "reference"), [
    ("en", "Berlin, 8 June 2020", "Our reference: "),
    ("zh-Hans", "Berlin，2020年6月8日", "我方编号："),
])
def test_the_pdf_reads_back_as_the_letter(org: Cli, tmp_path: Path, language: str,
                                          place_date: str, reference: str) -> None:
    ref = _request(org, "--language", language)
    pdf = _pdf(org, ref, tmp_path / "letter.pdf")
    subject, text = print_text(org, ref, date(2020, 6, 8))
    pages = page_texts(pdf)
    reader = PdfReader(pdf)
    assert len(pages) == reader.get_num_pages() >= 2
    # The foot of every page: the reference and "page / pages".
    body = []
    for number, page in enumerate(pages, start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        foot = re.compile(rf"{number}\s*/\s*{len(pages)}")
        assert any(foot.fullmatch(line) for line in lines), (number, lines[-3:])
        assert ref in lines
        body.append("\n".join(line for line in lines
                              if line != ref and not foot.fullmatch(line)))
    read = squeeze("\n".join(body))
    # The heading the page lays out, then the subject, then the letter's own text, all of it.
    heading = ["Humanitarian China", "Postfach1234·10001Berlin·Germany",
               "inquiries@hrgroup.example", *ZOOM, place_date, f"{reference}{ref}"]
    position = 0
    for part in [*heading, subject, text]:
        found = read.find(squeeze(part), position)
        assert found >= 0, f"{part[:60]!r} is not in the PDF where it belongs"
        position = found + len(squeeze(part))
    assert read.endswith(squeeze(text))  # nothing after the signature
    assert "陈华<b>&co</b>" in read  # a value is text, never markup
    # The letter's heading for email is not printed twice.
    assert read.count(squeeze(ZOOM[1])) == 1
    # Every glyph from the Noto CJK serif face: no fallback font, no missing glyph.
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all("Noto-Serif-CJK-SC" in line for line in fonts), fonts
    assert reader.metadata is not None and reader.metadata.title == subject
    assert "/CreationDate" not in reader.metadata and "/ModDate" not in reader.metadata
    assert keep_page(pdf, f"gdpr-access-{language}").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@SQLITE_ONLY
def test_nothing_is_set_past_the_margins(org: Cli, tmp_path: Path) -> None:
    # Long unbroken strings and mixed Chinese and Latin text still wrap inside the page.
    long_account = "hrgroup-" + "x" * 120 + "@example.org"
    data = org.json("request", "new", "--platform", "zoom", "--template", "gdpr-access",
                    "--case", "账户被封" * 30, "--var", f"account={long_account}",
                    "--var", "data_subject=陈华Chen Hua" * 10, "--channel", "post",
                    "--language", "zh-Hans", env=DAY0)
    pdf = _pdf(org, str(data["ref"]), tmp_path / "wide.pdf")
    width, height = 210 * MM, 297 * MM
    for word in words(pdf):
        assert word.x_min >= 19 * MM and word.x_max <= width - 19 * MM, word
        assert word.y_max <= height - 5 * MM, word


@SQLITE_ONLY
@pytest.mark.parametrize(("paper", "size", "window"), [
    ("A4", (595, 842), (45, 20, 85, 45)),
    ("letter", (612, 792), (51, 22, 102, 35)),
])
def test_the_address_sits_in_the_envelope_window(org: Cli, tmp_path: Path, paper: str,
                                                 size: tuple[int, int],
                                                 window: tuple[int, int, int, int]) -> None:
    org.run("config", "set", "letters.paper", paper)
    org.run("config", "set", "letters.address_window", "true")
    ref = _request(org)
    pdf = _pdf(org, ref, tmp_path / f"{paper}.pdf")
    box = PdfReader(pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size
    top, left, width, height = (v * MM for v in window)
    first_page = [w for w in words(pdf) if w.page == 1]
    address = [min((w for w in first_page if w.text == text), key=lambda w: w.y_min)
               for text in ("Zoom", "Almaden", "Suite", "Jose", "95113", "America")]
    for word in address:  # inside the window, with a little room for the paper's play
        assert left - 1 * MM <= word.x_min and word.x_max <= left + width, word
        assert top - 1 * MM <= word.y_min and word.y_max <= top + height + 2 * MM, word
    # The return address above it, inside the window too; the letterhead above the window.
    returned = [w for w in first_page
                if w.text == "Postfach" and top - 1 * MM <= w.y_min <= top + height]
    assert len(returned) == 1
    head = next(w for w in first_page if w.text == "Humanitarian")
    assert head.y_max < top
    keep_page(pdf, f"window-{paper}")


@SQLITE_ONLY
def test_the_same_letter_gives_the_same_bytes(org: Cli, tmp_path: Path) -> None:
    ref = _request(org)
    first = _pdf(org, ref, tmp_path / "one.pdf").read_bytes()
    second = _pdf(org, ref, tmp_path / "two.pdf").read_bytes()
    assert first == second
    # Another day is another letter: dated differently, so other bytes.
    other = _pdf(org, ref, tmp_path / "three.pdf", env={"TRACKER_TODAY": "2020-06-09"})
    assert other.read_bytes() != first
    assert "9 June 2020" in page_texts(other)[0]


@SQLITE_ONLY
def test_a_pdf_is_not_written_to_a_terminal_and_a_missing_font_is_named(
        org: Cli, tmp_path: Path) -> None:
    ref = _request(org)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"TRACKER_DATABASE_URL": org.env["TRACKER_DATABASE_URL"] or "",
                "TRACKER_TODAY": "2020-06-08"})
    # A machine without the fonts: fontconfig knows none.
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                     f"<fontconfig><dir>{tmp_path / 'no-fonts'}</dir>"
                     f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    done = subprocess.run([sys.executable, "-m", "tracker", "--workspace", str(org.workspace),
                           "letter", ref, "--format", "pdf", "--output", str(tmp_path / "x.pdf")],
                          env={**env, "FONTCONFIG_FILE": str(empty)}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 11, done.stderr
    assert done.stderr.strip().splitlines() == [
        "tracker: error: PDF letters need the font Noto Serif CJK SC (and fontconfig's "
        "fc-list): on Debian or Ubuntu run apt-get install fonts-noto-cjk fontconfig"]
    assert not (tmp_path / "x.pdf").exists()


@SQLITE_ONLY
def test_a_platform_without_a_postal_address_is_named_with_a_warning(
        org: Cli, tmp_path: Path) -> None:
    org.run("platform", "add", "--slug", "acme", "--name", "Acme", "--email",
            "privacy@acme.example", "--source", "https://acme.example/privacy")
    data = org.json("request", "new", "--platform", "acme", "--template", "gdpr-access",
                    "--case", "x", *example_vars(org, "gdpr-access"), env=DAY0)
    result = org.run("letter", str(data["ref"]), "--format", "pdf", "--output",
                     str(tmp_path / "acme.pdf"), env=DAY0)
    assert "warning: the directory has no postal address for Acme" in result.stderr
    assert "platforms/acme.toml" in result.stderr
    assert "Acme" in page_texts(tmp_path / "acme.pdf")[0]


@SQLITE_ONLY
def test_a_template_without_medium_is_printed_with_a_warning(org: Cli, tmp_path: Path) -> None:
    (org.workspace / "templates").mkdir(exist_ok=True)
    (org.workspace / "templates" / "short.en.j2").write_text(
        '{#---\ntitle = "Short"\nsubject = "A short letter"\n---#}\n'
        "{{ org.name }}\n\nDear Sir or Madam,\n\nPlease answer.\n", encoding="utf-8")
    data = org.json("request", "new", "--platform", "zoom", "--template", "short", "--case",
                    "x", "--channel", "post", env=DAY0)
    result = org.run("letter", str(data["ref"]), "--format", "pdf", "--output",
                     str(tmp_path / "short.pdf"), env=DAY0)
    assert "short.en.j2 writes its own heading for email" in result.stderr
    assert "Please answer." in page_texts(tmp_path / "short.pdf")[0]


# ---------------------------------------------------------------- the layout, as HTML


def _letter(**changes: object) -> PaperLetter:
    values: dict[str, object] = dict(
        language="en", subject="Subject", text="Dear Sir or Madam,\n\nText.\n",
        sender_name="Org", sender_address=("Street 1", "City"), sender_email="a@org.example",
        recipient_lines=("Entity", "Road 2"), letter_date=date(2020, 6, 8), ref="HC-2020-0001")
    values.update(changes)
    return PaperLetter(**values)  # type: ignore[arg-type]


def test_every_value_is_escaped_and_nothing_is_fetched() -> None:
    html = paper_html(_letter(
        subject='</title><script>alert(1)</script>', text='<img src="http://x.example/a">',
        sender_name="<style>@import url(http://x.example)</style>",
        recipient_lines=('url("http://x.example")',), ref='"); } body { color: red'))
    assert "<script" not in html and "<img" not in html and "<style>@import" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=&quot;" in html
    style = html[html.index("<style>"):html.index("</style>")]
    assert "x.example" not in style and "HC-" not in style and "color: red" not in style


@pytest.mark.parametrize(("place", "language", "expected"), [
    ("", "en", "8 June 2020"),
    ("Berlin", "en", "Berlin, 8 June 2020"),
    ("柏林", "zh-Hans", "柏林，2020年6月8日"),
    ("", "zh-Hans", "2020年6月8日"),
])
def test_place_and_date(place: str, language: str, expected: str) -> None:
    assert place_and_date(place, date(2020, 6, 8), language) == expected


def test_the_window_is_laid_out_only_when_asked() -> None:
    assert "return-line" not in paper_html(_letter()).split("</style>")[1]
    windowed = paper_html(_letter(window=True))
    assert 'class="return-line">Org · Street 1 · City<' in windowed
    assert "size: A4" in paper_html(_letter()) and "size: letter" in paper_html(
        _letter(paper="letter"))
