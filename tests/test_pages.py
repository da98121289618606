"""HTML pages: one autoescaped environment, one base layout that every page (and the web face)
extends, escaping as html.escape does, and the templates shipped inside the package."""

from __future__ import annotations

import html
import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from markupsafe import Markup

import tracker
from tracker.pages import create_environment, environment, render_page
from tracker.pages.rendering import TEMPLATES_DIR, escape_value

PAGES = ["letter.html", "weekly_report.html", "evidence_timeline.html"]
HOSTILE = "<script>alert(\"x\")</script> & 'co'"


def test_values_are_escaped_as_html_escape_does() -> None:
    page = environment().from_string("<p title=\"{{ v }}\">{{ v }}</p>").render(v=HOSTILE)
    escaped = html.escape(HOSTILE, quote=True)
    assert page == f'<p title="{escaped}">{escaped}</p>'
    assert "&quot;" in page and "&#x27;" in page and "<script>" not in page


def test_markup_passes_and_everything_else_is_text() -> None:
    assert escape_value(Markup("<b>ok</b>")) == "<b>ok</b>"
    assert escape_value(3) == "3"
    assert escape_value("{{ x }}") == "{{ x }}"  # printed, never evaluated
    assert environment().autoescape is True


def test_a_missing_name_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_page("letter.html", {"lang": "en", "paragraphs": []})


def test_every_page_extends_the_base_layout() -> None:
    env = environment()
    for name in PAGES:
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        extends = list(env.parse(source).find_all(nodes.Extends))
        assert [e.template.value for e in extends] == ["base.html"], name  # type: ignore[attr-defined]


def test_no_page_marks_a_value_safe() -> None:
    # Text from mail is escaped everywhere; a page that needs |safe must say why (and here).
    for path in TEMPLATES_DIR.glob("*.html"):
        assert not re.search(r"\|\s*safe\b", path.read_text(encoding="utf-8")), path.name


def test_the_web_face_extends_the_same_base(tmp_path: Path) -> None:
    (tmp_path / "hello.html").write_text(
        '{% extends "base.html" %}\n'
        "{% block meta %}\n<meta name=\"robots\" content=\"noindex\">\n{% endblock %}\n"
        "{% block title %}Hello {{ who }}{% endblock %}\n"
        "{% block style %}\n<style>p{margin:0}</style>\n{% endblock %}\n"
        "{% block body_attributes %} class=\"web\"{% endblock %}\n"
        "{% block body %}\n<p>{{ who }}</p>\n{% endblock %}\n",
        encoding="utf-8",
    )
    page = create_environment(tmp_path).get_template("hello.html").render(lang="en", who="<O'Neil>")
    assert page == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="robots" content="noindex">\n'
        "<title>Hello &lt;O&#x27;Neil&gt;</title>\n"
        "<style>p{margin:0}</style>\n"
        "</head>\n"
        '<body class="web">\n'
        "<p>&lt;O&#x27;Neil&gt;</p>\n"
        "</body>\n"
        "</html>\n"
    )


def test_templates_are_package_data() -> None:
    # The wheel ships tracker/ whole (pyproject: packages = ["tracker"]), templates included.
    assert TEMPLATES_DIR.is_relative_to(Path(tracker.__file__).resolve().parent)
    assert {"base.html", *PAGES} <= {p.name for p in TEMPLATES_DIR.iterdir()}
