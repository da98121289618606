"""The platform directory: shipped records, their sources, lookup, overrides and writing."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from tracker.core.errors import ConfigError, NotFoundError
from tracker.directory.authorities import authority_slugs, find_authority, load_authorities
from tracker.directory.loading import (
    builtin_platforms_dir,
    find_platform,
    load_directory,
    load_platform_file,
)
from tracker.directory.model import CHANNELS, PURPOSES, Contact, Entity, Platform
from tracker.directory.writing import write_platform_file

REQUIRED = (
    "zoom", "facebook", "instagram", "whatsapp", "google", "youtube", "gmail", "microsoft",
    "teams", "skype", "linkedin", "x", "apple", "tiktok", "telegram", "wechat", "discord",
    "slack", "amazon",
)
EMAIL = re.compile(r"^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$", re.IGNORECASE)

MINIMAL_FROM_CLI = {
    "slug": "acme",
    "name": "Acme",
    "contacts": [
        {
            "purpose": "privacy",
            "channel": "email",
            "value": "privacy@acme.example",
            "source": "https://acme.example/privacy",
            "checked": date(2026, 11, 25),
        }
    ],
}


@pytest.fixture(scope="module")
def directory() -> dict[str, Platform]:
    return load_directory()


def write(directory: Path, slug: str, body: str) -> Path:
    path = directory / f"{slug}.toml"
    path.write_text(body, encoding="utf-8")
    return path


# --- the shipped data -------------------------------------------------------------------------


@pytest.mark.parametrize("slug", REQUIRED)
def test_required_platform_is_shipped_and_loads(directory: dict[str, Platform], slug: str) -> None:
    platform = directory[slug]
    assert platform.slug == slug
    assert platform.origin == "builtin"
    assert platform.path == builtin_platforms_dir() / f"{slug}.toml"
    assert platform.name
    assert platform.entities, f"{slug} has no legal entity"
    assert platform.default_recipient() is not None, f"{slug} has no contact to write to"


def test_every_entity_and_contact_cites_an_https_source_and_a_checked_date(
    directory: dict[str, Platform],
) -> None:
    for platform in directory.values():
        for record in (*platform.entities, *platform.contacts):
            where = f"{platform.slug}: {record}"
            assert record.source.startswith("https://"), where
            assert isinstance(record.checked, date), where
            assert record.checked <= date.today(), where


def test_every_lead_authority_names_a_shipped_authority(directory: dict[str, Platform]) -> None:
    authorities = load_authorities()
    leads = {p.slug: p.lead_authority for p in directory.values() if p.lead_authority}
    assert leads, "no platform names a lead authority"
    for slug, lead in leads.items():
        assert lead in authorities, f"{slug}: lead_authority {lead!r} has no authority file"


def test_dublin_platforms_are_led_by_the_irish_dpc(directory: dict[str, Platform]) -> None:
    for slug in ("facebook", "instagram", "whatsapp", "google", "linkedin", "x", "apple", "tiktok"):
        assert directory[slug].lead_authority == "iedpc", slug
    assert directory["amazon"].lead_authority == "lucnpd"


def test_unconfirmed_lead_authorities_are_flagged(directory: dict[str, Platform]) -> None:
    # A lead authority given on reasoning alone must say so, and say why in the notes.
    for slug in ("microsoft", "slack", "discord"):
        platform = directory[slug]
        assert "lead_authority" in platform.unverified_fields, slug
        assert any("unconfirmed" in note.lower() for note in platform.notes), slug


def test_every_email_contact_looks_like_an_address(directory: dict[str, Platform]) -> None:
    emails = [c.value for p in directory.values() for c in p.contacts if c.channel == "email"]
    assert "privacy@zoom.us" in emails
    for value in emails:
        assert EMAIL.match(value), value


def test_every_shipped_record_passes_the_checks_of_a_workspace_file(
    directory: dict[str, Platform]
) -> None:
    # load_directory does not check the shipped files' addresses (it would import email-validator
    # at every command): each passes the check a workspace's file gets, here.
    for path in sorted(builtin_platforms_dir().glob("*.toml")):
        assert load_platform_file(path, check_addresses=True) == directory[path.stem]


def test_every_webform_contact_is_an_https_url(directory: dict[str, Platform]) -> None:
    for platform in directory.values():
        for contact in platform.contacts:
            if contact.channel == "webform":
                assert contact.value.startswith("https://"), (platform.slug, contact.value)


def test_datarequests_records_keep_their_quality(directory: dict[str, Platform]) -> None:
    # Slack's datarequests.org record is only "tested", so nothing from it may claim verified.
    slack = directory["slack"]
    assert not any(record.verified for record in (*slack.entities, *slack.contacts))
    assert directory["zoom"].contact_for("email", "privacy") == Contact(
        purpose="privacy", channel="email", value="privacy@zoom.us", region="global",
        source="https://zoom.us/privacy",
        via="datarequests.org directory (datenanfragen/data@0a29c3d6, CC0)",
        checked=date(2026, 11, 25), verified=True, note="",
    )


def test_inherited_platforms_repeat_their_parents_records(directory: dict[str, Platform]) -> None:
    for child, parent in (("youtube", "google"), ("gmail", "google"), ("teams", "microsoft"),
                          ("skype", "microsoft")):
        assert directory[child].entities == directory[parent].entities, child
        assert set(directory[parent].contacts) <= set(directory[child].contacts), child


def test_dsa_appeal_routes_are_recorded(directory: dict[str, Platform]) -> None:
    for slug in ("facebook", "youtube", "tiktok"):
        appeals = [c for c in directory[slug].contacts if c.purpose == "appeals"]
        assert any(c.value == "https://appealscentre.eu" for c in appeals), slug


# --- authorities ------------------------------------------------------------------------------


def test_all_supervisory_authorities_are_converted() -> None:
    authorities = load_authorities()
    assert len(authorities) == 57
    dpc = authorities["iedpc"]
    assert dpc.name == "Irish Data Protection Commission"
    assert dpc.countries == ("IE",)
    assert dpc.email == "info@dataprotection.ie"
    assert dpc.complaint_language == "en"
    assert dpc.address.endswith("Ireland")
    assert dpc.checked == date(2026, 11, 25)
    assert "0a29c3d6" in dpc.via
    for authority in authorities.values():
        assert authority.sources and all(s.startswith("http") for s in authority.sources)
        assert authority.address and authority.countries


def test_the_authority_slugs_are_those_of_the_records() -> None:
    # A platform's lead_authority is checked against the file names, without reading them.
    assert authority_slugs() == set(load_authorities())


def test_load_authorities_returns_a_copy() -> None:
    first = load_authorities()
    first.pop("iedpc")
    assert "iedpc" in load_authorities()


def test_find_authority_suggests_close_slugs() -> None:
    assert find_authority("IEDPC").slug == "iedpc"
    with pytest.raises(NotFoundError, match="iedpc"):
        find_authority("iedcp")


# --- lookup -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [("twitter", "x"), ("tencent", "wechat"), ("weixin", "wechat"), ("meta", "facebook"),
     ("Twitter", "x"), (" ZOOM ", "zoom"), ("x", "x")],
)
def test_find_platform_by_slug_or_alias_ignoring_case(
    directory: dict[str, Platform], name: str, slug: str
) -> None:
    assert find_platform(directory, name).slug == slug


def test_find_platform_typo_suggests_close_matches(directory: dict[str, Platform]) -> None:
    with pytest.raises(NotFoundError) as caught:
        find_platform(directory, "zom")
    message = str(caught.value)
    assert "unknown platform 'zom'" in message
    assert "did you mean: zoom" in message
    assert "see `tracker platform list`" in message


# --- record behaviour -------------------------------------------------------------------------


def _entity(region: str, name: str) -> Entity:
    return Entity(region, name, "", "https://a.example", "", None, True)


def _contact(purpose: str, channel: str, value: str) -> Contact:
    return Contact(purpose, channel, value, "global", "https://a.example", "", None, True, "")


def test_entity_for_prefers_region_then_eu_then_first(directory: dict[str, Platform]) -> None:
    google = directory["google"]
    assert google.entity_for("US").name == "Google LLC"
    assert google.entity_for("us").name == "Google LLC"
    assert google.entity_for("CN").name == "Google Ireland Limited"  # no CN entity: EU
    assert google.entity_for().name == "Google Ireland Limited"
    zoom = directory["zoom"]
    assert zoom.entity_for("UK").name == "Zoom Video Communications, Inc."  # no EU: first
    assert replace(zoom, entities=()).entity_for("EU") is None


def test_contact_for_filters_by_channel_and_purpose(directory: dict[str, Platform]) -> None:
    google = directory["google"]
    assert google.contact_for("email").value == "data-access-requests@google.com"
    assert google.contact_for("email", "dpo").value == "dpo-google@google.com"
    assert google.contact_for(purpose="privacy", channel="fax").value == "+1 650 618 1806"
    assert google.contact_for("post") is None


def test_default_recipient_prefers_suggested_channel_then_privacy_over_dpo(
    directory: dict[str, Platform],
) -> None:
    base = directory["zoom"]
    contacts = (
        _contact("law-enforcement", "email", "le@a.example"),
        _contact("dpo", "email", "dpo@a.example"),
        _contact("privacy", "webform", "https://a.example/form"),
        _contact("privacy", "email", "privacy@a.example"),
    )
    by_email = replace(base, contacts=contacts, suggested_channel="email")
    assert by_email.default_recipient().value == "privacy@a.example"
    by_form = replace(base, contacts=contacts, suggested_channel="webform")
    assert by_form.default_recipient().value == "https://a.example/form"
    by_post = replace(base, contacts=contacts[:2], suggested_channel="post")
    assert by_post.default_recipient().value == "dpo@a.example"  # never law enforcement
    assert replace(base, contacts=contacts[:1]).default_recipient() is None


def test_to_dict_is_json_serialisable(directory: dict[str, Platform]) -> None:
    for platform in directory.values():
        data = json.loads(json.dumps(platform.to_dict()))
        assert data["slug"] == platform.slug
        assert data["origin"] == "builtin"
        assert data["path"] == str(platform.path)
        assert len(data["contacts"]) == len(platform.contacts)
    zoom = json.loads(json.dumps(directory["zoom"].to_dict()))
    assert zoom["contacts"][0]["checked"] == "2026-11-25"
    assert zoom["entities"][0]["checked"] == "2026-11-25"


# --- workspace overrides ----------------------------------------------------------------------


ZOOM_OVERRIDE = """
slug = "zoom"
name = "Zoom (our notes)"
lead_authority = "iedpc"

