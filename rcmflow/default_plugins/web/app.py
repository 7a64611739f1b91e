"""The WSGI application behind `rcmflow serve`, and the server that runs it (waitress,
with a bounded pool of threads).

Read-only: GET and HEAD only; the database is the only state, so every request reads
it afresh. Errors the user did not cause are logged with their traceback and shown
without it.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qs, quote

from rcmflow.errors import DatabaseError, NotFound
from rcmflow.language import LANGUAGES, _, negotiate, use
from rcmflow.log import get_logger
from rcmflow.default_plugins.web.access import access_allowed, redact, token_matches
from rcmflow.default_plugins.web.files import resolve_output
from rcmflow.default_plugins.web.links import Links
from rcmflow.default_plugins.web.pages import Pages
from rcmflow.default_plugins.web.proxies import Network, client_address

if TYPE_CHECKING:
    from rcmflow import Engine

REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}
#: no script runs and nothing loads from elsewhere, whatever ends up in a page
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")
def refused() -> str:
    return _("This status page is open to this machine only. From elsewhere, add the token set in "
             "rcmflow.toml ([serve] token) as ?token=… or as Authorization: Bearer ….")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    policy: str = PAGE_POLICY


class StatusApp:
    """The WSGI application behind `rcmflow serve`: read-only, GET and HEAD only."""

    def __init__(self, engine: "Engine", token: str | None = None, trusted_proxies: Iterable[Network] = ()):
        self.engine = engine
        self.token = token
        self.trusted_proxies = tuple(trusted_proxies)
        self.pages = Pages(engine)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        response = self.respond(environ)
        request = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
        get_logger().info("web", client=environ.get("REMOTE_ADDR"), forwarded=environ.get("HTTP_X_FORWARDED_FOR")
                          or environ.get("HTTP_FORWARDED"), request=redact(request.rstrip("?")),
                          status=response.status)
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                   ("Cache-Control", "no-store"), ("Content-Security-Policy", response.policy), *response.headers]
        start_response(f"{response.status} {REASONS[response.status]}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    def respond(self, environ: dict[str, Any]) -> Response:
        query = environ.get("QUERY_STRING", "")
        asked = {key: values[0] for key, values in parse_qs(query).items()}
        # ?lang= first, then the browser's languages; the page is in one of them from here on
        use(negotiate(environ.get("HTTP_ACCEPT_LANGUAGE"), asked.get("lang")))
        headers = {"Host": environ.get("HTTP_HOST"), "Authorization": environ.get("HTTP_AUTHORIZATION"),
                   "X-Forwarded-For": environ.get("HTTP_X_FORWARDED_FOR"), "Forwarded": environ.get("HTTP_FORWARDED"),
                   "X-Real-IP": environ.get("HTTP_X_REAL_IP")}
        # behind a proxy the peer is the proxy: the client is who the forwarded headers name
        client = client_address(environ.get("REMOTE_ADDR", ""), headers, self.trusted_proxies)
        if not access_allowed(client, headers, query, self.token):
            return self._error(403, refused(), Links())
        # WSGI hands over the path %-decoded as Latin-1 (PEP 3333); file names are UTF-8
        path = environ.get("PATH_INFO", "/").encode("latin-1", "replace").decode("utf-8", "replace")
        # Links keep a token that came in the query string (a header token needs no help),
        # the language asked for, and the refresh the reader turned on.
        given = asked.get("token")
        links = Links(given if self.token and token_matches(given, self.token) else None,
                      asked["lang"] if asked.get("lang") in LANGUAGES else None, asked.get("refresh") == "1", path)
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            response = self._error(405, _("This page is read-only: it answers GET and HEAD."), links)
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        try:
            return self._route(path, links)
        except NotFound as exc:
            return self._error(404, str(exc), links)
        except Exception as exc:
            return self._failure(exc, path, links)

    def _route(self, path: str, links: Links) -> Response:
        if path == "/":
            return self._page(self.pages.overview(links))
        if path.startswith("/instances/"):
            instance_id = path[len("/instances/"):]
            if instance_id and "/" not in instance_id:
                return self._page(self.pages.instance(instance_id, links))
        if path.startswith("/out/"):
            return self._document(path[len("/out/"):])
        if path.startswith("/files/"):
            return self._sent_file(path[len("/files/"):])
        raise NotFound(_("There is no page {path}.").format(path=path))

    def _sent_file(self, relative: str) -> Response:
        """/files/INSTANCE/EVENT/NAME: a file sent with a step, byte for byte, downloaded."""
        instance_id, _, rest = relative.partition("/")
        seq, _, filename = rest.partition("/")
        found = [a for a in self.engine.attachments(instance_id) if str(a.event_seq) == seq and a.filename == filename]
        if not found:
            raise NotFound(f"there is no file {filename} sent with event {seq} of {instance_id}")
        return Response(200, found[0].content, "application/octet-stream",
                        [("Content-Disposition", f"attachment; filename*=UTF-8''{quote(filename)}")],
                        policy="sandbox")

    def _document(self, relative: str) -> Response:
        target = resolve_output(self.engine.home / "out", relative)
        if target is None:
            raise NotFound(_("There is no document out/{name}.").format(name=relative))
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        # Downloaded, never shown in the page's origin: a built document holds country text.
        return Response(200, target.read_bytes(), kind,
                        [("Content-Disposition", f"attachment; filename*=UTF-8''{quote(target.name)}")],
                        policy="sandbox")

    def _page(self, html: str) -> Response:
        return Response(200, html.encode("utf-8"))

    def _error(self, status: int, message: str, links: Links) -> Response:
        return Response(status, self.pages.error(status, REASONS[status], message, links).encode("utf-8"))

    def _failure(self, exc: Exception, path: str, links: Links) -> Response:
        """An error the user did not cause: logged with its traceback, shown without it."""
        # also a read that failed after the schema check (the server went away)
        if isinstance(exc, DatabaseError):
            get_logger().error("the status page cannot read the database", path=redact(path), error=str(exc))
            status, message = 503, _("The database cannot be read just now; try again in a minute.")
        else:
            get_logger().exception("the status page failed", path=redact(path))
            status, message = 500, _("Something went wrong while building this page; the server's log says what.")
        try:
            return self._error(status, message, links)
        except Exception:  # the error page itself failed: plain text, still no traceback
            return Response(status, message.encode("utf-8"), "text/plain; charset=utf-8")


def make_server(app: StatusApp, host: str = "127.0.0.1", port: int = 8000, threads: int | None = None):
    """The server for `app` (waitress, `threads` workers), bound but not yet serving
    (port 0: any free port; see `server.server_port`)."""
    from rcmflow.default_plugins.web.server import DEFAULT_THREADS, StatusServer

    return StatusServer(app, host, port, threads or DEFAULT_THREADS)
