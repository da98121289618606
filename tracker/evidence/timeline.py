"""timeline.html: the bundle's story for people, on one self-contained page.

This module says what the page says, in words and numbers, from the bundle's stories; the page
template ``evidence_timeline.html`` (tracker.pages) lays it out. Styles are inline, there are no
scripts and nothing is fetched (a Content-Security-Policy says so too); every value that came
from mail or from a person is escaped by the template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tracker.core import clock
from tracker.core.postal import parse_tracking
from tracker.evidence.entries import BundleContext, MessageEntry, RequestEvidence, Story
from tracker.evidence.format import MANIFEST, MANIFEST_SUM
from tracker.mail.admission import RULES
from tracker.mail.header_info import sender_source_of
from tracker.pages import render_page
from tracker.services.facts import counts_for_clock
from tracker.store.models import Event, Message

TEXT_CHARS = 20_000  # message text shown in the timeline; the full message is in its file

_KINDS = {"initial": "letter", "follow-up": "follow-up letter", "auto_reply": "acknowledgement",
          "bounce": "delivery failure notice", "delivery_delay": "delivery delay notice"}
_CHANNELS = {"email": "by email", "webform": "by web form", "post": "by post", "fax": "by fax",
             "manual": "recorded by hand"}


@dataclass(frozen=True)
class Counted:
    """Whether an inbound message counts for its request, and by which rule or why not."""

    counts: bool
    why: str


@dataclass(frozen=True)
class AttachmentLine:
    """A file attached to a message, as the page links it."""

    href: str
    label: str
    content_type: str
    size: int


@dataclass(frozen=True)
class DocumentLine:
    """A file kept with a letter (its PDF as posted, a receipt), as the page links it."""

    href: str
    what: str  # "the letter as posted" | "receipt"
    label: str
    media_type: str
    size: int
    sha256: str
    note: str


@dataclass(frozen=True)
class MessageView:
    """One letter or reply, in words: the page shows one list item for it."""

    anchor: str
    classes: str
    number: int
    when: str
    verb: str
    kind: str
    channel: str
    who: str
    subject: str
    suspicious: str | None  # why it may not come from the platform; None when it looks genuine
    delivery: str  # "DELIVERY FAILED", "DELIVERY DELAYED" or ""
    bounced: str  # the addresses a delivery notice names
    counted: Counted | None  # inbound messages only
    authenticity: str
    match_rule: str
    sha256: str
    href: str | None  # the message's file in the bundle
    no_file_reason: str
    note: str
    attachments: tuple[AttachmentLine, ...]
    problems: tuple[str, ...]
    text: str  # shortened to TEXT_CHARS
    tracking: str = ""  # a posted letter's tracking number, with its carrier
    documents: tuple[DocumentLine, ...] = ()


@dataclass(frozen=True)
class Answered:
    """The message that stopped the clock, and when."""

    day: str
    anchor: str | None  # None when the answer is not among the bundle's messages
    number: int
    sender: str
    days: int | None
    counted: Counted | None


@dataclass(frozen=True)
class EventLine:
    when: str
    kind: str
    change: str
    actor: str


@dataclass(frozen=True)
class RequestView:
    """One request's section of the page: its facts, its clock, its messages and events."""

    ref: str
    item: RequestEvidence
    facts: tuple[tuple[str, str], ...]
    due: str | None
    as_of: str
    answered: Answered | None
    messages: tuple[MessageView, ...]
    events: tuple[EventLine, ...]


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return "(no date)"
    local = moment.astimezone(tz)
    return f"{clock.format_day(local.date())} {local:%H:%M}"


def _counted(m: Message) -> Counted:
    if m.admission and counts_for_clock(m):
        return Counted(True, RULES.get(m.admission, m.admission))
    why = "dismissed by staff" if m.triage == "dismissed" else m.hold or "no rule let it count"
    if m.triage == "pending":
        why += " (waiting for a person to check it)"
    return Counted(False, why)


def _anchor(ref: str, number: int) -> str:
    return f"{ref}-m{number}"


