"""The loopback redirect of a browser sign-in: a one-shot HTTP listener on 127.0.0.1.

The provider sends the browser back to ``http://localhost:PORT/`` (Microsoft; Entra accepts
any port for a registered ``http://localhost``) or ``http://127.0.0.1:PORT/`` (Google) with the
authorization code in the query (or, with Entra's ``response_mode=form_post``, in a form the
browser posts). Only an answer carrying the ``state`` this sign-in started
with is taken (anything else, a stray tab or a page trying its luck, is answered 400 and
ignored); the page says in plain words that the tab can be closed. Nothing from the query is
echoed into that page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tracker.core.errors import SignInError

_DONE = ("Signed in. tracker has what it needs: you can close this tab.\n"
         "已登录。tracker 已获得所需授权，可以关闭此标签页。\n")
_WRONG = "This is not the answer to the sign-in tracker is waiting for.\n"


class RedirectReceiver:
    """Listen on 127.0.0.1 (*port*, 0: any free one) for the redirect; see the module doc."""

    def __init__(self, expected_state: str = "", port: int = 0,
                 host_name: str = "localhost") -> None:
        self.expected_state = expected_state
        self._answer: dict[str, str] | None = None
        self._arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(urlsplit(self.path).query)

            def do_POST(self) -> None:  # Entra's response_mode=form_post
                length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
                self._answer(self.rfile.read(length).decode("ascii", "replace"))

            def _answer(self, form: str) -> None:
                query = dict(parse_qsl(form, keep_blank_values=True))
                good = (bool(receiver.expected_state)
                        and query.get("state") == receiver.expected_state
                        and ("code" in query or "error" in query))
                body = (_DONE if good else _WRONG).encode()
                self.send_response(200 if good else 400)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)
                if good and not receiver._arrived.is_set():
                    receiver._answer = query
                    receiver._arrived.set()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the query holds the authorization code: never logged

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise SignInError(f"cannot listen on 127.0.0.1:{port} for the sign-in's redirect "
                              f"({exc.strerror}); choose another --port") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.redirect_uri = f"http://{host_name}:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True,
                                        name="sign-in redirect")
        self._thread.start()

    def wait(self, timeout: float, cancelled: Callable[[], bool] = lambda: False,
             ) -> dict[str, str]:
        """The redirect's query, once the browser came back; SignInError on timeout."""
        waited = 0.0
        while not self._arrived.wait(0.25):
            waited += 0.25
            if cancelled():
                raise SignInError("the sign-in was cancelled")
            if waited >= timeout:
                raise SignInError(f"no answer from the browser within {timeout:g} s; "
                                  "start the sign-in again")
        assert self._answer is not None
        return self._answer

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
