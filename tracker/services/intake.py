"""A request before it exists: what staff ask for, what tracker makes of it, and its letter.

`NewRequest` is what `tracker request new` and the web's guided form ask for; `new_request`
turns their text into one (blank fields mean "the default"). `plan_request` settles the
platform, template, language, recipient, channel and deadline rule from it, checking each, and
`case_variables` merges a case's facts with the values given: `actions.create_request` and
`preview_request` both use them, so that a preview is the letter the saved request renders.
`form_choices` is what the guided form offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.core.deadlines import DeadlineRule, apply_rule, parse_rule
from tracker.core.errors import InputError, NotFoundError, TrackerError
from tracker.core.tags import format_ref
from tracker.directory.loading import find_platform
from tracker.directory.model import Contact, Platform
from tracker.letters.loading import LANGUAGES, LetterTemplate, get_template
from tracker.mail.addresses import check_address
from tracker.services.compose import render_unsaved
from tracker.services.workspace import Workspace
from tracker.store.db import MAX_ROW_ID, transaction
from tracker.store.models import Case, Channel, Message, Request


@dataclass(frozen=True)
class NewRequest:
    """What `tracker request new` (and the web's new-request form) asks for."""

    platform: str
    template: str
    language: str | None = None
    case_title: str | None = None
    case_id: int | None = None
    variables: dict[str, str] | None = None
    to: str | None = None
    channel: str | None = None
    deadline: str | None = None


def _given(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def new_request(*, platform: str, template: str, language: str | None = None,
                case_title: str | None = None, case_id: str | int | None = None,
                variables: Mapping[str, str] | None = None, to: str | None = None,
                channel: str | None = None, deadline: str | None = None) -> NewRequest:
    """A NewRequest from what a person typed: blank means the default, a blank variable is
    not given (a case's facts or the template's rule then decide)."""
    title = _given(case_title)
    number: int | None
    if isinstance(case_id, int) or case_id is None:
        number = case_id
    else:
        text = case_id.strip()
        if text and not text.isdigit():
            raise InputError(f"case {case_id!r} is not a case number; see `tracker case list`")
        number = int(text) if text else None
    if title is not None and number is not None:
        raise InputError("give a new case (--case) or an existing one (--case-id), not both")
    given = {name: value for name, value in (variables or {}).items() if value.strip()}
    return NewRequest(platform=platform.strip(), template=template.strip(),
                      language=_given(language), case_title=title, case_id=number,
                      variables=given, to=_given(to), channel=_given(channel),
                      deadline=_given(deadline))


@dataclass(frozen=True)
class Plan:
    """What a NewRequest comes to, each part checked: where it goes, in which words, by when."""

    platform: Platform
    template: LetterTemplate
    language: str
    recipient: str
    channel: str
    rule: DeadlineRule


def _recipient(contact: Contact | None, to: str | None, channel: str | None) -> tuple[str, str]:
    if to:
        chosen = channel or ("email" if "@" in to and "://" not in to else "webform")
        if chosen == Channel.EMAIL:
            to = check_address("--to", to)
        return to, chosen
    if contact is None:
        return "", channel or Channel.EMAIL
    if channel and channel != contact.channel:
        raise InputError(
            f"the platform's contact is by {contact.channel}, not {channel}; "
            "give the address with --to"
        )
    return contact.value, contact.channel


def plan_request(ws: Workspace, spec: NewRequest) -> Plan:
    """Check *spec* against the directory, the templates and the settings (no database)."""
    org = ws.settings.organisation
    platform = find_platform(ws.platforms, spec.platform)
    language = spec.language or org.language
    template = get_template(ws.templates, spec.template, language)
    if template.kind != "initial":
        raise InputError(
            f"template {template.id} is a follow-up letter; "
            f"draft it on an existing request with `tracker follow-up REF --template {template.id}`"
        )
    if spec.channel and spec.channel not in set(Channel):
        raise InputError(f"--channel {spec.channel!r}: use one of {', '.join(Channel)}")
    contact = platform.contact_for(channel=spec.channel) if spec.channel else \
        platform.default_recipient()
    recipient, channel = _recipient(contact, spec.to, spec.channel)
    deadline = spec.deadline or template.deadline or org.default_deadline
    rule = parse_rule(deadline, default=org.default_deadline)
    return Plan(platform, template, language, recipient, channel, rule)


def case_variables(template: LetterTemplate, facts: Mapping[str, Any],
                   given: Mapping[str, str] | None) -> dict[str, str]:
    """The letter's variables: the case's facts the template declares, under the values given."""
    merged = {**{k: str(v) for k, v in facts.items()}, **(given or {})}
    declared = {v.name for v in template.variables}
    return {k: v for k, v in merged.items() if k in declared or k in (given or {})}


def existing_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id) if 0 < case_id <= MAX_ROW_ID else None
    if case is None:
        raise NotFoundError(f"no case {case_id}; see `tracker case list`")
    return case


def next_ref(session: Session, prefix: str, year: int) -> str:
    """The reference the next request of *year* gets (a later one if another takes it first)."""
    stem = f"{prefix.upper()}-{year:04d}-"
    refs = session.exec(select(Request.ref).where(col(Request.ref).startswith(stem))).all()
    seq = max((int(r.rsplit("-", 1)[1]) for r in refs), default=0) + 1
    return format_ref(prefix, year, seq)


# ---------------------------------------------------------------- preview


@dataclass(frozen=True)
class PreviewLetter:
    """The letter in one language: its subject and text, or why it cannot be written."""

    language: str
    subject: str
    text: str
    error: str = ""


@dataclass(frozen=True)
class Preview:
    """A request as it would be saved now, with its first letter in each of its languages
    (the request's own language first)."""

    ref: str
    plan: Plan
    case_title: str
    due_on: date | None
    variables: dict[str, str]
    letters: tuple[PreviewLetter, ...]


def preview_request(ws: Workspace, spec: NewRequest, now: datetime) -> Preview:
    """The request *spec* would make at *now* and its letter, written nowhere.

    The letter is rendered as `tracker letter REF` (and ``--language``) renders the draft once
    saved: the same context, the case's facts under the values given, dated today. The
    reference is the next free one; another person saving first would take it.
    """
    plan = plan_request(ws, spec)
    org = ws.settings.organisation
    today = clock.local_date(now, ws.settings.tz)
    with transaction(ws.engine) as session:  # reads only
        case = existing_case(session, spec.case_id) if spec.case_id is not None else None
        ref = next_ref(session, org.reference_prefix, today.year)
    variables = case_variables(plan.template, case.facts if case else {}, spec.variables)
    missing = [v.name for v in plan.template.variables
               if v.required and not variables.get(v.name, "").strip()]
    if missing:  # said here in words for a form; the CLI's renderer names --var instead
        raise InputError(f"missing values for {', '.join(missing)}: letter "
                         f"{plan.template.label} needs every field marked required")
    case_title = case.title if case else spec.case_title or plan.template.title
    request = Request(ref=ref, case_id=spec.case_id or 0, platform_slug=plan.platform.slug,
                      template=plan.template.id, language=plan.language,
                      recipient=plan.recipient, channel=plan.channel,
                      deadline_rule=plan.rule.text, variables=variables)
    letter = Message(direction="out", status="draft", kind=plan.template.kind,
                     template=plan.template.id, language=plan.language, variables=variables,
                     channel=plan.channel, to_addrs=plan.recipient)
    first = render_unsaved(ws, request, letter, case_title, today)
    letters = [PreviewLetter(plan.language, first.rendered.subject, first.rendered.text)]
    for other in template_languages(ws, plan.template.id):
        if other == plan.language:
            continue
        try:
            shown = render_unsaved(ws, request, letter, case_title, today, language=other)
        except TrackerError as exc:  # e.g. a variable only that version needs
            letters.append(PreviewLetter(other, "", "", str(exc)))
        else:
            letters.append(PreviewLetter(other, shown.rendered.subject, shown.rendered.text))
    # The day the letter names; the request's own clock starts when it is sent.
    due_on = apply_rule(today, plan.rule, ws.calendar_for(plan.platform.slug))
    return Preview(ref, plan, case_title, due_on, variables, tuple(letters))


def template_languages(ws: Workspace, template_id: str) -> list[str]:
    """The languages template *template_id* is written in, in tracker's order."""
    return [language for language in LANGUAGES if (template_id, language) in ws.templates]


# ---------------------------------------------------------------- what the form offers


@dataclass(frozen=True)
class CaseChoice:
    id: int
    title: str
    account: str
    incident_on: date | None


def list_cases(ws: Workspace) -> list[CaseChoice]:
    """Every case, oldest first (for `tracker case list` and the new-request form)."""
    with transaction(ws.engine) as session:
        cases = session.exec(select(Case).order_by(col(Case.id))).all()
        return [CaseChoice(c.id or 0, c.title, c.account, c.incident_on) for c in cases]


@dataclass(frozen=True)
class FormChoices:
    """What the new-request form offers, and what it shows of the chosen platform and template.

    *platform* and *template* are None while none (or an unknown one) is chosen; *template*
    is in *language*, or in its first language when it has no version in the one asked for.
    """

    platforms: list[Platform]
    templates: list[LetterTemplate]  # initial letters, one per id, in the workspace's language
    cases: list[CaseChoice]
    platform: Platform | None
    recipient: Contact | None
    template: LetterTemplate | None
    languages: list[str]
    language: str
    deadline: DeadlineRule


def form_choices(ws: Workspace, platform: str = "", template: str = "",
                 language: str = "") -> FormChoices:
    """The platforms, letter templates and cases to choose from, and the details of the
    chosen *platform* and *template* (an unknown name is simply not chosen)."""
    org = ws.settings.organisation
    by_id: dict[str, LetterTemplate] = {}
    for (template_id, lang), found in sorted(ws.templates.items()):
        if found.kind != "initial":
            continue
        if template_id not in by_id or lang == org.language:
            by_id[template_id] = found
    chosen_platform: Platform | None
    try:
        chosen_platform = find_platform(ws.platforms, platform) if platform.strip() else None
    except NotFoundError:
        chosen_platform = None
    chosen = by_id.get(template.strip())
    languages = template_languages(ws, chosen.id) if chosen else list(LANGUAGES)
    language = language if language in languages else (
        org.language if org.language in languages else languages[0])
    if chosen is not None:
        chosen = ws.templates[(chosen.id, language)]
    rule_text = (chosen.deadline if chosen else None) or org.default_deadline
    return FormChoices(
        platforms=sorted(ws.platforms.values(), key=lambda p: p.name.lower()),
        templates=sorted(by_id.values(), key=lambda t: t.id), cases=list_cases(ws),
        platform=chosen_platform,
        recipient=chosen_platform.default_recipient() if chosen_platform else None,
        template=chosen, languages=languages, language=language,
        deadline=parse_rule(rule_text, default=org.default_deadline))
