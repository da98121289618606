"""`tracker setup mail`: connect the organisation's mailbox by answering a few questions."""

from __future__ import annotations

import sys

import click

from tracker.cli.base import TrackerGroup, actor, echo, main
from tracker.config.presets import PRESETS
from tracker.core.errors import InputError, StateError
from tracker.services.workspace import Workspace


@main.group(cls=TrackerGroup)
def setup() -> None:
    """Guided setup: connect the organisation's mailbox."""


def _ask(value: str, question: str, flag: str, default: str = "") -> str:
    """*value* if given; else ask on a terminal; else the default, or say which flag."""
    if value:
        return value
    if sys.stdin.isatty():
        return str(click.prompt(question, default=default or None, show_default=bool(default)))
    if default:
        return default
    raise InputError(f"{flag} is needed (or run `tracker setup mail` on a terminal to be asked)")


@setup.command(name="mail")
@click.option("--provider", type=click.Choice(list(PRESETS)), default=None,
              help="Who runs the mailbox: " + ", ".join(f"{p.name} ({p.title})"
                                                         for p in PRESETS.values()) + ".")
@click.option("--address", default="", help="The mailbox's address (also its login name).")
@click.option("--folder", "folders", multiple=True,
              help="A folder to read (repeat for more; default INBOX).")
@click.option("--sent-folder", default="", help="The Sent folder (default: the provider's).")
@click.option("--client-id", default="",
              help="Microsoft 365, Google: the organisation's app registration.")
@click.option("--tenant", default="", help="Microsoft 365: organizations, or your domain.")
@click.option("--client-secret-env", default="",
              help="Google: the variable holding the desktop app's client secret.")
@click.option("--password-env", default="",
              help="Password logins: the environment variable holding the password.")
@click.option("--password-command", default="",
              help="Password logins: a command that prints the password.")
@click.option("--imap-host", default="", help="other: the IMAP server.")
@click.option("--imap-port", default=0, type=int, help="other: its port (default by TLS).")
@click.option("--imap-tls", default="", type=click.Choice(["", "ssl", "starttls", "none"]),
              help="other: TLS mode of IMAP (none only on loopback).")
@click.option("--smtp-host", default="", help="other: the SMTP server.")
@click.option("--smtp-port", default=0, type=int, help="other: its port (default by TLS).")
@click.option("--smtp-tls", default="", type=click.Choice(["", "ssl", "starttls", "none"]),
              help="other: TLS mode of SMTP (none only on loopback).")
@click.option("--trusted-authserv-id", "authserv_ids", multiple=True,
              help="other: the authserv-id your own mail server stamps on "
                   "Authentication-Results (repeat for more).")
@click.option("--flow", type=click.Choice(["device", "browser"]), default=None,
              help="How to sign in (tracker auth login --flow).")
@click.option("--no-sign-in", is_flag=True, help="Save the settings, sign in later.")
@click.option("--no-test", is_flag=True, help="Save the settings, test the connections later.")
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing: only test the connections as configured.")
@click.pass_context
def mail(ctx: click.Context, provider: str | None, address: str, folders: tuple[str, ...],
         sent_folder: str, client_id: str, tenant: str, client_secret_env: str,
         password_env: str, password_command: str, imap_host: str, imap_port: int,
         imap_tls: str, smtp_host: str, smtp_port: int, smtp_tls: str,
         authserv_ids: tuple[str, ...], flow: str | None, no_sign_in: bool, no_test: bool,
         check_only: bool) -> None:
    """Connect the organisation's mailbox: provider, address, folders, sign-in; then test
    both connections. Every question has a flag, for scripts."""
    from tracker.config.loading import find_workspace, load_settings
    from tracker.services import mail_setup

    ws = Workspace(load_settings(find_workspace(ctx.find_root().params.get("workspace"))),
                   actor=actor())
    try:
        if not check_only:
            _configure(ws, provider, address, folders, sent_folder, client_id, tenant,
                       client_secret_env, password_env, password_command, imap_host, imap_port,
                       imap_tls, smtp_host, smtp_port, smtp_tls, authserv_ids)
        if not check_only and not no_sign_in and mail_setup.needs_sign_in(ws):
            from tracker.cli.auth import _show, _signed_in
            from tracker.services.mail_auth import start_sign_in, wait_for_grant

            attempt = start_sign_in(ws, flow)  # type: ignore[arg-type]
            echo(_signed_in(wait_for_grant(attempt, _show)))
        if no_test and not check_only:
            echo("not tested: run `tracker setup mail --check` to test both connections")
            return
        checks = mail_setup.check_connections(ws)
    finally:
        ws.close()
    for check in checks:
        echo(f"{check.name}: {'works' if check.ok else 'does NOT work'}: {check.detail}")
    if not all(check.ok for check in checks):
        raise StateError("the mailbox is not fully connected yet: fix what is said above, then "
                         "run `tracker setup mail --check`")


def _configure(ws: Workspace, provider: str | None, address: str, folders: tuple[str, ...],
               sent_folder: str, client_id: str, tenant: str, client_secret_env: str,
               password_env: str, password_command: str, imap_host: str, imap_port: int,
               imap_tls: str, smtp_host: str, smtp_port: int, smtp_tls: str,
               authserv_ids: tuple[str, ...]) -> None:
    from tracker.services import mail_setup

    chosen = mail_setup.preset(_ask(provider or "", "Mail provider (" + ", ".join(PRESETS)
                                    + ")", "--provider"))
    other = chosen.name == "other"
    answers = mail_setup.MailAnswers(
        provider=chosen.name, address=_ask(address, "Mailbox address", "--address"),
        folders=folders, sent_folder=sent_folder,
        imap_host=_ask(imap_host, "IMAP server", "--imap-host") if other else imap_host,
        imap_port=imap_port, imap_tls=imap_tls,
        smtp_host=_ask(smtp_host, "SMTP server", "--smtp-host") if other else smtp_host,
        smtp_port=smtp_port, smtp_tls=smtp_tls, trusted_authserv_ids=authserv_ids,
        client_secret_env=client_secret_env,
        **_login_answers(chosen.login, chosen.password_hint, client_id, tenant, password_env,
                         password_command))
    changed = mail_setup.configure_mail(ws, answers)
    echo(f"tracker.toml: {len(changed)} setting(s) changed" if changed
         else "tracker.toml: already set up so")
    for line in mail_setup.describe(changed):
        echo(f"  {line}")


def _login_answers(login: str, hint: str, client_id: str, tenant: str, password_env: str,
                   password_command: str) -> dict[str, str]:
    if login == "oauth2":
        return {"client_id": _ask(client_id, "App registration (client id)", "--client-id"),
                "tenant": tenant}
    if not (password_env or password_command):
        password_env = _ask("", f"Environment variable holding {hint or 'the password'}",
                            "--password-env or --password-command")
    return {"password_env": password_env, "password_command": password_command}
