"""Send the weekly report by email: text and HTML in one multipart/alternative message."""

from __future__ import annotations

from datetime import date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from tracker.core.errors import ConfigError
from tracker.mail.addresses import check_address
from tracker.mail.headers import check_header_value
from tracker.mail.outbound import new_message_id
from tracker.net import smtp as mailer
from tracker.net.logins import smtp_login
from tracker.report.htmlpage import render_html
from tracker.report.i18n import Labels
from tracker.report.markdown import render_text
from tracker.report.model import WeeklyReport, build_weekly_report
from tracker.services.status import paused_gc
from tracker.services.workspace import Workspace
from tracker.store.db import transaction


def report_subject(report: WeeklyReport) -> str:
    """"tracker weekly report, week ending Mon 8 Jun 2020: 3 overdue" (localised)."""
    t = Labels(report.language)
    return t("email_subject", day=t.day(report.as_of), n=report.summary.overdue)


def compose_report_email(report: WeeklyReport, *, sender_name: str, sender: str,
                         recipients: tuple[str, ...], message_id: str, when: datetime) -> bytes:
    """The exact bytes of the report email (pure: no I/O, the time is given)."""
    from_addr = check_address("[organisation] email", sender)
    to_addrs = [check_address("[report] recipients", r) for r in recipients]
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=check_header_value("[organisation] name", sender_name),
                          addr_spec=from_addr)
    msg["To"] = ", ".join(to_addrs)
    msg["Subject"] = check_header_value("subject", report_subject(report))
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    # RFC 3834: written by a program, so that no auto-responder answers it.
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = report.language
    msg.set_content(render_text(report), charset="utf-8", cte="quoted-printable")
    msg.add_alternative(render_html(report), subtype="html", charset="utf-8",
                        cte="quoted-printable")
    return msg.as_bytes(policy=policy.SMTP)


def email_weekly_report(ws: Workspace, as_of: date, now: datetime) -> str:
    """Build the report for the week ending *as_of* and mail it to ``[report] recipients``.

    Returns a short account for logs and the scheduler ("sent to 2 recipients: 3 overdue").
    ConfigError without recipients or usable SMTP settings; SendError if the server refuses.
    """
    _check_settings(ws)
    with paused_gc(), transaction(ws.engine) as session:
        report = build_weekly_report(ws, session, as_of)
        raw = _compose(ws, report, now)
    return _send(ws, report, raw)


def _check_settings(ws: Workspace) -> None:
    if not ws.settings.report.recipients:
        raise ConfigError(
            "[report] recipients is empty: set it in tracker.toml (a list of addresses) or "
            "TRACKER_REPORT_RECIPIENTS (comma-separated) to email the report"
        )
    mailer.check_smtp_settings(ws.settings.smtp, signs_in=bool(ws.settings.auth.provider))


def send_report(ws: Workspace, report: WeeklyReport, now: datetime) -> str:
    """Mail a built *report* (text and HTML) to ``[report] recipients``; see above."""
    _check_settings(ws)
    return _send(ws, report, _compose(ws, report, now))


def _compose(ws: Workspace, report: WeeklyReport, now: datetime) -> bytes:
    org = ws.settings.organisation
    return compose_report_email(
        report, sender_name=org.name, sender=org.email,
        recipients=ws.settings.report.recipients,
        message_id=new_message_id(f"report-{report.as_of.isoformat()}", org.message_domain),
        when=now,
    )


def _send(ws: Workspace, report: WeeklyReport, raw: bytes) -> str:
    smtp, org = ws.settings.smtp, ws.settings.organisation
    recipients = ws.settings.report.recipients
    mailer.send_raw(smtp, check_address("[organisation] email", org.email), recipients, raw,
                    smtp_login(ws.settings))
    count = len(recipients)
    return (f"sent to {count} recipient{'' if count == 1 else 's'}: "
            f"{report.summary.overdue} overdue")
