"""Deadline rules, business calendars and waits: every expected date below is worked by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from tracker.core.business_days import BusinessCalendar
from tracker.core.clock import Extension, Letter, Reply, Wait, compute_wait, format_day, local_date
from tracker.core.deadlines import apply_rule, parse_rule
from tracker.core.errors import InputError

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

CALENDARS = {
    "": BusinessCalendar(),
    "DE": BusinessCalendar("DE"),
    "DE-BY": BusinessCalendar("DE", "BY"),
    "DE-BE": BusinessCalendar("DE", "BE"),
    "GB": BusinessCalendar("GB"),
    "GB-ENG": BusinessCalendar("GB", "ENG"),
    "US": BusinessCalendar("US"),
}


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str, tz: ZoneInfo = BERLIN) -> datetime:
    """An aware moment: "2020-06-08 10:00" read as local time in *tz*."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- parse_rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "unit", "amount", "roll"),
    [
        ("30d", "30d", "d", 30, False),
        (" 30 D ", "30d", "d", 30, False),
        ("20bd", "20bd", "bd", 20, False),
        ("20 BD", "20bd", "bd", 20, False),
        ("1m", "1m", "m", 1, False),
        ("1m+roll", "1m+roll", "m", 1, True),
        ("1M + ROLL", "1m+roll", "m", 1, True),
        ("3650d", "3650d", "d", 3650, False),
        ("2600bd", "2600bd", "bd", 2600, False),
        ("120m", "120m", "m", 120, False),
        ("007d", "7d", "d", 7, False),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else None,
)
def test_parse_rule_accepts_case_and_space_variants(
    text: str, canonical: str, unit: str, amount: int, roll: bool
) -> None:
    rule = parse_rule(text)
    assert (rule.text, rule.unit, rule.amount, rule.roll) == (canonical, unit, amount, roll)
    assert (rule.preset, rule.citation, rule.extension, rule.note) == (None, "", None, "")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "use Nd, Nbd, Nm (optionally +roll) or gdpr, ccpa, dsa"),
        ("0d", "1 to 3650"),
        ("-3d", "use Nd, Nbd"),
        ("3x", "use Nd, Nbd"),
        ("1y", "use Nd, Nbd"),
        ("gdrp", "did you mean: gdpr"),
        ("3651d", "1 to 3650"),
        ("2601bd", "1 to 2600"),
        ("121m", "1 to 120"),
        ("99999999999999999999999d", "1 to 3650"),
        ("d", "use Nd, Nbd"),
        ("30", "use Nd, Nbd"),
        ("1.5m", "use Nd, Nbd"),
        ("1m+rol", "use Nd, Nbd"),
        ("30d+roll+roll", "use Nd, Nbd"),
        ("gdpr+roll", "use Nd, Nbd"),
        ("٣٠d", "use Nd, Nbd"),  # Arabic-Indic digits are not a rule
    ],
    ids=lambda v: repr(v),
)
def test_parse_rule_rejects_malformed_text_naming_it(text: str, hint: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rule(text)
    message = str(caught.value)
    assert repr(text) in message
    assert hint in message
    assert "\n" not in message


def test_gdpr_preset_is_one_month_rolled_with_two_month_extension() -> None:
    rule = parse_rule(" GDPR ")
    assert (rule.text, rule.unit, rule.amount, rule.roll) == ("gdpr", "m", 1, True)
    assert (rule.preset, rule.citation) == ("gdpr", "GDPR Art. 12(3)")
    assert rule.extension is not None
    assert (rule.extension.unit, rule.extension.amount) == ("m", 2)
    assert "1182/71 Art. 3(4)" in rule.note
    assert "Saturday, Sunday or public holiday" in rule.note


def test_ccpa_preset_is_45_days_unrolled_with_45_day_extension() -> None:
    rule = parse_rule("ccpa")
    assert (rule.text, rule.unit, rule.amount, rule.roll) == ("ccpa", "d", 45, False)
    assert rule.citation == "CCPA, Cal. Civ. Code § 1798.130(a)(2)"
    assert rule.extension is not None
    assert (rule.extension.unit, rule.extension.amount) == ("d", 45)


@pytest.mark.parametrize(
    ("default", "unit", "amount", "roll", "words"),
    [
        ("30d", "d", 30, False, "30 days"),
        ("20bd", "bd", 20, False, "20 business days"),
        ("1m+roll", "m", 1, True, "1 month, rolled forward to a business day"),
    ],
)
def test_dsa_has_no_statutory_period_and_uses_the_default(
    default: str, unit: str, amount: int, roll: bool, words: str
) -> None:
    rule = parse_rule("dsa", default=default)
    assert (rule.text, rule.unit, rule.amount, rule.roll) == ("dsa", unit, amount, roll)
    assert (rule.preset, rule.citation, rule.extension) == ("dsa", "DSA Art. 20(4)", None)
    assert rule.note == (
        f"no statutory period ('timely'); the organisation's default of {words} is used"
    )


def test_dsa_with_a_malformed_default_raises() -> None:
    with pytest.raises(InputError, match="'3x'"):
        parse_rule("dsa", default="3x")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("30d", "30 days"),
        ("1d", "1 day"),
        ("20bd", "20 business days"),
        ("1bd", "1 business day"),
        ("1m", "1 month"),
        ("3m", "3 months"),
        ("1m+roll", "1 month, rolled forward to a business day"),
        ("gdpr", "1 month, GDPR Art. 12(3)"),
        ("ccpa", "45 days, CCPA (Cal. Civ. Code § 1798.130(a)(2))"),
        ("dsa", "30 days, organisation default (DSA Art. 20(4) sets no period)"),
    ],
)
def test_describe_puts_the_rule_in_words(text: str, words: str) -> None:
    assert parse_rule(text).describe() == words


