"""Read the requests and their messages once, and evaluate each request in one pass.

Two light queries feed the report and the statistics: the requests' columns, and the columns of
the messages that matter (letters, drafts, answers, suspicious mail and, for the report, the
week's inbound mail; never the raw bytes). Each request then goes through the same derivation
(`tracker.services.facts.derive`: its clock and status row) and reminder plan
(`tracker.services.reminders.plan_from_facts`) as the rest of tracker, so the report never
disagrees with `tracker status` or `tracker remind`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col

from tracker.report.rows import DraftLetter, RequestLine
from tracker.services.facts import RESPONSE_KINDS, derive
from tracker.services.records import as_utc, utc_column
from tracker.services.reminders import lead_authority, plan_from_facts
from tracker.services.status import RequestColumns, driver_rows, load_requests, select_requests
from tracker.services.workspace import Workspace
from tracker.store.models import Message, State


class Mail(NamedTuple):
    """The columns of a message the report reads (fits tracker.services.facts.MessageFacts)."""

    id: int
    request_id: int | None
    direction: str
    status: str
    kind: str
    occurred_at: datetime | None
    subject: str
    triage: str
    authenticity: str
    template: str
    from_addr: str
    created_at: datetime  # for the reminder plan: when a discarded follow-up was drafted


_MAIL_COLUMNS = tuple(
    utc_column(getattr(Message, name)) if name in ("occurred_at", "created_at")
    else col(getattr(Message, name))
    for name in Mail._fields
)


class Outcome(NamedTuple):
    """What the statistics need of one request."""

    platform: str
    first_sent: date | None  # the local date of its first letter
    first_reply_days: int | None  # days from the first letter to the first substantive reply
    open: bool
    overdue: bool
    silence: int | None  # days without response of an open request now waiting
    ref: str


@dataclass(slots=True)
class Evaluated:
    request: RequestColumns
    outcome: Outcome
    line: RequestLine | None = None  # open requests only
    drafts: list[DraftLetter] = field(default_factory=list)


def load_mail(session: Session, since: datetime | None) -> list[tuple[Any, ...]]:
    """The messages the report needs; with *since*, also every inbound one since then.

    Letters and drafts, answers, acknowledgements (a status row shows the day of one) and
    suspicious mail of all time; bounces and the like only from the week (they move no clock
    and no statistic).
    """
    wanted = [col(Message.direction) == "out", col(Message.kind).in_(["reply", *RESPONSE_KINDS]),
              col(Message.authenticity) == "suspicious"]
    if since is not None:
        wanted.append(col(Message.occurred_at) >= since)
    query = sa.select(*_MAIL_COLUMNS).where(sa.or_(*wanted)).order_by(col(Message.id))
    return driver_rows(session, query)


class Evaluator:
    """Turns one request and its messages into a report line and statistics (pure)."""

    def __init__(self, ws: Workspace, as_of: date) -> None:
        self.ws = ws
        self.as_of = as_of
        self._authorities: dict[str, str] = {}

    def authority(self, platform_slug: str) -> str:
        """The name of the platform's lead supervisory authority (`lead_authority`), kept."""
        if platform_slug not in self._authorities:
            self._authorities[platform_slug] = lead_authority(self.ws, platform_slug)
        return self._authorities[platform_slug]

    def evaluate(self, request: RequestColumns, mails: Sequence[Mail]) -> Evaluated:
        facts = derive(self.ws, request, mails, self.as_of)
        sent = facts.letters_sent
        first_sent = sent[0][1] if sent else None
        if request.state == State.CLOSED:
            outcome = Outcome(request.platform_slug, first_sent, facts.first_reply_days, False,
                              False, None, request.ref)
            return Evaluated(request, outcome)

        wait, row, rule = facts.wait, facts.row, facts.rule
        authority = self.authority(request.platform_slug)
        plan = plan_from_facts(self.ws, facts, authority)
        deadline_days = due_in_days = None
        if wait.due_on is not None and wait.started_on is not None:  # waiting now
            deadline_days = (wait.due_on - wait.started_on).days
            due_in_days = (wait.due_on - self.as_of).days
        line = RequestLine(
            row=row, rule=rule, legal_basis=rule.describe(), citation=rule.citation,
            deadline_days=deadline_days, due_in_days=due_in_days,
            follow_ups_sent=max(0, len(sent) - 1),
            last_letter_on=sent[-1][1].isoformat() if sent else None,
            next_action=plan.text, next_action_code=plan.action, next_letter=plan.template,
            authority=authority,
        )
        drafts = [DraftLetter(request.ref, request.platform_slug, m.template or m.kind, m.kind,
                              m.status) for m in facts.drafts]
        outcome = Outcome(request.platform_slug, first_sent, facts.first_reply_days, True,
                          row.overdue, row.days_without_response, request.ref)
        return Evaluated(request, outcome, line, drafts)


def group_mail(rows: Sequence[Any]) -> tuple[dict[int, list[Mail]], list[Mail]]:
    """Messages by request, and all the inbound ones (matched to a request or not)."""
    by_request: dict[int, list[Mail]] = defaultdict(list)
    inbound: list[Mail] = []
    for id_, request_id, direction, status, kind, occurred_at, subject, triage, authenticity, \
            template, from_addr, created_at in rows:
        created = as_utc(created_at)
        assert created is not None  # the column is not nullable
        mail = Mail(id_, request_id, direction, status, kind, as_utc(occurred_at), subject, triage,
                    authenticity, template, from_addr, created)
        if mail.request_id is not None:
            by_request[mail.request_id].append(mail)
        if mail.direction == "in":
            inbound.append(mail)
    return by_request, inbound


def evaluate_all(ws: Workspace, session: Session, as_of: date, since: datetime | None,
                 ) -> tuple[list[Evaluated], list[Mail]]:
    """Every request (closed ones too) evaluated; the inbound mail loaded with them."""
    requests = load_requests(session, select_requests(include_closed=True))
    by_request, inbound = group_mail(load_mail(session, since))
    evaluator = Evaluator(ws, as_of)
    return [evaluator.evaluate(r, by_request.get(r.id, [])) for r in requests], inbound
