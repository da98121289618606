"""The routes, one module per kind of page; `ROUTERS` is what the app includes."""

from tracker.web.views import account, dashboard, message, people, request

# The request page's /requests/{ref} comes after every other /requests/... route.
ROUTERS = [account.router, dashboard.router, people.router, message.router, request.router]
