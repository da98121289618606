"""The platform directory's model: platforms, their entities and contacts, the authorities.

Each platform is one human-edited TOML file named ``<slug>.toml``. tracker ships a builtin
directory (``tracker/directory/data/platforms/``); a workspace's ``platforms/`` directory
overrides builtin records whole, by slug, or adds new ones. Supervisory authorities (the
regulators a complaint goes to) live beside them in ``tracker/directory/data/authorities/``.

Contact records go stale, so every entity and contact carries the public page it comes from
(``source``), where we took it from if not read there (``via``), the date it was checked and
whether it was confirmed. The schema is described in ``docs/platforms.md``; reading the files is
`tracker.directory.loading` and `tracker.directory.authorities`, writing one
`tracker.directory.writing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tracker.core.iso import iso_day

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
ENTITY_FIELDS = ("region", "name", "department", "address", "source", "via", "checked",
                 "verified")
CONTACT_FIELDS = (
    "purpose", "channel", "value", "region", "source", "via", "checked", "verified", "note",
)
AUTHORITY_FIELDS = (
    "slug", "name", "countries", "address", "email", "phone", "fax", "webform", "web",
    "complaint_language", "notes", "sources", "via", "checked",
)

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
            "checked": iso_day(self.checked), "verified": self.verified, "note": self.note,
        }


@dataclass(frozen=True)
class Entity:
    """A legal entity behind a platform in one region, and its postal address.

    *department*: who at the entity a posted letter is for ("Data Protection Officer"), where
    the source names one; it goes on the envelope's address under the entity's name.
    """

    region: str
    name: str
    address: str
    source: str
    via: str
    checked: date | None
    verified: bool
    department: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the entity as JSON-able values (the date as ``YYYY-MM-DD``)."""
        return {
            "region": self.region, "name": self.name, "department": self.department,
            "address": self.address, "source": self.source, "via": self.via,
            "checked": iso_day(self.checked),
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