[[contacts]]
purpose = "dpo"
channel = "email"
value = "dpo@zoom.example"
source = "https://zoom.example/dpo"
checked = 2026-11-20
"""

ACME = """
slug = "acme"
name = "Acme Social"
aliases = ["acmesocial"]

[[contacts]]
purpose = "privacy"
channel = "email"
value = "privacy@acme.example"
"""


def test_workspace_override_replaces_builtin_and_adds_new_platform(tmp_path: Path) -> None:
    write(tmp_path, "zoom", ZOOM_OVERRIDE)
    write(tmp_path, "acme", ACME)
    builtin = load_directory()
    merged = load_directory([tmp_path])

    assert set(merged) == set(builtin) | {"acme"}
    zoom = merged["zoom"]
    assert zoom.origin == "workspace"
    assert zoom.path == tmp_path / "zoom.toml"
    assert zoom.name == "Zoom (our notes)"
    # The whole record is replaced, not merged field by field.
    assert zoom.entities == ()
    assert [c.value for c in zoom.contacts] == ["dpo@zoom.example"]
    assert find_platform(merged, "acmesocial").name == "Acme Social"
    assert merged["facebook"] == builtin["facebook"]
    assert builtin["zoom"].origin == "builtin"


def test_later_workspace_directories_win(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(first, "acme", ACME)
    write(second, "acme", ACME.replace("Acme Social", "Acme Two"))
    assert load_directory([first, second])["acme"].name == "Acme Two"


def test_missing_workspace_directory_is_fine(tmp_path: Path) -> None:
    assert load_directory([tmp_path / "nope"]) == load_directory()


def test_workspace_path_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "platforms"
    not_a_dir.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a directory"):
        load_directory([not_a_dir])


def test_alias_taken_by_another_platform_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "acme", ACME.replace('"acmesocial"', '"twitter"'))
    with pytest.raises(ConfigError) as caught:
        load_directory([tmp_path])
    assert "acme.toml: aliases: 'twitter' already names 'x'" in str(caught.value)


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    platform = load_platform_file(write(tmp_path, "acme", ACME), origin="workspace")
    assert platform.suggested_channel == "email"
    assert platform.language == "en"
    assert platform.lead_authority == "" and platform.country == ""
    assert platform.laws == () and platform.entities == ()
    contact = platform.contacts[0]
    assert (contact.region, contact.source, contact.checked, contact.verified) == (
        "global", "", None, False,
    )


# --- bad files --------------------------------------------------------------------------------


GOOD = """
slug = "acme"
name = "Acme"
suggested_channel = "email"
language = "en"
laws = ["GDPR"]
lead_authority = "iedpc"
unverified_fields = ["reply_domains"]
reply_domains = ["acme.example"]
country = "DE"

