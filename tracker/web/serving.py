"""Running the web face: uvicorn on a checked address, the mailbox watcher beside it.

Plain http is served only on loopback, where nobody else can read it. To serve a network, put
a reverse proxy with TLS in front (``--behind-proxy``: ``[web] base_url`` must then be https,
and forwarded headers count only from ``[web] trusted_proxies``) or give a certificate.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.config.settings import is_loopback
from tracker.core.errors import ConfigError, TrackerError
from tracker.jobs.watch import WatchState, watch
from tracker.services.workspace import Workspace

log = logging.getLogger("tracker.web")
RETRY_FIRST_CONNECT = 60.0  # seconds: a watcher that never connected tries again this often
MAX_WORKERS = 32


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    behind_proxy: bool = False
    certfile: Path | None = None
    keyfile: Path | None = None
    watch: bool = True
    workers: int = 1  # processes serving pages (each its own Python: one per core)


def check_options(ws: Workspace, options: ServeOptions) -> None:
    """Refuse an address that would carry passwords and mail in plain text over a network."""
    if bool(options.certfile) != bool(options.keyfile):
        raise ConfigError("give both --certfile and --keyfile, or neither")
    for path in (options.certfile, options.keyfile):
        if path is not None and not path.is_file():
            raise ConfigError(f"{path} does not exist; give the certificate's files")
    if not 0 < options.port < 65536:
        raise ConfigError(f"--port {options.port}: give a port from 1 to 65535")
    if not 0 < options.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers {options.workers}: give 1 to {MAX_WORKERS} (about one "
                          "per processor core)")
    if options.workers > 1 and options.watch and ws.settings.imap.host:
        raise ConfigError(f"--workers {options.workers} serves pages from several processes "
                          "and the mailbox is watched from one: add --no-watch and run "
                          "`tracker watch` beside it (see docs/web.md)")
    if options.behind_proxy and not ws.settings.web.base_url.startswith("https://"):
        raise ConfigError("--behind-proxy needs [web] base_url = \"https://...\" (the address "
                          "staff open, served by the proxy with TLS)")
    if not is_loopback(options.host) and not options.behind_proxy and not options.certfile:
        raise ConfigError(
            f"--host {options.host} would serve the workspace unencrypted to the network; "
            "serve on 127.0.0.1 behind a reverse proxy with TLS (--behind-proxy, see "
            "docs/web.md), or give --certfile and --keyfile")


class WithoutQuery(logging.Filter):
    """The access log without query strings: the words staff search the mail for, and the
    filters they use, stay out of the server's log; the path and the status stay in."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with `WithoutQuery` on its access log (in every worker)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query"] = {
        "()": f"{__name__}.WithoutQuery"}
    config["handlers"]["access"]["filters"] = ["without_query"]
    return config


def start_watcher(ws: Workspace, stop: threading.Event, state: WatchState) -> threading.Thread:
    """The mailbox watcher in a thread; a failure to connect is shown and retried, not fatal."""

    def run() -> None:
        while not stop.is_set():
            try:
                watch(ws, stop, state=state)
            except TrackerError as exc:
                state.failed(str(exc))
                log.error("mailbox watcher: %s; trying again in %d s", exc,
                          RETRY_FIRST_CONNECT)
                stop.wait(RETRY_FIRST_CONNECT)
            except Exception:  # a bug in the watcher must not take the web face down
                log.exception("mailbox watcher stopped by an unexpected error")
                state.failed("the watcher stopped on an unexpected error; see the server log")
                stop.wait(RETRY_FIRST_CONNECT)
        state.running = False

    thread = threading.Thread(target=run, name="tracker-watch", daemon=True)
    thread.start()
    return thread


def serve(ws: Workspace, options: ServeOptions, *, started: threading.Event | None = None
          ) -> None:
    """Serve until interrupted. *started* is set once the port is open (for tests)."""
    import uvicorn

    from tracker.web.app import create_app

    check_options(ws, options)
    ws.engine  # noqa: B018 (open the database and check its schema before the first visitor)
    https = bool(options.certfile) or ws.settings.web.base_url.startswith("https://")
    listen: dict[str, Any] = {
        "host": options.host, "port": options.port, "log_level": "info",
        "proxy_headers": options.behind_proxy,
        "forwarded_allow_ips": list(ws.settings.web.trusted_proxies) if options.behind_proxy
        else [],
        "ssl_certfile": str(options.certfile) if options.certfile else None,
        "ssl_keyfile": str(options.keyfile) if options.keyfile else None,
        "server_header": False, "date_header": False, "access_log": True,
        "log_config": log_config(),
        # On Ctrl-C, a browser's open keep-alive connection must not hold the server up.
        "timeout_graceful_shutdown": 10,
    }
    if options.workers > 1:
        _serve_workers(ws, options, https, listen)
        return
    app = create_app(ws, https=https, behind_proxy=options.behind_proxy)
    state = WatchState()
    app.state.watch = state
    stop = threading.Event()
    if options.watch:
        lock, running = threading.Lock(), list[threading.Thread]()

        def start_watch() -> None:
            """Start the watcher unless it runs (the Settings page calls it once the mailbox
            is set up there)."""
            with lock:
                if not any(t.is_alive() for t in running) and ws.settings.imap.host:
                    running.append(start_watcher(ws, stop, state))

        app.state.start_watch = start_watch
        start_watch()
    server = uvicorn.Server(uvicorn.Config(app, **listen))
    if started is not None:
        threading.Thread(target=_signal_started, args=(server, started), daemon=True).start()
    try:
        server.run()
    finally:
        stop.set()


def _signal_started(server: object, started: threading.Event) -> None:
    while not getattr(server, "started", False) and not getattr(server, "should_exit", False):
        time.sleep(0.05)
    started.set()


def _serve_workers(ws: Workspace, options: ServeOptions, https: bool,
                   listen: dict[str, Any]) -> None:
    """uvicorn's supervisor: *options.workers* processes on one socket, each opening the
    workspace again (`tracker.web.worker`), restarted if one dies."""
    import uvicorn

    from tracker.web.worker import SPEC

    os.environ[SPEC] = json.dumps({"workspace": str(ws.settings.workspace), "https": https,
                                   "behind_proxy": options.behind_proxy, "actor": ws.actor})
    uvicorn.run("tracker.web.worker:app", factory=True, workers=options.workers, **listen)