# --- calendar days and months ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "start", "due"),
    [
        pytest.param("1m", "2024-01-31", "2024-02-29", id="31-jan+1m-leap-year-29-feb"),
        pytest.param("1m", "2023-01-31", "2023-02-28", id="31-jan+1m-common-year-28-feb"),
        pytest.param("1m", "2021-01-30", "2021-02-28", id="30-jan+1m-last-day-of-feb"),
        pytest.param("1m", "2021-03-31", "2021-04-30", id="31-mar+1m-30-apr"),
        pytest.param("1m", "2021-08-31", "2021-09-30", id="31-aug+1m-30-sep"),
        pytest.param("1m", "2020-01-15", "2020-02-15", id="mid-month-same-date"),
        pytest.param("2m", "2020-12-31", "2021-02-28", id="31-dec+2m-crosses-year"),
        pytest.param("12m", "2024-02-29", "2025-02-28", id="29-feb+12m-common-year"),
        pytest.param("48m", "2024-02-29", "2028-02-29", id="29-feb+48m-leap-year"),
        pytest.param("1m", "2024-02-29", "2024-03-29", id="29-feb+1m-same-date-not-month-end"),
        pytest.param("1m", "2021-04-30", "2021-05-30", id="30-apr+1m-not-31-may"),
        pytest.param("4m", "2023-10-31", "2024-02-29", id="31-oct+4m-crosses-year-leap-feb"),
        pytest.param("120m", "2024-02-29", "2034-02-28", id="29-feb+120m-longest-rule"),
        pytest.param("30d", "2020-12-20", "2021-01-19", id="30d-crosses-year"),
        pytest.param("1d", "2024-02-28", "2024-02-29", id="day-0-rule-1d-leap"),
        pytest.param("1d", "2023-02-28", "2023-03-01", id="1d-common-year"),
        pytest.param("365d", "2024-01-01", "2024-12-31", id="365d-in-leap-year"),
        pytest.param("30d", "2020-01-04", "2020-02-03", id="30d-from-a-saturday"),
    ],
)
def test_calendar_days_and_months(rule: str, start: str, due: str) -> None:
    assert apply_rule(d(start), parse_rule(rule), CALENDARS[""]) == d(due)


