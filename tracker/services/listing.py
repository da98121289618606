"""The request list (the web face's Requests page): filters, sorting, pages, the search box.

Fast on 10,000 requests because the database does what it can and the derivation only what
is left. The columns a request keeps of its facts (`state`, `due_on`: `services.invariants`
checks they never drift from the messages) filter and sort in SQL: platform, state, language,
case, undelivered, overdue (waiting, due before the day), due within a week, and the orders by
due date, reference, platform and state, which then read one page. The day a wait turns very
overdue and the days without response are not kept, so "very overdue" and the default order
(longest silence first) derive the clock of the requests the SQL left: from their letters and
answers only (`wait_rows`), which is all `Facts.wait` reads. The rows shown, 50 at most, are
derived in full by `services.facts.derive`, as `tracker status` derives them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from tracker.core.clock import Wait
from tracker.core.errors import InputError
from tracker.services.facts import DUE_SOON_DAYS, StatusRow, counts_for_clock, derive
from tracker.services.memo import remembered
from tracker.services.records import as_utc, utc_column
from tracker.services.search import Found, Snippet, find_requests, normalise_query, snippets
from tracker.services.status import (
    LetterRow,
    RequestColumns,
    driver_rows,
    letter_rows,
    load_requests,
    paused_gc,
    select_requests,
)
from tracker.services.workspace import Workspace
from tracker.store.db import MAX_ROW_ID, reading
from tracker.store.models import Case, Message, Platform, Request, State

PER_PAGE = 50
SORTS = ("silence", "due", "ref", "platform", "state")
OVERDUE = ("", "1", "very")
DUE = ("", "week")
STATES = ("", "all", *State)  # "": open (every state but closed)
WAITING = (State.AWAITING, State.ACKNOWLEDGED)  # a letter is out and no answer came


@dataclass(frozen=True)
class Filters:
    """What the list shows: each field a query parameter of /requests (blank: no filter)."""

    platform: str = ""
    state: str = ""
    overdue: str = ""  # "1": overdue; "very": very overdue
    due: str = ""  # "week": due within the next 7 days (not overdue)
    undelivered: bool = False  # a letter bounced for good
    draft: bool = False  # a letter waits to be sent
    language: str = ""
    case: int | None = None
    q: str = ""  # the search box
    sort: str = "silence"
    page: int = 1

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters (with *changes*) as query parameters, blanks left out: for links."""
        values = replace(self, **changes)
        params = {"platform": values.platform, "state": values.state,
                  "overdue": values.overdue, "due": values.due,
                  "undelivered": "1" if values.undelivered else "",
                  "draft": "1" if values.draft else "", "language": values.language,
                  "case": str(values.case) if values.case is not None else "", "q": values.q,
                  "sort": "" if values.sort == "silence" else values.sort,
                  "page": "" if values.page == 1 else str(values.page)}
        return {k: v for k, v in params.items() if v}


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        shown = ", ".join(a for a in allowed if a) or "nothing"
        raise InputError(f"{name}={value!r} is not a choice here; use {shown}")
    return value


def _flag(name: str, value: str) -> bool:
    if value not in ("", "0", "1"):
        raise InputError(f"{name}={value!r}: use 1 (or leave it out)")
    return value == "1"


def _number(name: str, value: str, low: int) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= MAX_ROW_ID:
        raise InputError(f"{name}={value!r} is not a number from {low}")
    return int(value)


def parse_filters(values: Mapping[str, str]) -> Filters:
    """Filters from query parameters, checked: InputError names a value that cannot be."""
    get = {k: (values.get(k) or "").strip() for k in (
        "platform", "state", "overdue", "due", "undelivered", "draft", "language", "case", "q",
        "sort", "page")}
    q = get["q"]
    if q:
        q = normalise_query(q)
    return Filters(
        platform=get["platform"][:64], state=_choice("state", get["state"], STATES),
        overdue=_choice("overdue", get["overdue"], OVERDUE), due=_choice("due", get["due"], DUE),
        undelivered=_flag("undelivered", get["undelivered"]), draft=_flag("draft", get["draft"]),
        language=get["language"][:16], case=_number("case", get["case"], 1), q=q,
        sort=_choice("sort", get["sort"] or "silence", SORTS),
        page=_number("page", get["page"], 1) or 1,
    )


