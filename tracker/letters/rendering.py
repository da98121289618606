"""Rendering letters from their templates: the subject, the plain text and its HTML version.

Rendering is sandboxed and strict. Every name a template uses must come from the context that
tracker supplies (``org``, ``platform``, ``request``, ``case``, ``letter_date``, ``original``) or
from the user's variables; a missing one is an error, never a blank. Values are data: a user
value is inserted as text and never evaluated as template code, and the HTML version escapes
everything. Compiled templates are cached.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from tracker.core.errors import InputError, TemplateError, TrackerError
from tracker.letters.loading import CONTEXT_NAMES, LetterTemplate, template_error
from tracker.mail.headers import check_header_value
from tracker.pages import render_page

_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class RenderedLetter:
    """A rendered letter: a one-line subject, the plain text and an HTML version of it."""

    subject: str
    text: str
    html: str


def longdate(value: object, language: str = "en") -> str:
    """Format a date in words: ``8 June 2020`` (en), ``2020年6月8日`` (zh-Hans).

    Accepts a ``date``, a ``datetime`` or an ISO date string; anything else is an error,
    so that a missing date is never printed as an empty string or ``None``.
    """
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f"longdate needs a date, got {value!r}") from None
    if not isinstance(value, date):
        raise TypeError(f"longdate needs a date, got {value!r}")
    if language == "zh-Hans":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def longdates(values: Sequence[date], language: str = "en") -> str:
    """Several dates in words, each with its year: ``20 July 2020 and 3 August 2020`` (en),
    ``2020年7月20日、2020年8月3日`` (zh-Hans); ``""`` for none."""
    words = [longdate(value, language) for value in values]
    if language == "zh-Hans":
        return "、".join(words)
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _header_safe(value: object) -> object:
    # Every expression printed into the subject goes through here: a value from the context
    # (a case title, an earlier subject) must not smuggle a line break into the header either.
    if isinstance(value, str):
        check_header_value("subject", value)
    return value


@lru_cache(maxsize=8)
def _environment(language: str, for_subject: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # Plain text and a mail header: escaping would corrupt them. The HTML version is built
        # from the finished text by escaping all of it (see letter_html).
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_header_safe if for_subject else None,
    )
    env.filters["longdate"] = partial(longdate, language=language)
    return env


@dataclass(frozen=True)
class _Compiled:
    template: jinja2.Template
    names: frozenset[str]  # names the source uses without defining them


@lru_cache(maxsize=256)
def _compile(
    language: str, for_subject: bool, source: str, filename: str, first_line: int
) -> _Compiled:
    env = _environment(language, for_subject)
    part = "subject: " if for_subject else ""
    try:
        ast = env.parse(source)
        names = frozenset(meta.find_undeclared_variables(ast) - set(env.globals))
        return _Compiled(env.from_string(ast), names)
    except jinja2.TemplateSyntaxError as exc:
        line = first_line + (exc.lineno or 1) - 1
        raise template_error(filename, line, f"{part}{exc.message or 'syntax error'}") from None


def _compiled(template: LetterTemplate) -> tuple[_Compiled, _Compiled]:
    body = _compile(template.language, False, template.body, template.filename, template.body_line)
    subject = _compile(
        template.language, True, template.subject, template.filename, template.subject_line
    )
    return body, subject


def check_template(template: LetterTemplate) -> None:
    """Compile the body and subject now; TemplateError with file and line if either is broken."""
    _compiled(template)


def template_uses(template: LetterTemplate, name: str) -> bool:
    """Does *template*'s body use the name *name* (a context name such as ``medium``)?"""
    return name in _compiled(template)[0].names


def render_letter(
    template: LetterTemplate, variables: Mapping[str, str], context: Mapping[str, Any]
) -> RenderedLetter:
    """Render *template* with the user's *variables* and tracker's *context*.

    Raises InputError for unknown variables, values that cannot go into the subject, or
    variables that clash with context names; TemplateError for missing variables (all of them
    at once), a broken template or an error while rendering.
    """
    body, subject = _compiled(template)
    used = body.names | subject.names
    declared = {v.name for v in template.variables}

    unknown = sorted(set(variables) - declared - used)
    if unknown:
        raise InputError(
            f"unknown variables for {template.label}: {', '.join(unknown)}; "
            f"it declares: {', '.join(sorted(declared)) or '(none)'}"
        )
    clashing = sorted(set(variables) & (CONTEXT_NAMES | set(context)))
    if clashing:
        raise InputError(
            f"variables {', '.join(clashing)} clash with names tracker provides; rename them"
        )
    lacking_context = sorted((used & CONTEXT_NAMES) - set(context))
    if lacking_context:
        raise TemplateError(
            f"letter template {template.filename} uses {', '.join(lacking_context)}, which the "
            f"rendering context does not provide"
        )
    missing = {
        v.name
        for v in template.variables
        if v.required and not str(variables.get(v.name, "")).strip()
    }
    missing |= used - declared - set(context) - set(variables)
    if missing:
        raise TemplateError(
            f"missing variables for {template.label}: {', '.join(sorted(missing))}; "
            "set each with --var NAME=VALUE"
        )
    for name in sorted(subject.names & set(variables)):
        check_header_value(f"variable {name} (used in the subject)", variables[name])

    namespace: dict[str, Any] = dict(context)
    namespace.update({name: "" for name in declared})
    namespace.update(variables)

    raw_subject = _render(subject, namespace, template, template.subject_line, "subject: ")
    subject_text = " ".join(raw_subject.split())
    if not subject_text:
        raise template_error(template.filename, template.subject_line, "subject: renders as empty")
    check_header_value("subject", subject_text)
    text = _tidy(_render(body, namespace, template, template.body_line, ""))
    html_text = letter_html(text, subject_text, template.language)
    return RenderedLetter(subject=subject_text, text=text, html=html_text)


def _render(
    compiled: _Compiled,
    namespace: Mapping[str, Any],
    template: LetterTemplate,
    first_line: int,
    part: str,
) -> str:
    try:
        return compiled.template.render(namespace)
    except TrackerError:
        raise
    except Exception as exc:  # an error inside the template: name the file and line
        line = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == "<template>" and frame.lineno:
                line = first_line + frame.lineno - 1
        raise template_error(template.filename, line, f"{part}{exc}") from None


def _tidy(text: str) -> str:
    """Strip trailing spaces, keep at most one blank line in a row, end with one newline."""
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def letter_html(text: str, subject: str, language: str) -> str:
    """The letter as a minimal HTML page: every character of the text escaped.

    The page is ``letter.html`` in tracker.pages: a ``<p>`` per paragraph (paragraphs are
    separated by blank lines), a ``<br>`` at each line break within one.
    """
    return render_page(
        "letter.html", {"lang": language, "subject": subject, "paragraphs": paragraphs_of(text)}
    )


def paragraphs_of(text: str) -> list[list[str]]:
    """The paragraphs of *text* (separated by blank lines), each as its lines."""
    return [p.split("\n") for p in re.split(r"\n\s*\n", text.strip("\n")) if p.strip()]