# --- business days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "start", "n", "expected"),
    [
        pytest.param("", "2020-01-03", 1, "2020-01-06", id="weekend-skipped"),
        pytest.param("", "2020-01-04", 1, "2020-01-06", id="start-on-saturday"),
        pytest.param("", "2020-01-03", 5, "2020-01-10", id="five-is-one-week"),
        pytest.param("", "2020-01-01", 0, "2020-01-01", id="zero-is-start"),
        pytest.param("DE", "2020-04-09", 1, "2020-04-14", id="DE-good-friday-easter-monday"),
        pytest.param("DE", "2020-12-23", 3, "2020-12-29", id="DE-christmas-24-dec-is-working"),
        pytest.param("DE", "2020-12-14", 20, "2021-01-13", id="DE-20bd-over-new-year"),
        pytest.param("DE-BY", "2020-12-14", 20, "2021-01-14", id="DE-BY-epiphany-6-jan"),
        pytest.param("DE-BE", "2020-12-14", 20, "2021-01-13", id="DE-BE-no-epiphany"),
        pytest.param("DE", "2020-01-01", 255, "2020-12-31", id="DE-whole-year-2020"),
        pytest.param("GB-ENG", "2020-04-09", 1, "2020-04-14", id="GB-ENG-easter"),
        pytest.param("GB", "2020-04-09", 1, "2020-04-13", id="GB-easter-monday-not-uk-wide"),
        pytest.param("GB", "2020-12-24", 1, "2020-12-29", id="GB-boxing-day-observed"),
        pytest.param("US", "2020-11-25", 1, "2020-11-27", id="US-thanksgiving"),
        pytest.param("US", "2020-11-16", 20, "2020-12-15", id="US-20bd-over-thanksgiving"),
        pytest.param("US", "2021-07-02", 1, "2021-07-06", id="US-july-4-observed-monday"),
    ],
)
def test_add_business_days(cal: str, start: str, n: int, expected: str) -> None:
    assert CALENDARS[cal].add_business_days(d(start), n) == d(expected)


@pytest.mark.parametrize(
    ("cal", "start", "end", "count"),
    [
        pytest.param("", "2020-01-03", "2020-01-06", 1, id="fri-to-mon"),
        pytest.param("", "2020-01-06", "2020-01-06", 0, id="same-day"),
        pytest.param("", "2020-01-10", "2020-01-06", 0, id="end-before-start"),
        pytest.param("", "2020-01-01", "2021-01-01", 262, id="weekdays-of-2020"),
        pytest.param("", "2000-01-01", "2020-01-01", 5218, id="twenty-years"),
        pytest.param("DE", "2020-01-01", "2021-01-01", 255, id="DE-2020-minus-7-holidays"),
        pytest.param("DE", "2020-04-09", "2020-04-14", 1, id="DE-easter"),
        pytest.param("DE-BY", "2020-12-31", "2021-01-08", 4, id="DE-BY-epiphany"),
        pytest.param("DE-BE", "2020-12-31", "2021-01-08", 5, id="DE-BE-no-epiphany"),
        pytest.param("GB", "2020-12-24", "2021-01-04", 4, id="GB-christmas-new-year"),
        pytest.param("US", "2021-12-23", "2022-01-03", 5, id="US-observed-24-and-31-dec"),
        pytest.param("US", "2020-11-25", "2020-11-27", 1, id="US-thanksgiving"),
    ],
)
def test_business_days_between(cal: str, start: str, end: str, count: int) -> None:
    assert CALENDARS[cal].business_days_between(d(start), d(end)) == count


@pytest.mark.parametrize("cal", ["", "DE", "DE-BY", "GB-ENG", "US"])
def test_business_days_between_agrees_with_a_day_by_day_count(cal: str) -> None:
    calendar = CALENDARS[cal]
    country, _, sub = cal.partition("-")
    off = holidays.country_holidays(country, subdiv=sub or None, years=range(2019, 2024)) if (
        country
    ) else {}
    first = date(2019, 1, 1)
    for start in (first + timedelta(days=k) for k in range(0, 1000, 37)):
        for length in range(0, 420, 23):
            end = start + timedelta(days=length)
            naive = sum(
                1 for k in range(1, length + 1)
                if (day := start + timedelta(days=k)).weekday() < 5 and day not in off
            )
            assert calendar.business_days_between(start, end) == naive, (start, end)
            if naive:
                last = calendar.add_business_days(start, naive)
                assert last <= end and calendar.is_business_day(last), (start, naive)


def test_business_days_between_agrees_with_counting_day_by_day_over_years() -> None:
    # How fast it is for a big report is benchmarks/report_bench.py's; here, that the fast
    # path (whole weeks, cached holidays) counts what a day-by-day walk counts.
    calendar = BusinessCalendar("DE", "BY")
    for k in range(0, 10_000, 97):
        start = date(2015, 1, 1) + timedelta(days=k % 3000)
        end = start + timedelta(days=k % 900)
        walked = sum(calendar.is_business_day(start + timedelta(days=d))
                     for d in range(1, (end - start).days + 1))
        assert calendar.business_days_between(start, end) == walked, (start, end)


