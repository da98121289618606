"""One request as staff read it: `tracker request show` and the web's request page.

Its facts and status row as of a day (with the clock's explanation), its case, and its
timeline of messages and events, each event with who did it. The page also reads the current
letter (the pending draft, or the last one sent), the draft's approval, and the follow-up
templates it could draft next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tracker.core.errors import TrackerError
from tracker.core.postal import parse_tracking
from tracker.services import compose, drafts, records
from tracker.services.facts import StatusRow
from tracker.services.memo import remembered
from tracker.services.receipts import DocumentInfo, request_documents
from tracker.services.status import build_row, timeline
from tracker.services.workspace import Workspace
from tracker.store import db
from tracker.store.models import Case, Request

_KEPT_PAGES = 64  # request pages kept (each a few kilobytes of rows)


@dataclass(frozen=True)
class LetterShown:
    """The request's current letter as rendered text (or why it cannot be rendered)."""

    subject: str
    text: str
    status: str  # draft | sending | sent
    template: str  # label: ``follow-up (en)``
    language: str
    problem: str = ""  # a template error: the page says it and still shows the rest
    # Another language of a letter already sent: its template as of today, not what went out.
    preview: bool = False


@dataclass(frozen=True)
class RequestOverview:
    """Everything about one request as of *as_of*."""

    request: Request
    row: StatusRow
    as_of: date
    case: Case | None
    timeline: list[dict[str, Any]]
    letter: LetterShown | None = None
    draft: drafts.Draft | None = None
    follow_up_templates: list[tuple[str, str]] = field(default_factory=list)  # (id, title)
    documents: list[DocumentInfo] = field(default_factory=list)  # posted PDFs and receipts
    tracking: list[str] = field(default_factory=list)  # each posted letter's, described

    @property
    def case_title(self) -> str:
        return self.case.title if self.case else ""


def live_request(ws: Workspace, ref: str, as_of: date, *, letter: bool = False,
                 language: str | None = None) -> RequestOverview:
    """`show_request`, kept while no event or message is added and the templates and the
    directory are the same (the web's request page, which staff reload after every step)."""
    key = (ref, as_of, letter, language, id(ws.templates), id(ws.platforms))
    return remembered(ws, "request-page", key, lambda: show_request(
        ws, ref, as_of, letter=letter, language=language), slots=_KEPT_PAGES)


def show_request(ws: Workspace, ref: str, as_of: date, *, letter: bool = False,
                 language: str | None = None) -> RequestOverview:
    """The request *ref* as of *as_of*. *letter*: also its current letter (in *language*, a
    preview that changes nothing), its pending draft and the follow-up templates."""
    with db.reading(ws.engine) as session:
        req = records.get_request(session, ref)
        row = build_row(ws, req, records.request_messages(session, req), as_of)
        case = session.get(Case, req.case_id)
        items = timeline(ws, session, req)
        documents = request_documents(session, req)
        tracking = [parse_tracking(m.tracking).describe()
                    for m in records.sent_letters(records.request_messages(session, req))
                    if m.tracking]
        if not letter:
            return RequestOverview(req, row, as_of, case, items, documents=documents,
                                   tracking=tracking)
        shown = _letter(ws, session, req, as_of, language)
        draft = drafts.draft_of(session, req)
    templates = sorted((t.id, t.title) for (_, lang), t in ws.templates.items()
                       if t.kind == "follow-up" and lang == req.language)
    return RequestOverview(req, row, as_of, case, items, shown, draft, templates, documents,
                           tracking)


def _letter(ws: Workspace, session: Any, req: Request, as_of: date,
            language: str | None) -> LetterShown | None:
    messages = records.request_messages(session, req)
    if not records.pending_letter(messages) and not records.sent_letters(messages):
        return None
    other = bool(language) and language != req.language
    try:
        if other and language:
            current = compose.letter_in_language(ws, session, req, language, as_of)
        else:
            current = compose.current_letter(ws, session, req, as_of)
    except TrackerError as exc:  # a template that no longer renders: say so, show the rest
        return LetterShown("", "", "", "", language or req.language, problem=str(exc))
    message = current.message
    return LetterShown(subject=current.rendered.subject, text=current.rendered.text,
                       status=message.status, template=current.template.label,
                       language=current.template.language,
                       preview=other and message.status == "sent")
