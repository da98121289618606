"""Reading requests from the database and turning them into the bundle's files.

``collect_requests`` is the only database access; ``build_bundle`` is pure: the same requests,
context and day give the same bytes. Stored hashes are checked here: a message whose bytes no
longer match the SHA-256 recorded when it was sent or received stops the export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from tracker import __version__
from tracker.core import clock
from tracker.core.errors import InputError, NotFoundError, suggest
from tracker.core.iso import iso_day, iso_utc
from tracker.core.postal import parse_tracking
from tracker.core.tags import parse_ref
from tracker.evidence.archive import check_output, write_zip, zip_bytes
from tracker.evidence.entries import BundleContext, MessageEntry, RequestEvidence, Story
from tracker.evidence.format import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_SUM,
    TIMELINE,
    EvidenceError,
    dump_json,
    sha256_hex,
)
from tracker.evidence.timeline import render_timeline
from tracker.mail.admission import RULES
from tracker.mail.attachments import (
    extract_attachments,
    file_extension,
    headers_of_interest,
    sanitise_filename,
    unique_names,
)
from tracker.mail.header_info import sender_source_of
from tracker.mail.parsing import parse_message
from tracker.services.facts import derive, is_answer
from tracker.services.receipts import MEDIA_TYPES
from tracker.services.records import get_request, request_messages
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import Case, Document, Event, Message, Platform, Request

_SLUG = re.compile(r"[^a-z0-9_-]+")


def collect_requests(ws: Workspace, session: Session, refs: Sequence[str],
                     as_of: date) -> list[RequestEvidence]:
    """Read the requests *refs* (sorted, each once); NotFoundError names close references."""
    wanted = sorted(dict.fromkeys(parse_ref(ref) for ref in refs))
    _check_refs(session, wanted)
    return [_collect_request(ws, session, get_request(session, ref), as_of) for ref in wanted]


def _check_refs(session: Session, wanted: Sequence[str]) -> None:
    """Name every unknown reference at once, each with the closest known ones."""
    known = set(session.exec(select(Request.ref)).all())
    unknown = [ref for ref in wanted if ref not in known]
    if unknown:
        listed = ", ".join(f"{ref}{suggest(ref, known)}" for ref in unknown)
        raise NotFoundError(f"no request {listed}; see `tracker request list`")


def _collect_request(ws: Workspace, session: Session, request: Request,
                     as_of: date) -> RequestEvidence:
    messages = request_messages(session, request)
    # Letters that never went out (drafts, discarded drafts) are no correspondence; the
    # events still say they were drafted and discarded.
    letters_and_replies = [m for m in messages
                           if not (m.direction == "out" and m.status in ("draft", "discarded"))]
    letters_and_replies.sort(key=lambda m: (m.occurred_at or m.created_at, m.id or 0))
    events = session.exec(select(Event).where(Event.request_id == request.id)
                          .order_by(col(Event.at), col(Event.id))).all()
    platform = session.get(Platform, request.platform_slug)
    facts = derive(ws, request, messages, as_of)
    documents = session.exec(select(Document).where(Document.request_id == request.id)
                             .order_by(col(Document.id))).all()
    return RequestEvidence(
        request=request, case=session.get(Case, request.case_id),
        platform_name=platform.name if platform else request.platform_slug,
        messages=tuple(letters_and_replies), events=tuple(events),
        rule=facts.rule, wait=facts.wait, row=facts.row, documents=tuple(documents),
    )


def check_stored_hash(ref: str, message: Message) -> bytes | None:
    """The message's bytes, if their SHA-256 is the one stored with them; else EvidenceError."""
    raw = bytes(message.raw) if message.raw is not None else None
    if raw is None:
        if message.sha256:
            raise EvidenceError(
                f"{ref}: message {message.id} has a stored SHA-256 but its bytes are gone; "
                "the database was altered, refusing to build the bundle")
        return None
    actual = sha256_hex(raw)
    if actual != message.sha256:
        raise EvidenceError(
            f"{ref}: message {message.id} ({message.direction} {message.kind}) has bytes with "
            f"SHA-256 {actual[:16]}, but {message.sha256[:16] or 'none'} was stored with them; "
            "the database was altered, refusing to build the bundle")
    return raw


