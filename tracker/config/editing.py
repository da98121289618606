"""Change ``tracker.toml`` one key at a time: the text in, the new text out, comments kept.

`set_value` and `unset_value` work on the file's TOML text with tomlkit, so that every comment,
blank line and the order of keys stay as the person wrote them; only the one line changes (or
is added, or goes). A value given as text is turned into the type of its field in
`tracker.config.settings` (read from `SECTIONS`, so that a section or key added there can be
set at once). Secrets are refused, and every new text must pass `parse_settings`, the check
every command makes, before it is returned. No file is read or written here: that is
`tracker.services.configuration`.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Mapping, MutableMapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import tomlkit
import tomlkit.exceptions
from tomlkit.items import Item, Table

from tracker.config.loading import parse_settings
from tracker.config.settings import CONFIG_NAME, SECTIONS
from tracker.core.errors import ConfigError, suggest

__all__ = ["is_secret_key", "override_variable", "set_value", "set_values", "split_key",
           "unset_value"]

SECRET_NAMES = frozenset({"password", "secret", "token", "oauth2_token", "api_key",
                          "client_secret", "refresh_token", "access_token"})
_SECRET_WORDS = ("password", "secret", "token")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TOML_INT = range(-(2**63), 2**63)


def is_secret_key(section: str, name: str) -> bool:
    """Would a value of key *name* of *section* be a secret?

    ``*_env`` and ``*_command`` keys are not: they name where the secret is. Nor is a declared
    setting that only mentions a secret word before what it is (``token_endpoint`` is an
    address, ``token_store`` a choice); one that ends in it (``oauth2_token``) is a secret.
    """
    if name in SECRET_NAMES:
        return True
    if name.endswith(("_env", "_command")) or not any(w in name for w in _SECRET_WORDS):
        return False
    declared = section in SECTIONS and name in {f.name for f in fields(SECTIONS[section])}
    return (not declared or "password" in name
            or name.rstrip("s").endswith(_SECRET_WORDS))


def split_key(key: str) -> tuple[str, str]:
    """``"imap.host"`` as ``("imap", "host")``, or a ConfigError saying how to write it."""
    section, dot, name = key.strip().partition(".")
    if not dot or not section or not name or "." in name:
        raise ConfigError(f"give the setting as SECTION.KEY, e.g. imap.host, not {key!r}")
    return section, name


def override_variable(key: str) -> str:
    """The environment variable that overrides *key* (``imap.host``: ``TRACKER_IMAP_HOST``)."""
    section, name = split_key(key)
    return f"TRACKER_{section.upper()}_{name.upper()}"


def set_value(text: str, key: str, value: str, workspace: Path) -> str:
    """*text* with *key* (``section.key``) set to *value*, converted to the key's type.

    A missing section is added at the end. Raises ConfigError for an unknown section or key
    (with the closest names), a secret, a value of the wrong type, or a result that
    `parse_settings` refuses for *workspace*.
    """
    section, name, converted = _typed(key, value)
    doc = _parse(text)
    _put(doc, section, name, converted)
    return _checked(_dumps(doc, text), workspace)


def set_values(text: str, values: Mapping[str, str], workspace: Path) -> str:
    """*text* with every ``section.key`` of *values* set, checked once, as a whole.

    For changes that only make sense together (a mail provider's host, port and sign-in): the
    file between two of them need not be valid. An empty value of a key whose default is
    empty removes the key instead (the same setting, and no ``key = ""`` lines left behind).
    Raises ConfigError as `set_value` does.
    """
    doc = _parse(text)
    emptied = False
    for key, value in values.items():
        section, name, converted = _typed(key, value)
        default = _default(section, name)
        if value == "" and default == "":
            if section in doc and name in _table(doc, section):
                emptied = _remove(doc, section, name) or emptied
        else:
            _put(doc, section, name, converted)
    return _checked(_dumps(doc, text, emptied), workspace)


def unset_value(text: str, key: str, workspace: Path) -> str:
    """*text* without *key*, and without its section if no key is left in it.

    Any key written in the file can be removed, even one tracker does not know or a secret
    someone wrote there by hand (removing it is how such a file is mended). Raises ConfigError
    when the key is not set, and when the result does not pass `parse_settings`.
    """
    section, name = split_key(key)
    doc = _parse(text)
    if section not in doc or name not in _table(doc, section):
        if section not in SECTIONS:
            raise ConfigError(
                f"unknown section {section!r} in {key!r}{suggest(section, SECTIONS)}")
        names = [f.name for f in fields(SECTIONS[section])]
        if name not in names:
            raise _unknown_key(key, section, name, names)
        raise ConfigError(f"{key} is not set in {CONFIG_NAME}, so there is nothing to unset "
                          "(it has its default, or the value of its environment variable)")
    emptied = _remove(doc, section, name)
    return _checked(_dumps(doc, text, emptied), workspace)


def _typed(key: str, value: str) -> tuple[str, str, Any]:
    """*key* as (section, name) and *value* in the key's type, or why it cannot be set."""
    section, name = split_key(key)
    if is_secret_key(section, name):
        raise ConfigError(_secret_refusal(section, name))
    if section not in SECTIONS:
        raise ConfigError(f"unknown section {section!r} in {key!r}{suggest(section, SECTIONS)}")
    hints = get_type_hints(SECTIONS[section])
    names = [f.name for f in fields(SECTIONS[section])]
    if name not in names:
        raise _unknown_key(key, section, name, names)
    converted = _convert(key, hints[name], value)
    if section == "database" and name == "url":
        from tracker.store.db import has_password

        if has_password(value):
            raise ConfigError(
                f"{key}: this URL contains a password, which must not be written in "
                f"{CONFIG_NAME}; set the whole URL in TRACKER_DATABASE_URL instead, or give it "
                "without the password and keep that in ~/.pgpass"
            )
    return section, name, converted


def _default(section: str, name: str) -> Any:
    return next(f.default for f in fields(SECTIONS[section]) if f.name == name)


def _put(doc: tomlkit.TOMLDocument, section: str, name: str, value: Any) -> None:
    table = _table(doc, section)
    item = tomlkit.item(value)
    if name in table:
        table[name] = item  # in place: the line's own comment stays
    else:
        _append(table, name, item)


def _remove(doc: tomlkit.TOMLDocument, section: str, name: str) -> bool:
    """Remove the key, and its section if that is left empty (then say so: True)."""
    table = _table(doc, section)
    del table[name]
    if len(table):
        return False
    del doc[section]
    return True


def _unknown_key(key: str, section: str, name: str, names: list[str]) -> ConfigError:
    hint = suggest(name, names) or f" ([{section}] has: {', '.join(names)})"
    return ConfigError(f"unknown key {key!r}{hint}")


def _secret_refusal(section: str, name: str) -> str:
    """One line: why *name* cannot be set, and which ``*_env``/``*_command`` key to set."""
    keys: list[str] = []
    if section in SECTIONS:
        keys = [f.name for f in fields(SECTIONS[section])
                if f.name.endswith(("_env", "_command"))]
        stem = name.removeprefix("client_")
        keys = [k for k in keys if k.startswith(stem)] or keys
    instead = " or ".join(f"{section}.{k}" for k in keys) or "an *_env or *_command key"
    return (f"{section}.{name}: secrets never go in {CONFIG_NAME}; set {instead} instead "
            "(an *_env key names the environment variable holding the secret, a *_command "
            "key is a command that prints it)")


def _convert(key: str, hint: Any, text: str) -> Any:
    """*text* as a value of the field's type *hint*, or a ConfigError saying what to give."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:  # X | None: set as X
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _convert(key, rest[0], text)
    if origin is Literal:
        if text in args:
            return text
        choices = [str(a) for a in args]
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {text!r}"
                          f"{suggest(text, choices)}")
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        array = tomlkit.array()
        array.extend(_convert(key, args[0], part) for part in parts)
        return array
    if hint is bool:
        if text.strip().lower() in _TRUE:
            return True
        if text.strip().lower() in _FALSE:
            return False
        raise ConfigError(f"{key} is yes or no: give true or false, not {text!r}")
    if hint is int:
        if not _INTEGER.fullmatch(text.strip()) or int(text) not in _TOML_INT:
            raise ConfigError(f"{key} is a whole number (e.g. 993), not {text!r}")
        return int(text)
    if hint is float:
        number = _number(text)
        if number is None:
            raise ConfigError(f"{key} is a number (e.g. 30 or 2.5), not {text!r}")
        return number
    if hint is str:
        return text
    raise ConfigError(f"{key} cannot be set with `tracker config set` (its type is {hint})")


def _number(text: str) -> float | None:
    if not text.strip().isascii():  # float() reads other scripts' digits too
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigError(f"{CONFIG_NAME} is not valid TOML ({exc}); mend that line by hand "
                          "first") from None


def _table(doc: tomlkit.TOMLDocument, section: str) -> MutableMapping[str, Any]:
    """The section *section* of *doc*, added at the end if it is missing."""
    if section not in doc:
        table = tomlkit.table()
        written = doc.as_string()
        if written.strip():  # one blank line between the last section and the new one
            for _ in range(2 - len(written) + len(written.rstrip("\n"))):
                doc.add(tomlkit.nl())
        doc.add(section, table)
        return table
    found = doc[section]
    if not isinstance(found, MutableMapping):
        raise ConfigError(f"{section} in {CONFIG_NAME} must be a section ([{section}] and its "
                          "key = value lines); mend it by hand first")
    return found


def _append(table: MutableMapping[str, Any], name: str, item: Item) -> None:
    """Add *name* after the table's last key, before the comments and blank lines that end it
    (those belong to what follows: tomlkit itself would put the key after them)."""
    insert = getattr(getattr(table, "value", None), "_insert_at", None)
    if not isinstance(table, Table) or table.is_super_table() or insert is None:
        table[name] = item  # an inline table, dotted keys: tomlkit places it right itself
        return
    body = table.value.body
    keyed = [i for i, (k, _) in enumerate(body) if k is not None]
    if keyed:
        at = keyed[-1] + 1
    else:
        at = len(body)
        while at and body[at - 1][0] is None and not body[at - 1][1].as_string().strip():
            at -= 1
    if at >= len(body):
        table[name] = item
    else:
        insert(at, name, item)


def _dumps(doc: tomlkit.TOMLDocument, original: str, emptied: bool = False) -> str:
    """The text of *doc*, its new lines ending as *original*'s do; after a section was removed
    (*emptied*), without the blank lines that led to it at the end of the file."""
    new = doc.as_string()
    if "\r\n" in original and "\n" not in original.replace("\r\n", ""):
        new = re.sub(r"(?<!\r)\n", "\r\n", new)  # the lines tomlkit added: as the file's are
    if emptied:
        end = "\r\n" if new.endswith("\r\n") else "\n"
        new = new.rstrip("\r\n") + end if new.strip() else ""
    return new


def _checked(text: str, workspace: Path) -> str:
    """*text* if every command would accept it; the reason it would not, otherwise."""
    parse_settings(text, workspace, env={})
    return text
