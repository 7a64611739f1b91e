"""The server behind `rcmflow serve`: waitress, with a bounded pool of threads.

waitress accepts every connection on one thread (up to `connection_limit` open at
once, the rest waiting in the listen backlog, never reset) and hands each request to
one of `threads` workers, so a burst of browsers is queued, not refused, and the
database sees at most `threads` readers at a time.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Mapping

from waitress import wasyncore
from waitress.server import create_server

from rcmflow.errors import BadInput

DEFAULT_THREADS = 8
MAX_THREADS = 64
#: open connections at once; more wait in the backlog until one closes
CONNECTION_LIMIT = 200
BACKLOG = 1024
#: how often the loop looks whether `shutdown` was asked for, in seconds
POLL_SECONDS = 0.2


def serve_threads(settings: Mapping[str, Any]) -> int:
    """The `[serve] threads` of rcmflow.toml, checked: how many requests run at once."""
    threads = settings.get("threads", DEFAULT_THREADS)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise BadInput(f"rcmflow.toml: [serve] threads must be a whole number from 1 to {MAX_THREADS}, "
                       f"e.g. threads = {DEFAULT_THREADS}")
    return threads


class StatusServer:
    """`app` served by waitress on `host`:`port`: bound when made (port 0: any free
    port, see `server_port`), serving in `serve_forever` until `shutdown` (from another
    thread) or Ctrl-C, which `serve_forever` lets through to its caller."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8000, threads: int = DEFAULT_THREADS):
        # waitress says "Serving on …" and "task queue depth" at info and warning level;
        # rcmflow serve says what it serves itself, and a queue is what the pool is for
        logging.getLogger("waitress").setLevel(logging.ERROR)
        self._map: dict[int, Any] = {}
        self._stop, self._started, self._finished = threading.Event(), threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._server = create_server(
            app, map=self._map, host=host, port=port, threads=threads, ident="rcmflow",
            connection_limit=CONNECTION_LIMIT, backlog=BACKLOG, asyncore_use_poll=True,
            expose_tracebacks=False, clear_untrusted_proxy_headers=False)

    @property
    def server_port(self) -> int:
        server = self._server
        return server.effective_port if hasattr(server, "effective_port") else server.effective_listen[0][1]

    def serve_forever(self) -> None:
        self._started.set()
        try:
            while not self._stop.is_set() and self._map:
                wasyncore.loop(timeout=POLL_SECONDS, map=self._map, use_poll=True, count=1)
        finally:
            self.server_close()
            self._finished.set()

    def shutdown(self) -> None:
        """Ask `serve_forever` to stop, and wait until it has (as socketserver's does)."""
        self._stop.set()
        if self._started.is_set():
            self._finished.wait()

    def server_close(self) -> None:
        """Stop accepting, close every connection and wait for the workers; once."""
        self._stop.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            wasyncore.close_all(self._map)
            self._server.task_dispatcher.shutdown()
