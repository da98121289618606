"""The interface in Simplified Chinese: every word the pages show has a translation, and a
person who picked zh-Hans gets the pages in it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from web_client import Site

from tracker.services import users
from tracker.web.i18n import LOCALE_DIR, gettext_for

ROOT = Path(__file__).resolve().parent.parent
CATALOG = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def _extracted() -> set[str]:
    """The msgids `pybabel extract -F babel.cfg -k N_` finds, through Babel's own API."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_word_of_the_pages_has_a_chinese_translation() -> None:
    catalog = {m.id: m.string for m in read_po(CATALOG.open("rb")) if m.id}
    words = _extracted()
    assert len(words) > 50
    untranslated = sorted(w for w in words if not catalog.get(w))
    assert untranslated == [], "add these to messages.po (see tracker/web/i18n.py)"
    stale = sorted(set(catalog) - words)
    assert stale == [], "no page uses these any more: remove them from messages.po"


def test_the_catalog_is_read_at_start() -> None:
    assert gettext_for("zh-Hans").gettext("Sign in") == "登录"
    assert gettext_for("en").gettext("Sign in") == "Sign in"
    assert gettext_for("xx").gettext("Sign in") == "Sign in"


def test_a_person_who_chose_chinese_gets_chinese_pages(demo_site: Site) -> None:
    browser = demo_site.signed_in("editor")
    assert browser.post("/account/language", {"language": "zh-Hans"},
                        token=browser.session_token()).status_code == 303
    page = browser.page("/")
    assert page.html is not None and page.html["lang"] == "zh-Hans"
    assert page.find("h1").get_text() == "总览"
    nav = [a.get_text() for a in page.select("nav a")]
    assert "收件箱" in nav and "周报" in nav
    assert page.find("button", string="退出登录") is not None
    # Others keep theirs.
    assert demo_site.signed_in("viewer").page("/").find("h1").get_text() == "Dashboard"
    assert {u.name: u.language for u in users.list_users(demo_site.ws)}["editor"] == "zh-Hans"
