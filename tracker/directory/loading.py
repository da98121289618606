"""Load the platform directory: read and validate each platform file, overrides by slug.

The builtin records ship in ``tracker/directory/data/platforms/``; a workspace's
``platforms/`` directory replaces them whole, by slug, or adds new ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracker.core.errors import ConfigError, not_found, suggest
from tracker.directory.authorities import authority_slugs
from tracker.directory.model import (
    CHANNELS,
    CONTACT_FIELDS,
    ENTITY_FIELDS,
    FIELDS,
    LAWS,
    ORIGINS,
    PURPOSES,
    REGIONS,
    SUGGESTED_CHANNELS,
    Contact,
    Entity,
    Platform,
)
from tracker.directory.toml_table import Table, check_slug, is_url, read_toml
from tracker.mail.addresses import address_problem

__all__ = [
    "builtin_platforms_dir",
    "find_platform",
    "load_directory",
    "load_platform_file",
    "parse_platform",
]

_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PHONE = re.compile(r"^\+\d[\d ]{5,}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _entity(where: str, raw: Mapping[str, Any]) -> Entity:
    table = Table(where, raw, ENTITY_FIELDS)
    return Entity(
        region=table.choice("region", REGIONS, ""),
        name=table.text("name", required=True),
        address=table.text("address"),
        department=table.text("department"),
        source=table.url("source"),
        via=table.text("via"),
        checked=table.day("checked"),
        verified=table.flag("verified", False),
    )


def _contact(where: str, raw: Mapping[str, Any], check_address: bool) -> Contact:
    table = Table(where, raw, CONTACT_FIELDS)
    channel = table.choice("channel", CHANNELS, "")
    value = table.text("value", required=True)
    if channel == "email" and check_address and (problem := address_problem(value)):
        raise table.error("value", f"{value!r} is not an email address: {problem}")
    if channel == "webform" and not is_url(value):
        raise table.error("value", f"{value!r} is not an http(s) URL of a web form")
    if channel == "fax" and not _PHONE.match(value):
        raise table.error("value", f"{value!r} is not an international number like +49 89 123")
    return Contact(
        purpose=table.choice("purpose", PURPOSES, ""),
        channel=channel,
        value=value,
        region=table.choice("region", REGIONS, "global"),
        source=table.url("source"),
        via=table.text("via"),
        checked=table.day("checked"),
        verified=table.flag("verified", False),
        note=table.text("note"),
    )


def parse_platform(path: Path, data: Mapping[str, Any], origin: str, *,
                   check_addresses: bool = True) -> Platform:
    """The platform record of file *path* (its TOML *data*), checked field by field.

    *check_addresses* False skips the email check of the contacts, for the shipped files only:
    the test suite checks each of their addresses, and the check imports email-validator
    (tens of milliseconds) at every command that reads the directory.
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
    table = Table(str(path), data, FIELDS)
    slug = check_slug(table, "slug", table.text("slug", required=True))
    if slug != path.stem:
        raise table.error("slug", f"{slug!r} does not match the file name (expected {path.stem!r})")
    aliases = tuple(check_slug(table, "aliases", a.lower()) for a in table.texts("aliases"))
    if slug in aliases:
        raise table.error("aliases", f"{slug!r} is the slug itself")
    domains = tuple(d.lower() for d in table.texts("reply_domains"))
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise table.error("reply_domains", f"{domain!r} is not a domain name")
    laws = tuple(law.upper() for law in table.texts("laws"))
    for law in laws:
        if law not in LAWS:
            hint = suggest(law, LAWS)
            raise table.error("laws", f"{law!r} is not one of {', '.join(LAWS)}{hint}")
    lead = table.text("lead_authority")
    if lead and lead not in authority_slugs():
        raise table.error(
            "lead_authority",
            f"no authority {lead!r}{suggest(lead, sorted(authority_slugs()))} "
            "(use a file name from tracker/directory/data/authorities, or \"\")",
        )
    language = table.text("language", "en").lower()
    if not _LANGUAGE.match(language):
        raise table.error("language", f"{language!r} is not a two-letter ISO 639-1 code")
    unverified = table.texts("unverified_fields")
    for name in unverified:
        if name not in FIELDS[2:]:
            hint = suggest(name, FIELDS)
            raise table.error("unverified_fields", f"{name!r} is not a field{hint}")
    return Platform(
        slug=slug,
        name=table.text("name", required=True),
        aliases=aliases,
        services=table.texts("services"),
        website=table.url("website"),
        reply_domains=domains,
        laws=laws,
        lead_authority=lead,
        suggested_channel=table.choice("suggested_channel", SUGGESTED_CHANNELS, "email"),
        language=language,
        country=_country(table),
        notes=table.texts("notes"),
        unverified_fields=unverified,
        entities=tuple(
            _entity(f"{path}: entities #{i}", raw)
            for i, raw in enumerate(table.tables("entities"), 1)
        ),
        contacts=tuple(
            _contact(f"{path}: contacts #{i}", raw, check_addresses)
            for i, raw in enumerate(table.tables("contacts"), 1)
        ),
        path=path,
        origin=origin,
    )