def check_document(ref: str, document: Document) -> bytes:
    """A kept document's bytes, if their SHA-256 is the one stored with them; else
    EvidenceError."""
    data = bytes(document.data)
    if sha256_hex(data) != document.sha256 or len(data) != document.size:
        raise EvidenceError(
            f"{ref}: kept file {document.id} ({document.role} {document.label}) no longer has "
            f"the SHA-256 or size stored with it; the database was altered, refusing to build "
            "the bundle")
    return data


def document_paths(ref: str, number: int,
                   documents: Sequence[Document]) -> tuple[tuple[Document, str], ...]:
    """Where the documents of message *number* go in the bundle: named by tracker (number,
    role and the type the bytes have), never by the file name a person gave."""
    return tuple((d, f"{ref}/documents/{number:03d}-{i}-{d.role}"
                     f"{MEDIA_TYPES.get(d.media_type, '.bin')}")
                 for i, d in enumerate(documents, start=1))


def prepare_entry(ref: str, number: int, message: Message,
                  documents: Sequence[Document] = ()) -> MessageEntry:
    """Check a message's stored hash and work out its file, text, headers and attachments;
    *documents*: the files kept with it (checked too)."""
    for document in documents:
        check_document(ref, document)
    kept = document_paths(ref, number, documents)
    entry = _prepare_entry(ref, number, message)
    return replace(entry, documents=kept) if kept else entry


def _prepare_entry(ref: str, number: int, message: Message) -> MessageEntry:
    raw = check_stored_hash(ref, message)
    if raw is None:
        return MessageEntry(number=number, message=message, raw=None, path=None)
    kind = _SLUG.sub("-", message.kind.lower()).strip("-") or "message"
    # Mail is mail even when its header is odd; a file recorded by hand may be a scan.
    extension = file_extension(raw) if message.channel == "manual" else ".eml"
    path = f"{ref}/messages/{number:03d}-{message.direction}-{kind}{extension}"
    if not path.endswith(".eml"):
        return MessageEntry(number=number, message=message, raw=raw, path=path)
    parsed = parse_message(raw)
    problems: list[str] = []
    try:
        found = extract_attachments(parsed.message)
    except Exception as exc:  # the bytes are in the bundle whatever happens here
        found = []
        problems.append(f"attachments could not be extracted ({type(exc).__name__}); "
                        "they are inside the message file")
    names = unique_names([sanitise_filename(a.filename, a.content_type) for a in found])
    attachments = tuple((a, f"{ref}/attachments/{number:03d}-{name}")
                        for a, name in zip(found, names, strict=True))
    return MessageEntry(number=number, message=message, raw=raw, path=path, text=parsed.text,
                        headers=headers_of_interest(parsed.message), attachments=attachments,
                        problems=tuple(problems))


def _message_record(ref: str, entry: MessageEntry) -> dict[str, Any]:
    m = entry.message
    record: dict[str, Any] = {
        "number": entry.number, "request": ref, "file": entry.path, "direction": m.direction,
        "kind": m.kind, "status": m.status, "channel": m.channel, "date": iso_utc(m.occurred_at),
        "from": m.from_addr, "sender_source": sender_source_of(m.defects),
        "to": m.to_addrs, "subject": m.subject,
        "message_id": m.message_id, "in_reply_to": m.in_reply_to, "references": m.references,
        "headers": entry.headers, "sha256": m.sha256 or None, "authenticity": m.authenticity,
        "reasons": list(m.reasons), "match_rule": m.match_rule, "triage": m.triage,
        # Which rule let it count for its request ("" if none did), and why it waits if not.
        "admission": m.admission, "admission_means": RULES.get(m.admission, ""),
        "hold": m.hold,
        "note": m.note, "ticket": m.ticket, "bounced": list(m.bounced),
        "defects": list(m.defects), "problems": list(entry.problems),
        "attachments": [{"path": path, "filename": a.filename, "content_type": a.content_type,
                         "size": len(a.data), "sha256": sha256_hex(a.data)}
                        for a, path in entry.attachments],
        "tracking": m.tracking, "carrier": parse_tracking(m.tracking).carrier
        if m.tracking else "",
        "documents": [{"path": path, "role": d.role, "media_type": d.media_type,
                       "label": d.label, "note": d.note, "size": d.size, "sha256": d.sha256,
                       "added_at": iso_utc(d.added_at), "added_by": d.added_by}
                      for d, path in entry.documents],
    }
    if entry.path is None:
        record["no_file_reason"] = entry.no_file_reason
    return record


