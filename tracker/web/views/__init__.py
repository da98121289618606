"""The routes, one module per kind of page; `ROUTERS` is what the app includes."""

from tracker.web.views import (
    account,
    dashboard,
    evidence,
    inbox,
    letter_templates,
    mail_setup,
    message,
    new_request,
    people,
    platforms,
    reports,
    request,
    requests,
    settings,
)

# The request page's /requests/{ref} comes after every other /requests/... route.
ROUTERS = [account.router, dashboard.router, people.router, requests.router, new_request.router,
           inbox.router, platforms.router, letter_templates.router, reports.router,
           evidence.router, mail_setup.router, settings.router, message.router, request.router]