def _country(table: Table) -> str:
    country = table.text("country").upper()
    if country:
        from tracker.core.countries import has_holiday_calendar

        if not has_holiday_calendar(country):
            raise table.error(
                "country", f"{country!r} has no public-holiday calendar (use e.g. DE, IE, US)"
            )
    return country


def builtin_platforms_dir() -> Path:
    """Return the directory of the platform records shipped with tracker."""
    return Path(__file__).parent / "data" / "platforms"


def builtin_authorities_dir() -> Path:
    """Return the directory of the supervisory-authority records shipped with tracker."""
    return Path(__file__).parent / "data" / "authorities"


def load_platform_file(path: Path, origin: str = "builtin", *,
                       check_addresses: bool = True) -> Platform:
    """Read and validate one platform file; ConfigError names the file and the field."""
    return parse_platform(path, read_toml(path), origin, check_addresses=check_addresses)


def _load_dir(directory: Path, origin: str, check_addresses: bool = True) -> list[Platform]:
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise ConfigError(f"{directory}: is not a directory of platform files")
    return [load_platform_file(path, origin, check_addresses=check_addresses)
            for path in sorted(directory.glob("*.toml"))]


def load_directory(extra_dirs: Sequence[Path] = ()) -> dict[str, Platform]:
    """Load the builtin platforms, then each of *extra_dirs* in order, by slug.

    A record in a later directory replaces the earlier record with the same slug whole; new
    slugs are added. Directories that do not exist are skipped.
    """
    # The shipped files' addresses are checked by the test suite, a workspace's here.
    platforms = {p.slug: p for p in _load_dir(builtin_platforms_dir(), "builtin",
                                              check_addresses=False)}
    for directory in extra_dirs:
        platforms.update((p.slug, p) for p in _load_dir(Path(directory), "workspace"))
    owners: dict[str, Platform] = dict(platforms)
    for platform in platforms.values():
        for alias in platform.aliases:
            other = owners.setdefault(alias, platform)
            if other is not platform:
                raise ConfigError(
                    f"{platform.path}: aliases: {alias!r} already names {other.slug!r} "
                    f"({other.path})"
                )
    return dict(sorted(platforms.items()))


def find_platform(directory: Mapping[str, Platform], name: str) -> Platform:
    """Return the platform whose slug or alias is *name*, ignoring case."""
    key = name.strip().lower()
    if key in directory:
        return directory[key]
    for platform in directory.values():
        if key in platform.aliases:
            return platform
    names = [*directory, *(a for p in directory.values() for a in p.aliases)]
    raise not_found("platform", name, names, "see `tracker platform list`")

