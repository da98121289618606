"""The report's rows: a request with its clock and next step, a message, a draft."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from tracker.core.deadlines import DeadlineRule
from tracker.services.facts import StatusRow


def shallow(obj: Any) -> dict[str, Any]:
    """A slotted dataclass of plain values as a dict (``asdict`` deep-copies every value)."""
    return {name: getattr(obj, name) for name in obj.__slots__}


@dataclass(frozen=True, slots=True)
class RequestLine:
    """One request in the report: its `tracker status` row and what the report adds."""

    row: StatusRow
    rule: DeadlineRule
    legal_basis: str  # the rule in words with its citation, e.g. "1 month, GDPR Art. 12(3)"
    citation: str  # "" when the organisation set the deadline itself
    deadline_days: int | None  # days from the start of the current wait to its due date
    due_in_days: int | None  # due date minus the report day (negative once overdue)
    follow_ups_sent: int
    last_letter_on: str | None
    next_action: str  # tracker.services.reminders.Plan.text: the suggested next step, in English
    next_action_code: str  # Plan.action: none, wait, follow-up, final-notice, complaint, ...
    next_letter: str | None  # the template a reminder would draft, if one is due
    authority: str  # the platform's lead supervisory authority, if known

    @property
    def ref(self) -> str:
        return self.row.ref

    def to_dict(self) -> dict[str, Any]:
        """The `tracker status --json` keys, then the report's own."""
        data = self.row.to_dict()
        data.update(legal_basis=self.legal_basis, citation=self.citation,
                    deadline_days=self.deadline_days, due_in_days=self.due_in_days,
                    follow_ups_sent=self.follow_ups_sent, last_letter_on=self.last_letter_on,
                    next_action=self.next_action, next_action_code=self.next_action_code,
                    next_letter=self.next_letter)
        return data


LINE_FIELDS = (*(f.name for f in fields(StatusRow)), "legal_basis", "citation",
               "deadline_days", "due_in_days", "follow_ups_sent", "last_letter_on",
               "next_action", "next_action_code", "next_letter")


@dataclass(frozen=True, slots=True)
class InboundMail:
    """A message that arrived during the week, with the request it belongs to (if any)."""

    id: int
    received_at: str  # local time, ISO 8601 to the minute
    category: str  # reply | acknowledgement | bounce | delay | suspicious | other
    kind: str
    ref: str | None
    platform: str | None
    sender: str
    subject: str
    authenticity: str
    triage: str

    def to_dict(self) -> dict[str, Any]:
        return shallow(self)


@dataclass(frozen=True, slots=True)
class DraftLetter:
    """A letter written but not sent (or interrupted while sending)."""

    ref: str
    platform: str
    letter: str  # its template
    kind: str  # initial | follow-up
    status: str  # draft | sending

    def to_dict(self) -> dict[str, Any]:
        return shallow(self)
