"""A request's facts: what its columns and its messages say as of a day, derived once.

`derive` reads a request and its messages in one pass and gives its `Facts`: the letters as
sent, the answers, the drafts, the responses that are no answer; from them, on demand, the
clock (`Facts.wait`), the state the mail calls for, the `tracker status` row and what a
reminder plan reads. Every face reads a request through it: `tracker status` and the export
(the row), the weekly report and the statistics (the letters, the first reply, the plan),
`tracker remind`, the evidence bundle (the clock and the row), and the services that settle a
request's state after a letter or a reply. So none of them can disagree with another.

Pure: the messages come in as full rows or as light column tuples (`MessageFacts`), the day
as an argument; nothing here reads the database or the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar

from tracker.core import clock
from tracker.core.deadlines import DeadlineRule, parse_rule
from tracker.core.iso import iso_day
from tracker.services.workspace import Workspace
from tracker.store.models import State

# Inbound kinds that show the platform responded without answering: the clock keeps running.
RESPONSE_KINDS = ("auto_reply", "extension", "information_request")
# A wait is "due soon" when its due day is at most this many days ahead (report, request list).
DUE_SOON_DAYS = 7


class MessageFacts(Protocol):
    """What the derivation reads of a message: full rows and light column tuples both fit."""

    @property
    def direction(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def triage(self) -> str: ...
    @property
    def authenticity(self) -> str: ...
    @property
    def template(self) -> str: ...


M = TypeVar("M", bound=MessageFacts)


class RequestFacts(Protocol):
    """What the clock and a status row need of a request: full rows and column tuples both fit."""

    @property
    def ref(self) -> str: ...
    @property
    def platform_slug(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def deadline_rule(self) -> str: ...
    @property
    def extensions(self) -> list[dict[str, Any]]: ...
    @property
    def resolution(self) -> str | None: ...
    @property
    def delivery_failed(self) -> bool: ...


def counts_for_clock(message: MessageFacts) -> bool:
    """Inbound mail moves the clock only once nobody needs to look at it first.

    A probable match or a suspicious-looking reply waits in triage ("pending") until a person
    links it; a dismissed one never counts.
    """
    return message.triage in ("", "linked")


def is_answer(message: MessageFacts) -> bool:
    """A substantive reply that stops the clock (genuine, or confirmed by a person)."""
    return (message.kind == "reply" and message.direction == "in"
            and message.occurred_at is not None and message.status == "received"
            and counts_for_clock(message))


def parse_extension(record: dict[str, Any], base: DeadlineRule) -> clock.Extension:
    rule = base.extension if record["rule"] == "statutory" and base.extension else \
        parse_rule(record["rule"])
    return clock.Extension(rule=rule, granted_at=datetime.fromisoformat(record["granted_at"]),
                           reason=record.get("reason", ""))


@dataclass(frozen=True)
class StatusRow:
    """What `tracker status` shows for one request (the JSON keys are these field names)."""

    ref: str
    platform: str
    template: str
    subject: str
    state: str
    channel: str
    recipient: str
    rule: str
    sent_on: str | None
    due_on: str | None
    days_without_response: int | None
    business_days_without_response: int | None
    overdue: bool
    very_overdue: bool
    overdue_by_days: int
    last_reply_on: str | None
    resolution: str | None
    delivery_failed: bool
    suspicious_replies: int
    explanation: str
    pending_draft: str | None  # the template of the letter waiting to be sent, if any
    acknowledged_on: str | None  # the day the platform acknowledged the unanswered letter
    # The platform asked us for something (identity, details) during this wait: a next step.
    information_requested_on: str | None
    # It announced an extension during this wait that no `tracker extend` has applied yet.
    extension_notice_on: str | None

    def to_dict(self) -> dict[str, Any]:
        # Every field is a plain value: a shallow copy is asdict() without its deep copying.
        return dict(self.__dict__)


class Facts(Generic[M]):
    """What one request's columns and messages say as of *as_of* (see `derive`).

    The one pass sorts the messages; what costs more (the clock, the row, the letters' local
    days) is worked out when first asked for, so that a caller pays only for what it reads.
    """

    __slots__ = ("_letters_sent", "_responses_seen", "_row", "_rule", "_wait", "answers",
                 "as_of", "discarded", "drafts", "has_letter", "letters", "request", "responses",
                 "sent", "subject", "suspicious", "ws")

    def __init__(self, ws: Workspace, request: RequestFacts, as_of: date) -> None:
        self.ws = ws
        self.request = request
        self.as_of = as_of
        self.has_letter = False  # a letter went out (with its moment or not)
        self.sent: list[M] = []  # letters sent with their moment, in the order of the messages
        self.letters: list[clock.Letter] = []  # those with their moment, for the clock
        self.subject: str | None = None  # the first letter's, as sent
        self.drafts: list[M] = []  # letters written and not sent (or interrupted while sending)
        self.discarded: list[M] = []  # follow-ups drafted, then discarded by staff
        self.answers: list[clock.Reply] = []  # substantive replies that count (`is_answer`)
        # Responses that count but answer nothing (`RESPONSE_KINDS`): their kind and moment.
        self.responses: list[tuple[str, datetime]] = []
        self.suspicious = 0  # suspicious replies waiting in triage
        self._rule: DeadlineRule | None = None
        self._wait: clock.Wait | None = None
        self._row: StatusRow | None = None
        self._letters_sent: list[tuple[datetime, date, str]] | None = None
        self._responses_seen: tuple[date | None, date | None, date | None] | None = None

    @property
    def rule(self) -> DeadlineRule:
        """The request's deadline rule (the organisation's default if it names none)."""
        if self._rule is None:
            self._rule = parse_rule(
                self.request.deadline_rule, default=self.ws.settings.organisation.default_deadline)
        return self._rule

    @property
    def wait(self) -> clock.Wait:
        """The clock as of the day: letters as sent against the answers and extensions."""
        if self._wait is None:
            ws, request, rule = self.ws, self.request, self.rule
            extensions = [parse_extension(e, rule) for e in request.extensions]
            # Acknowledgements never move the clock (compute_wait skips them): only answers.
            self._wait = clock.compute_wait(self.letters, self.answers, rule, extensions,
                                            self.as_of, ws.settings.tz,
                                            ws.calendar_for(request.platform_slug))
        return self._wait

    @property
    def letters_sent(self) -> list[tuple[datetime, date, str]]:
        """The letters sent by the day: ``(moment, local day, template)``, in time order."""
        if self._letters_sent is None:
            tz, as_of, local_date = self.ws.settings.tz, self.as_of, clock.local_date
            found = []
            for m in self.sent:
                assert m.occurred_at is not None  # `derive` keeps only letters with their moment
                day = local_date(m.occurred_at, tz)
                if day <= as_of:
                    found.append((m.occurred_at, day, m.template))
            found.sort()
            self._letters_sent = found
        return self._letters_sent

    def _responded(self) -> tuple[date | None, date | None, date | None]:
        """Of the responses that are no answer, since the unanswered wait began (local days):
        the first of any kind, the last request for information, the last extension notice."""
        if self._responses_seen is None:
            first = information = notice = None
            wait = self.wait
            if not wait.answered and wait.started_on is not None:
                tz, started_on, local_date = self.ws.settings.tz, wait.started_on, clock.local_date
                for kind, moment in self.responses:
                    day = local_date(moment, tz)
                    if day < started_on:
                        continue
                    if first is None or day < first:
                        first = day
                    if kind == "information_request" and (information is None
                                                           or day > information):
                        information = day
                    elif kind == "extension" and (notice is None or day > notice):
                        notice = day
            self._responses_seen = (first, information, notice)
        return self._responses_seen

    @property
    def acknowledged_on(self) -> date | None:
        """The first day the platform acknowledged the letter it has not answered yet, if it did.

        Acknowledgements that count, from the day the current wait began: the same as make the
        request "acknowledged" (`state`); a follow-up does not undo them.
        """
        return self._responded()[0]

    @property
    def information_requested_on(self) -> date | None:
        """The last day of this wait the platform asked us for something (identity, details)."""
        return self._responded()[1]

    @property
    def extension_notice_on(self) -> date | None:
        """The day of the latest extension notice of this wait that no extension followed."""
        notice = self._responded()[2]
        if notice is None:
            return None
        tz = self.ws.settings.tz
        granted = [clock.local_date(datetime.fromisoformat(e["granted_at"]), tz)
                   for e in self.request.extensions]
        return None if any(day >= notice for day in granted) else notice

    @property
    def state(self) -> State:
        """The state the request's letters and replies call for, closing aside."""
        if not self.has_letter:
            return State.DRAFT
        if self.wait.answered:
            return State.ANSWERED
        return State.ACKNOWLEDGED if self.acknowledged_on is not None else State.AWAITING

    @property
    def first_reply_days(self) -> int | None:
        """Days from the first letter to the first substantive reply after it, by the day."""
        sent = self.letters_sent
        if not sent:
            return None
        # The first substantive reply after the first letter, as a person would count it.
        later = [r.received_at for r in self.answers if r.received_at > sent[0][0]]
        if not later:
            return None
        answered_on = clock.local_date(min(later), self.ws.settings.tz)
        return (answered_on - sent[0][1]).days if answered_on <= self.as_of else None

    @property
    def row(self) -> StatusRow:
        """The request's `tracker status` row."""
        if self._row is None:
            self._row = self._build_row()
        return self._row

    def _build_row(self) -> StatusRow:
        request, wait = self.request, self.wait
        subject = self.subject
        if not subject:
            template = self.ws.templates.get((request.template, request.language))
            subject = template.title if template else request.template
        pending = (self.drafts[0].template or self.drafts[0].kind) if self.drafts else None
        closed = request.state == State.CLOSED
        return StatusRow(
            ref=request.ref,
            platform=request.platform_slug,
            template=request.template,
            subject=subject,
            state=request.state,
            channel=request.channel,
            recipient=request.recipient,
            rule=request.deadline_rule,
            sent_on=iso_day(wait.sent_on),
            due_on=iso_day(wait.due_on),
            days_without_response=None if closed else wait.days_without_response,
            business_days_without_response=None if closed else
            wait.business_days_without_response,
            overdue=wait.overdue and not closed,
            very_overdue=wait.very_overdue and not closed,
            overdue_by_days=0 if closed else wait.overdue_by_days,
            last_reply_on=iso_day(wait.last_reply_on),
            resolution=request.resolution,
            delivery_failed=request.delivery_failed,
            suspicious_replies=self.suspicious,
            explanation=wait.explanation,
            pending_draft=pending,
            acknowledged_on=None if closed else iso_day(self.acknowledged_on),
            information_requested_on=None if closed else iso_day(self.information_requested_on),
            extension_notice_on=None if closed else iso_day(self.extension_notice_on),
        )


