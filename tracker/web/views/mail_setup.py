"""Settings, Connect the mailbox (admins): the answers of `tracker setup mail`, the provider
sign-in with its prompt, and a test of both connections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from tracker.config.presets import PRESETS
from tracker.core.errors import NotFoundError
from tracker.services import mail_auth, mail_setup
from tracker.web.auth import Actor, admin
from tracker.web.rendering import redirect, render

router = APIRouter(prefix="/settings/mail")


@router.get("")
def mail_page(request: Request, actor: Annotated[Actor, Depends(admin)]) -> Response:
    return render(request, "mail_setup.html", _context(actor))


def _context(actor: Actor, **extra: object) -> dict[str, object]:
    settings = actor.ws.settings
    return {"providers": [(p.name, p.title) for p in PRESETS.values()],
            "current": mail_setup.current_preset(settings), "imap": settings.imap,
            "auth": settings.auth, "status": mail_auth.sign_in_status(actor.ws), "checks": None,
            **extra}


@router.post("")
def mail_save(request: Request, actor: Annotated[Actor, Depends(admin)],
              provider: Annotated[str, Form()], address: Annotated[str, Form()],
              folders: Annotated[str, Form()] = "", sent_folder: Annotated[str, Form()] = "",
              client_id: Annotated[str, Form()] = "", tenant: Annotated[str, Form()] = "",
              client_secret_env: Annotated[str, Form()] = "",
              password_env: Annotated[str, Form()] = "",
              password_command: Annotated[str, Form()] = "",
              imap_host: Annotated[str, Form()] = "", smtp_host: Annotated[str, Form()] = "",
              ) -> Response:
    answers = mail_setup.MailAnswers(
        provider=provider, address=address.strip(),
        folders=tuple(f.strip() for f in folders.split(",") if f.strip()),
        sent_folder=sent_folder.strip(), client_id=client_id.strip(), tenant=tenant.strip(),
        client_secret_env=client_secret_env.strip(), password_env=password_env.strip(),
        password_command=password_command.strip(), imap_host=imap_host.strip(),
        smtp_host=smtp_host.strip())
    changed = mail_setup.configure_mail(actor.ws, answers)
    request.app.state.workspace.refresh_settings()  # the server's own, which the watcher uses
    start = getattr(request.app.state, "start_watch", None)
    if start is not None:  # the server watches the mailbox: start it now if it was not set
        start()
    return redirect(request, "/settings/mail",
                    f"saved: {len(changed)} setting(s) changed" if changed
                    else "nothing to change: the settings were already so")


@router.post("/test")
def mail_test(request: Request, actor: Annotated[Actor, Depends(admin)]) -> Response:
    return render(request, "mail_setup.html",
                  _context(actor, checks=mail_setup.check_connections(actor.ws)))


@router.post("/sign-in")
def sign_in(request: Request, actor: Annotated[Actor, Depends(admin)],
            flow: Annotated[str, Form()] = "") -> Response:
    chosen = flow if flow in ("device", "browser") else None
    attempt = mail_auth.start_sign_in(actor.ws, chosen)  # type: ignore[arg-type]
    attempt.wait_prompt(15)  # the provider's code or address, usually within a second
    return redirect(request, f"/settings/mail/sign-in/{attempt.id}")


def _attempt(attempt_id: str) -> mail_auth.SignInAttempt:
    attempt = mail_auth.find_attempt(attempt_id)
    if attempt is None:
        raise NotFoundError("this sign-in is not running any more; start it again")
    return attempt


@router.get("/sign-in/{attempt_id}")
def sign_in_page(request: Request, actor: Annotated[Actor, Depends(admin)],
                 attempt_id: str) -> Response:
    attempt = _attempt(attempt_id)
    name = "sign_in_state.html" if request.headers.get("hx-request") == "true" \
        else "sign_in.html"
    return render(request, name, {"attempt": attempt})


@router.post("/sign-in/{attempt_id}/cancel")
def sign_in_cancel(request: Request, actor: Annotated[Actor, Depends(admin)],
                   attempt_id: str) -> Response:
    _attempt(attempt_id).cancel()
    return redirect(request, "/settings/mail", "the sign-in was cancelled")


@router.post("/sign-out")
def sign_out(request: Request, actor: Annotated[Actor, Depends(admin)]) -> Response:
    return redirect(request, "/settings/mail", mail_auth.sign_out(actor.ws))