[[entities]]
region = "EU"
name = "Acme Ltd"
source = "https://acme.example/imprint"
checked = 2026-11-25
verified = true

[[contacts]]
purpose = "privacy"
channel = "email"
value = "privacy@acme.example"
source = "https://acme.example/privacy"
checked = 2026-11-25
"""


def test_the_good_file_used_below_loads(tmp_path: Path) -> None:
    platform = load_platform_file(write(tmp_path, "acme", GOOD))
    assert platform.country == "DE"
    assert platform.entities[0].checked == date(2026, 11, 25)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('slug = "acme"', 'slug = "acme', "not valid TOML"),
        ('slug = "acme"', "", "slug: is required"),
        ('name = "Acme"', "", "name: is required"),
        ('slug = "acme"', 'slug = "other"', "slug: 'other' does not match the file name"),
        ('slug = "acme"', 'slug = "Acme Inc"', "slug:"),
        ('\nchannel = "email"', '\nchannel = "sms"', "contacts #1: channel: 'sms' is not one of"),
        ('purpose = "privacy"', 'purpose = "complaints"', "contacts #1: purpose:"),
        ('value = "privacy@acme.example"', 'value = "privacy at acme"', "contacts #1: value:"),
        ('value = "privacy@acme.example"', 'value = ""', "contacts #1: value: is required"),
        ('source = "https://acme.example/imprint"', 'source = "acme.example"',
         "entities #1: source:"),
        ("checked = 2026-11-25\nverified", 'checked = "last week"\nverified',
         "entities #1: checked: must be a date"),
        ('region = "EU"', 'region = "Mars"', "entities #1: region: 'Mars' is not one of"),
        ('name = "Acme Ltd"', "", "entities #1: name: is required"),
        ("verified = true", 'verified = "yes"', "entities #1: verified: must be true or false"),
        ('name = "Acme"', 'name = "Acme"\nwebsight = "https://acme.example"',
         "websight: unknown field (did you mean: website?)"),
        ('suggested_channel = "email"', 'suggested_channel = "fax"', "suggested_channel:"),
        ('language = "en"', 'language = "english"', "language:"),
        ('laws = ["GDPR"]', 'laws = ["GPDR"]', "laws: 'GPDR' is not one of"),
        ('laws = ["GDPR"]', 'laws = "GDPR"', "laws: must be a list of strings"),
        ('lead_authority = "iedpc"', 'lead_authority = "iedcp"',
         "lead_authority: no authority 'iedcp' (did you mean: iedpc"),
        ('unverified_fields = ["reply_domains"]', 'unverified_fields = ["reply_domain"]',
         "unverified_fields: 'reply_domain' is not a field"),
        ('reply_domains = ["acme.example"]', 'reply_domains = ["acme example"]',
         "reply_domains: 'acme example' is not a domain name"),
        ('country = "DE"', 'country = "XX"', "country: 'XX' has no public-holiday calendar"),
        ("[[contacts]]", "[contacts]", "contacts: must be an array of tables"),
    ],
)
def test_bad_file_names_the_file_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    assert old in GOOD
    path = write(tmp_path, "acme", GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_platform_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert field in message


def test_bad_workspace_file_stops_the_whole_directory_load(tmp_path: Path) -> None:
    write(tmp_path, "acme", GOOD.replace('\nchannel = "email"', '\nchannel = "pigeon"'))
    with pytest.raises(ConfigError, match=r"acme\.toml: contacts #1: channel"):
        load_directory([tmp_path])


# --- writing ----------------------------------------------------------------------------------


def test_write_platform_file_round_trips_a_cli_record(tmp_path: Path) -> None:
    target = tmp_path / "platforms"
    path = write_platform_file(target, MINIMAL_FROM_CLI)
    assert path == target / "acme.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8").startswith("# Platform record for tracker")

    platform = load_platform_file(path, origin="workspace")
    assert (platform.slug, platform.name, platform.suggested_channel) == ("acme", "Acme", "email")
    assert platform.default_recipient() == Contact(
        purpose="privacy", channel="email", value="privacy@acme.example", region="global",
        source="https://acme.example/privacy", via="", checked=date(2026, 11, 25),
        verified=False, note="",
    )
    assert find_platform(load_directory([target]), "ACME").path == path
    assert list(target.iterdir()) == [path]  # no temporary file left behind


def test_write_platform_file_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = write_platform_file(tmp_path, MINIMAL_FROM_CLI)
    with pytest.raises(ConfigError, match="already exists"):
        write_platform_file(tmp_path, {**MINIMAL_FROM_CLI, "name": "Acme Two"})
    assert load_platform_file(path).name == "Acme"
    write_platform_file(tmp_path, {**MINIMAL_FROM_CLI, "name": "Acme Two"}, overwrite=True)
    assert load_platform_file(path).name == "Acme Two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_platform_file_writes_nothing_when_invalid(tmp_path: Path) -> None:
    bad = {**MINIMAL_FROM_CLI, "contacts": [{**MINIMAL_FROM_CLI["contacts"][0], "channel": "sms"}]}
    with pytest.raises(ConfigError, match=r"acme\.toml: contacts #1: channel"):
        write_platform_file(tmp_path, bad)
    with pytest.raises(ConfigError, match="slug"):
        write_platform_file(tmp_path, {"name": "No slug"})
    assert list(tmp_path.iterdir()) == []


def test_a_builtin_record_copies_into_a_workspace_unchanged(
    tmp_path: Path, directory: dict[str, Platform]
) -> None:
    # to_dict() output (dates as text, path and origin included) is accepted back as input.
    for slug in ("google", "telegram", "wechat"):
        original = directory[slug]
        path = write_platform_file(tmp_path, original.to_dict())
        copy = load_platform_file(path, origin="workspace")
        assert replace(copy, path=original.path, origin="builtin") == original


def test_purposes_and_channels_are_the_documented_sets() -> None:
    assert PURPOSES == ("privacy", "dpo", "legal", "appeals", "support", "law-enforcement")
    assert CHANNELS == ("email", "webform", "post", "fax")
