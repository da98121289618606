"""The platform's prose: its own text, in sentences, searched with the phrase tables.

Quoted copies of our letter are cut off (`own_text`), the rest is split into sentences, and the
tables of `tracker.mail.wording` are joined (`union`) and searched in them (`first_match`,
with `could_match` as a free shortcut); what matched is quoted in one safe line (`phrase`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["could_match", "first_match", "one_line", "own_text", "phrase", "sentences", "union"]


# --- the platform's own text ------------------------------------------------------------------

_QUOTE_STARTS = (
    re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}", re.I),
    re.compile(r"^\s*-{3,}\s*(原始邮件|原始郵件|原始信件|转发的邮件|轉寄的郵件)\s*-{3,}"),
    re.compile(r"^\s*(on|am|le|el)\b[^\n]{0,200}(\n[^\n]{0,120})?\b(wrote|schrieb|a écrit|"
               r"escribió)\s*:[ \t]*$", re.I | re.M),
    re.compile(r"^.{0,200}(写道|寫道)\s*[:：][ \t]*$", re.M),
    re.compile(r"^\s*(发件人|發件人|寄件者|寄件人)\s*[:：]"),
    re.compile(r"^\s*from:\s.{1,200}$(?=\n\s*(sent|date):)", re.I | re.M),
)
_SEPARATOR = re.compile(r"^\s*[-_=*]{20,}\s*$")
_MARKER = re.compile(r"^\s*##-.{0,80}-##\s*$")  # Zendesk's "##- Please type your reply above"
_OWN_LIMIT = 30_000  # the platform's own words come first; what follows is ours or history


def own_text(text: str) -> str:
    """The part of *text* the platform wrote: no ``>`` lines, nothing after a quote header.

    A long separator line ends the platform's text too, once a few lines of it came before:
    ticket systems (Zendesk, Salesforce) list the conversation newest first, our letter last.
    """
    kept: list[str] = []
    written = 0  # non-empty lines kept
    lines = text[:_OWN_LIMIT].splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">") or _MARKER.match(line):
            continue
        window = "\n".join(lines[i:i + 3])
        if any(p.match(window) for p in _QUOTE_STARTS):
            break
        if _SEPARATOR.match(line):
            if written >= 3:
                break
            continue
        kept.append(line)
        written += bool(line.strip())
    return "\n".join(kept)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|[。！？；;]+|\n\s*\n|\n(?=\s*[-*•·]\s)")
_SPACE = re.compile(r"\s+")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_WRAP = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")  # Chinese has no spaces


def sentences(text: str) -> list[str]:
    """*text* in sentences, each on one line (wrapped lines joined, Chinese joined tight)."""
    found = []
    for chunk in _SENTENCE_END.split(text):
        line = _SPACE.sub(" ", _CJK_WRAP.sub("", chunk)).strip()
        if line:
            found.append(line)
    return found


def union(*tables: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
    """Each of *tables* (one signal's list per language) as one pattern; groups lose names."""
    return tuple(re.compile("|".join(f"(?:{re.sub(r'[?]P<[a-z]+>', '', p.pattern)})"
                                     for p in table)) for table in tables)


_FIRSTS: dict[re.Pattern[str], frozenset[str] | None] = {}
_MAX_FIRSTS = 64  # more first characters than this: not worth checking before searching


def could_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only if *text* holds none of the characters a match of *pattern* can begin with.

    Python's ``re`` tries every alternative of a joined table at every position: a Chinese
    table costs as much on an English letter as an English one. Checking first for the few
    characters its phrases begin with makes such a search free.
    """
    if pattern not in _FIRSTS:
        _FIRSTS[pattern] = _first_chars(pattern)
    firsts = _FIRSTS[pattern]
    return firsts is None or any(char in text for char in firsts)


def _first_chars(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The characters a match of *pattern* can begin with, or None when it could begin anywhere
    (or the pattern is one this reading does not follow: lookarounds, classes, case folding).

    Reads the parsed pattern through the private ``re._parser``: should that change, only the
    shortcut is lost, never a match.
    """
    try:
        import importlib
        parser, constants = (importlib.import_module(f"re.{name}")
                             for name in ("_parser", "_constants"))
        parsed = parser.parse(pattern.pattern, pattern.flags)
        firsts, can_be_empty = _firsts(list(parsed), constants)
    except Exception:  # any change of the private module: no shortcut
        return None
    if (firsts is None or can_be_empty or len(firsts) > _MAX_FIRSTS
            or pattern.flags & re.IGNORECASE):
        return None
    return frozenset(firsts)


def _firsts(items: list[Any], c: Any) -> tuple[set[str] | None, bool]:
    """(the first characters of a match of parsed *items*, whether it can be empty)."""
    found: set[str] = set()
    for op, av in items:
        if op is c.AT:  # \b, ^, $: zero-width
            continue
        if op is c.LITERAL:
            return found | {chr(av)}, False
        if op is c.IN:
            for kind, value in av:
                if kind is c.LITERAL:
                    found.add(chr(value))
                elif kind is c.RANGE and value[1] - value[0] < _MAX_FIRSTS:
                    found.update(map(chr, range(value[0], value[1] + 1)))
                else:
                    return None, False
            return found, False
        if op is c.SUBPATTERN:
            _group, add_flags, _del, body = av
            if add_flags & re.IGNORECASE:
                return None, False
            sub, empty = _firsts(list(body), c)
        elif op is c.BRANCH:
            branches = [_firsts(list(b), c) for b in av[1]]
            if any(b is None for b, _ in branches):
                return None, False
            sub = set().union(*(b for b, _ in branches if b is not None))
            empty = any(e for _, e in branches)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, _high, body = av
            sub, empty = _firsts(list(body), c)
            empty = empty or low == 0
        else:
            return None, False
        if sub is None:
            return None, False
        found |= sub
        if not empty:
            return found, False
    return found, True


def first_match(patterns: tuple[re.Pattern[str], ...], items: list[str],
                skip: tuple[re.Pattern[str], ...] = ()) -> tuple[int, re.Match[str]] | None:
    """The first sentence of *items* that a pattern matches and no *skip* does: (index, match)."""
    whole = "\n".join(items)
    # usually none: one search each, or none at all
    patterns = tuple(p for p in patterns if could_match(p, whole) and p.search(whole))
    for i, sentence in enumerate(items if patterns else ()):
        for pattern in patterns:
            if (match := pattern.search(sentence)) and not any(s.search(sentence) for s in skip):
                return i, match
    return None


def one_line(text: str) -> str:
    """*text* as one printable line: controls, bidi marks and line breaks become spaces."""
    words = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return _SPACE.sub(" ", words).strip()


def phrase(match: re.Match[str], original: str = "", limit: int = 70) -> str:
    """The matched words, safe to quote in one line (see `one_line`), at most *limit* long.

    *original*: the text before it was lowercased, to quote as written where lowercasing kept
    the length (it does for English and Chinese, not for every script).
    """
    text = original if len(original) == len(match.string) else match.string
    words = one_line(text[match.start():match.end()])
    return words if len(words) <= limit else words[: limit - 1] + "…"

