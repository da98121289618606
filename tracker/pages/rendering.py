"""The Jinja2 environment of tracker's HTML pages, and how its output is escaped.

Autoescaping is on for every template: a value printed with ``{{ }}`` is escaped unless it is
``Markup`` (a macro's output, or a value a page marks ``|safe`` with a comment saying why).
Text from mail and people is never marked safe.

Values are escaped as ``html.escape(text, quote=True)`` does (``"`` as ``&quot;``, ``'`` as
``&#x27;``), not as markupsafe does (``&#34;``, ``&#39;``): the same characters are escaped, and
the pages keep the exact bytes tracker wrote before it used templates. An evidence bundle's
timeline.html is hashed in its manifest, so the same data must give the same bytes in every
version. Two things still print markupsafe's entities, and the pages avoid both: a constant
expression (``{{ "it's" }}``, which Jinja escapes when it compiles the template; write fixed
text as template text instead) and ``~`` joining ``Markup`` with text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def escape_value(value: object) -> Markup:
    """*value* as escaped HTML (``html.escape``); ``Markup`` stays as it is.

    This is the environment's ``finalize``: Jinja calls it on every ``{{ }}`` value before its
    own autoescape, which leaves the ``Markup`` it returns alone.
    """
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))  # noqa: S704 (escaped right here)


def create_environment(*search_path: Path) -> jinja2.Environment:
    """A new environment that finds templates in *search_path* first, then tracker's own.

    Its templates can extend ``base.html``. A missing name is an error (``StrictUndefined``),
    never an empty string. Block tags take their line with them (``trim_blocks``,
    ``lstrip_blocks``), so templates can be indented without changing the output.
    """
    loader = jinja2.FileSystemLoader([*search_path, TEMPLATES_DIR])
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        finalize=escape_value,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the shipped templates do not change while tracker runs
    )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment of tracker's own pages (compiled templates are cached in it)."""
    return create_environment()


def render_page(name: str, context: Mapping[str, Any]) -> str:
    """Render the page template *name* (e.g. ``letter.html``) with *context*."""
    return environment().get_template(name).render(context)
