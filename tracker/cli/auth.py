"""`tracker auth`: sign the mailbox in with its provider (OAuth2), show who is signed in."""

from __future__ import annotations

import os

import click

from tracker.cli.base import TrackerGroup, actor, echo, emit_json, main, with_workspace
from tracker.net.oauth import provider_name
from tracker.net.oauth_parts import Grant, Prompt
from tracker.services.workspace import Workspace


@main.group(cls=TrackerGroup)
def auth() -> None:
    """Sign in to the mail provider (Microsoft 365, Google) for IMAP and SMTP."""


@auth.command(name="login")
@click.option("--provider", type=click.Choice(["microsoft", "google"]), default=None,
              help="Sign in with this provider (written to [auth] provider).")
@click.option("--client-id", default=None,
              help="The organisation's app registration (written to [auth] client_id).")
@click.option("--tenant", default=None,
              help="Microsoft: the tenant (organizations, or your domain or tenant id).")
@click.option("--flow", type=click.Choice(["device", "browser"]), default=None,
              help="device: type a code at Microsoft's page (the default for Microsoft); "
                   "browser: sign in in a browser on this machine (the only one for Google).")
@click.option("--port", default=0, type=int,
              help="Browser flow: the loopback port of the redirect (default: any free one; "
                   "fix it to forward it over SSH).")
@click.option("--no-browser", is_flag=True,
              help="Browser flow: print the address instead of opening a browser.")
@click.pass_context
def login(ctx: click.Context, provider: str | None, client_id: str | None, tenant: str | None,
          flow: str | None, port: int, no_browser: bool) -> None:
    """Sign the mailbox in with its provider; the token serves IMAP and SMTP."""
    from tracker.config.loading import find_workspace, load_settings
    from tracker.services.mail_auth import start_sign_in, wait_for_grant

    path = find_workspace(ctx.find_root().params.get("workspace"))
    if provider or client_id or tenant:
        from tracker.services.configuration import change_settings, record_change_at

        given = {key: value for key, value in (("auth.provider", provider),
                                               ("auth.client_id", client_id),
                                               ("auth.tenant", tenant)) if value is not None}
        record_change_at(path, dict(change_settings(path, given)), actor())
    ws = Workspace(load_settings(path), actor=actor())
    try:
        screen = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        attempt = start_sign_in(ws, flow,  # type: ignore[arg-type]
                                port=port, open_browser=screen and not no_browser)
        try:
            grant = wait_for_grant(attempt, _show)
        except KeyboardInterrupt:
            attempt.cancel()
            raise
        echo(_signed_in(grant))
    finally:
        ws.close()


def _show(prompt: Prompt) -> None:
    if prompt.flow == "device":
        echo(f"To sign in, open {prompt.url} in any browser and enter the code "
             f"{prompt.user_code}")
        echo("(waiting; Ctrl-C cancels)")
        return
    port = prompt.url and _redirect_port(prompt)
    echo("To sign in, open this address in a browser on this machine:")
    echo(prompt.url)
    if port:
        echo(f"(over SSH, first forward the port: ssh -L {port}:localhost:{port} THIS-HOST; "
             "waiting; Ctrl-C cancels)")


def _redirect_port(prompt: Prompt) -> str:
    from urllib.parse import parse_qs, urlsplit

    redirect = parse_qs(urlsplit(prompt.url).query).get("redirect_uri", [""])[0]
    return str(urlsplit(redirect).port or "")


def _signed_in(grant: Grant) -> str:
    until = f"; the access token is valid until {grant.expires_at:%Y-%m-%d %H:%M} UTC" \
        if grant.expires_at else ""
    return (f"signed in to {provider_name(grant.provider)} as {grant.account or '(unknown)'}; "
            f"scopes: {', '.join(grant.scopes) or '(none)'}; kept in {grant.store}{until}")


@auth.command(name="status")
@click.option("--check", is_flag=True,
              help="Also refresh the token now: proves the provider still accepts it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (never a token).")
@with_workspace
def status(ws: Workspace, check: bool, as_json: bool) -> None:
    """Who is signed in, until when, with which scopes."""
    from tracker.core.errors import SignInNeeded
    from tracker.services.mail_auth import sign_in_status

    state = sign_in_status(ws, check=check)
    grant = state.grant
    if as_json:
        emit_json({"provider": state.provider, "signed_in": grant is not None,
                   "account": grant.account if grant else None,
                   "scopes": list(grant.scopes) if grant else [],
                   "signed_in_at": grant.signed_in_at.isoformat() if grant else None,
                   "token_expires_at": (grant.expires_at.isoformat()
                                        if grant and grant.expires_at else None),
                   "kept_in": grant.store if grant else None,
                   "checked": state.checked, "problem": state.problem or None})
    elif not state.provider:
        echo("no provider sign-in: [auth] provider is not set (the mailbox logs in with "
             "passwords or oauth2_token_command); `tracker setup mail` connects one")
    elif grant is None:
        echo(f"nobody is signed in to {provider_name(state.provider)}; run `tracker auth login`")
    else:
        echo(f"signed in to {provider_name(grant.provider)} as {grant.account or '(unknown)'} "
             f"since {grant.signed_in_at:%Y-%m-%d %H:%M} UTC")
        echo(f"scopes: {', '.join(grant.scopes) or '(none)'}")
        if grant.expires_at:
            echo(f"access token valid until {grant.expires_at:%Y-%m-%d %H:%M} UTC (renewed "
                 "by itself while the sign-in lasts)")
        echo(f"kept in {grant.store}")
        if state.checked:
            echo("checked: the provider refreshed the token just now")
    if state.problem:
        raise SignInNeeded(state.problem)
    if state.provider and grant is None and not as_json:
        raise SignInNeeded(f"nobody is signed in to {provider_name(state.provider)}")


@auth.command(name="logout")
@with_workspace
def logout(ws: Workspace) -> None:
    """Forget the sign-in kept on this machine."""
    from tracker.services.mail_auth import sign_out

    echo(sign_out(ws))