@pytest.mark.parametrize(
    ("cal", "day", "business", "name"),
    [
        pytest.param("DE-BY", "2021-01-06", False, "Epiphany", id="DE-BY-epiphany"),
        pytest.param("DE-BE", "2021-01-06", True, None, id="DE-BE-no-epiphany"),
        pytest.param("DE", "2020-10-03", False, "German Unity Day", id="DE-unity-on-saturday"),
        pytest.param("DE", "2020-12-24", True, None, id="DE-christmas-eve-works"),
        pytest.param("US", "2020-11-26", False, "Thanksgiving Day", id="US-thanksgiving"),
        pytest.param("GB", "2020-12-28", False, "Boxing Day (observed)", id="GB-observed"),
        pytest.param("", "2020-12-25", True, None, id="no-country-no-holidays"),
        pytest.param("", "2020-12-26", False, None, id="no-country-saturday"),
    ],
)
def test_holidays_and_business_days(cal: str, day: str, business: bool, name: str | None) -> None:
    assert CALENDARS[cal].is_business_day(d(day)) is business
    assert CALENDARS[cal].holiday_name(d(day)) == name


@pytest.mark.parametrize(
    ("country", "subdivision", "code", "sub"),
    [
        ("DE", "by", "DE", "BY"),
        ("de", "DE-BY", "DE", "BY"),
        ("DE", "Bayern", "DE", "BY"),
        ("GB", "England", "GB", "ENG"),
        (" us ", " ca ", "US", "CA"),
        ("", "", "", ""),
    ],
)
def test_calendar_normalises_country_and_subdivision(
    country: str, subdivision: str, code: str, sub: str
) -> None:
    calendar = BusinessCalendar(country, subdivision)
    assert (calendar.country, calendar.subdivision) == (code, sub)


@pytest.mark.parametrize(
    ("country", "subdivision", "mentions"),
    [
        ("XX", "", ["'XX'", "ISO 3166"]),
        ("DE", "XX", ["'XX'", "BY", "BE"]),
        ("", "BY", ["'BY'", "needs a country"]),
    ],
)
def test_calendar_rejects_unknown_country_or_subdivision(
    country: str, subdivision: str, mentions: list[str]
) -> None:
    with pytest.raises(InputError) as caught:
        BusinessCalendar(country, subdivision)
    assert all(m in str(caught.value) for m in mentions)
    assert "\n" not in str(caught.value)


# --- rolling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "cal", "start", "due"),
    [
        pytest.param("1m+roll", "DE", "2020-07-08", "2020-08-10", id="roll-saturday-to-monday"),
        pytest.param("1m", "DE", "2020-07-08", "2020-08-08", id="no-roll-without-suffix"),
        pytest.param("gdpr", "DE", "2020-07-08", "2020-08-10", id="gdpr-rolls-by-law"),
        pytest.param("gdpr", "DE", "2020-09-03", "2020-10-05", id="gdpr-unity-day-saturday"),
        pytest.param("gdpr", "DE", "2024-01-31", "2024-02-29", id="gdpr-leap-thursday-stays"),
        pytest.param("30d+roll", "DE", "2020-11-25", "2020-12-28", id="roll-over-christmas-DE"),
        pytest.param("1m+roll", "GB-ENG", "2020-11-25", "2020-12-29", id="roll-boxing-day-GB"),
        pytest.param("30d+roll", "US", "2020-10-27", "2020-11-27", id="roll-thanksgiving-US"),
        pytest.param("30d", "US", "2020-10-27", "2020-11-26", id="no-roll-thanksgiving-US"),
        pytest.param("ccpa", "US", "2020-01-02", "2020-02-16", id="ccpa-sunday-not-rolled"),
        pytest.param("1m+roll", "", "2020-01-04", "2020-02-04", id="roll-weekday-unchanged"),
        pytest.param("30d+roll", "", "2020-01-02", "2020-02-03", id="roll-weekends-only"),
    ],
)
def test_roll_to_next_business_day(rule: str, cal: str, start: str, due: str) -> None:
    assert apply_rule(d(start), parse_rule(rule), CALENDARS[cal]) == d(due)


def test_next_business_day_keeps_a_business_day() -> None:
    assert CALENDARS["DE"].next_business_day(d("2020-12-24")) == d("2020-12-24")
    assert CALENDARS["DE"].next_business_day(d("2020-12-25")) == d("2020-12-28")


