"""The platform directory: whom to write to, where, under which law, and how we know it.

Each platform is one human-edited TOML file named ``<slug>.toml``. tracker ships a builtin
directory (``tracker/data/platforms/``); a workspace's ``platforms/`` directory overrides builtin
records whole, by slug, or adds new ones. Supervisory authorities (the regulators a complaint goes
to) live beside them in ``tracker/data/authorities/``.

Contact records go stale, so every entity and contact carries the public page it comes from
(``source``), where we took it from if not read there (``via``), the date it was checked and
whether it was confirmed. The schema is described in ``docs/platforms.md``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracker.core.errors import ConfigError, not_found, suggest
from tracker.mail.addresses import address_problem

PURPOSES = ("privacy", "dpo", "legal", "appeals", "support", "law-enforcement")
CHANNELS = ("email", "webform", "post", "fax")
SUGGESTED_CHANNELS = ("email", "webform", "post")
REGIONS = ("EU", "US", "UK", "CN", "global")
# The regimes tracker has deadline rules and templates for; a typo here would silently drop a
# statutory clock, so unknown names are refused rather than carried along.
LAWS = ("GDPR", "UK-GDPR", "DSA", "CCPA", "PIPL")
ORIGINS = ("builtin", "workspace")

FIELDS = (
    "slug", "name", "aliases", "services", "website", "reply_domains", "laws", "lead_authority",
    "suggested_channel", "language", "country", "notes", "unverified_fields", "entities",
    "contacts",
)
ENTITY_FIELDS = ("region", "name", "address", "source", "via", "checked", "verified")
CONTACT_FIELDS = (
    "purpose", "channel", "value", "region", "source", "via", "checked", "verified", "note",
)
AUTHORITY_FIELDS = (
    "slug", "name", "countries", "address", "email", "phone", "fax", "webform", "web",
    "complaint_language", "notes", "sources", "via", "checked",
)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")  # 64 = Platform.slug in the db
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PHONE = re.compile(r"^\+\d[\d ]{5,}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_PURPOSE_RANK = {"privacy": 0, "dpo": 1, "legal": 2, "support": 3, "appeals": 4}


@dataclass(frozen=True)
class Contact:
    """One way to reach a platform for one purpose, with the source it comes from."""

    purpose: str
    channel: str
    value: str
    region: str
    source: str
    via: str
    checked: date | None
    verified: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Return the contact as JSON-able values (the date as ``YYYY-MM-DD``)."""
        return {
            "purpose": self.purpose, "channel": self.channel, "value": self.value,
            "region": self.region, "source": self.source, "via": self.via,
            "checked": _iso(self.checked), "verified": self.verified, "note": self.note,
        }