def answering_entry(wait: clock.Wait, entries: Sequence[MessageEntry]) -> MessageEntry | None:
    """The message whose arrival closed the current wait: the clock's answer, not the last."""
    if wait.answered_at is None:
        return None
    return next((e for e in entries if e.message.occurred_at == wait.answered_at
                 and is_answer(e.message)), None)


def _request_record(story: Story) -> dict[str, Any]:
    item = story.item
    req, case, rule, wait = item.request, item.case, item.rule, item.wait
    return {
        "ref": req.ref, "platform": req.platform_slug, "platform_name": item.platform_name,
        "case": None if case is None else {
            "id": case.id, "title": case.title, "account": case.account,
            "incident_on": iso_day(case.incident_on)},
        "template": req.template, "language": req.language, "recipient": req.recipient,
        "channel": req.channel, "state": req.state, "resolution": req.resolution,
        "delivery_failed": req.delivery_failed, "tickets": list(req.tickets),
        "status": item.row.to_dict(), "events": f"{req.ref}/events.json",
        "deadline": {
            "rule": rule.text, "description": rule.describe(), "citation": rule.citation,
            "note": rule.note, "extensions": list(req.extensions), "due_on": iso_day(wait.due_on),
            "very_overdue_on": iso_day(wait.very_overdue_on), "response_days": wait.response_days,
            "explanation": wait.explanation, "answered_at": iso_utc(wait.answered_at),
            "answered_by": story.answer.number if story.answer else None},
    }


def _events_record(events: Sequence[Event], numbers: Mapping[int, int]) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": iso_utc(e.at), "actor": e.actor, "kind": e.kind,
             "from_state": e.from_state, "to_state": e.to_state, "data": e.data,
             "message_db_id": e.message_id,
             "message": numbers.get(e.message_id) if e.message_id is not None else None}
            for e in events]


@dataclass(frozen=True)
class Bundle:
    """Every file of a bundle by its path in the zip, and what it holds."""

    files: dict[str, bytes]
    requests: tuple[str, ...]
    messages: int
    message_files: int
    attachments: int
    documents: int = 0  # posted letters' PDFs and receipts


def build_bundle(items: Sequence[RequestEvidence], context: BundleContext) -> Bundle:
    """The bundle's files for *items*; EvidenceError if any stored hash is wrong."""
    files: dict[str, bytes] = {}
    messages: list[dict[str, Any]] = []
    stories: list[Story] = []
    for item in items:
        ref = item.request.ref
        kept: dict[int | None, list[Document]] = {}
        for document in item.documents:
            kept.setdefault(document.message_id, []).append(document)
        entries = [prepare_entry(ref, n, m, kept.get(m.id, ()))
                   for n, m in enumerate(item.messages, start=1)]
        stray = set(kept) - {m.id for m in item.messages}
        if stray:  # every file is kept with a letter that went out: never left out silently
            raise EvidenceError(f"{ref}: kept files belong to no letter sent (messages "
                                f"{sorted(i or 0 for i in stray)}); the database was altered")
        for entry in entries:
            if entry.path is not None and entry.raw is not None:
                files[entry.path] = entry.raw
            files.update((path, a.data) for a, path in entry.attachments)
            files.update((path, bytes(d.data)) for d, path in entry.documents)
            messages.append(_message_record(ref, entry))
        numbers = {e.message.id: e.number for e in entries if e.message.id is not None}
        files[f"{ref}/events.json"] = dump_json(_events_record(item.events, numbers))
        stories.append(Story(item, tuple(entries), answering_entry(item.wait, entries)))
    files[TIMELINE] = render_timeline(stories, context).encode()
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "generated_by": context.generated_by, "organisation": context.organisation,
        "as_of": context.as_of.isoformat(), "timezone": context.tz.key,
        "requests": [_request_record(story) for story in stories], "messages": messages,
        "files": [{"path": path, "size": len(data), "sha256": sha256_hex(data)}
                  for path, data in sorted(files.items())],
    }
    files[MANIFEST] = dump_json(manifest)
    files[MANIFEST_SUM] = f"{sha256_hex(files[MANIFEST])}  {MANIFEST}\n".encode()
    return Bundle(files=files, requests=tuple(item.request.ref for item in items),
                  messages=len(messages), message_files=sum(1 for m in messages if m["file"]),
                  attachments=sum(len(m["attachments"]) for m in messages),
                  documents=sum(len(m["documents"]) for m in messages))