# --- local dates and formatting ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "tz", "day"),
    [
        pytest.param("2020-03-28 22:59", BERLIN, "2020-03-28", id="berlin-cet-before-midnight"),
        pytest.param("2020-03-28 23:30", BERLIN, "2020-03-29", id="berlin-cet-after-midnight"),
        pytest.param("2020-03-29 21:59", BERLIN, "2020-03-29", id="berlin-cest-first-evening"),
        pytest.param("2020-03-29 22:30", BERLIN, "2020-03-30", id="berlin-cest-after-midnight"),
        pytest.param("2020-10-24 22:30", BERLIN, "2020-10-25", id="berlin-last-cest-night"),
        pytest.param("2020-10-25 22:30", BERLIN, "2020-10-25", id="berlin-first-cet-night"),
        pytest.param("2020-03-08 04:30", NEW_YORK, "2020-03-07", id="new-york-last-est-night"),
        pytest.param("2020-03-09 03:30", NEW_YORK, "2020-03-08", id="new-york-first-edt-night"),
        pytest.param("2020-11-01 03:30", NEW_YORK, "2020-10-31", id="new-york-last-edt-night"),
        pytest.param("2020-11-02 04:30", NEW_YORK, "2020-11-01", id="new-york-first-est-night"),
    ],
)
def test_local_date_near_midnight_across_dst(moment: str, tz: ZoneInfo, day: str) -> None:
    assert local_date(utc(moment), tz) == d(day)


def test_local_date_converts_from_any_zone_and_rejects_naive() -> None:
    taipei = datetime(2020, 6, 8, 1, 0, tzinfo=ZoneInfo("Asia/Taipei"))
    assert local_date(taipei, UTC) == d("2020-06-07")
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2020, 6, 8, 1, 0), UTC)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        ("2020-06-08", "Mon 8 Jun 2020"),
        ("2021-12-25", "Sat 25 Dec 2021"),
        ("2024-02-29", "Thu 29 Feb 2024"),
        ("2020-11-01", "Sun 1 Nov 2020"),
    ],
)
def test_format_day_has_no_leading_zero(day: str, text: str) -> None:
    assert format_day(d(day)) == text


# --- compute_wait ----------------------------------------------------------------------------


def wait(
    letters: list[str],
    replies: Sequence[tuple[str, bool]] = (),
    as_of: str = "2020-06-20",
    rule: str = "gdpr",
    extensions: Sequence[tuple[str, str, str]] = (),
    cal: str = "DE",
    tz: ZoneInfo = BERLIN,
) -> Wait:
    """compute_wait with times as local "YYYY-MM-DD HH:MM" strings in *tz*."""
    return compute_wait(
        [Letter(sent_at=at(t, tz)) for t in letters],
        [Reply(received_at=at(t, tz), substantive=s) for t, s in replies],
        parse_rule(rule),
        [Extension(rule=parse_rule(r), granted_at=at(t, tz), reason=why)
         for r, t, why in extensions],
        d(as_of), tz, CALENDARS[cal],
    )


@pytest.mark.parametrize(
    ("as_of", "days", "bdays", "overdue", "by", "very"),
    [
        pytest.param("2020-01-01", 0, 0, False, 0, False, id="day-0-is-sending-day"),
        pytest.param("2020-01-02", 1, 1, False, 0, False, id="day-1"),
        pytest.param("2020-01-31", 30, 22, False, 0, False, id="due-day-not-overdue"),
        pytest.param("2020-02-01", 31, 22, True, 1, False, id="day-after-due-overdue"),
        pytest.param("2020-03-01", 60, 42, True, 30, False, id="very-overdue-day-not-yet"),
        pytest.param("2020-03-02", 61, 43, True, 31, True, id="day-after-very-overdue"),
    ],
)
def test_overdue_and_very_overdue_boundaries(
    as_of: str, days: int, bdays: int, overdue: bool, by: int, very: bool
) -> None:
    # 30d from Wed 1 Jan 2020: due Fri 31 Jan, a further 30 days: Sun 1 Mar (no roll).
    w = wait(["2020-01-01 12:00"], as_of=as_of, rule="30d", cal="", tz=UTC)
    assert (w.due_on, w.very_overdue_on) == (d("2020-01-31"), d("2020-03-01"))
    assert (w.sent_on, w.started_on) == (d("2020-01-01"), d("2020-01-01"))
    assert w.days_without_response == days
    assert w.business_days_without_response == bdays
    assert (w.overdue, w.overdue_by_days, w.very_overdue) == (overdue, by, very)
    assert not w.answered


@pytest.mark.parametrize(
    ("letters", "as_of"),
    [
        pytest.param([], "2020-06-20", id="no-letters"),
        pytest.param(["2020-06-08 10:00"], "2020-06-07", id="as-of-before-sending"),
    ],
)
def test_not_sent_yet(letters: list[str], as_of: str) -> None:
    w = wait(letters, as_of=as_of)
    assert w == Wait(
        sent_on=None, started_on=None, due_on=None, very_overdue_on=None,
        days_without_response=None, business_days_without_response=None, overdue=False,
        very_overdue=False, overdue_by_days=0, last_reply_on=None, answered=False,
        answered_at=None, response_days=None, explanation="not sent yet",
    )