@dataclass(frozen=True)
class Listed:
    """One row of the list: the request's status row, and where the search found it."""

    row: StatusRow
    found: Found | None = None
    snippet: Snippet | None = None


@dataclass(frozen=True)
class Page:
    """One page of the list, with what the filter form offers."""

    filters: Filters
    rows: list[Listed]
    total: int  # requests that pass the filters
    pages: int
    as_of: date
    platforms: list[tuple[str, str]] = field(default_factory=list)  # (slug, name)
    languages: list[str] = field(default_factory=list)
    cases: list[tuple[int, str]] = field(default_factory=list)  # (id, title)
    per_page: int = PER_PAGE

    @property
    def first(self) -> int:
        """The position of the page's first row (1-based; 0 on an empty list)."""
        return (self.filters.page - 1) * self.per_page + 1 if self.rows else 0


def _filtered(filters: Filters, as_of: date, found: list[Found] | None) -> sa.Select[Any]:
    """The requests' columns, with every filter the columns can answer applied."""
    query = select_requests(include_closed=filters.state not in ("",))
    query = query.order_by(None)
    if filters.state not in ("", "all"):
        query = query.where(col(Request.state) == filters.state)
    if filters.platform:
        query = query.where(col(Request.platform_slug) == filters.platform)
    if filters.language:
        query = query.where(col(Request.language) == filters.language)
    if filters.case is not None:
        query = query.where(col(Request.case_id) == filters.case)
    if filters.undelivered:
        query = query.where(col(Request.delivery_failed).is_(True))
    if filters.draft:
        query = query.where(sa.exists().where(
            col(Message.request_id) == col(Request.id), col(Message.direction) == "out",
            col(Message.status).in_(["draft", "sending"])))
    if filters.overdue:  # overdue: waiting, and the due day has passed (very: see list_requests)
        query = query.where(col(Request.state).in_(WAITING), col(Request.due_on) < as_of)
    if filters.due == "week":
        query = query.where(col(Request.state).in_(WAITING),
                            col(Request.due_on) >= as_of,
                            col(Request.due_on) <= as_of + timedelta(days=DUE_SOON_DAYS))
    if found is not None:
        query = query.where(col(Request.id).in_([f.request_id for f in found]))
    return query


_SQL_ORDER: dict[str, Callable[[], tuple[Any, ...]]] = {
    "due": lambda: (col(Request.due_on).is_(None), col(Request.due_on), col(Request.ref)),
    "ref": lambda: (col(Request.ref),),
    "platform": lambda: (col(Request.platform_slug), col(Request.ref)),
    "state": lambda: (col(Request.state), col(Request.ref)),
}


def wait_rows(session: Session, request_ids: sa.Select[Any]) -> dict[int, list[LetterRow]]:
    """The messages the clock reads (letters sent, answers that count), by request.

    `Facts.wait` reads nothing else: acknowledgements, drafts and suspicious mail matter to
    the row, not to the clock. Subjects and templates are left out (the row is not built
    from these).
    """
    query = (
        sa.select(col(Message.request_id), col(Message.direction), col(Message.status),
                  col(Message.kind), utc_column(Message.occurred_at), col(Message.triage))
        .where(col(Message.request_id).in_(request_ids))
        .where(col(Message.occurred_at).is_not(None))
        .where(sa.or_(sa.and_(col(Message.direction) == "out", col(Message.status) == "sent"),
                      sa.and_(col(Message.direction) == "in", col(Message.kind) == "reply",
                              col(Message.status) == "received")))
        .order_by(col(Message.id))
    )
    by_request: dict[int, list[LetterRow]] = defaultdict(list)
    for request_id, direction, status, kind, occurred_at, triage in driver_rows(session, query):
        row = LetterRow(direction, status, kind, as_utc(occurred_at), "", triage, "", "")
        if direction == "out" or counts_for_clock(row):
            by_request[request_id].append(row)
    return by_request


