"""State that never drifts: random sequences of what staff and mail do, invariants after each.

Hypothesis drives the library (the CLI's use cases) on a real SQLite workspace: requests are
created, sent, followed up, answered by hand or by mail (genuine, forged, from outsiders,
bounces real and forged), linked, dismissed, extended, closed and reopened, drafts approved and
discarded, in any order. After every step `tracker.services.invariants.check_invariants` must find
nothing: the stored state, due date, tickets and delivery failure are always what the messages
and events say. A refusal (a TrackerError) is fine; a half-written record is not.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlmodel import col, select

from tracker.config.loading import load_settings
from tracker.core.errors import TrackerError
from tracker.letters.loading import example_variables, get_template
from tracker.mail.authenticity import Trust
from tracker.services import actions, drafts, intake, sending, triage
from tracker.services.inbound import Counts, Incoming, Source, store_messages
from tracker.services.invariants import check_invariants
from tracker.services.reading import build_index
from tracker.services.workspace import Workspace, init_workspace
from tracker.store.db import transaction
from tracker.store.models import Message, Request

TZ = ZoneInfo("Europe/Berlin")
TRUST = Trust.of(["mx.hrgroup.example"])
_TEMPLATE: Path | None = None


def _template_workspace() -> Path:
    """One migrated workspace, copied for every run (migrating each time would be slow)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = Path(tempfile.mkdtemp(prefix="tracker-invariants-")) / "ws"
        init_workspace(_TEMPLATE, {"organisation": {
            "name": "HC", "email": "inquiries@hrgroup.example",
            "reply_to": "inquiries@hrgroup.example", "reference_prefix": "HC",
            "timezone": "Europe/Berlin", "country": "DE"}}, env={})
    return _TEMPLATE