SENT = "sent Mon 8 Jun 2020; rule 1 month, GDPR Art. 12(3); due Wed 8 Jul 2020"


@pytest.mark.parametrize(
    ("kwargs", "explanation"),
    [
        pytest.param({}, SENT, id="waiting"),
        pytest.param(
            {"extensions": [("2m", "2020-06-30 09:00", "complex request")], "as_of": "2020-07-20"},
            SENT + "; extended by 2 months on Tue 30 Jun 2020 (complex request): "
            "due Tue 8 Sep 2020",
            id="extended",
        ),
        pytest.param(
            {"replies": [("2020-07-03 15:00", True)], "as_of": "2020-07-10"},
            SENT + "; answered Fri 3 Jul 2020 after 25 days",
            id="answered",
        ),
        pytest.param(
            {"replies": [("2020-06-09 08:00", True)]},
            SENT + "; answered Tue 9 Jun 2020 after 1 day",
            id="answered-after-one-day",
        ),
        pytest.param(
            {"letters": ["2020-07-08 10:00"], "as_of": "2020-07-20"},
            "sent Wed 8 Jul 2020; rule 1 month, GDPR Art. 12(3); due Sat 8 Aug 2020; due date "
            "Sat 8 Aug 2020 is not a business day (DE), moved to Mon 10 Aug 2020",
            id="rolled-weekend",
        ),
        pytest.param(
            {"letters": ["2020-11-25 10:00"], "as_of": "2020-12-01", "rule": "30d+roll"},
            "sent Wed 25 Nov 2020; rule 30 days, rolled forward to a business day; due Fri 25 "
            "Dec 2020; due date Fri 25 Dec 2020 is not a business day (DE: Christmas Day), "
            "moved to Mon 28 Dec 2020",
            id="rolled-holiday-named",
        ),
        pytest.param(
            {"letters": ["2020-06-08 10:00", "2020-07-01 10:00"],
             "replies": [("2020-06-20 10:00", True)], "as_of": "2020-07-05"},
            "sent Wed 1 Jul 2020, after the reply of Sat 20 Jun 2020; rule 1 month, GDPR "
            "Art. 12(3); due Sat 1 Aug 2020; due date Sat 1 Aug 2020 is not a business day "
            "(DE), moved to Mon 3 Aug 2020",
            id="new-wait-after-answer",
        ),
        pytest.param(
            {"rule": "dsa", "cal": "", "tz": UTC},
            "sent Mon 8 Jun 2020; rule 30 days, organisation default (DSA Art. 20(4) sets no "
            "period); due Wed 8 Jul 2020",
            id="dsa-default",
        ),
        pytest.param({"as_of": "2020-06-07"}, "not sent yet", id="not-sent-yet"),
    ],
)
def test_explanation(kwargs: dict[str, object], explanation: str) -> None:
    args: dict[str, object] = {"letters": ["2020-06-08 10:00"], **kwargs}
    assert wait(**args).explanation == explanation  # type: ignore[arg-type]


def test_gdpr_extension_moves_due_and_overdue() -> None:
    ext = [("2m", "2020-06-30 09:00", "complex request")]
    on_due = wait(["2020-06-08 10:00"], extensions=ext, as_of="2020-09-08")
    assert (on_due.due_on, on_due.overdue) == (d("2020-09-08"), False)
    # very overdue: a further month after the (extended) due date
    assert on_due.very_overdue_on == d("2020-10-08")
    after = wait(["2020-06-08 10:00"], extensions=ext, as_of="2020-09-09")
    assert (after.overdue, after.overdue_by_days) == (True, 1)


def test_extension_counts_from_the_unrolled_end_and_rolls_once() -> None:
    # 8 Jul + 1 month = Sat 8 Aug (would roll to Mon 10 Aug); + 2 months = Thu 8 Oct:
    # three months from sending, not two months from the rolled Monday (Sat 10 Oct).
    w = wait(["2020-07-08 10:00"], extensions=[("2m", "2020-07-20 09:00", "")], as_of="2020-08-20")
    assert w.due_on == d("2020-10-08")
    assert w.explanation == (
        "sent Wed 8 Jul 2020; rule 1 month, GDPR Art. 12(3); due Sat 8 Aug 2020; "
        "extended by 2 months on Mon 20 Jul 2020: due Thu 8 Oct 2020"
    )


