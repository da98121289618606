"""Letter templates: the built-in set, loading, overriding, strict and safe rendering."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tracker.core.errors import InputError, NotFoundError, TemplateError
from tracker.letters.loading import (
    LANGUAGES,
    LetterTemplate,
    builtin_templates_dir,
    example_variables,
    get_template,
    load_templates,
    parse_var_assignments,
)
from tracker.letters.rendering import check_template, longdate, render_letter
from tracker.mail.headers import check_header_value

# id -> (kind, default deadline rule)
BUILTIN = {
    "account-suspension": ("initial", "30d"),
    "gdpr-access": ("initial", "gdpr"),
    "dsa-statement-of-reasons": ("initial", "dsa"),
    "follow-up": ("follow-up", None),
    "final-notice": ("follow-up", None),
}
ALL = [(tid, lang) for tid in BUILTIN for lang in LANGUAGES]

# Citations each letter must carry, by language.
CITATIONS = {
    ("account-suspension", "en"): ["Principles 29 and 31", "Article 15", "Article 17"],
    ("account-suspension", "zh-Hans"): ["原则29及原则31", "第15条", "第17条"],
    ("gdpr-access", "en"): ["Art. 15", "Art. 22(3)", "Art. 12(3)", "Art. 77"],
    ("gdpr-access", "zh-Hans"): ["第15条", "第22条第3款", "第12条第3款", "第77条"],
    ("dsa-statement-of-reasons", "en"): ["Art. 17(3)", "Art. 20(4)", "Art. 21", "Art. 53"],
    ("dsa-statement-of-reasons", "zh-Hans"): ["第17条第3款", "第20条第4款", "第21条", "第53条"],
    ("follow-up", "en"): [],
    ("follow-up", "zh-Hans"): [],
    ("final-notice", "en"): [],
    ("final-notice", "zh-Hans"): [],
}
LETTER_DATE = {"en": "3 August 2020", "zh-Hans": "2020年8月3日"}
ORIGINAL_DATE = {"en": "15 June 2020", "zh-Hans": "2020年6月15日"}

FRONT = """{#---
title = "Test letter"
subject = "About {{ account }}"
kind = "initial"

[[variables]]
name = "account"
description = "The account"
required = true
example = "a@example.org"
---#}
"""


def make_context(kind: str = "initial", **overrides: Any) -> dict[str, Any]:
    """A realistic context, as tracker builds it (objects and mappings both work)."""
    context: dict[str, Any] = {
        "org": SimpleNamespace(
            name="Example Diaspora Association",
            signatory="Jane Doe, Director",
            email="inquiries@org.example",
            address="1 Example Street\nLondon N1 1AA",
        ),
        "platform": {
            "name": "Zoom",
            "entity": "Zoom Video Communications, Inc.",
            "address": "55 Almaden Boulevard\nSan Jose, CA 95113",
        },
        "request": {
            "ref": "HC-2020-0007",
            "recipient": "privacy@zoom.example",
            "deadline": "30 days",
            "due_on": date(2020, 7, 15),
        },
        "case": {"title": "Account closed after the 4 June commemoration"},
        "letter_date": date(2020, 8, 3),
        "original": None,
        "medium": "email",
    }
    if kind == "follow-up":
        context["original"] = {
            "date": date(2020, 6, 15),
            "subject": "Suspension of the account hrgroup@example.org",
            "days_without_response": 49,
            "business_days_without_response": 35,
            "due_on": date(2020, 7, 15),
            "deadline": "30 days",
            "legal_basis": "GDPR Art. 15, Art. 22; Art. 12(3)",
            "overdue_by_days": 19,
            "ref": "HC-2020-0007",
        }
    context.update(overrides)
    return context


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def builtins() -> dict[tuple[str, str], LetterTemplate]:
    return load_templates()


# --- the built-in set ------------------------------------------------------------------------


def test_builtin_set_is_complete_in_both_languages(builtins):
    assert set(builtins) == set(ALL)
    assert all(t.origin == "builtin" for t in builtins.values())
    assert {p.name for p in builtin_templates_dir().glob("*.j2")} == {
        f"{tid}.{lang}.j2" for tid, lang in ALL
    }


@pytest.mark.parametrize("template_id", list(BUILTIN))
def test_both_languages_agree_on_variables_kind_and_deadline(builtins, template_id):
    en, zh = builtins[(template_id, "en")], builtins[(template_id, "zh-Hans")]
    assert [(v.name, v.required) for v in en.variables] == [
        (v.name, v.required) for v in zh.variables
    ]
    assert (en.kind, en.deadline) == (zh.kind, zh.deadline) == BUILTIN[template_id]


@pytest.mark.parametrize(("template_id", "language"), ALL)
def test_every_variable_is_documented_with_an_example(builtins, template_id, language):
    template = builtins[(template_id, language)]
    for variable in template.variables:
        assert variable.description, variable.name
        assert variable.example, variable.name
    assert example_variables(template) == {v.name: v.example for v in template.variables}
    check_template(template)  # body and subject compile


@pytest.mark.parametrize(("template_id", "language"), ALL)
def test_builtin_renders_with_examples(builtins, template_id, language):
    template = builtins[(template_id, language)]
    variables = example_variables(template)
    letter = render_letter(template, variables, make_context(template.kind))

    assert "Zoom" in letter.text
    assert "Zoom Video Communications, Inc." in letter.text
    assert "HC-2020-0007" in letter.text
    assert LETTER_DATE[language] in letter.text
    assert "Jane Doe, Director" in letter.text
    for citation in CITATIONS[(template_id, language)]:
        assert citation in letter.text, citation
    for name, value in variables.items():
        assert value in letter.text or value in letter.subject, name
    if template.kind == "follow-up":
        assert ORIGINAL_DATE[language] in letter.text
        assert "49" in letter.text and "35" in letter.text  # days, business days
        assert "19" in letter.text  # days overdue
    assert "\n" not in letter.subject and letter.subject.strip() == letter.subject
    assert "{{" not in letter.text and "{%" not in letter.text
    assert "\n\n\n" not in letter.text
    assert letter.text.endswith("Jane Doe, Director\nExample Diaspora Association\n")
    assert f'<html lang="{language}">' in letter.html


@pytest.mark.parametrize(("template_id", "language"), ALL)
def test_builtin_renders_with_only_required_variables(builtins, template_id, language):
    template = builtins[(template_id, language)]
    required = {v.name: v.example for v in template.variables if v.required}
    optional = [v.example for v in template.variables if not v.required]
    context = make_context(template.kind)
    context["platform"] = {"name": "Zoom", "entity": "", "address": ""}
    context["org"] = {
        "name": "Example Group",
        "signatory": "",
        "email": "a@b.example",
        "address": "",
    }
    letter = render_letter(template, required, context)
    assert "HC-2020-0007" in letter.text
    assert letter.text.endswith("Example Group\n")
    for example in optional:
        assert example not in letter.text and example not in letter.subject


@pytest.mark.parametrize(
    ("template_id", "language", "without_notice"),
    [
        ("account-suspension", "en", "We have received no explanation of this decision"),
        ("account-suspension", "zh-Hans", "贵方未就此决定向我方作出任何说明"),
        ("dsa-statement-of-reasons", "en", "We have received no statement of the reasons"),
        ("dsa-statement-of-reasons", "zh-Hans", "我方迄今未收到关于该决定的任何理由说明"),
    ],
)
def test_optional_notice_switches_the_sentence(builtins, template_id, language, without_notice):
    template = builtins[(template_id, language)]
    variables = example_variables(template)
    with_notice = render_letter(template, variables, make_context()).text
    assert variables["notice_received"] in with_notice
    assert without_notice not in with_notice
    variables["notice_received"] = ""
    assert without_notice in render_letter(template, variables, make_context()).text


def test_follow_up_before_the_due_date_says_expires_not_expired(builtins):
    context = make_context("follow-up")
    context["original"].update(due_on=date(2020, 8, 20), overdue_by_days=0)
    text = render_letter(builtins[("follow-up", "en")], {}, context).text
    assert "expires on 20 August 2020" in text
    assert "overdue" not in text


# --- strict variables ------------------------------------------------------------------------


def test_missing_variables_are_all_named(builtins):
    template = builtins[("account-suspension", "en")]
    with pytest.raises(TemplateError) as caught:
        render_letter(template, {"account": "  "}, make_context())
    assert str(caught.value) == (
        "missing variables for account-suspension (en): account, suspension_date; "
        "set each with --var NAME=VALUE"
    )


def test_undeclared_names_used_by_the_template_count_as_missing(tmp_path):
    write(tmp_path, "custom.en.j2", FRONT + "{{ account }} was closed on {{ incident_date }}.\n")
    template = load_templates([tmp_path])[("custom", "en")]
    with pytest.raises(TemplateError) as caught:
        render_letter(template, {}, make_context())
    assert str(caught.value) == (
        "missing variables for custom (en): account, incident_date; set each with --var NAME=VALUE"
    )
    # ... and can then be supplied like declared ones
    letter = render_letter(template, {"account": "x", "incident_date": "1 May"}, make_context())
    assert letter.text == "x was closed on 1 May.\n"


def test_unknown_variable_is_refused_with_the_declared_ones(builtins):
    template = builtins[("follow-up", "en")]
    with pytest.raises(InputError) as caught:
        render_letter(template, {"tciket": "1", "ticket": "2"}, make_context("follow-up"))
    assert "unknown variables for follow-up (en): tciket" in str(caught.value)
    assert "declares: note, ticket" in str(caught.value)


def test_user_variable_cannot_replace_the_context(builtins):
    template = builtins[("follow-up", "en")]
    with pytest.raises(InputError, match="org clash"):
        render_letter(template, {"org": "Someone else"}, make_context("follow-up"))


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"original": None}, r"follow-up\.en\.j2 line \d+: .*None"),
        ({"original": "missing"}, r"follow-up\.en\.j2 uses original, which the rendering"),
    ],
)
def test_follow_up_without_original_is_a_template_error(builtins, context, message):
    full = make_context("follow-up")
    if context["original"] == "missing":
        del full["original"]
    else:
        full.update(context)
    with pytest.raises(TemplateError, match=message):
        render_letter(builtins[("follow-up", "en")], {}, full)


# --- values are data -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["{{ 7*7 }}", "{% if true %}yes{% endif %}", "{# x #}"])
def test_user_values_are_never_evaluated(builtins, value):
    template = builtins[("account-suspension", "en")]
    variables = {"account": value, "suspension_date": "7 June 2020", "background": value}
    letter = render_letter(template, variables, make_context())
    assert f"account {value}" in letter.text
    assert letter.subject == f"Suspension of the account {value}: request for an explanation"


def test_html_escapes_everything_from_variables(builtins):
    template = builtins[("account-suspension", "en")]
    evil = '<script>alert("x")</script> & co'
    variables = {"account": evil, "suspension_date": "7 June 2020"}
    letter = render_letter(template, variables, make_context())
    assert evil in letter.text  # the plain text is plain
    assert "<script>" not in letter.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in letter.html
    assert '<meta charset="utf-8">' in letter.html
    assert "<p>Dear Sir or Madam,</p>" in letter.html
    assert "1 Example Street<br>\nLondon N1 1AA" in letter.html


@pytest.mark.parametrize(
    ("template_id", "variable", "kind"),
    [("account-suspension", "account", "initial"), ("follow-up", "ticket", "follow-up")],
)
@pytest.mark.parametrize("bad", ["x\r\nBcc: victim@example.org", "x\nBcc: y", "x\ry", "x\x00y"])
def test_header_injection_through_a_subject_variable(builtins, template_id, variable, kind, bad):
    template = builtins[(template_id, "en")]
    variables = {**example_variables(template), variable: bad}
    with pytest.raises(InputError, match=f"variable {variable} .*line break or control"):
        render_letter(template, variables, make_context(kind))


def test_header_injection_through_the_context_is_refused_too(builtins):
    context = make_context("follow-up")
    context["original"]["subject"] = "Hello\r\nBcc: victim@example.org"
    with pytest.raises(InputError, match="subject contains a line break"):
        render_letter(builtins[("follow-up", "en")], {}, context)


def test_line_breaks_outside_the_subject_are_fine(builtins):
    template = builtins[("account-suspension", "en")]
    variables = {**example_variables(template), "background": "First line.\nSecond line."}
    letter = render_letter(template, variables, make_context())
    assert "First line.\nSecond line." in letter.text
    assert "First line.<br>\nSecond line." in letter.html


def test_multi_line_subject_template_is_collapsed_to_one_line(tmp_path):
    multi_line = 'subject = """About\n   {{ account }}"""'
    front = FRONT.replace('subject = "About {{ account }}"', multi_line)
    write(tmp_path, "multi.en.j2", front + "Body {{ account }}\n")
    template = load_templates([tmp_path])[("multi", "en")]
    assert render_letter(template, {"account": "x"}, make_context()).subject == "About x"


def test_sandbox_blocks_attribute_tricks(tmp_path):
    write(tmp_path, "evil.en.j2", FRONT + "{{ account }}\n{{ ''.__class__.__mro__ }}\n")
    template = load_templates([tmp_path])[("evil", "en")]
    with pytest.raises(TemplateError, match=r"evil\.en\.j2 line 13: .*unsafe"):
        render_letter(template, {"account": "x"}, make_context())


# --- template errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hello {{ account }\n", "letter template broken.en.j2 line 12: unexpected '}'"),
        ("a\n\n{% endif %}\n", "letter template broken.en.j2 line 14: Encountered unknown tag"),
        ("{% if account %}\nunclosed\n", "letter template broken.en.j2 line 1"),
        ("ok\n{{ letter_date|longdate }} {{ account|nosuchfilter }}\n", "line 13: No filter"),
        ("ok\n{{ request.due_on|longdate }}\n", "line 13: longdate needs a date, got None"),
    ],
)
def test_template_errors_name_the_file_and_line(tmp_path, body, message):
    write(tmp_path, "broken.en.j2", FRONT + body)
    template = load_templates([tmp_path])[("broken", "en")]
    context = make_context(request={"ref": "HC-1", "due_on": None})
    with pytest.raises(TemplateError) as caught:
        render_letter(template, {"account": "x"}, context)
    assert str(caught.value).startswith("letter template broken.en.j2 line ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_subject_syntax_error_points_at_the_subject_line(tmp_path):
    front = FRONT.replace('"About {{ account }}"', '"About {{ account }"')
    write(tmp_path, "subj.en.j2", front + "Body\n")
    template = load_templates([tmp_path])[("subj", "en")]
    with pytest.raises(TemplateError, match=r"^letter template subj\.en\.j2 line 3: subject: "):
        check_template(template)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("letter.fr.j2", FRONT, "letter.fr.j2: the file name must be <id>.<language>.j2"),
        ("letter.j2", FRONT, "letter.j2: the file name must be"),
        ("Letter_X.en.j2", FRONT, "template id 'Letter_X' must be lower-case"),
        ("x.en.j2", "Dear Sir,\n", "x.en.j2 line 1: the file must start with a '{#---' line"),
        ("x.en.j2", "{#---\ntitle = 'T'\n", "x.en.j2 line 1: the front matter is not closed"),
        ("x.en.j2", FRONT.replace('title = "Test letter"', 'title = "Test'), "line 2: front "),
        ("x.en.j2", FRONT.replace('title = "Test letter"\n', ""), "'title' is required"),
        ("x.en.j2", FRONT.replace('title = "Test letter"', 'title = " "'), "'title' is required"),
        ("x.en.j2", FRONT.replace('subject = "About {{ account }}"\n', ""), "'subject' is"),
        (
            "x.en.j2",
            FRONT.replace("kind =", 'colour = "red"\nkind ='),
            "line 4: front matter: unknown key 'colour'",
        ),
        ("x.en.j2", FRONT.replace("kind =", 'id = "y"\nkind ='), "id = 'y' does not match"),
        ("x.en.j2", FRONT.replace("kind =", 'language = "zh-Hans"\nkind ='), "does not match"),
        ("x.en.j2", FRONT.replace('"initial"', '"reminder"'), "kind = 'reminder' must be one of"),
        (
            "x.en.j2",
            FRONT.replace("kind =", 'deadline = "30 days"\nkind ='),
            "line 4: front matter: deadline = '30 days' must be a rule",
        ),
        (
            "x.en.j2",
            FRONT.replace("required = true", "required = 1"),
            "line 6: front matter: [[variables]] #1: required must be true or false",
        ),
        ("x.en.j2", FRONT.replace('"account"', '"2nd"'), "#1: name '2nd' must be an identifier"),
        ("x.en.j2", FRONT.replace('"account"', '"org"'), "name 'org' is reserved"),
        (
            "x.en.j2",
            FRONT.replace("example =", 'colour = "red"\nexample ='),
            "#1: unknown key 'colour'",
        ),
        (
            "x.en.j2",
            FRONT.replace("---#}", '[[variables]]\nname = "account"\n---#}'),
            "line 11: front matter: [[variables]] #2: variable 'account' is declared twice",
        ),
    ],
)
def test_bad_front_matter_is_a_template_error(tmp_path, name, text, message):
    write(tmp_path, name, text + "Body\n")
    with pytest.raises(TemplateError) as caught:
        load_templates([tmp_path])
    assert str(caught.value).startswith("letter template ")
    assert message in str(caught.value)


def test_front_matter_id_and_language_may_repeat_the_file_name(tmp_path):
    text = FRONT.replace("kind =", 'id = "same"\nlanguage = "en"\nkind =')
    write(tmp_path, "same.en.j2", text + "Body\n")
    assert load_templates([tmp_path])[("same", "en")].title == "Test letter"


def test_body_excludes_the_front_matter_and_keeps_its_line(tmp_path):
    write(tmp_path, "plain.en.j2", FRONT + "Line one\nLine two\n")
    template = load_templates([tmp_path])[("plain", "en")]
    assert template.body == "Line one\nLine two\n"
    assert template.body_line == 12
    assert template.subject_line == 3


# --- workspace templates ---------------------------------------------------------------------


def test_workspace_overrides_builtin_and_adds_new_templates(tmp_path):
    workspace = tmp_path / "templates"
    override = FRONT.replace('"Test letter"', '"Our own suspension letter"')
    write(workspace, "account-suspension.en.j2", override + "Ours: {{ account }}\n")
    write(workspace, "thanks.zh-Hans.j2", FRONT + "谢谢 {{ account }}\n")
    write(workspace, "README.md", "not a template")

    templates = load_templates([workspace, tmp_path / "does-not-exist"])

    ours = templates[("account-suspension", "en")]
    assert (ours.origin, ours.title, ours.path) == (
        "workspace",
        "Our own suspension letter",
        workspace / "account-suspension.en.j2",
    )
    assert render_letter(ours, {"account": "x"}, make_context()).text == "Ours: x\n"
    assert templates[("account-suspension", "zh-Hans")].origin == "builtin"
    assert templates[("thanks", "zh-Hans")].origin == "workspace"
    assert len(templates) == len(ALL) + 1


@pytest.mark.parametrize(
    ("template_id", "language", "message"),
    [
        ("acount-suspension", "en", "did you mean: account-suspension"),
        ("gdpr-acess", "zh-Hans", "did you mean: gdpr-access"),
        ("account-suspension", "fr", "has no 'fr' version (available: en, zh-Hans)"),
        ("thanks", "en", "has no 'en' version (available: zh-Hans)"),
    ],
)
def test_get_template_explains_what_exists(tmp_path, template_id, language, message):
    write(tmp_path, "thanks.zh-Hans.j2", FRONT + "谢谢\n")
    templates = load_templates([tmp_path])
    with pytest.raises(NotFoundError) as caught:
        get_template(templates, template_id, language)
    assert message in str(caught.value)


def test_get_template_finds_an_existing_one(builtins):
    found = get_template(builtins, "gdpr-access", "zh-Hans")
    assert (found.id, found.language, found.deadline) == ("gdpr-access", "zh-Hans", "gdpr")


def test_to_dict_is_json_with_the_documented_keys(builtins):
    data = builtins[("gdpr-access", "en")].to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "id",
        "language",
        "title",
        "kind",
        "deadline",
        "legal_basis",
        "origin",
        "path",
        "variables",
    }
    assert data["variables"][0] == {
        "name": "account",
        "description": data["variables"][0]["description"],
        "required": True,
        "example": "hrgroup@example.org",
    }
    assert Path(str(data["path"])).name == "gdpr-access.en.j2"


# --- small pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], {}),
        (["account=hr@example.org"], {"account": "hr@example.org"}),
        (["url=https://x.example/?a=b=c"], {"url": "https://x.example/?a=b=c"}),
        (["note="], {"note": ""}),
        (["_x1=  spaced  "], {"_x1": "  spaced  "}),
        (["a=1", "a=1"], {"a": "1"}),
    ],
)
def test_parse_var_assignments(items, expected):
    assert parse_var_assignments(items) == expected


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["account"], "has no '='"),
        (["=x"], "'' is not a valid variable name"),
        (["1st=x"], "'1st' is not a valid"),
        (["incident-date=x"], "'incident-date' is not a valid"),
        (["if=x"], "'if' is not a valid"),
        (["a=1", "a=2"], "given twice"),
    ],
)
def test_parse_var_assignments_refuses(items, message):
    with pytest.raises(InputError, match=re.escape(message)):
        parse_var_assignments(items)


@pytest.mark.parametrize("value", ["Plain subject", "关于账户的说明要求", "", "a\u00a0b"])
def test_check_header_value_accepts_one_line(value):
    assert check_header_value("subject", value) == value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("a\r\nb", "U+000D"),
        ("a\nb", "U+000A"),
        ("a\x00", "U+0000"),
        ("\tx", "U+0009"),
        ("a\x7f", "U+007F"),
        ("a\u2028b", "U+2028"),
        ("a\x85b", "U+0085"),
    ],
)
def test_check_header_value_refuses_breaks_and_controls(value, code):
    with pytest.raises(InputError, match=rf"^to contains a line break .*\({re.escape(code)}\)"):
        check_header_value("to", value)


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (date(2020, 6, 8), "en", "8 June 2020"),
        (date(2020, 6, 8), "zh-Hans", "2020年6月8日"),
        (date(2021, 12, 31), "en", "31 December 2021"),
        (datetime(2020, 1, 2, 23, 59), "zh-Hans", "2020年1月2日"),
        ("2020-06-04", "en", "4 June 2020"),
    ],
)
def test_longdate(value, language, expected):
    assert longdate(value, language) == expected


@pytest.mark.parametrize("value", [None, 20200608, "June 8"])
def test_longdate_refuses_non_dates(value):
    with pytest.raises((TypeError, ValueError), match="longdate needs a date"):
        longdate(value)


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "8 June 2020"), ("zh-Hans", "2020年6月8日")]
)
def test_longdate_filter_follows_the_template_language(tmp_path, language, expected):
    write(tmp_path, f"d.{language}.j2", FRONT + "{{ account }} {{ letter_date|longdate }}\n")
    template = load_templates([tmp_path])[("d", language)]
    letter = render_letter(template, {"account": "x"}, make_context(letter_date=date(2020, 6, 8)))
    assert letter.text == f"x {expected}\n"


@pytest.mark.parametrize(
    ("days", "language", "expected"),
    [
        ([], "en", ""),
        ([date(2020, 7, 20)], "en", "20 July 2020"),
        ([date(2020, 7, 20), date(2020, 8, 3)], "en", "20 July 2020 and 3 August 2020"),
        ([date(2020, 7, 1), date(2020, 7, 15), date(2020, 8, 3)], "en",
         "1 July 2020, 15 July 2020 and 3 August 2020"),
        ([date(2020, 7, 20), date(2020, 8, 3)], "zh-Hans", "2020年7月20日、2020年8月3日"),
    ],
)
def test_longdates(days, language, expected):
    from tracker.letters.rendering import longdates

    assert longdates(days, language) == expected


FILL = dict(letter_date=date(2020, 9, 1), final_notice_days=14, ticket="Request #4411",
            authority="the Irish Data Protection Commission", reminders_on=[date(2020, 7, 20)])


@pytest.mark.parametrize(
    ("template_id", "language", "given", "fill", "expected"),
    [
        ("final-notice", "en", {}, {}, {
            "ticket": "Request #4411", "final_deadline": "15 September 2020",
            "authority": "the Irish Data Protection Commission",
            "reminder_dates": "20 July 2020"}),
        ("final-notice", "zh-Hans", {}, {"authority": "爱尔兰数据保护委员会"}, {
            "ticket": "Request #4411", "final_deadline": "2020年9月15日",
            "authority": "爱尔兰数据保护委员会", "reminder_dates": "2020年7月20日"}),
        # what staff gave wins; a blank given value counts as not given
        ("final-notice", "en", {"final_deadline": "30 September 2020", "ticket": " "}, {}, {
            "ticket": "Request #4411", "authority": "the Irish Data Protection Commission",
            "reminder_dates": "20 July 2020"}),
        # what tracker does not know is left out: the letter's own words apply
        ("final-notice", "en", {}, {"ticket": "", "authority": "", "reminders_on": []},
         {"final_deadline": "15 September 2020"}),
        ("final-notice", "en", {}, {"final_notice_days": 30},
         {"ticket": "Request #4411", "final_deadline": "1 October 2020",
          "authority": "the Irish Data Protection Commission",
          "reminder_dates": "20 July 2020"}),
        # only the names a template declares, and only in follow-up letters
        ("follow-up", "en", {}, {}, {"ticket": "Request #4411"}),
        ("account-suspension", "en", {}, {}, {}),
    ],
)
def test_filled_variables(builtins, template_id, language, given, fill, expected):
    from tracker.services.compose import filled_variables

    template = builtins[(template_id, language)]
    assert filled_variables(template, given, **{**FILL, **fill}) == expected


def test_a_ticket_from_mail_nobody_confirmed_never_goes_into_a_letter():
    from tracker.services.compose import platform_ticket
    from tracker.store.models import Message, Request

    def inbound(ticket: str, triage: str) -> Message:
        return Message(direction="in", status="received", kind="auto_reply", ticket=ticket,
                       triage=triage)

    request = Request(ref="HC-2020-0001", case_id=1, platform_slug="zoom", template="x",
                      language="en", deadline_rule="30d",
                      tickets=["Request #666", "Request #4411", "Request #5"])
    messages = [inbound("Request #666", "pending"), inbound("Request #4411", ""),
                inbound("Request #5", "linked")]
    assert platform_ticket(request, messages) == "Request #4411"
    assert platform_ticket(request, messages[:1]) == ""  # a suspicious reply waiting in triage
    dismissed = [inbound("Request #4411", "dismissed")]
    assert platform_ticket(request, dismissed) == ""
    assert platform_ticket(request, [inbound("Request #5", "linked")]) == "Request #5"
