"""The routes, one module per kind of page; `ROUTERS` is what the app includes."""

from tracker.web.views import account, dashboard, inbox, new_request, people

ROUTERS = [account.router, dashboard.router, people.router, new_request.router, inbox.router]