def test_ccpa_extensions_apply_successively() -> None:
    # Thu 2 Jan 2020 + 45d = Sun 16 Feb; + 45d = Wed 1 Apr; + 45d = Sat 16 May (never rolled)
    exts = [("45d", "2020-01-20 09:00", "first"), ("45d", "2020-03-01 09:00", "second")]
    one = wait(["2020-01-02 10:00"], rule="ccpa", extensions=exts[:1], as_of="2020-02-01",
               cal="US", tz=NEW_YORK)
    two = wait(["2020-01-02 10:00"], rule="ccpa", extensions=exts, as_of="2020-03-05",
               cal="US", tz=NEW_YORK)
    assert (one.due_on, two.due_on) == (d("2020-04-01"), d("2020-05-16"))


@pytest.mark.parametrize(
    ("ext_at", "as_of", "due"),
    [
        pytest.param("2020-01-20 09:00", "2020-03-10", "2020-04-02", id="granted-in-earlier-wait"),
        pytest.param("2020-03-05 09:00", "2020-03-10", "2020-06-02", id="granted-in-this-wait"),
        pytest.param("2020-03-11 09:00", "2020-03-10", "2020-04-02", id="granted-after-as-of"),
    ],
)
def test_extension_belongs_to_its_wait(ext_at: str, as_of: str, due: str) -> None:
    w = wait(["2020-01-10 10:00", "2020-03-02 10:00"], replies=[("2020-02-05 10:00", True)],
             rule="1m", extensions=[("2m", ext_at, "")], as_of=as_of)
    assert (w.started_on, w.due_on) == (d("2020-03-02"), d(due))


def test_acknowledgement_does_not_stop_the_clock() -> None:
    w = wait(["2020-06-08 10:00"], replies=[("2020-06-09 08:00", False)], as_of="2020-06-20")
    assert (w.answered, w.started_on, w.days_without_response) == (False, d("2020-06-08"), 12)
    assert (w.last_reply_on, w.response_days) == (None, None)


def test_follow_up_while_waiting_does_not_restart_the_count() -> None:
    w = wait(["2020-06-08 10:00", "2020-07-10 10:00"], replies=[("2020-06-09 08:00", False)],
             as_of="2020-07-15")
    assert (w.sent_on, w.started_on) == (d("2020-06-08"), d("2020-06-08"))
    assert w.due_on == d("2020-07-08")
    assert (w.days_without_response, w.overdue, w.overdue_by_days) == (37, True, 7)


def test_letter_after_an_answer_starts_a_new_wait() -> None:
    w = wait(["2020-06-08 10:00", "2020-07-01 10:00"], replies=[("2020-06-20 10:00", True)],
             as_of="2020-07-05")
    assert (w.sent_on, w.started_on) == (d("2020-06-08"), d("2020-07-01"))
    assert w.due_on == d("2020-08-03")  # Sat 1 Aug rolled (gdpr)
    assert (w.days_without_response, w.answered, w.last_reply_on) == (4, False, d("2020-06-20"))


@pytest.mark.parametrize(
    ("reply", "as_of", "response_days"),
    [
        pytest.param("2020-07-03 15:00", "2020-07-10", 25, id="answered-in-time"),
        pytest.param("2020-07-20 15:00", "2020-08-30", 42, id="answered-late-no-longer-overdue"),
    ],
)
def test_answered_wait(reply: str, as_of: str, response_days: int) -> None:
    w = wait(["2020-06-08 10:00", "2020-06-15 10:00"], replies=[(reply, True)], as_of=as_of)
    assert (w.answered, w.response_days, w.last_reply_on) == (True, response_days, d(reply[:10]))
    assert (w.started_on, w.days_without_response, w.business_days_without_response) == (
        None, None, None)
    assert (w.overdue, w.very_overdue, w.overdue_by_days) == (False, False, 0)
    assert (w.sent_on, w.due_on) == (d("2020-06-08"), d("2020-07-08"))


