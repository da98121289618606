"""Write one platform file: validated as it would be loaded, created atomically, mode 0600."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

from tracker.core.errors import ConfigError
from tracker.directory.loading import parse_platform
from tracker.directory.model import FIELDS
from tracker.directory.toml_table import SLUG

__all__ = ["write_platform_file"]


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
    # An entity without a department says nothing of one (most records have none).
    out = {k: v for k, v in row.items() if v is not None and not (k == "department" and not v)}
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
    if not isinstance(slug, str) or not SLUG.match(slug.strip()):
        raise ConfigError(f"slug: {slug!r} must be lower-case letters, digits and dashes")
    target = Path(directory) / f"{slug.strip()}.toml"
    plain = _plain(data)
    try:
        text = _HEADER + tomli_w.dumps(plain, multiline_strings=True)
    except TypeError as exc:
        raise ConfigError(f"{target}: cannot be written as TOML: {exc}") from None
    parse_platform(target, tomllib.loads(text), "workspace")
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