def derive(ws: Workspace, request: RequestFacts, messages: Sequence[M],
           as_of: date) -> Facts[M]:
    """The facts of *request* as of *as_of*, from its messages in the order of their ids."""
    facts: Facts[M] = Facts(ws, request, as_of)
    sent, letters, drafts, answers, responses = (facts.sent, facts.letters, facts.drafts,
                                                 facts.answers, facts.responses)
    letter, reply = clock.Letter, clock.Reply
    for m in messages:
        direction = m.direction
        if direction == "out":
            status = m.status
            if status == "sent":
                facts.has_letter = True
                if facts.subject is None:
                    facts.subject = m.subject
                if m.occurred_at is not None:
                    sent.append(m)
                    letters.append(letter(m.occurred_at))
            elif status in ("draft", "sending"):
                drafts.append(m)
            elif status == "discarded" and m.kind == "follow-up":
                facts.discarded.append(m)
        elif direction == "in":
            if m.authenticity == "suspicious" and m.triage == "pending":
                facts.suspicious += 1
            if m.occurred_at is not None and counts_for_clock(m):
                kind = m.kind
                if kind == "reply":
                    if m.status == "received":
                        answers.append(reply(m.occurred_at, True))
                elif kind in RESPONSE_KINDS:
                    responses.append((kind, m.occurred_at))
    return facts
