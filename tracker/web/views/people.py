"""Admins manage the people who sign in: add, change role, disable, set a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from tracker.services import users
from tracker.web.auth import Actor, admin, now
from tracker.web.rendering import redirect, render

router = APIRouter(prefix="/users")


@router.get("")
def user_list(request: Request, actor: Annotated[Actor, Depends(admin)]) -> Response:
    return render(request, "users.html", {"people": users.list_users(actor.ws)})


@router.post("")
def user_add(request: Request, actor: Annotated[Actor, Depends(admin)],
             name: Annotated[str, Form()], role: Annotated[str, Form()],
             password: Annotated[str, Form()],
             language: Annotated[str, Form()] = "en") -> Response:
    made = users.add_user(actor.ws, name, role, password, now(), language=language)
    return redirect(request, "/users", f"added {made.name} ({made.role})")


@router.post("/{name}/role")
def user_role(request: Request, actor: Annotated[Actor, Depends(admin)], name: str,
              role: Annotated[str, Form()]) -> Response:
    users.set_role(actor.ws, name, role, now())
    return redirect(request, "/users", f"{name} is now {role}")


@router.post("/{name}/disable")
def user_disable(request: Request, actor: Annotated[Actor, Depends(admin)],
                 name: str) -> Response:
    users.set_disabled(actor.ws, name, True, now())
    return redirect(request, "/users", f"disabled {name}; their sessions have ended")


@router.post("/{name}/enable")
def user_enable(request: Request, actor: Annotated[Actor, Depends(admin)],
                name: str) -> Response:
    users.set_disabled(actor.ws, name, False, now())
    return redirect(request, "/users", f"enabled {name}")


@router.post("/{name}/password")
def user_password(request: Request, actor: Annotated[Actor, Depends(admin)], name: str,
                  password: Annotated[str, Form()]) -> Response:
    users.set_password(actor.ws, name, password, now())
    return redirect(request, "/users", f"changed the password of {name}; their sessions ended")
