"""The Requests page: the list with its filters, sorting, pages and the search box (GET only)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracker.services import listing
from tracker.services.workspace import current_time
from tracker.web.auth import Actor, viewer
from tracker.web.rendering import render

router = APIRouter(prefix="/requests")
PAGE_WINDOW = 3  # page links either side of the current page


@router.get("")
def request_list(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    filters = listing.parse_filters(request.query_params)
    page = listing.list_requests(actor.ws, filters, current_time(actor.ws).date())

    def link(**changes: Any) -> str:
        """This list with *changes* to its filters (a new filter starts at page 1)."""
        changes.setdefault("page", 1)
        query = page.filters.query(**changes)
        return "/requests" + (f"?{urlencode(query)}" if query else "")

    numbers = sorted({1, page.pages, *range(max(1, page.filters.page - PAGE_WINDOW),
                                            min(page.pages, page.filters.page + PAGE_WINDOW) + 1)})
    return render(request, "requests.html", {
        "page": page, "f": page.filters, "link": link, "page_numbers": numbers,
        "language_options": [(lang, lang) for lang in page.languages],
        "case_options": [(str(id_), f"{id_}: {title}") for id_, title in page.cases]})
