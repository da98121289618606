"""A platform record of the workspace's own: `tracker platform add` and the web's override form.

The record goes to ``<workspace>/platforms/<slug>.toml`` (`directory.writing`, validated as it
will be loaded), replaces a shipped record of the same slug whole, and is read back at once
into the workspace's directory, so that matching and every page use it from the next message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tracker.core.errors import InputError
from tracker.directory.authorities import load_authorities
from tracker.directory.loading import find_platform
from tracker.directory.model import Authority, Platform
from tracker.directory.writing import write_platform_file
from tracker.services.workspace import Workspace
from tracker.store import db
from tracker.store.events import record_admin_event

# What a contact made here may be for (the directory knows "law-enforcement" too, which
# tracker never writes to, so it is not offered).
PURPOSES = ("privacy", "dpo", "legal", "appeals", "support")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class PlatformForm:
    """What staff give for a platform: one contact (email, web form, post) and its source."""

    slug: str
    name: str
    source: str
    email: str = ""
    webform: str = ""
    purpose: str = "privacy"
    entity: str = ""
    postal_address: str = ""
    region: str = "global"
    reply_domains: tuple[str, ...] = field(default_factory=tuple)
    laws: tuple[str, ...] = field(default_factory=tuple)
    language: str = "en"

    @classmethod
    def of(cls, platform: Platform) -> PlatformForm:
        """A form filled from *platform*'s record (its first contact of each channel)."""
        email = platform.contact_for("email")
        webform = platform.contact_for("webform")
        post = platform.contact_for("post")
        first = platform.default_recipient() or (platform.contacts[0] if platform.contacts
                                                 else None)
        entity = platform.entity_for()
        return cls(
            slug=platform.slug, name=platform.name,
            source=(first.source if first else entity.source if entity else ""),
            email=email.value if email else "", webform=webform.value if webform else "",
            purpose=first.purpose if first and first.purpose in PURPOSES else "privacy",
            entity=entity.name if entity else "",
            postal_address=(post.value if post else entity.address if entity else ""),
            region=(first.region if first else entity.region if entity else "global"),
            reply_domains=platform.reply_domains, laws=platform.laws,
            language=platform.language or "en")


def split_list(text: str) -> tuple[str, ...]:
    """Words of a form field that takes several (``a.example, b.example``), each once."""
    return tuple(dict.fromkeys(w for w in _LIST_SEPARATORS.split(text.strip()) if w))


def platform_record(form: PlatformForm, checked: date) -> dict[str, Any]:
    """The directory record *form* describes, every fact dated *checked* and verified."""
    if form.purpose not in PURPOSES:
        raise InputError(f"purpose {form.purpose!r} is not one of {', '.join(PURPOSES)}")
    if not form.source.strip():
        raise InputError("give the public page the facts come from (source)")
    source, region = form.source.strip(), form.region.strip() or "global"
    contacts: list[dict[str, Any]] = [
        {"purpose": form.purpose, "channel": channel, "value": value.strip(), "region": region,
         "source": source, "checked": checked, "verified": True}
        for channel, value in (("email", form.email), ("webform", form.webform),
                               ("post", form.postal_address)) if value.strip()]
    if not contacts:
        raise InputError("give at least one of an email address, a web form or a postal "
                         "address")
    data: dict[str, Any] = {
        "slug": form.slug.strip().lower(), "name": form.name.strip(), "laws": list(form.laws),
        "language": form.language.strip() or "en", "reply_domains": list(form.reply_domains),
        "suggested_channel": contacts[0]["channel"], "contacts": contacts,
    }
    if form.entity.strip() or form.postal_address.strip():
        data["entities"] = [{"region": region, "name": form.entity.strip() or form.name.strip(),
                             "address": form.postal_address.strip(), "source": source,
                             "checked": checked, "verified": True}]
    return data


def save_platform(ws: Workspace, form: PlatformForm, now: datetime, *,
                  overwrite: bool = False) -> Platform:
    """Write *form* as the workspace's record of its platform, record who did it, and reload
    the directory; ConfigError or InputError (in plain words) if it is not a valid record."""
    data = platform_record(form, now.date())
    if not overwrite and (ws.settings.platforms_dir / f"{data['slug']}.toml").exists():
        raise InputError(f"the workspace has its own record of {data['slug']} already; choose "
                         "to replace it (--force) or give another slug")
    with db.transaction(ws.engine) as session:
        record_admin_event(session, "platform-saved", ws.actor, now, slug=data["slug"])
        session.flush()  # a database that cannot be written stops it before the file exists
        write_platform_file(ws.settings.platforms_dir, data, overwrite=overwrite)
    return ws.reload_platforms()[data["slug"]]


@dataclass(frozen=True)
class PlatformView:
    """One platform as a page shows it: its record, its lead authority, who overrides whom."""

    platform: Platform
    authority: Authority | None
    overrides_builtin: bool  # a workspace record that replaces a shipped one


def describe_platform(ws: Workspace, slug: str) -> PlatformView:
    """The platform *slug* (NotFoundError with close matches), with its lead authority."""
    platform = find_platform(ws.platforms, slug)  # a slug or an alias
    authority = load_authorities().get(platform.lead_authority) if platform.lead_authority \
        else None
    shipped = (platform.origin == "workspace"
               and platform.slug in _builtin_slugs())
    return PlatformView(platform=platform, authority=authority, overrides_builtin=shipped)


def _builtin_slugs() -> set[str]:
    from tracker.directory.loading import builtin_platforms_dir

    return {path.stem for path in builtin_platforms_dir().glob("*.toml")}