@pytest.mark.parametrize(
    ("letters", "replies", "as_of", "answered_at", "last_reply"),
    [
        pytest.param(["2020-06-08 10:00", "2020-06-25 10:00"],
                     [("2020-06-15 10:00", True), ("2020-06-30 09:00", True)], "2020-07-10",
                     "2020-06-30 09:00", "2020-06-30", id="answer-follow-up-second-answer"),
        pytest.param(["2020-06-08 10:00"],
                     [("2020-06-15 10:00", True), ("2020-06-18 11:00", True)], "2020-07-10",
                     "2020-06-15 10:00", "2020-06-18", id="two-answers-in-one-wait"),
        pytest.param(["2020-06-08 10:00", "2020-06-25 10:00"], [("2020-06-15 10:00", True)],
                     "2020-07-10", None, "2020-06-15", id="answered-then-waiting-again"),
        pytest.param(["2020-06-08 10:00"],
                     [("2020-06-09 08:00", False), ("2020-06-15 10:00", True)], "2020-07-10",
                     "2020-06-15 10:00", "2020-06-15", id="acknowledgement-first"),
        pytest.param(["2020-06-08 10:00"], [("2020-06-15 10:00", True)], "2020-06-14",
                     None, None, id="answer-after-as-of-ignored"),
    ],
)
def test_answered_at_is_the_reply_that_closed_the_current_wait(
    letters: list[str], replies: list[tuple[str, bool]], as_of: str, answered_at: str | None,
    last_reply: str | None,
) -> None:
    w = wait(letters, replies=replies, as_of=as_of)
    assert w.answered_at == (None if answered_at is None else at(answered_at, BERLIN))
    assert w.answered is (answered_at is not None)
    assert w.last_reply_on == (None if last_reply is None else d(last_reply))


@pytest.mark.parametrize(
    ("letters", "replies", "as_of", "started", "answered"),
    [
        pytest.param(["2020-06-08 10:00"], [("2020-07-03 10:00", True)], "2020-07-02",
                     "2020-06-08", False, id="reply-after-as-of-ignored"),
        pytest.param(["2020-06-08 10:00"], [("2020-06-08 10:00", True)], "2020-06-10",
                     "2020-06-08", False, id="reply-same-instant-does-not-answer"),
        pytest.param(["2020-07-10 10:00", "2020-06-08 10:00"], [], "2020-07-15",
                     "2020-06-08", False, id="letters-out-of-order"),
        pytest.param(["2020-06-08 10:00"], [("2020-06-01 10:00", True)], "2020-06-10",
                     "2020-06-08", False, id="reply-before-first-letter-answers-nothing"),
    ],
)
def test_wait_timeline_edges(
    letters: list[str], replies: list[tuple[str, bool]], as_of: str, started: str, answered: bool
) -> None:
    w = wait(letters, replies=replies, as_of=as_of)
    assert (w.started_on, w.answered) == (d(started), answered)
    assert "after the reply" not in w.explanation  # no earlier wait was answered


@pytest.mark.parametrize(
    ("sent", "tz", "as_of", "started", "days"),
    [
        pytest.param("2020-03-28 23:30", BERLIN, "2020-03-29", "2020-03-29", 0,
                     id="berlin-23:30-utc-is-next-day-day-0"),
        pytest.param("2020-03-28 23:30", BERLIN, "2020-04-28", "2020-03-29", 30,
                     id="berlin-count-across-spring-dst"),
        pytest.param("2020-10-24 22:30", BERLIN, "2020-10-26", "2020-10-25", 1,
                     id="berlin-count-across-autumn-dst"),
        pytest.param("2020-11-01 03:30", NEW_YORK, "2020-11-01", "2020-10-31", 1,
                     id="new-york-utc-date-would-say-0"),
        pytest.param("2020-03-09 03:30", NEW_YORK, "2020-04-07", "2020-03-08", 30,
                     id="new-york-count-across-spring-dst"),
    ],
)
def test_wait_counts_local_days_across_dst(
    sent: str, tz: ZoneInfo, as_of: str, started: str, days: int
) -> None:
    w = compute_wait([Letter(sent_at=utc(sent))], [], parse_rule("30d"), [], d(as_of), tz,
                     CALENDARS[""])
    assert (w.started_on, w.days_without_response) == (d(started), days)
    assert w.due_on == d(started) + timedelta(days=30)


def test_letter_sent_after_local_midnight_is_not_seen_the_day_before() -> None:
    # 23:30 UTC on 28 Mar is 00:30 on 29 Mar in Berlin: not sent as of 28 Mar.
    w = compute_wait([Letter(sent_at=utc("2020-03-28 23:30"))], [], parse_rule("30d"), [],
                     d("2020-03-28"), BERLIN, CALENDARS[""])
    assert (w.sent_on, w.explanation) == (None, "not sent yet")


def test_naive_letter_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        compute_wait([Letter(sent_at=datetime(2020, 6, 8, 10))], [], parse_rule("30d"), [],
                     d("2020-06-20"), UTC, CALENDARS[""])
