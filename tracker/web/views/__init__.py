"""The routes, one module per kind of page; `ROUTERS` is what the app includes."""

from tracker.web.views import (
    account,
    dashboard,
    evidence,
    letter_templates,
    people,
    platforms,
    reports,
    settings,
)

ROUTERS = [account.router, dashboard.router, people.router]
ROUTERS += [platforms.router, letter_templates.router, reports.router, evidence.router,
            settings.router]  # webadmin: platforms, templates, report, stats, evidence, settings