def _silence_key(request: RequestColumns, days: int | None) -> tuple[int, str]:
    # `status.silence_order` on what the row would say (no days for a closed request).
    days = None if request.state == State.CLOSED else days
    return (-(days if days else -1), request.ref)


def list_requests(ws: Workspace, filters: Filters, as_of: date) -> Page:
    """One page of the requests that pass *filters* as of *as_of*, in the order asked; kept
    while no event or message is added (staff go back and forth between a list and its
    requests), for the last few lists asked for."""
    return remembered(ws, "request-list", (filters, as_of, id(ws.platforms)),
                      lambda: _list_requests(ws, filters, as_of), slots=32)


def _list_requests(ws: Workspace, filters: Filters, as_of: date) -> Page:
    with reading(ws.engine) as session, paused_gc():
        found = find_requests(session, filters.q) if filters.q else None
        query = _filtered(filters, as_of, found)
        ids = query.with_only_columns(col(Request.id))
        derived = filters.overdue == "very" or filters.sort == "silence"
        if derived:
            requests = load_requests(session, query)
            letters = wait_rows(session, ids)
            waits = {r.id: derive(ws, r, letters[r.id], as_of).wait for r in requests}
            if filters.overdue == "very":
                requests = [r for r in requests if waits[r.id].very_overdue]
            requests.sort(key=_derived_order(filters.sort, waits))
            total = len(requests)
            page = _clamp(filters.page, total)
            shown = requests[(page - 1) * PER_PAGE:page * PER_PAGE]
        else:
            total = session.execute(sa.select(sa.func.count()).select_from(
                ids.subquery())).scalar_one()
            page = _clamp(filters.page, total)
            shown = load_requests(session, query.order_by(*_SQL_ORDER[filters.sort]())
                                  .limit(PER_PAGE).offset((page - 1) * PER_PAGE))
        rows = _rows(ws, session, shown, as_of)
        where = {f.request_id: f for f in found or []}
        on_page = [where[r.id] for r in shown if r.id in where]
        shown_snippets = snippets(session, filters.q, on_page) if on_page else {}
        listed = [Listed(rows[r.id], where.get(r.id), shown_snippets.get(r.id)) for r in shown]
        platforms, languages, cases = _choices(session)
    return Page(filters=replace(filters, page=page), rows=listed, total=total,
                pages=max(1, math.ceil(total / PER_PAGE)), as_of=as_of, platforms=platforms,
                languages=languages, cases=cases)


def _derived_order(sort: str, waits: Mapping[int, Wait]) -> Callable[[RequestColumns], Any]:
    """The sort key of rows whose clock is derived (the orders of `_SQL_ORDER`, and silence)."""
    if sort == "silence":
        return lambda r: _silence_key(r, waits[r.id].days_without_response)
    if sort == "due":
        return lambda r: (waits[r.id].due_on is None, waits[r.id].due_on or date.min, r.ref)
    return {"ref": lambda r: r.ref, "platform": lambda r: (r.platform_slug, r.ref),
            "state": lambda r: (r.state, r.ref)}[sort]


def _clamp(page: int, total: int) -> int:
    return min(page, max(1, math.ceil(total / PER_PAGE)))


def _rows(ws: Workspace, session: Session, requests: list[RequestColumns],
          as_of: date) -> dict[int, StatusRow]:
    """The full status rows of *requests* (a page), as `tracker status` derives them."""
    if not requests:
        return {}
    letters = letter_rows(session, [r.id for r in requests])
    return {r.id: derive(ws, r, letters[r.id], as_of).row for r in requests}


def _choices(session: Session) -> tuple[list[tuple[str, str]], list[str], list[tuple[int, str]]]:
    """What the filter form offers: the platforms, languages and cases requests have."""
    platforms = [(slug, name) for slug, name in session.execute(
        sa.select(col(Platform.slug), col(Platform.name)).order_by(col(Platform.slug))).all()]
    languages = [lang for (lang,) in session.execute(
        sa.select(col(Request.language)).distinct().order_by(col(Request.language))).all()]
    cases = [(id_, title) for id_, title in session.execute(
        sa.select(col(Case.id), col(Case.title)).order_by(col(Case.id)).limit(500)).all()]
    return platforms, languages, cases
