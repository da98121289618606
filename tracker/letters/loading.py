"""Letter templates: finding them, reading their front matter, and the user's variables.

A template is a file ``<id>.<language>.j2``: TOML front matter inside a Jinja comment, then the
letter body. The built-in templates ship with tracker; a workspace's ``templates/`` directory
overrides them or adds new ones, by (id, language). Loading reads only the front matter; the
body is compiled when a letter is rendered (tracker.letters.rendering). See docs/templates.md
for how to write a template.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.core.errors import InputError, NotFoundError, TemplateError, not_found

LANGUAGES = ("en", "zh-Hans")
KINDS = ("initial", "follow-up")
BUILTIN = "builtin"
WORKSPACE = "workspace"
#: Names tracker puts in the rendering context; user variables may not use them.
# medium: "email" for the letter as mailed (and its record), "print" for its PDF, whose page
# lays out the heading itself (see tracker.letters.pdf).
CONTEXT_NAMES = frozenset({"org", "platform", "request", "case", "letter_date", "original",
                           "medium"})

_FRONT_OPEN = "{#---"
_FRONT_CLOSE = "---#}"
_TOP_KEYS = ("id", "language", "title", "subject", "deadline", "legal_basis", "kind", "variables")
_VARIABLE_KEYS = ("name", "description", "required", "example")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
# The deadline rule itself ("30d", "20bd", "1m", "gdpr", ...) is parsed by the clock when a
# request is created; here only its shape is checked, so that a typo fails at load time.
_DEADLINE_RE = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_TOML_WHERE_RE = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")


@dataclass(frozen=True)
class Variable:
    """A value the user supplies for a template (``--var NAME=VALUE``)."""

    name: str
    description: str
    required: bool
    example: str


@dataclass(frozen=True)
class LetterTemplate:
    """One template file: its front matter, and its body source (not yet compiled).

    ``subject`` and ``body`` are Jinja sources. ``body_line`` and ``subject_line`` are the
    lines of the file where they start, so that errors point at the right line.
    """

    id: str
    language: str
    title: str
    subject: str
    kind: str
    variables: tuple[Variable, ...]
    deadline: str | None
    legal_basis: str
    path: Path
    origin: str
    body: str
    body_line: int = 1
    subject_line: int = 1

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """``account-suspension (en)``, as used in messages."""
        return f"{self.id} ({self.language})"

    def to_dict(self) -> dict[str, object]:
        """The template's metadata as JSON-ready values."""
        return {
            "id": self.id,
            "language": self.language,
            "title": self.title,
            "kind": self.kind,
            "deadline": self.deadline,
            "legal_basis": self.legal_basis,
            "origin": self.origin,
            "path": str(self.path),
            "variables": [
                {
                    "name": v.name,
                    "description": v.description,
                    "required": v.required,
                    "example": v.example,
                }
                for v in self.variables
            ],
        }


# --- loading ---------------------------------------------------------------------------------


def builtin_templates_dir() -> Path:
    """The directory of the templates that ship with tracker.

    A wheel carries them inside the package (``tracker/letter_templates``); a source checkout
    or an editable install has them in ``letter_templates/`` next to the package.
    """
    package = Path(__file__).resolve().parent.parent  # tracker/, above tracker/letters/
    inside = package / "letter_templates"
    return inside if inside.is_dir() else package.parent / "letter_templates"


def load_templates(extra_dirs: Sequence[Path] = ()) -> dict[tuple[str, str], LetterTemplate]:
    """Load the built-in templates, then each of *extra_dirs* on top, by (id, language).

    A later directory overrides a template of the same id and language and adds new ones.
    Directories that do not exist are skipped. Only the front matter is parsed here.
    """
    templates: dict[tuple[str, str], LetterTemplate] = {}
    sources = [(builtin_templates_dir(), BUILTIN)] + [(Path(d), WORKSPACE) for d in extra_dirs]
    for directory, origin in sources:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.j2")):
            template = load_template(path, origin)
            templates[(template.id, template.language)] = template
    return templates


