"""The routes, one module per kind of page; `ROUTERS` is what the app includes."""

from tracker.web.views import account, dashboard, people, requests

ROUTERS = [account.router, dashboard.router, people.router, requests.router]
