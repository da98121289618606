"""The weekly report in the page and as downloads in every format, and the statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracker.report import read_platform_stats, read_weekly_report, render
from tracker.report.i18n import LANGUAGES, Labels
from tracker.report.layout import heading, platform_block, sections
from tracker.services.workspace import as_of_day
from tracker.web.auth import Actor, viewer
from tracker.web.rendering import render as render_page

router = APIRouter()

# The downloads: format -> (media type, file extension). The terminal format is for terminals.
DOWNLOADS = {
    "html": ("text/html; charset=utf-8", "html"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "text": ("text/plain; charset=utf-8", "txt"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}


def _language(request: Request, asked: str) -> str:
    """The report's language: the one asked for, else ``[report] language``."""
    return asked if asked in LANGUAGES else request.app.state.workspace.settings.report.language


@router.get("/report")
def report_page(request: Request, actor: Annotated[Actor, Depends(viewer)], as_of: str = "",
                language: str = "") -> Response:
    day = as_of_day(actor.ws, as_of, "as of")
    report = read_weekly_report(actor.ws, day, _language(request, language))
    title, week = heading(report)
    return render_page(request, "report.html", {
        "report": report, "sections": sections(report), "heading": title, "week": week,
        "as_of": day, "language": report.language,
        "languages": [(code, code) for code in LANGUAGES], "downloads": DOWNLOADS})


@router.get("/report/weekly.{fmt}")
def report_download(request: Request, actor: Annotated[Actor, Depends(viewer)], fmt: str,
                    as_of: str = "", language: str = "") -> Response:
    if fmt not in DOWNLOADS:
        return render_page(request, "error.html", {
            "title": "Not found",
            "message": f"the report comes as {', '.join(DOWNLOADS)}; not as {fmt!r}"},
            status=404)
    day = as_of_day(actor.ws, as_of, "as of")
    report = read_weekly_report(actor.ws, day, _language(request, language))
    media_type, extension = DOWNLOADS[fmt]
    name = f"weekly-report-{day.isoformat()}.{extension}"
    return Response(render(report, fmt).encode("utf-8"), media_type=media_type,
                    headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/stats")
def stats_page(request: Request, actor: Annotated[Actor, Depends(viewer)],
               as_of: str = "") -> Response:
    day = as_of_day(actor.ws, as_of, "as of")
    result = read_platform_stats(actor.ws, day)
    lang = getattr(actor.user, "language", "en")
    t = Labels(lang if lang in LANGUAGES else "en")
    blocks = [platform_block(t, result.all_time, f"{t('all_time')} ({t.day(day)})"), *(
        platform_block(t, items, f"{t('year')} {year}")
        for year, items in sorted(result.by_year.items(), reverse=True))]
    return render_page(request, "stats.html", {"result": result, "blocks": blocks,
                                               "as_of": day})
