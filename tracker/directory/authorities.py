"""The supervisory authorities shipped with tracker: read, validated and found by slug.

One TOML file per authority in ``tracker/directory/data/authorities/``, read once per process.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from tracker.core.errors import not_found
from tracker.directory.model import AUTHORITY_FIELDS, Authority
from tracker.directory.toml_table import Table, check_slug, is_url, read_toml
from tracker.mail.addresses import address_problem

__all__ = [
    "authority_slugs",
    "builtin_authorities",
    "builtin_authorities_dir",
    "find_authority",
    "load_authorities",
]


def builtin_authorities_dir() -> Path:
    """Return the directory of the supervisory-authority records shipped with tracker."""
    return Path(__file__).parent / "data" / "authorities"


def _authority(path: Path) -> Authority:
    table = Table(str(path), read_toml(path), AUTHORITY_FIELDS)
    slug = check_slug(table, "slug", table.text("slug", required=True))
    if slug != path.stem:
        raise table.error("slug", f"{slug!r} does not match the file name (expected {path.stem!r})")
    countries = tuple(c.upper() for c in table.texts("countries"))
    if not countries or not all(re.fullmatch(r"[A-Z]{2}", c) for c in countries):
        raise table.error("countries", f"must list ISO 3166 codes such as IE, not {countries!r}")
    sources = table.texts("sources")
    if not sources or not all(is_url(s) for s in sources):
        raise table.error("sources", "must list the http(s) pages the record comes from")
    email = table.text("email")
    if email and (problem := address_problem(email)):
        raise table.error("email", f"{email!r} is not an email address: {problem}")
    return Authority(
        slug=slug,
        name=table.text("name", required=True),
        countries=countries,
        address=table.text("address", required=True),
        email=email,
        webform=table.url("webform"),
        web=table.url("web"),
        complaint_language=table.text("complaint_language").lower(),
        sources=sources,
        phone=table.text("phone"),
        fax=table.text("fax"),
        notes=table.texts("notes"),
        via=table.text("via"),
        checked=table.day("checked"),
    )


@cache
def builtin_authorities() -> dict[str, Authority]:
    directory = builtin_authorities_dir()
    return {a.slug: a for a in map(_authority, sorted(directory.glob("*.toml")))}


@cache
def authority_slugs() -> frozenset[str]:
    """The slugs of the shipped authorities, from their file names, without reading them.

    A platform file names its lead authority by slug; checking the name needs no record (a
    file's slug must be its name, and the shipped records are checked by the test suite), and
    reading all of them cost every command a tenth of its start.
    """
    return frozenset(path.stem for path in builtin_authorities_dir().glob("*.toml"))


def load_authorities() -> dict[str, Authority]:
    """Return the shipped supervisory authorities by slug (e.g. ``iedpc``)."""
    return dict(builtin_authorities())


def find_authority(name: str) -> Authority:
    """Return the authority with slug *name*, or a NotFoundError with close matches."""
    authorities = builtin_authorities()
    key = name.strip().lower()
    if key in authorities:
        return authorities[key]
    raise not_found("authority", name, authorities)