@dataclass(frozen=True)
class ExportResult:
    """What `tracker evidence` wrote."""

    path: Path
    sha256: str
    size: int
    bundle: Bundle

    def as_dict(self) -> dict[str, Any]:
        return {"output": str(self.path), "sha256": self.sha256, "size": self.size,
                "requests": list(self.bundle.requests), "messages": self.bundle.messages,
                "message_files": self.bundle.message_files,
                "attachments": self.bundle.attachments, "documents": self.bundle.documents,
                "files": len(self.bundle.files),
                "manifest_sha256": self.manifest_sha256}

    @property
    def manifest_sha256(self) -> str:
        """The hash to keep: ``tracker evidence verify`` prints it for comparison."""
        return sha256_hex(self.bundle.files[MANIFEST])


def _bundle_of(ws: Workspace, refs: Sequence[str], as_of: date) -> Bundle:
    with transaction(ws.engine) as session:
        items = collect_requests(ws, session, refs, as_of)
    context = BundleContext(generated_by=f"tracker {__version__}",
                            organisation=ws.settings.organisation.name, as_of=as_of,
                            tz=ws.settings.tz)
    return build_bundle(items, context)


def export_bundle(ws: Workspace, refs: Sequence[str], path: Path, as_of: date, *,
                  force: bool = False) -> ExportResult:
    """Build the bundle of *refs* as of *as_of* and write it to *path*."""
    check_output(path, force)  # before any work: the common mistake fails fast
    bundle = _bundle_of(ws, refs, as_of)
    digest = write_zip(bundle.files, path, force=force)
    return ExportResult(path=path, sha256=digest, size=path.stat().st_size, bundle=bundle)


@dataclass(frozen=True)
class BundleBytes:
    """A bundle as the bytes of its zip (a download), the same bytes `export_bundle` writes."""

    data: bytes
    sha256: str
    bundle: Bundle
    filename: str  # what to save it as: evidence-<refs>-<as of>.zip

    @property
    def manifest_sha256(self) -> str:
        return sha256_hex(self.bundle.files[MANIFEST])


def build_bundle_bytes(ws: Workspace, refs: Sequence[str], as_of: date) -> BundleBytes:
    """The evidence bundle of requests *refs* as of *as_of*, as zip bytes: every face that
    offers a bundle for download calls this (the web's evidence and request pages)."""
    if not refs:
        raise InputError("choose at least one request for the bundle")
    bundle = _bundle_of(ws, refs, as_of)
    data = zip_bytes(bundle.files)
    names = bundle.requests[0] if len(bundle.requests) == 1 else \
        f"{bundle.requests[0]}-and-{len(bundle.requests) - 1}-more"
    return BundleBytes(data=data, sha256=sha256_hex(data), bundle=bundle,
                       filename=f"evidence-{names}-{as_of.isoformat()}.zip")


def case_refs(ws: Workspace, case_id: int) -> list[str]:
    """The references of case *case_id*'s requests (NotFoundError if there is no such case)."""
    with transaction(ws.engine) as session:
        if session.get(Case, case_id) is None:
            raise NotFoundError(f"no case {case_id}")
        return list(session.exec(select(Request.ref).where(Request.case_id == case_id)
                                 .order_by(col(Request.ref))).all())


@dataclass(frozen=True)
class CaseChoice:
    id: int
    title: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class RequestChoice:
    ref: str
    platform: str
    state: str
    case_id: int


def bundle_choices(ws: Workspace) -> tuple[list[RequestChoice], list[CaseChoice]]:
    """What a bundle can be made of: every request (by reference) and every case."""
    with transaction(ws.engine) as session:
        rows = session.exec(select(Request.ref, Request.platform_slug, Request.state,
                                   Request.case_id).order_by(col(Request.ref))).all()
        cases = session.exec(select(Case.id, Case.title).order_by(col(Case.id))).all()
    requests = [RequestChoice(ref, platform, state, case_id)
                for ref, platform, state, case_id in rows]
    return requests, [CaseChoice(case_id or 0, title, tuple(r.ref for r in requests
                                                              if r.case_id == case_id))
                      for case_id, title in cases]

