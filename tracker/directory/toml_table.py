"""Typed, checked access to the tables of the directory's TOML files.

A bad value raises ConfigError as ``<file>: <field>: <problem>``, so whoever edits a record
is told where and what.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracker.core.errors import ConfigError, suggest

__all__ = ["SLUG", "Table", "check_slug", "is_url", "read_toml"]

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")  # 64 = Platform.slug in the db


class Table:
    """Typed access to one TOML table, raising ``<file>: <field>: <problem>`` on bad values."""

    def __init__(self, where: str, raw: Mapping[str, Any], known: Sequence[str]) -> None:
        self.where = where
        self.raw = raw
        for key in raw:
            if key not in known:
                raise self.error(key, f"unknown field{suggest(key, known)}")

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: {problem}")

    def text(self, key: str, default: str = "", required: bool = False) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {value!r}")
        value = value.strip()
        if required and not value:
            raise self.error(key, "is required")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of strings, not {value!r}")
        return tuple(v.strip() for v in value if v.strip())

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.text(key, default, required=not default)
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        hint = suggest(value, choices)
        raise self.error(key, f"{value!r} is not one of {', '.join(choices)}{hint}")

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def url(self, key: str, required: bool = False) -> str:
        value = self.text(key, required=required)
        if value and not is_url(value):
            raise self.error(key, f"{value!r} is not an http(s) URL")
        return value

    def day(self, key: str) -> date | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.error(key, f"must be a date like 2026-11-25, not {value!r}")

    def tables(self, key: str) -> list[Mapping[str, Any]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.error(key, f"must be an array of tables ([[{key}]]), not {value!r}")
        return value


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def check_slug(table: Table, key: str, value: str) -> str:
    if not SLUG.match(value):
        raise table.error(key, f"{value!r} must be lower-case letters, digits and dashes")
    return value

