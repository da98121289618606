"""Email addresses: one check for every address tracker sends from, to, or replies on.

The same function guards the door (tracker.toml, `request new --to`, `platform add --email`,
the platform directory) and the wire (building the letter, the SMTP envelope), so an address
accepted when a request is made is never refused only when it is sent.
"""

from __future__ import annotations

import smtplib
from typing import Any

from tracker.core.errors import InputError, TrackerError


def _validate(address: str) -> Any:
    """email-validator's verdict on *address* (raises EmailNotValidError), without DNS."""
    from email_validator import validate_email

    # No SMTPUTF8: letters are built with ASCII headers, where a non-ASCII local part cannot
    # be written (the email package would mangle it), so such an address is refused here and
    # not at `send`. An internationalised domain is fine: it is sent in its xn-- form.
    return validate_email(address, check_deliverability=False, allow_smtputf8=False,
                          allow_display_name=False, allow_quoted_local=False,
                          allow_domain_literal=False)


def address_problem(address: str) -> str | None:
    """Why *address* is not one plain email address tracker can send to, or None if it is.

    One mailbox, no display name, no quoted local part, no IP literal, an ASCII local part, a
    domain with a dot that is not a special-use name (``.local``, ``.test``), and no control,
    bidi or invisible characters (a trailing U+202E, say).
    """
    from email_validator import EmailNotValidError

    try:
        ascii_form = _validate(address).ascii_email
    except EmailNotValidError as exc:
        return "".join(c if c.isprintable() else "?" for c in str(exc)).rstrip(".")
    # smtplib puts the envelope address through parseaddr(); it must come out unchanged.
    if smtplib.quoteaddr(ascii_form) != f"<{ascii_form}>":
        return "the mail library would not send it as written"
    return None


def check_address(field: str, value: str, error: type[TrackerError] = InputError) -> str:
    """Return *value* as it is sent (domain lower-case, in xn-- form), or raise *error*.

    The error names *field* and says what is wrong with the address.
    """
    problem = address_problem(value)
    if problem:
        raise error(f"{field} {value!r} is not a plain email address "
                    f"(like name@example.org): {problem}")
    return str(_validate(value).ascii_email)