@dataclass(frozen=True)
class Entity:
    """A legal entity behind a platform in one region, and its postal address."""

    region: str
    name: str
    address: str
    source: str
    via: str
    checked: date | None
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the entity as JSON-able values (the date as ``YYYY-MM-DD``)."""
        return {
            "region": self.region, "name": self.name, "address": self.address,
            "source": self.source, "via": self.via, "checked": _iso(self.checked),
            "verified": self.verified,
        }


@dataclass(frozen=True)
class Authority:
    """A data-protection supervisory authority that takes complaints (GDPR Art. 77)."""

    slug: str
    name: str
    countries: tuple[str, ...]
    address: str
    email: str
    webform: str
    web: str
    complaint_language: str
    sources: tuple[str, ...]
    phone: str = ""
    fax: str = ""
    notes: tuple[str, ...] = ()
    via: str = ""
    checked: date | None = None


@dataclass(frozen=True)
class Platform:
    """One platform's directory record: entities, contacts, laws and where each fact is from."""

    slug: str
    name: str
    aliases: tuple[str, ...]
    services: tuple[str, ...]
    website: str
    reply_domains: tuple[str, ...]
    laws: tuple[str, ...]
    lead_authority: str
    suggested_channel: str
    language: str
    country: str
    notes: tuple[str, ...]
    unverified_fields: tuple[str, ...]
    entities: tuple[Entity, ...]
    contacts: tuple[Contact, ...]
    path: Path | None
    origin: str

    def entity_for(self, region: str | None = None) -> Entity | None:
        """Return the entity for *region*, else the EU entity, else the first one."""
        if region:
            for entity in self.entities:
                if entity.region.lower() == region.lower():
                    return entity
        for entity in self.entities:
            if entity.region == "EU":
                return entity
        return self.entities[0] if self.entities else None

    def contact_for(self, channel: str | None = None, purpose: str | None = None) -> Contact | None:
        """Return the first contact on *channel* for *purpose* (``None`` matches any)."""
        for contact in self.contacts:
            if (channel is None or contact.channel == channel) and (
                purpose is None or contact.purpose == purpose
            ):
                return contact
        return None

    def default_recipient(self) -> Contact | None:
        """Return where a request goes by default.

        Contacts on the suggested channel come first; within a channel a privacy contact beats
        the DPO, then legal, support and appeals. Law-enforcement contacts are never chosen.
        """
        ranked = [
            (contact.channel != self.suggested_channel, _PURPOSE_RANK[contact.purpose], index)
            for index, contact in enumerate(self.contacts)
            if contact.purpose in _PURPOSE_RANK
        ]
        return self.contacts[min(ranked)[2]] if ranked else None

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-able values (dates as ``YYYY-MM-DD``)."""
        return {
            "slug": self.slug, "name": self.name, "aliases": list(self.aliases),
            "services": list(self.services), "website": self.website,
            "reply_domains": list(self.reply_domains), "laws": list(self.laws),
            "lead_authority": self.lead_authority, "suggested_channel": self.suggested_channel,
            "language": self.language, "country": self.country, "notes": list(self.notes),
            "unverified_fields": list(self.unverified_fields),
            "entities": [entity.to_dict() for entity in self.entities],
            "contacts": [contact.to_dict() for contact in self.contacts],
            "path": str(self.path) if self.path else None, "origin": self.origin,
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class _Table:
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
        if value and not _is_url(value):
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


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def _slug(table: _Table, key: str, value: str) -> str:
    if not _SLUG.match(value):
        raise table.error(key, f"{value!r} must be lower-case letters, digits and dashes")
    return value


def _entity(where: str, raw: Mapping[str, Any]) -> Entity:
    table = _Table(where, raw, ENTITY_FIELDS)
    return Entity(
        region=table.choice("region", REGIONS, ""),
        name=table.text("name", required=True),
        address=table.text("address"),
        source=table.url("source"),
        via=table.text("via"),
        checked=table.day("checked"),
        verified=table.flag("verified", False),
    )


def _contact(where: str, raw: Mapping[str, Any]) -> Contact:
    table = _Table(where, raw, CONTACT_FIELDS)
    channel = table.choice("channel", CHANNELS, "")
    value = table.text("value", required=True)
    if channel == "email" and (problem := address_problem(value)):
        raise table.error("value", f"{value!r} is not an email address: {problem}")
    if channel == "webform" and not _is_url(value):
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


def _parse_platform(path: Path, data: Mapping[str, Any], origin: str) -> Platform:
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
    table = _Table(str(path), data, FIELDS)
    slug = _slug(table, "slug", table.text("slug", required=True))
    if slug != path.stem:
        raise table.error("slug", f"{slug!r} does not match the file name (expected {path.stem!r})")
    aliases = tuple(_slug(table, "aliases", a.lower()) for a in table.texts("aliases"))
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
    if lead and lead not in _builtin_authorities():
        raise table.error(
            "lead_authority",
            f"no authority {lead!r}{suggest(lead, _builtin_authorities())} "
            "(use a file name from tracker/data/authorities, or \"\")",
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
            _contact(f"{path}: contacts #{i}", raw)
            for i, raw in enumerate(table.tables("contacts"), 1)
        ),
        path=path,
        origin=origin,
    )


def _country(table: _Table) -> str:
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


def load_platform_file(path: Path, origin: str = "builtin") -> Platform:
    """Read and validate one platform file; ConfigError names the file and the field."""
    return _parse_platform(path, _read_toml(path), origin)


def _load_dir(directory: Path, origin: str) -> list[Platform]:
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise ConfigError(f"{directory}: is not a directory of platform files")
    return [load_platform_file(path, origin) for path in sorted(directory.glob("*.toml"))]


def load_directory(extra_dirs: Sequence[Path] = ()) -> dict[str, Platform]:
    """Load the builtin platforms, then each of *extra_dirs* in order, by slug.

    A record in a later directory replaces the earlier record with the same slug whole; new
    slugs are added. Directories that do not exist are skipped.
    """
    platforms = {p.slug: p for p in _load_dir(builtin_platforms_dir(), "builtin")}
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


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a record (from the CLI or ``to_dict``) into TOML-ready values in schema order."""
    out: dict[str, Any] = {}
    for key in sorted(data, key=lambda k: FIELDS.index(k) if k in FIELDS else len(FIELDS)):
        value = data[key]
        if key in ("path", "origin") or value is None:
            continue
        if key in ("entities", "contacts") and isinstance(value, Sequence):
            value = [_plain_row(row) if isinstance(row, Mapping) else row for row in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if v is not None}
    checked = out.get("checked")
    if isinstance(checked, str):
        # Text that is not a date stays text: validation then reports it with the field name.
        with suppress(ValueError):
            out["checked"] = date.fromisoformat(checked)
    return out