def load_template(path: Path, origin: str = WORKSPACE) -> LetterTemplate:
    """Read one template file and parse its front matter; TemplateError if it is malformed."""
    name = path.name
    stem = name.removesuffix(".j2")
    template_id, _, language = stem.rpartition(".")
    if not template_id or language not in LANGUAGES:
        raise template_error(
            name,
            None,
            f"the file name must be <id>.<language>.j2 with language one of "
            f"{', '.join(LANGUAGES)}, e.g. account-suspension.en.j2",
        )
    if not _ID_RE.match(template_id):
        rule = "must be lower-case letters, digits, '-' and '_'"
        raise template_error(name, None, f"template id {template_id!r} {rule}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise template_error(name, None, f"not valid UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise template_error(name, None, f"cannot be read ({exc.strerror or exc})") from None
    front, body, body_line = _split_front_matter(text, name)
    data = _parse_toml(front, name)
    return _build_template(data, front, template_id, language, path, origin, body, body_line)


def _split_front_matter(text: str, name: str) -> tuple[str, str, int]:
    """Return the TOML text, the body and the file line on which the body starts."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[0].strip() != _FRONT_OPEN:
        rule = f"the file must start with a {_FRONT_OPEN!r} line (front matter)"
        raise template_error(name, 1, rule)
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == _FRONT_CLOSE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    raise template_error(name, 1, f"the front matter is not closed by a {_FRONT_CLOSE!r} line")


def _parse_toml(front: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE_RE.search(message)
        line = None
        if where:
            message = message[: where.start()]
            line = int(where.group(1)) + 1 if where.group(1) else None
        raise template_error(name, line, f"front matter: {message}") from None


def _build_template(
    data: dict[str, Any],
    front: str,
    template_id: str,
    language: str,
    path: Path,
    origin: str,
    body: str,
    body_line: int,
) -> LetterTemplate:
    name = path.name
    front_lines = front.split("\n")

    def fail(key: str, message: str) -> TemplateError:
        return template_error(name, _key_line(front_lines, key), f"front matter: {message}")

    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key {unknown[0]!r} (known: {', '.join(_TOP_KEYS)})")
    for key, expected in (("id", template_id), ("language", language)):
        if key in data and data[key] != expected:
            raise fail(key, f"{key} = {data[key]!r} does not match the file name ({expected!r})")
    for key in ("title", "subject"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"{key!r} is required and must be a non-empty string")
    kind = data.get("kind", "initial")
    if kind not in KINDS:
        raise fail("kind", f"kind = {kind!r} must be one of {', '.join(KINDS)}")
    deadline = data.get("deadline")
    if deadline is not None and not (isinstance(deadline, str) and _DEADLINE_RE.match(deadline)):
        raise fail("deadline", f"deadline = {deadline!r} must be a rule: 30d, 20bd, 1m, gdpr, ...")
    legal_basis = data.get("legal_basis", "")
    if not isinstance(legal_basis, str):
        raise fail("legal_basis", "legal_basis must be a string")
    return LetterTemplate(
        id=template_id,
        language=language,
        title=data["title"].strip(),
        subject=data["subject"],
        kind=kind,
        variables=_parse_variables(data.get("variables", []), front_lines, name),
        deadline=deadline,
        legal_basis=legal_basis.strip(),
        path=path,
        origin=origin,
        body=body,
        body_line=body_line,
        subject_line=_key_line(front_lines, "subject") or 1,
    )


def _parse_variables(raw: object, front_lines: list[str], name: str) -> tuple[Variable, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        line = _key_line(front_lines, "variables")
        raise template_error(name, line, "front matter: variables must be [[variables]] tables")
    result: list[Variable] = []
    for number, item in enumerate(raw, start=1):
        where = f"front matter: [[variables]] #{number}"
        line = _table_line(front_lines, number)

        def fail(message: str, where: str = where, line: int | None = line) -> TemplateError:
            return template_error(name, line, f"{where}: {message}")

        unknown = sorted(set(item) - set(_VARIABLE_KEYS))
        if unknown:
            raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(_VARIABLE_KEYS)})")
        var_name = item.get("name")
        if not isinstance(var_name, str) or not is_variable_name(var_name):
            raise fail(f"name {var_name!r} must be an identifier such as incident_date")
        if var_name in CONTEXT_NAMES:
            raise fail(f"name {var_name!r} is reserved for the context tracker provides")
        if any(v.name == var_name for v in result):
            raise fail(f"variable {var_name!r} is declared twice")
        description = item.get("description", "")
        example = item.get("example", "")
        required = item.get("required", True)
        if not isinstance(description, str) or not isinstance(example, str):
            raise fail("description and example must be strings")
        if not isinstance(required, bool):
            raise fail("required must be true or false")
        result.append(Variable(var_name, description.strip(), required, example))
    return tuple(result)


def _key_line(front_lines: list[str], key: str) -> int | None:
    pattern = re.compile(rf"\s*(\[\[)?\s*{re.escape(key)}\s*(=|\]\])")
    for index, line in enumerate(front_lines):
        if pattern.match(line):
            return index + 2  # the front matter starts on line 2 of the file
    return None


def _table_line(front_lines: list[str], number: int) -> int | None:
    seen = 0
    for index, line in enumerate(front_lines):
        if line.strip().startswith("[[variables]]"):
            seen += 1
            if seen == number:
                return index + 2
    return None


def template_error(filename: str, line: int | None, message: str) -> TemplateError:
    """The error for a broken template: ``letter template FILE line N: MESSAGE``, one line."""
    where = f" line {line}" if line else ""
    one_line = " ".join(message.splitlines())  # the CLI prints errors as one line
    return TemplateError(f"letter template {filename}{where}: {one_line}")


def get_template(
    templates: Mapping[tuple[str, str], LetterTemplate], template_id: str, language: str
) -> LetterTemplate:
    """The template *template_id* in *language*; NotFoundError with suggestions if absent."""
    found = templates.get((template_id, language))
    if found is not None:
        return found
    languages = sorted(lang for (tid, lang) in templates if tid == template_id)
    if languages:
        raise NotFoundError(
            f"letter template {template_id!r} has no {language!r} version "
            f"(available: {', '.join(languages)}); add {template_id}.{language}.j2 to the "
            f"workspace's templates/ directory, or choose one of the available languages"
        )
    ids = {tid for (tid, _) in templates}
    how = "templates are the files <id>.<language>.j2 in letter_templates/ and templates/"
    raise not_found("letter template", template_id, ids, how)


def template_versions(templates: Mapping[tuple[str, str], LetterTemplate],
                      template_id: str) -> list[LetterTemplate]:
    """Every language version of *template_id*, by language; NotFoundError with suggestions."""
    found = sorted((t for (tid, _), t in templates.items() if tid == template_id),
                   key=lambda t: t.language)
    if not found:
        ids = {tid for (tid, _) in templates}
        raise not_found("letter template", template_id, ids,
                        "templates are the files <id>.<language>.j2 in letter_templates/ and "
                        "templates/")
    return found


def templates_by_id(templates: Mapping[tuple[str, str], LetterTemplate]
                    ) -> list[list[LetterTemplate]]:
    """The templates grouped by id (sorted), each group's language versions by language."""
    groups: dict[str, list[LetterTemplate]] = {}
    for (tid, _), template in sorted(templates.items()):
        groups.setdefault(tid, []).append(template)
    return list(groups.values())


# --- variables -------------------------------------------------------------------------------


def is_variable_name(name: str) -> bool:
    """True for an ASCII identifier that Jinja can use as a plain name."""
    if not _NAME_RE.match(name) or keyword.iskeyword(name):
        return False
    return name not in {"true", "false", "none"}


def parse_var_assignments(items: Sequence[str]) -> dict[str, str]:
    """Turn ``["KEY=VALUE", ...]`` into a dict; the value may itself contain ``=``."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--var {item!r} has no '='; write it as NAME=VALUE")
        if not is_variable_name(key):
            raise InputError(
                f"--var {item!r}: {key!r} is not a valid variable name "
                "(letters, digits and '_', not starting with a digit)"
            )
        if key in result and result[key] != value:
            raise InputError(f"--var {key} is given twice with different values")
        result[key] = value
    return result


def example_variables(template: LetterTemplate) -> dict[str, str]:
    """The example value of every declared variable, by name (for previews and tests)."""
    return {v.name: v.example for v in template.variables}

