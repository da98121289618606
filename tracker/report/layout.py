"""What the report says, section by section, as plain tables: every format lays these out.

The terminal, Markdown, plain text and HTML renderers all walk the same `Section` list, so they
cannot drift apart: a column added here appears everywhere, in both languages. Cells hold plain
text (escaping is each renderer's job) and a tone that renderers map to colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tracker.core.inert import inert_line
from tracker.report.i18n import Labels
from tracker.report.model import WeeklyReport
from tracker.report.rows import InboundMail, RequestLine
from tracker.report.stats import PlatformStats

# Tones, mildest first; renderers colour them (terminal: red for overdue, as `tracker status`).
GOOD, SOON, BAD, WORSE = "good", "soon", "bad", "worse"


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False
    wide: bool = False  # free text that may wrap (subjects, next steps)
    short: str = ""  # a narrower label for the terminal

    @property
    def narrow(self) -> str:
        return self.short or self.label


@dataclass(frozen=True)
class Block:
    """One table, with an optional sub-title; ``rows`` are lists of cell texts."""

    columns: list[Column]
    rows: list[list[str]]
    tones: list[str]  # one per row: "" or a tone
    title: str = ""
    empty: str = ""  # what to say instead of an empty table
    listing: bool = True  # a list of requests or mail (a terminal may show only the first)


@dataclass(frozen=True)
class Section:
    key: str  # summary, overdue, due_soon, inbound, needs_attention, platforms
    title: str
    blocks: list[Block] = field(default_factory=list)


def clean(text: str | None) -> str:
    """One line of inert text (tracker.inert): hidden controls and line breaks show as U+FFFD."""
    return inert_line(text).strip() if text else ""


def bare_subject(line: RequestLine) -> str:
    """The subject without its own ``[REF]`` tag (the reference has its own column)."""
    return clean(line.row.subject.replace(f"[{line.ref}]", ""))


def next_step(t: Labels, line: RequestLine) -> str:
    """The suggested next step (tracker.reminders) in the report's language."""
    code = line.next_action_code
    if t.language == "en":
        return clean(line.next_action)
    if code in ("follow-up", "final-notice", "fix-address"):
        return t(f"next_{code}")
    if code == "complaint":
        return t("next_complaint", where=clean(line.authority) or t("next_lead_authority"))
    if code == "wait":
        if line.row.overdue and line.last_letter_on:
            return t("next_wait_sent", day=t.day(date.fromisoformat(line.last_letter_on)))
        return t("next_wait_due", n=line.due_in_days) if line.due_in_days is not None \
            else t.state("awaiting")
    if code == "none" and line.next_action:
        return t("next_draft")
    return clean(line.next_action)


def flags(t: Labels, line: RequestLine) -> list[str]:
    """Warnings a reader must not miss: very overdue, undelivered, suspicious replies."""
    found = []
    if line.row.very_overdue:
        found.append(t("flag_very_overdue"))
    elif line.row.overdue:
        found.append(t("flag_overdue"))
    if line.row.delivery_failed:
        found.append(t("flag_undelivered"))
    if line.row.suspicious_replies:
        found.append(t("flag_suspicious", n=line.row.suspicious_replies))
    return found


def tone(line: RequestLine) -> str:
    if line.row.very_overdue or line.row.delivery_failed:
        return WORSE
    if line.row.overdue:
        return BAD
    return ""


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _subject_with_flags(t: Labels, line: RequestLine) -> str:
    marks = flags(t, line)
    subject = bare_subject(line)
    return f"{subject} [{', '.join(marks)}]" if marks else subject


def _overdue_block(t: Labels, lines: list[RequestLine]) -> Block:
    columns = [Column(t("ref")), Column(t("platform")), Column(t("subject"), wide=True),
               Column(t("sent")), Column(t("due")),
               Column(t("days"), numeric=True, short=t("days_short")),
               Column(t("business_days"), numeric=True, short=t("business_days_short")),
               Column(t("overdue_by"), numeric=True),
               Column(t("legal_basis"), wide=True, short=t("legal_basis_short")),
               Column(t("follow_ups"), numeric=True, short=t("follow_ups_short")),
               Column(t("next_action"), wide=True)]
    rows = [[line.ref, line.row.platform, _subject_with_flags(t, line), line.row.sent_on or "-",
             line.row.due_on or "-", _num(line.row.days_without_response),
             _num(line.row.business_days_without_response), t.days(line.row.overdue_by_days),
             t.rule(line.rule), str(line.follow_ups_sent), next_step(t, line)]
            for line in lines]
    return Block(columns, rows, [tone(line) for line in lines], empty=t("none"))


def _due_soon_block(t: Labels, lines: list[RequestLine]) -> Block:
    columns = [Column(t("ref")), Column(t("platform")), Column(t("subject"), wide=True),
               Column(t("sent")), Column(t("due")), Column(t("due_in"), numeric=True),
               Column(t("days"), numeric=True, short=t("days_short")),
               Column(t("legal_basis"), wide=True, short=t("legal_basis_short")),
               Column(t("follow_ups"), numeric=True, short=t("follow_ups_short")),
               Column(t("next_action"), wide=True)]
    rows = [[line.ref, line.row.platform, _subject_with_flags(t, line), line.row.sent_on or "-",
             line.row.due_on or "-", t.days(line.due_in_days),
             _num(line.row.days_without_response), t.rule(line.rule),
             str(line.follow_ups_sent), next_step(t, line)]
            for line in lines]
    return Block(columns, rows, [SOON if not tone(line) else tone(line) for line in lines],
                 empty=t("none"))


