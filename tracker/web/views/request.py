"""One request's page: its facts, deadline, letter and timeline, and what staff do with it.

Each action is a plain form POST that calls the service function its command calls
(`tracker send`, `mark-sent`, `record-reply`, `follow-up`, `draft approve|discard`, `extend`,
`close`, `reopen`), as the signed-in person; the evidence bundle is `tracker evidence REF`'s,
as a download. The list of requests is another page's.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from tracker.core import clock
from tracker.core.errors import InputError
from tracker.core.tags import parse_ref
from tracker.evidence import build_bundle_bytes
from tracker.mail.parsing import parse_message
from tracker.services import actions, drafts, paper, receipts, records, sending
from tracker.services.files import MAX_FILE_BYTES
from tracker.services.overview import live_request
from tracker.services.receipts import Upload
from tracker.services.workspace import current_time
from tracker.store.models import Channel, Resolution, Role
from tracker.web.auth import RANK, Actor, editor, viewer
from tracker.web.downloads import download
from tracker.web.i18n import LANGUAGES
from tracker.web.rendering import redirect, render

router = APIRouter(prefix="/requests")

Text = Annotated[str, Form()]


def request_path(ref: str) -> str:
    """The page of request *ref* (as given: the service checked it)."""
    return "/requests/" + quote(parse_ref(ref), safe="")


def _today(actor: Actor) -> str:
    return current_time(actor.ws).date().isoformat()


@router.get("/{ref}")
def request_page(request: Request, actor: Annotated[Actor, Depends(viewer)], ref: str,
                 language: str = "") -> Response:
    if language and language not in LANGUAGES:
        raise InputError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    shown = live_request(actor.ws, ref, current_time(actor.ws).date(), letter=True,
                         language=language or None)
    return render(request, "request.html", {
        "shown": shown, "row": shown.row, "req": shown.request, "today": _today(actor),
        "can_edit": RANK[Role(actor.user.role)] >= RANK[Role.EDITOR],
        "channels": [c.value for c in Channel], "resolutions": [r.value for r in Resolution],
        "languages": LANGUAGES, "preview_language": language,
        "organisation_email": actor.ws.settings.organisation.email,
    })


@router.get("/{ref}/send")
def send_confirm(request: Request, actor: Annotated[Actor, Depends(editor)],
                 ref: str) -> Response:
    """The email as it would leave now (a dry run: nothing is stored), and the send button."""
    result = sending.send_request(actor.ws, ref, current_time(actor.ws), dry_run=True)
    outgoing = result.outgoing
    return render(request, "send.html", {"ref": result.ref, "outgoing": outgoing,
                                         "text": parse_message(outgoing.raw).text})


@router.post("/{ref}/send")
def send(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
         retry: Annotated[bool, Form()] = False) -> Response:
    result = sending.send_request(actor.ws, ref, current_time(actor.ws), retry=retry)
    return redirect(request, request_path(result.ref),
                    f"sent {result.ref} to {', '.join(result.outgoing.recipients)}")


@router.post("/{ref}/mark-sent")
def mark_sent(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
              on: Text, channel: Text, note: Text = "", tracking: Text = "", ticket: Text = "",
              receipt: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    moment = records.parse_when(on, actor.ws.settings.tz)
    limit = actor.ws.settings.letters.receipt_max_mb
    done = sending.mark_sent(actor.ws, ref, moment, channel, note, current_time(actor.ws),
                             receipts=_receipts(receipt, limit), tracking=tracking.strip(),
                             ticket=ticket.strip())
    said = [f"recorded the letter as sent by {done.message.channel} on "
            f"{clock.format_day(moment.date())}"]
    said += [f"kept {d.label} ({d.size} bytes)" for d in done.documents]
    said += [f"tracking {done.tracking}"] if done.tracking else []
    said += [f"warning: {w}" for w in done.warnings]
    return redirect(request, request_path(ref), "; ".join(said),
                    "error" if done.warnings else "ok")


def _receipts(files: list[UploadFile] | None, limit_mb: int) -> list[Upload]:
    """The receipts of a form, read no further than the limit (and a byte, to say it is over).

    The browser's file name is only a label: the service makes it safe and never opens it.
    """
    uploads = []
    for file in files or []:
        if not file.filename:
            continue  # the form sent without a file chosen
        uploads.append(Upload(file.filename, file.file.read(limit_mb * 2**20 + 1)))
    return uploads


def _upload(file: UploadFile | None) -> bytes | None:
    """The bytes of an uploaded file, bounded as `tracker record-reply --file` reads one."""
    if file is None or not file.filename:
        return None  # a form sent without choosing a file
    data = file.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"the file is larger than {MAX_FILE_BYTES / 2**20:g} MB, the most "
                         "tracker keeps of one reply; keep it elsewhere and say where in the note")
    return data or None


@router.post("/{ref}/receipts")
def add_receipt(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
                note: Text = "", tracking: Text = "", ticket: Text = "",
                receipt: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    limit = actor.ws.settings.letters.receipt_max_mb
    added = receipts.add_receipts(actor.ws, ref, _receipts(receipt, limit),
                                  current_time(actor.ws), note=note, tracking=tracking.strip(),
                                  ticket=ticket.strip())
    said = [f"kept {d.label} ({d.size} bytes)" for d in added.documents]
    said += [f"tracking {added.tracking}"] if added.tracking else []
    said += [f"ticket {added.ticket}"] if added.ticket else []
    return redirect(request, request_path(added.ref), "; ".join(said))


@router.get("/{ref}/letter.pdf")
def letter_pdf(actor: Annotated[Actor, Depends(viewer)], ref: str,
               language: str = "") -> Response:
    """`tracker letter REF --format pdf`: the same bytes (a posted letter: as posted)."""
    if language and language not in LANGUAGES:
        raise InputError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    made = paper.request_pdf(actor.ws, ref, current_time(actor.ws).date(), language or None)
    return download(made.data, made.filename, "application/pdf")


@router.get("/{ref}/documents/{document_id}")
def document(actor: Annotated[Actor, Depends(viewer)], ref: str,
             document_id: int) -> Response:
    """A kept file, exactly as kept, always as a download (a receipt came from outside)."""
    found = receipts.get_document(actor.ws, ref, document_id)
    return download(found.data, found.filename)


@router.post("/{ref}/reply")
def record_reply(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
                 on: Text, kind: Text = "answer", note: Text = "",
                 file: Annotated[UploadFile | None, File()] = None) -> Response:
    raw = _upload(file)
    moment = records.parse_when(on, actor.ws.settings.tz, end_of_day=True)
    actions.record_reply(actor.ws, ref, moment, kind, note, current_time(actor.ws), raw)
    return redirect(request, request_path(ref), f"recorded the {kind}")


@router.post("/{ref}/follow-up")
def follow_up(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
              template: Text, language: Text = "") -> Response:
    message = actions.draft_follow_up(actor.ws, ref, template, {}, current_time(actor.ws),
                                      language or None)
    return redirect(request, request_path(ref), f"drafted {message.template} "
                    f"({message.language}); read it below, then send it or approve it")


@router.post("/{ref}/draft/approve")
def draft_approve(request: Request, actor: Annotated[Actor, Depends(editor)],
                  ref: str) -> Response:
    found, new = drafts.approve_draft(actor.ws, ref, current_time(actor.ws))
    said = (f"approved the {found.template} draft" if new else
            f"the {found.template} draft was approved already, by {found.approved_by}")
    return redirect(request, request_path(ref), said)


@router.post("/{ref}/draft/discard")
def draft_discard(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
                  reason: Text = "") -> Response:
    message = drafts.discard_draft(actor.ws, ref, reason, current_time(actor.ws))
    return redirect(request, request_path(ref), f"discarded the {message.template} draft")


@router.post("/{ref}/extend")
def extend(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
           rule: Text = "", reason: Text = "", notice: Text = "") -> Response:
    if notice and not notice.isdigit():
        raise InputError(f"notice {notice!r} is not a message number")
    done = actions.extend_deadline(actor.ws, ref, rule.strip() or None, reason,
                                   current_time(actor.ws), int(notice) if notice else None)
    due = clock.format_day(done.request.due_on) if done.request.due_on else "-"
    said = "; ".join([f"extended: now due {due}", *(f"warning: {w}" for w in done.warnings)])
    return redirect(request, request_path(ref), said, "error" if done.warnings else "ok")


@router.post("/{ref}/close")
def close(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str,
          resolution: Text, note: Text = "") -> Response:
    req = actions.close_request(actor.ws, ref, resolution, note, current_time(actor.ws))
    return redirect(request, request_path(req.ref), f"closed {req.ref}: {resolution}")


@router.post("/{ref}/reopen")
def reopen(request: Request, actor: Annotated[Actor, Depends(editor)], ref: str) -> Response:
    req = actions.reopen_request(actor.ws, ref, current_time(actor.ws))
    return redirect(request, request_path(req.ref), f"reopened {req.ref}: {req.state}")


@router.get("/{ref}/evidence.zip")
def evidence(actor: Annotated[Actor, Depends(viewer)], ref: str) -> Response:
    """`tracker evidence REF` as of today, as a download: the same bytes, the same hash."""
    made = build_bundle_bytes(actor.ws, [ref], current_time(actor.ws).date())
    return download(made.data, made.filename, "application/zip")
