"""The web face: `tracker serve`. Server-rendered pages on the same services the CLI calls.

    app        create_app: the FastAPI application, its middleware and error pages
    security   response headers (CSP), the same-origin check, cookies, the CSRF token
    auth       who is signed in, and what their role lets them do (route dependencies)
    rendering  the pages' Jinja2 environments (one per language), flash messages
    i18n       the interface's translations (Babel catalogs, read at start)
    views/     one module of routes per kind of page
    serving    running it: uvicorn, the loopback rule, the mailbox watcher beside it

A route parses the form, calls one service function and renders the result. Nothing taken from
mail is marked safe in a template: autoescape makes it inert.
"""
