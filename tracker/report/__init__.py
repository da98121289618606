"""The weekly report, per-platform statistics and the export of all requests.

    evaluate   read requests and messages once; each request's clock, row and next step
    model      the weekly report's data (build_weekly_report)
    rows       its rows: a request line, an inbound message, a draft
    stats      per-platform statistics (platform_stats)
    i18n       its words in English and Simplified Chinese
    layout     its six sections as plain tables, shared by every format
    terminal   rich tables          markdown   Markdown and plain text
    htmlpage   one mail-safe page with the chart
    formats    render(report, "terminal" | "markdown" | "html" | "csv" | "json" | "text")
    mail       the report as a multipart/alternative email (email_weekly_report)
    export     every request with its state and dates (export_requests)
    console    the terminal's console, made safe for text from mail (used by every command)

The names below are imported when first used: every command imports `report.console`, and
that must not load the report and the database layer under it (`tracker --help` stays fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.report.export import EXPORT_FIELDS, export_requests
    from tracker.report.formats import FORMATS, render
    from tracker.report.mail import email_weekly_report
    from tracker.report.model import WeeklyReport, build_weekly_report, read_weekly_report
    from tracker.report.stats import (
        PlatformReport,
        PlatformStats,
        platform_stats,
        read_platform_stats,
    )

# Where each public name lives.
_MODULES = {
    "EXPORT_FIELDS": "export", "export_requests": "export",
    "FORMATS": "formats", "render": "formats",
    "email_weekly_report": "mail",
    "WeeklyReport": "model", "build_weekly_report": "model", "read_weekly_report": "model",
    "PlatformReport": "stats", "PlatformStats": "stats", "platform_stats": "stats",
    "read_platform_stats": "stats",
}

__all__ = [
    "EXPORT_FIELDS",
    "FORMATS",
    "PlatformReport",
    "PlatformStats",
    "WeeklyReport",
    "build_weekly_report",
    "email_weekly_report",
    "export_requests",
    "platform_stats",
    "read_platform_stats",
    "read_weekly_report",
    "render",
]


def __getattr__(name: str) -> Any:
    """Import the module of a public name on first use (PEP 562)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