def _message(ref: str, entry: MessageEntry, tz: ZoneInfo) -> MessageView:
    m = entry.message
    suspicious = m.authenticity == "suspicious"
    classes = f"msg {'out' if m.direction == 'out' else 'in'}{' suspicious' if suspicious else ''}"
    verb = "sent" if m.direction == "out" else "received"
    if m.direction == "out" and m.status != "sent":
        verb = f"{m.status} (delivery not confirmed)"
    source = sender_source_of(m.defects)
    who = (f" from {m.from_addr}" if m.from_addr else "") + (
        f" (sender taken from {source}: no usable From: header)" if source else "") + (
        f" to {m.to_addrs}" if m.to_addrs else "")
    delivery = {"bounce": "DELIVERY FAILED", "delivery_delay": "DELIVERY DELAYED"}.get(m.kind, "")
    text = entry.text if len(entry.text) <= TEXT_CHARS else \
        entry.text[:TEXT_CHARS] + "\n[… shortened here; the whole message is in its file]"
    return MessageView(
        anchor=_anchor(ref, entry.number), classes=classes, number=entry.number,
        when=_when(m.occurred_at, tz), verb=verb, kind=_KINDS.get(m.kind, m.kind),
        channel=_CHANNELS.get(m.channel, f"by {m.channel}"), who=who, subject=m.subject,
        suspicious=("; ".join(m.reasons) or "see the manifest") if suspicious else None,
        delivery=delivery, bounced=", ".join(m.bounced) or "see the message",
        counted=_counted(m) if m.direction == "in" else None,
        authenticity=m.authenticity, match_rule=m.match_rule, sha256=m.sha256,
        href=quote(entry.path) if entry.path else None, no_file_reason=entry.no_file_reason,
        note=m.note,
        attachments=tuple(AttachmentLine(quote(path), attachment.filename or path,
                                         attachment.content_type, len(attachment.data))
                          for attachment, path in entry.attachments),
        problems=entry.problems, text=text if entry.text.strip() else "",
        tracking=parse_tracking(m.tracking).describe() if m.tracking else "",
        documents=tuple(DocumentLine(quote(path), "the letter as posted" if d.role == "letter"
                                     else "receipt", d.label, d.media_type, d.size, d.sha256,
                                     d.note)
                        for d, path in entry.documents))


def _answered(story: Story, tz: ZoneInfo) -> Answered | None:
    wait, answer = story.item.wait, story.answer
    if wait.answered_at is None:
        return None
    day = clock.format_day(clock.local_date(wait.answered_at, tz))
    if answer is None:
        return Answered(day, None, 0, "", wait.response_days, None)
    return Answered(day, _anchor(story.item.request.ref, answer.number), answer.number,
                    answer.message.from_addr, wait.response_days, _counted(answer.message))


def _facts(item: RequestEvidence) -> tuple[tuple[str, str], ...]:
    req, case = item.request, item.case
    facts = [("case", case.title if case else ""), ("account", case.account if case else ""),
             ("template", f"{req.template} ({req.language})"),
             ("recipient", f"{req.recipient} by {req.channel}"),
             ("state", req.state + (f": {req.resolution}" if req.resolution else "")),
             ("platform tickets", ", ".join(req.tickets))]
    return tuple((k, v) for k, v in facts if v)


def _events(events: Sequence[Event], tz: ZoneInfo) -> tuple[EventLine, ...]:
    return tuple(EventLine(_when(e.at, tz), e.kind,
                           f"{e.from_state} → {e.to_state}" if e.from_state != e.to_state else "",
                           e.actor) for e in events)


def _request(story: Story, context: BundleContext) -> RequestView:
    item, ref = story.item, story.item.request.ref
    due_on = item.wait.due_on
    return RequestView(
        ref=ref, item=item, facts=_facts(item),
        due=clock.format_day(due_on) if due_on else None,
        as_of=clock.format_day(context.as_of), answered=_answered(story, context.tz),
        messages=tuple(_message(ref, e, context.tz) for e in story.entries),
        events=_events(item.events, context.tz))


def render_timeline(stories: Sequence[Story], context: BundleContext) -> str:
    """The bundle's story for people: one self-contained page, no scripts, nothing fetched."""
    return render_page("evidence_timeline.html", {
        "lang": "en",
        "refs": ", ".join(story.item.request.ref for story in stories),
        "organisation": context.organisation,
        "as_of": clock.format_day(context.as_of),
        "time_zone": context.tz.key,
        "generated_by": context.generated_by,
        "manifest": MANIFEST,
        "manifest_sum": MANIFEST_SUM,
        "requests": [_request(story, context) for story in stories],
    })
