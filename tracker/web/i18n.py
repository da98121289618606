"""The interface in English and Simplified Chinese.

Templates mark their words with ``_()`` (Jinja2's i18n extension), views the words they pass
to a page with ``N_()``; the Chinese catalog is ``locale/zh_Hans/LC_MESSAGES/messages.po``,
read when the app starts, so no compiled file is kept in the source tree. A word without a
translation is shown in English; tests/test_web_i18n.py fails while one is missing.

After changing a page's words, from the top of the source tree::

    pybabel extract -F babel.cfg -k N_ --no-location --sort-output -o messages.pot .
    pybabel update -i messages.pot -d tracker/web/locale -l zh_Hans --no-fuzzy-matching

then translate the new empty ``msgstr`` entries.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "zh-Hans": "简体中文"}
_CATALOGS = {"zh-Hans": "zh_Hans"}


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The translations for *language* ("en" or "zh-Hans")."""
    folder = _CATALOGS.get(language)
    path = LOCALE_DIR / folder / "LC_MESSAGES" / "messages.po" if folder else None
    if path is None or not path.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=folder)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(language: str) -> gettext.NullTranslations:
    return translations(language if language in LANGUAGES else "en")
