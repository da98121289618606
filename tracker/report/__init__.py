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
"""

from tracker.report.export import EXPORT_FIELDS, export_requests
from tracker.report.formats import FORMATS, render
from tracker.report.mail import email_weekly_report
from tracker.report.model import WeeklyReport, build_weekly_report
from tracker.report.stats import PlatformReport, PlatformStats, platform_stats

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
    "render",
]
