"""The request page's letters on paper and receipts: the same as the commands, with the same
checks (role, CSRF, limits, types), every file a download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa
from bs4 import BeautifulSoup
from test_receipts import EML, PNG
from test_web_request_page import (  # noqa: F401 (fixtures)
    TODAY,
    _copy,
    demo_copy,
    record,
    same_change,
    site,
    tracker,
)
from web_client import Site, make_site

REF = "HC-2020-0004"  # the demo's draft, to go out


def _documents(path: Path, ref: str) -> list[tuple[str, str, str, int, str]]:
    engine = sa.create_engine(f"sqlite:///{path / 'tracker.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "select d.role, d.label, d.media_type, d.size, d.sha256 from document d "
                "join request r on r.id = d.request_id where r.ref = :ref order by d.id"),
                {"ref": ref})]
    finally:
        engine.dispose()


def test_marking_a_letter_posted_with_receipts_on_the_page_does_what_the_command_does(
        demo_copy: Path, tmp_path: Path) -> None:  # noqa: F811
    web_path, cli_path = _copy(demo_copy, tmp_path / "web"), _copy(demo_copy, tmp_path / "cli")
    (tmp_path / "receipt.png").write_bytes(PNG)
    (tmp_path / "confirmation.eml").write_bytes(EML)
    served = make_site(web_path, dict(TODAY))
    try:
        editor = served.signed_in("editor")
        response = editor.post(
            f"/requests/{REF}/mark-sent",
            {"channel": "post", "on": "2020-07-15", "tracking": "RR123456785DE",
             "ticket": "", "note": "posted"}, token=editor.session_token(),
            files=[("receipt", ("receipt.png", PNG, "image/png")),
                   ("receipt", ("confirmation.eml", EML, "message/rfc822"))])
        assert response.status_code == 303, response.text[-400:]
        tracker(cli_path, "mark-sent", REF, "--channel", "post", "--on", "2020-07-15",
                "--tracking", "RR123456785DE", "--note", "posted",
                "--receipt", str(tmp_path / "receipt.png"),
                "--receipt", str(tmp_path / "confirmation.eml"))
        same_change(web_path, cli_path, REF)
        # The same files, the PDF of the letter byte for byte too (same day, same facts).
        kept = _documents(web_path, REF)
        assert kept == _documents(cli_path, REF)
        assert [k[:3] for k in kept] == [
            ("letter", f"{REF}-2020-07-15.pdf", "application/pdf"),
            ("receipt", "receipt.png", "image/png"),
            ("receipt", "confirmation.eml", "message/rfc822")]

        page = editor.page(f"/requests/{REF}")
        section = page.find("section", attrs={"aria-labelledby": "h-documents"})
        assert "RR123456785DE (Deutsche Post, registered)" in section.get_text()
        links = [a["href"] for a in section.select("table.documents a")]
        assert len(links) == 3
        for href, (_, _, _, size, digest) in zip(links, kept, strict=True):
            got = editor.get(href)
            assert got.status_code == 200 and len(got.content) == size
            assert hashlib.sha256(got.content).hexdigest() == digest
            assert got.headers["content-disposition"].startswith("attachment;")
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["content-type"] == "application/octet-stream"
        # The letter as posted is the request page's PDF now.
        pdf = editor.get(f"/requests/{REF}/letter.pdf")
        assert hashlib.sha256(pdf.content).hexdigest() == kept[0][4]
    finally:
        served.ws.close()


def test_a_receipt_added_later_and_the_pdf_download(site: Site) -> None:  # noqa: F811
    editor = site.signed_in("editor")
    pdf = editor.get(f"/requests/{REF}/letter.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert f'filename="{REF}-2020-07-20.pdf"' in pdf.headers["content-disposition"]
    page = editor.page(f"/requests/{REF}")
    assert page.select_one("#letter-pdf")["href"] == f"/requests/{REF}/letter.pdf"
    # A letter already sent takes receipts later, with a ticket.
    ref = "HC-2020-0001"
    response = editor.post(f"/requests/{ref}/receipts", {"note": "delivery confirmation",
                                                         "ticket": "Case: 0123"},
                           token=editor.session_token(),
                           files=[("receipt", ("scan.png", PNG, "image/png"))])
    assert response.status_code == 303
    kept = _documents(site.path, ref)
    assert [k[:3] for k in kept] == [("receipt", "scan.png", "image/png")]
    page = editor.page(f"/requests/{ref}")
    assert "Case: 0123" in page.get_text()
    assert "delivery confirmation" in page.select_one("table.documents").get_text()


def test_only_editors_keep_files_and_every_form_needs_its_token(site: Site) -> None:  # noqa: F811
    viewer = site.signed_in("viewer")
    before = record(site.path, "HC-2020-0001")
    files = [("receipt", ("scan.png", PNG, "image/png"))]
    assert viewer.post("/requests/HC-2020-0001/receipts", {}, token=viewer.session_token(),
                       files=files).status_code == 403
    editor = site.signed_in("editor")
    assert editor.post("/requests/HC-2020-0001/receipts", {}, token="forged",
                       files=files).status_code == 403
    assert editor.post("/requests/HC-2020-0001/receipts", {}, token=editor.session_token(),
                       files=files, site="cross-site").status_code == 403
    assert record(site.path, "HC-2020-0001") == before
    assert _documents(site.path, "HC-2020-0001") == []
    # Reading is for everyone signed in, and nobody else.
    assert viewer.get(f"/requests/{REF}/letter.pdf").status_code == 200
    assert site.browser().get(f"/requests/{REF}/letter.pdf").status_code in (303, 401)


def test_a_bad_receipt_is_a_plain_page_and_nothing_is_kept(site: Site) -> None:  # noqa: F811
    editor = site.signed_in("editor")
    before = record(site.path, REF)
    for files, says in [
        ([("receipt", ("page.html", b"<!doctype html><script>x()</script>", "text/html"))],
         "receipt page.html is not a PDF, PNG, JPEG, EML"),
        ([("receipt", ("big.png", PNG + b"\0" * (20 * 2**20 + 1), "image/png"))],
         "receipt big.png is larger than 20 MB, the limit"),
    ]:
        response = editor.post(f"/requests/{REF}/mark-sent",
                               {"channel": "post", "on": "2020-07-15"},
                               token=editor.session_token(), files=files)
        assert response.status_code == 400
        problem = BeautifulSoup(response.text, "html.parser").select_one("p.problem")
        assert problem is not None and says in problem.get_text()
        assert "<script>" not in response.text
    assert record(site.path, REF) == before and _documents(site.path, REF) == []
    assert editor.get(f"/requests/{REF}/documents/{2**40}").status_code == 404
