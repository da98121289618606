"""`tracker export`: every request, closed ones too, with its state and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from tracker.core import clock
from tracker.services.facts import StatusRow
from tracker.services.records import as_utc, utc_column
from tracker.services.status import status_rows
from tracker.services.workspace import Workspace
from tracker.store.models import Case, Request

EXPORT_FIELDS = (*StatusRow.__dataclass_fields__, "case_id", "case", "created_on", "language",
                 "tickets")


def export_requests(ws: Workspace, session: Session, as_of: date) -> list[dict[str, Any]]:
    """One dict per request, by reference: the `tracker status --json` keys and the facts
    a regulator or an archive needs (case, creation date, language, the platform's tickets).
    """
    rows = {r.ref: r for r in status_rows(ws, session, as_of, include_closed=True)}
    query = (sa.select(col(Request.ref), col(Request.case_id), col(Case.title),
                       utc_column(Request.created_at), col(Request.language),
                       col(Request.tickets))
             .join(Case, col(Case.id) == col(Request.case_id))
             .order_by(col(Request.ref)))
    tz = ws.settings.tz
    exported = []
    for ref, case_id, title, created_at, language, tickets in \
            session.connection().execute(query).all():
        row = rows.get(ref)
        if row is None:
            continue
        exported.append({**row.to_dict(), "case_id": case_id, "case": title,
                         "created_on": clock.local_date(as_utc(created_at) or datetime.now(UTC),
                                                        tz).isoformat(),
                         "language": language, "tickets": list(tickets or [])})
    return exported