def _mail(kind: str, ref: str, letter_id: str, day: datetime, n: int) -> bytes:
    """A message of *kind* about request *ref* as our border delivered it."""
    sender, subject, extra, body = {
        "reply": ("legal@zoom.us", f"Re: [{ref}] your letter", "", "We reviewed it."),
        "ack": ("support@zoom.us", f"[{ref}] Your request #4{n:05d} has been received",
                "Auto-Submitted: auto-replied\r\n", "We received your request."),
        "ticket-answer": ("agent@zoom.us", f"Update on Request #4{n - 1:05d}", "",
                          "Here is our answer."),
        "forged": ("legal@zoom.us", f"Re: [{ref}] account restored", "", "Log in here."),
        "outsider": ("help@zoom.zendesk.com", f"Re: [{ref}] your letter", "", "Hello."),
    }.get(kind, ("mailer-daemon@mail.hrgroup.example", "Undelivered Mail Returned to Sender",
                 "", ""))
    domain = sender.rpartition("@")[2]
    dmarc = "fail" if kind == "forged" else "pass"
    date = day.strftime("%a, %d %b %Y %H:%M:%S %z")
    head = (f"Authentication-Results: mx.hrgroup.example; dmarc={dmarc} header.from={domain}\r\n"
            f"Received: from mail.{domain} by mx.hrgroup.example (Postfix); {date}\r\n"
            f"From: {sender}\r\nTo: inquiries@hrgroup.example\r\nSubject: {subject}\r\n"
            f"Date: {date}\r\nMessage-ID: <m{n}@{domain}>\r\n{extra}")
    if kind in ("bounce", "forged-bounce"):
        named = letter_id if kind == "bounce" else "<someone-else@evil.example>"
        return (head + "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                'report-type=delivery-status; boundary="b"\r\n\r\n--b\r\n'
                "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
                "Final-Recipient: rfc822; privacy@zoom.us\r\nAction: failed\r\n"
                "Status: 5.1.1\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                f"Message-ID: {named}\r\nSubject: [{ref}] x\r\n\r\n--b--\r\n").encode()
    return (head + f"In-Reply-To: {letter_id}\r\n\r\n{body}\r\n").encode()


class Office(RuleBasedStateMachine):
    """A workspace where anything staff or mail may do happens, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="tracker-run-"))
        shutil.copytree(_template_workspace(), self.dir / "ws")
        self.ws = Workspace(load_settings(self.dir / "ws", env={}), env={}, actor="staff")
        self.now = datetime.combine(datetime(2020, 6, 8).date(), time(10), TZ)
        self.refs: list[str] = []
        self.mail = 0

    def teardown(self) -> None:
        self.ws.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _tick(self, days: int) -> datetime:
        self.now += timedelta(days=days, minutes=7)
        return self.now

    def _try(self, action: object, *args: object, **kwargs: object) -> None:
        assert callable(action)
        # A refusal is fine: the invariants below prove nothing was half-written.
        with contextlib.suppress(TrackerError):
            action(*args, **kwargs)

    def _ref(self, index: int) -> str | None:
        return self.refs[index % len(self.refs)] if self.refs else None

    @rule(platform=st.sampled_from(["zoom", "facebook"]), days=st.integers(0, 3))
    def create(self, platform: str, days: int) -> None:
        template = get_template(self.ws.templates, "account-suspension", "en")
        spec = intake.NewRequest(platform=platform, template="account-suspension",
                                  variables=example_variables(template))
        self.refs.append(actions.create_request(self.ws, spec, self._tick(days)).ref)

    @rule(index=st.integers(0, 9), days=st.integers(0, 20),
          channel=st.sampled_from(["email", "webform", "post"]))
    def mark_sent(self, index: int, days: int, channel: str) -> None:
        if (ref := self._ref(index)) is not None:
            now = self._tick(days)
            self._try(sending.mark_sent, self.ws, ref, now, channel, "", now)

    @rule(index=st.integers(0, 9), days=st.integers(0, 40),
          template=st.sampled_from(["follow-up", "final-notice"]))
    def follow_up(self, index: int, days: int, template: str) -> None:
        if (ref := self._ref(index)) is not None:
            self._try(actions.draft_follow_up, self.ws, ref, template, {}, self._tick(days))

    @rule(index=st.integers(0, 9), days=st.integers(0, 20),
          kind=st.sampled_from(["answer", "acknowledgement"]))
    def record_reply(self, index: int, days: int, kind: str) -> None:
        if (ref := self._ref(index)) is not None:
            now = self._tick(days)
            self._try(actions.record_reply, self.ws, ref, now, kind, "by phone", now)

    @rule(index=st.integers(0, 9), days=st.integers(0, 20),
          kind=st.sampled_from(["reply", "ack", "ticket-answer", "forged", "outsider",
                                "bounce", "forged-bounce"]))
    def mail_arrives(self, index: int, days: int, kind: str) -> None:
        if (ref := self._ref(index)) is None:
            return
        now = self._tick(days)
        self.mail += 1
        with transaction(self.ws.engine) as session:
            letter = session.exec(select(Message.message_id).join(
                Request, col(Message.request_id) == col(Request.id)).where(
                Request.ref == ref, Message.direction == "out", Message.message_id != "")
            ).first() or "<none@hrgroup.example>"
            raw = _mail(kind, ref, letter, now, self.mail)
            store_messages(self.ws, session, [Incoming(raw, Source("import", "x"), now)],
                           build_index(self.ws, session), Counts(), now=now, trust=TRUST)

    @rule(pick=st.integers(0, 99), index=st.integers(0, 9), approve=st.booleans())
    def link(self, pick: int, index: int, approve: bool) -> None:
        items = self._inbox()
        if items and (ref := self._ref(index)) is not None:
            self._try(triage.link_message, self.ws, items[pick % len(items)], ref,
                      self._tick(0), approve_domain=approve)

    @rule(pick=st.integers(0, 99))
    def dismiss(self, pick: int) -> None:
        with transaction(self.ws.engine) as session:
            ids = [m for m in session.exec(select(Message.id).where(
                Message.direction == "in")).all() if m is not None]
        if ids:
            self._try(triage.dismiss_message, self.ws, ids[pick % len(ids)], self._tick(0))

    @rule(index=st.integers(0, 9), rule_text=st.sampled_from(["statutory", "14d", "10bd"]))
    def extend(self, index: int, rule_text: str) -> None:
        if (ref := self._ref(index)) is not None:
            self._try(actions.extend_deadline, self.ws, ref, rule_text, "they asked",
                      self._tick(1))

    @rule(index=st.integers(0, 9), reopen=st.booleans())
    def close_or_reopen(self, index: int, reopen: bool) -> None:
        if (ref := self._ref(index)) is not None:
            if reopen:
                self._try(actions.reopen_request, self.ws, ref, self._tick(1))
            else:
                self._try(actions.close_request, self.ws, ref, "no-response", "", self._tick(1))

    @rule(index=st.integers(0, 9), discard=st.booleans())
    def review_draft(self, index: int, discard: bool) -> None:
        if (ref := self._ref(index)) is not None:
            if discard:
                self._try(drafts.discard_draft, self.ws, ref, "", self._tick(0))
            else:
                self._try(drafts.approve_draft, self.ws, ref, self._tick(0))

    def _inbox(self) -> list[int]:
        with transaction(self.ws.engine) as session:
            return [item.id for item in triage.inbox_items(session)]

    @invariant()
    def record_is_consistent(self) -> None:
        with transaction(self.ws.engine) as session:
            problems = check_invariants(self.ws, session, self.now.date())
        assert problems == []


Office.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_random_days_at_the_office_never_drift() -> None:
    Office.TestCase().runTest()