def _inbound_block(t: Labels, mails: list[InboundMail]) -> Block:
    columns = [Column(t("received")), Column(t("kind")), Column(t("request")),
               Column(t("platform")), Column(t("from")), Column(t("subject"), wide=True)]
    rows = [[m.received_at.replace("T", " ")[:16], t.category(m.category),
             m.ref or t("not_matched"), m.platform or "-", clean(m.sender),
             clean(m.subject)] for m in mails]
    tones = [WORSE if m.category == "suspicious" else BAD if m.category == "bounce"
             else GOOD if m.category == "reply" else "" for m in mails]
    return Block(columns, rows, tones, empty=t("none"))


def _attention_blocks(t: Labels, report: WeeklyReport) -> list[Block]:
    attention = report.needs_attention
    triage = Block(
        [Column(t("received")), Column(t("from")), Column(t("subject"), wide=True),
         Column(t("kind")), Column(t("request")), Column(t("why"), wide=True)],
        [[(i.received_at or "-")[:16].replace("T", " "), clean(i.sender), clean(i.subject),
          t.category("suspicious") if i.authenticity == "suspicious" else clean(i.kind),
          (f"{i.ref} ({i.match_rule})" if i.match_rule else i.ref) if i.ref
          else t("not_matched"),
          clean("; ".join(i.why))] for i in attention.triage],
        [WORSE if i.authenticity == "suspicious" else "" for i in attention.triage],
        title=t("triage"), empty=t("none"))
    undelivered = Block(
        [Column(t("ref")), Column(t("platform")), Column(t("recipient")),
         Column(t("sent")), Column(t("days"), numeric=True), Column(t("next_action"), wide=True)],
        [[line.ref, line.row.platform, clean(line.row.recipient), line.row.sent_on or "-",
          _num(line.row.days_without_response), next_step(t, line)]
         for line in attention.undelivered],
        [WORSE] * len(attention.undelivered), title=t("undelivered_letters"), empty=t("none"))
    drafts = Block(
        [Column(t("ref")), Column(t("platform")), Column(t("letter")), Column(t("state"))],
        [[d.ref, d.platform, clean(d.letter), t(f"draft_status_{d.status}")]
         for d in attention.drafts],
        [BAD if d.status == "sending" else "" for d in attention.drafts],
        title=t("drafts"), empty=t("none"))
    reminders = Block(
        [Column(t("ref")), Column(t("platform")), Column(t("letter")),
         Column(t("days"), numeric=True), Column(t("follow_ups"), numeric=True),
         Column(t("next_action"), wide=True)],
        [[line.ref, line.row.platform, line.next_letter or "-",
          _num(line.row.days_without_response), str(line.follow_ups_sent), next_step(t, line)]
         for line in attention.reminders],
        [tone(line) for line in attention.reminders], title=t("reminders"), empty=t("none"))
    return [triage, undelivered, drafts, reminders]


def share(stats: PlatformStats) -> str:
    if stats.answered_share is None:
        return "-"
    return f"{stats.answered_share * 100:.0f}% ({stats.answered}/{stats.requests})"


def median(t: Labels, value: float | None) -> str:
    if value is None:
        return "-"
    return t("n_days", n=f"{value:g}")


def platform_block(t: Labels, stats: list[PlatformStats], title: str = "") -> Block:
    columns = [Column(t("platform")), Column(t("requests"), numeric=True),
               Column(t("open_short"), numeric=True), Column(t("answered_share"), numeric=True),
               Column(t("median_days"), numeric=True), Column(t("overdue"), numeric=True),
               Column(t("longest_silence"))]
    rows = [[clean(s.name), str(s.requests), str(s.open), share(s),
             median(t, s.median_days_to_first_reply), str(s.overdue),
             t("n_days_of", n=s.longest_silence_days, ref=s.longest_silence_ref)
             if s.longest_silence_days is not None else "-"] for s in stats]
    return Block(columns, rows, [BAD if s.overdue else "" for s in stats], title=title,
                 empty=t("none"), listing=False)


def summary_block(t: Labels, report: WeeklyReport) -> Block:
    s = report.summary
    items = [("open", s.open, ""), ("overdue", s.overdue, BAD if s.overdue else ""),
             ("very_overdue", s.very_overdue, WORSE if s.very_overdue else ""),
             ("answered_this_week", s.answered_this_week, GOOD if s.answered_this_week else ""),
             ("undelivered", s.undelivered, WORSE if s.undelivered else ""),
             ("waiting_for_triage", s.waiting_for_triage, BAD if s.waiting_for_triage else ""),
             ("suspicious_replies", s.suspicious_replies, WORSE if s.suspicious_replies else ""),
             ("due_soon", s.due_soon, SOON if s.due_soon else ""),
             ("reminders_due", s.reminders_due, ""), ("drafts_count", s.drafts, "")]
    return Block([Column(""), Column("", numeric=True)],
                 [[t(key), str(value)] for key, value, _ in items],
                 [mark for _, _, mark in items], listing=False)


def sections(report: WeeklyReport) -> list[Section]:
    """The report's six sections, in order, in its language."""
    t = Labels(report.language)
    return [
        Section("summary", t("summary"), [summary_block(t, report)]),
        Section("overdue", t("overdue"), [_overdue_block(t, report.overdue)]),
        Section("due_soon", t("due_soon"), [_due_soon_block(t, report.due_soon)]),
        Section("inbound", t("inbound"), [_inbound_block(t, report.inbound)]),
        Section("needs_attention", t("needs_attention"), _attention_blocks(t, report)),
        Section("platforms", t("platforms"), [platform_block(t, report.platforms)]),
    ]


def heading(report: WeeklyReport) -> tuple[str, str]:
    """The report's title line and its week line."""
    t = Labels(report.language)
    return (t("heading", org=clean(report.organisation)),
            t("week", start=t.day(report.week_start), end=t.day(report.as_of)))
