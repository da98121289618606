"""Values that go into the headers of a message we write."""

from __future__ import annotations

import unicodedata

from tracker.core.errors import InputError


def check_header_value(field: str, value: str) -> str:
    """Return *value* if it can go into a mail header; InputError for CR, LF or control chars.

    A line break in a header value lets whoever controls the value add headers or change the
    recipients (header injection), so it is refused rather than cleaned.
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise InputError(
                f"{field} contains a line break or control character (U+{ord(char):04X}); "
                "it must be a single line of text"
            )
    return value
