"""Evidence bundles: download one for a request or a case, and check one by uploading it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from tracker.core.errors import InputError
from tracker.evidence import build_bundle_bytes, verify_upload
from tracker.evidence.bundle import bundle_choices, case_refs
from tracker.evidence.verify import KEEP_HASH
from tracker.services.workspace import current_time
from tracker.web.auth import Actor, viewer
from tracker.web.rendering import render

router = APIRouter(prefix="/evidence")
UPLOAD_LIMIT = 200 * 1024 * 1024  # bytes of a bundle to verify; larger ones are refused


async def upload_limit(request: Request) -> None:
    """Refuse a body over `UPLOAD_LIMIT` before anything reads it (the form with the CSRF
    token is read by the role check): by its declared length, which the server holds it to."""
    if request.method != "POST":
        return
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        raise HTTPException(411, "send the bundle as a form upload (with its length)")
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > UPLOAD_LIMIT:
        raise HTTPException(413, f"the bundle is larger than {UPLOAD_LIMIT // (1024 * 1024)} "
                                 "MB, more than this page checks; use `tracker evidence verify "
                                 "FILE.zip`, which has no limit")


def _page(request: Request, actor: Actor, **context: object) -> Response:
    requests, cases = bundle_choices(actor.ws)
    return render(request, "evidence.html", {
        "requests": requests, "cases": cases, "limit_mb": UPLOAD_LIMIT // (1024 * 1024),
        "keep_hash": KEEP_HASH, "result": None, **context})


@router.get("")
def evidence_page(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    return _page(request, actor)


@router.get("/bundle")
def evidence_download(request: Request, actor: Annotated[Actor, Depends(viewer)],
                      ref: str = "", case: str = "") -> Response:
    if case.strip():
        if not case.strip().isdigit():
            raise InputError(f"case {case.strip()!r} is not a case number")
        refs = case_refs(actor.ws, int(case))
        if not refs:
            raise InputError(f"case {case.strip()} has no requests to put in a bundle")
    else:
        refs = [ref] if ref.strip() else []
    made = build_bundle_bytes(actor.ws, refs, current_time(actor.ws).date())
    return Response(made.data, media_type="application/zip", headers={
        "content-disposition": f'attachment; filename="{made.filename}"',
        "x-bundle-sha256": made.sha256, "x-manifest-sha256": made.manifest_sha256})


@router.post("/verify")
async def evidence_verify(request: Request, limit: Annotated[None, Depends(upload_limit)],
                          actor: Annotated[Actor, Depends(viewer)]) -> Response:
    # Read here, after the size and role checks, not as a parameter: FastAPI would read a
    # declared file before running any dependency.
    form = await request.form()
    upload = form.get("bundle")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InputError("choose a bundle (the .zip file) to verify")
    result = await run_in_threadpool(verify_upload, upload.file, upload.filename)
    return await run_in_threadpool(_page, request, actor, result=result,
                                   name=upload.filename)