_HEADER = (
    "# Platform record for tracker (see docs/platforms.md). Edit freely: every entity and\n"
    "# contact should cite the public page it comes from (source) and the date it was checked.\n\n"
)


def write_platform_file(
    directory: Path, data: Mapping[str, Any], *, overwrite: bool = False
) -> Path:
    """Validate *data* and write it to ``<directory>/<slug>.toml`` with mode 0600.

    The record is rendered to TOML and read back through the same validation as
    :func:`load_platform_file`, so nothing is written that tracker could not load. An existing
    file is only replaced when *overwrite* is true.
    """
    import tomli_w

    slug = data.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug.strip()):
        raise ConfigError(f"slug: {slug!r} must be lower-case letters, digits and dashes")
    target = Path(directory) / f"{slug.strip()}.toml"
    plain = _plain(data)
    try:
        text = _HEADER + tomli_w.dumps(plain, multiline_strings=True)
    except TypeError as exc:
        raise ConfigError(f"{target}: cannot be written as TOML: {exc}") from None
    _parse_platform(target, tomllib.loads(text), "workspace")
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists; pass overwrite=True to replace it")
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {target}: {exc.strerror}; the workspace must be a folder you can "
            "write to (a read-only copy cannot take new platforms)"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        if overwrite:
            os.replace(temp, target)
        else:
            os.link(temp, target)  # fails if the file appeared meanwhile: never clobber
    except FileExistsError:
        raise ConfigError(f"{target} already exists; pass overwrite=True to replace it") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)
    return target


def _authority(path: Path) -> Authority:
    table = _Table(str(path), _read_toml(path), AUTHORITY_FIELDS)
    slug = _slug(table, "slug", table.text("slug", required=True))
    if slug != path.stem:
        raise table.error("slug", f"{slug!r} does not match the file name (expected {path.stem!r})")
    countries = tuple(c.upper() for c in table.texts("countries"))
    if not countries or not all(re.fullmatch(r"[A-Z]{2}", c) for c in countries):
        raise table.error("countries", f"must list ISO 3166 codes such as IE, not {countries!r}")
    sources = table.texts("sources")
    if not sources or not all(_is_url(s) for s in sources):
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
def _builtin_authorities() -> dict[str, Authority]:
    directory = builtin_authorities_dir()
    return {a.slug: a for a in map(_authority, sorted(directory.glob("*.toml")))}


def load_authorities() -> dict[str, Authority]:
    """Return the shipped supervisory authorities by slug (e.g. ``iedpc``)."""
    return dict(_builtin_authorities())


def find_authority(name: str) -> Authority:
    """Return the authority with slug *name*, or a NotFoundError with close matches."""
    authorities = _builtin_authorities()
    key = name.strip().lower()
    if key in authorities:
        return authorities[key]
    raise not_found("authority", name, authorities)
