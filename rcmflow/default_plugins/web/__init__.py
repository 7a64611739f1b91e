"""The status of the roadmap in a browser: `rcmflow serve` and `rcmflow report --html`.

`rcmflow serve` runs a small read-only web server (the standard library's wsgiref,
one thread per request) that shows what `rcmflow status` shows, for the people who
do not use a terminal:

- `/`: every country against every open step, with due dates, overdue marks, a
  summary per step and what blocks its next step; below it, every instance.
- `/instances/ID`: one instance: params, data, tracks, next steps, its whole
  history and the documents built for it in `out/ID/` (downloads: `/out/ID/FILE`).

Pages come from the Jinja2 templates in `rcmflow/default_plugins/web/templates/`, with autoescape
on: whatever a country typed (notes, amendments, reasons) arrives as text, never as
markup. The database is the only state: every request reads it afresh.

Access: the server listens on 127.0.0.1 unless told otherwise. A client on another
address is refused (403) unless rcmflow.toml sets a token and the request carries it,
as `?token=...` or as the header `Authorization: Bearer ...`:

    [serve]
    token = "..."      # e.g. python -c "import secrets; print(secrets.token_urlsafe())"

`rcmflow report --html FILE` writes the same overview, with the detail of every open
instance, as one self-contained HTML file to send by e-mail (to the PPT, say).
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, quote

import click

import rcmflow
from rcmflow.errors import BadInput, DatabaseError, NotFound

if TYPE_CHECKING:
    from rcmflow.context import InstanceView, TrackView
    from rcmflow import Engine

TEMPLATES = Path(__file__).parent / "templates"
REFRESH_SECONDS = 60
#: beyond this many open steps the matrix is unreadable; the list below still has them all
MATRIX_COLUMNS = 40
#: names a browser on this machine uses for it; any other Host reaching a loopback
#: client came through a local proxy or a rebound DNS name, and is treated as remote
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
MIN_TOKEN_LENGTH = 16


# --- access --------------------------------------------------------------------------------


def access_allowed(client: str, headers: Mapping[str, str | None], query: str, token: str | None) -> bool:
    """Whether a request may see the pages.

    `client` is the peer's IP address, `headers` the request's headers (any case),
    `query` the raw query string, `token` the one set in rcmflow.toml (None or empty:
    none). A request carrying the configured token is allowed from anywhere; without
    it, only a loopback client that names this machine as localhost in its Host header.
    """
    if token and _matches(presented_token(headers, query), token):
        return True
    if not _is_loopback(client):
        return False
    host = _header(headers, "host")
    return host is None or _host_name(host) in LOOPBACK_NAMES


def presented_token(headers: Mapping[str, str | None], query: str) -> str | None:
    """The token a request carries: `Authorization: Bearer T`, else `?token=T`."""
    authorization = _header(headers, "authorization") or ""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(query or "").get("token")
    return values[0] if values else None


def _matches(given: str | None, token: str) -> bool:
    # compare_digest: the time taken says nothing about how much of the token was right
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _is_loopback(client: str) -> bool:
    try:
        address = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or address).is_loopback


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _header(headers: Mapping[str, str | None], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def configured_token(settings: Mapping[str, Any]) -> str | None:
    """The `[serve] token` of rcmflow.toml; an empty one means no token."""
    token = settings.get("token")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise BadInput('rcmflow.toml: [serve] token must be a string, e.g. token = "…"')
    return token


def _redact(text: str) -> str:
    """A request line fit for the log: without the token."""
    return re.sub(r"(?i)(token=)[^&\s]*", r"\1***", text)


# --- documents in out/ ------------------------------------------------------------------------


def resolve_output(out_dir: Path, relative: str) -> Path | None:
    """The file `relative` names inside `out_dir`, or None when it names anything
    else: a folder, a missing file, or a path that leaves out/ (.., a symlink out)."""
    try:
        root = out_dir.resolve()
        target = (root / relative).resolve()
        inside = target.is_relative_to(root) and target != root
        return target if inside and target.is_file() else None
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return None


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


# --- what the pages show ---------------------------------------------------------------------


class Links:
    """Where the pages link to on the server; the token of the request, if it came in
    the query string, goes along so that following a link keeps access."""

    def __init__(self, token_query: str = ""):
        self.suffix = token_query
        self.home = "/" + token_query

    def instance(self, instance_id: str) -> str | None:
        return f"/instances/{quote(instance_id)}{self.suffix}"

    def document(self, relative: str) -> str | None:
        return f"/out/{quote(relative)}{self.suffix}"


class ReportLinks(Links):
    """Links inside the e-mailed report: to the details it holds, and nowhere else."""

    def __init__(self, included: Iterable[str]):
        super().__init__()
        self.home = None
        self.included = set(included)

    def instance(self, instance_id: str) -> str | None:
        return f"#instance-{instance_id}" if instance_id in self.included else None

    def document(self, relative: str) -> str | None:
        return None


@dataclass
class Steps:
    """What the next step of an instance waits for: blocked triggers with their reasons."""

    blocked: list[Any] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    """A value of an instance's or a track's data as readable text: lists one item a
    line, mappings as `name: value` pairs."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _first_line(text: str, width: int = 90) -> str:
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= width and len(lines) == 1 else line[: width - 1].rstrip() + " …"


class Pages:
    """Renders the status pages from what the engine reads. One per server, used by
    every request's thread: it holds the compiled templates and no data."""

    def __init__(self, engine: "Engine"):
        import jinja2


        self.engine = engine
        self.summary = lambda view: view.summary  # the words of `rcmflow status`, e.g. "8/11 submitted"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True)
        self.env.filters["text"] = _text
        self.env.filters["first_line"] = _first_line

    # --- pages ---

    def overview(self, links: Links) -> str:
        return self._render("index.html", links, refresh=REFRESH_SECONDS,
                            overview=self._overview(self.engine.status(), links))

    def instance(self, instance_id: str, links: Links) -> str:
        return self._render("instance.html", links, refresh=REFRESH_SECONDS, detail=self._detail(instance_id, links))

    def report(self) -> str:
        views = self.engine.status()
        open_ids = [v.id for v in views if not self.engine.is_final(v)]
        links = ReportLinks(open_ids)
        return self._render("report.html", links, refresh=None, overview=self._overview(views, links),
                            details=[self._detail(i, links) for i in open_ids],
                            footer="report written by rcmflow report --html")

    def error(self, status: int, reason: str, message: str, links: Links) -> str:
        return self._render("error.html", links, refresh=None, status=status, reason=reason, message=message)

    def _render(self, template: str, links: Links, **context: Any) -> str:
        context.setdefault("footer", "read-only; change things with the rcmflow command line")
        return self.env.get_template(template).render(
            links=links, as_of=self._when(self.engine.now(), zone=True), version=rcmflow.__version__, **context)

    # --- their content ---

    def _overview(self, views: list["InstanceView"], links: Links) -> dict[str, Any]:
        engine = self.engine
        open_views = [v for v in views if not engine.is_final(v)]
        tracked = [v for v in open_views if v.tracks]
        return {
            "totals": {"open": len(open_views), "finished": len(views) - len(open_views),
                       "tracks": sum(len(v.tracks) for v in open_views),
                       "overdue": sum(t.overdue for v in open_views for t in v.tracks.values())},
            "matrix": self._matrix(tracked[:MATRIX_COLUMNS], links, more=len(tracked[MATRIX_COLUMNS:])),
            "instances": [{"id": v.id, "href": links.instance(v.id), "state": v.state, "final": engine.is_final(v),
                           "title": self._title(v), "label": self._label(v), "summary": self.summary(v),
                           "updated": self._when(v.updated_at)} for v in views],
        }

    def _matrix(self, views: list["InstanceView"], links: Links, more: int) -> dict[str, Any]:
        """Participants (rows) against instances (columns), as `rcmflow status` shows them."""
        participants: list[str] = []
        for v in views:
            participants += [p for p in v.tracks if p not in participants]
        columns = []
        for v in views:
            dues = {t.due for t in v.tracks.values()}
            common = dues.pop() if len(dues) == 1 else None  # one due date: in the heading, not in each cell
            met = sum(self._kind(v, t) == "met" for t in v.tracks.values())
            columns.append({"id": v.id, "href": links.instance(v.id), "title": self._title(v), "label": self._label(v),
                            "state": v.state, "due": common.isoformat() if common else None,
                            "summary": self.summary(v), "met_percent": round(100 * met / len(v.tracks)),
                            "steps": self._steps(v.id), "show_due": common is None})
        rows = []
        for p in participants:
            cells = []
            for v, column in zip(views, columns):
                track = v.tracks.get(p)
                cells.append(None if track is None else {
                    "instance": v.id, "state": track.state, "kind": self._kind(v, track),
                    "due": track.due.isoformat() if column["show_due"] and track.due else None,
                    "reminded": f"{track.reminded:%m-%d}" if track.reminded else None})
            rows.append({"code": p, "name": self._country(p), "cells": cells})
        return {"columns": columns, "rows": rows, "more": more}

    def _detail(self, instance_id: str, links: Links) -> dict[str, Any]:
        engine = self.engine
        view = engine.get(instance_id)
        definition = engine.catalog.definitions.get(view.workflow)
        state = definition.instance.states.get(view.state) if definition else None
        params = definition.params if definition else {}
        options = self._options(instance_id)
        return {
            "id": view.id, "workflow": view.workflow, "title": self._title(view), "state": view.state,
            "final": engine.is_final(view), "state_description": state.description if state else "",
            "version": view.version,
            "params": [{"name": k, "value": v, "label": params[k].label(v) if k in params else ""}
                       for k, v in view.params.items()],
            "data": sorted(view.data.items()),
            "created": self._when(view.created_at), "updated": self._when(view.updated_at),
            "timeout": self._when(view.timeout_at),
            "summary": self.summary(view),
            "tracks": [{"code": p, "name": self._country(p), "state": t.state, "kind": self._kind(view, t),
                        "due": t.due.isoformat() if t.due else None, "data": sorted(t.data.items()),
                        "reminded": t.reminded.isoformat() if t.reminded else None}
                       for p, t in view.tracks.items()],
            "options": [{"trigger": o.trigger, "dest": o.dest, "allowed": o.allowed, "reason": o.reason,
                         "roles": o.roles} for o in options],
            "history": [{"seq": e.seq, "when": self._when(e.at), "actor": e.actor, "trigger": e.trigger,
                         "source": e.source, "dest": e.dest, "participant": e.participant, "note": e.note}
                        for e in engine.history(instance_id)],
            "documents": self._documents(view.id, links),
            **self._diagram(view, definition),
        }

    @staticmethod
    def _diagram(view, definition) -> dict[str, Any]:
        """The workflow's diagram with this instance's place in it: an SVG drawn by
        Graphviz when it is installed, else the Mermaid text."""
        from markupsafe import Markup

        from rcmflow.errors import RcmflowError
        from rcmflow.model.diagram import render_graph

        if definition is None:
            return {}
        where = (view.state, {t.state for t in view.tracks.values()})
        try:
            svg = render_graph(definition, "svg", *where)
        except RcmflowError:
            return {"diagram_svg": None, "diagram_text": render_graph(definition, "mermaid", *where)}
        # Graphviz's SVG, from names the definition validated (no user text): safe inline.
        return {"diagram_svg": Markup(svg[svg.index("<svg"):]), "diagram_text": None}

    def _options(self, instance_id: str):
        # What the process waits for, whoever looks: guards are checked, the viewer's
        # roles are not (the page says who may fire each trigger instead).
        return self.engine.triggers(instance_id, check_roles=False)

    def _steps(self, instance_id: str) -> Steps:
        steps = Steps()
        for option in self._options(instance_id):
            if option.allowed:
                steps.ready.append(option.trigger)
            else:
                steps.blocked.append(option)
        return steps

    def _documents(self, instance_id: str, links: Links) -> list[dict[str, str | None]]:
        out = self.engine.home / "out"
        folder = out / instance_id
        if not folder.is_dir():
            return []
        documents = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(out).as_posix()
            if resolve_output(out, relative) is None:  # a link that leads out of out/
                continue
            stat = path.stat()
            documents.append({
                "name": path.relative_to(folder).as_posix(), "href": links.document(relative),
                "size": _size(stat.st_size),
                "modified": self._when(dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc))})
        return documents

    def _kind(self, view: "InstanceView", track: "TrackView") -> str:
        """How a cell looks: overdue, met (what the deadline asks is done), idle (the
        step is not asking yet, or no longer), or waiting."""
        if track.overdue:
            return "overdue"
        definition = self.engine.catalog.definitions.get(view.workflow)
        spec = definition.track if definition else None
        if spec and track.state in spec.deadline_met:
            return "met"
        if spec and spec.active_in and view.state not in spec.active_in:
            return "idle"
        return "waiting"

    def _title(self, view: "InstanceView") -> str:
        definition = self.engine.catalog.definitions.get(view.workflow)
        return definition.title_in("en") if definition else view.workflow

    def _label(self, view: "InstanceView") -> str:
        """What the params' labels say about the instance, e.g. the title of a theme."""
        definition = self.engine.catalog.definitions.get(view.workflow)
        if definition is None:
            return ""
        labels = [definition.params[k].label(v) for k, v in view.params.items() if k in definition.params]
        return "; ".join(label for label in labels if label)

    def _country(self, code: str) -> str:
        country = self.engine.members.countries.get(code)
        return country.name("en") if country else ""

    def _when(self, moment: dt.datetime | None, zone: bool = False) -> str:
        if moment is None:
            return ""
        local = self.engine.local(moment)
        return local.strftime("%Y-%m-%d %H:%M") + (f" ({self.engine.config.timezone.key})" if zone else "")


# --- the web application ---------------------------------------------------------------------


REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}
#: no script runs and nothing loads from elsewhere, whatever ends up in a page
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    policy: str = PAGE_POLICY


class StatusApp:
    """The WSGI application behind `rcmflow serve`: read-only, GET and HEAD only."""

    def __init__(self, engine: "Engine", token: str | None = None):
        self.engine = engine
        self.token = token
        self.pages = Pages(engine)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        response = self.respond(environ)
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                   ("Cache-Control", "no-store"), ("Content-Security-Policy", response.policy), *response.headers]
        start_response(f"{response.status} {REASONS[response.status]}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    def respond(self, environ: dict[str, Any]) -> Response:
        query = environ.get("QUERY_STRING", "")
        headers = {"Host": environ.get("HTTP_HOST"), "Authorization": environ.get("HTTP_AUTHORIZATION")}
        if not access_allowed(environ.get("REMOTE_ADDR", ""), headers, query, self.token):
            return self._error(403, "This status page is open to this machine only. From elsewhere, add the "
                                    "token set in rcmflow.toml ([serve] token) as ?token=… or as "
                                    "Authorization: Bearer ….", Links())
        # Links keep a token that came in the query string; a header token needs no help.
        given = parse_qs(query).get("token", [None])[0]
        links = Links(f"?token={quote(given)}" if self.token and _matches(given, self.token) else "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            response = self._error(405, "This page is read-only: it answers GET and HEAD.", links)
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        # wsgiref hands over the path %-decoded as Latin-1; file names are UTF-8
        path = environ.get("PATH_INFO", "/").encode("latin-1", "replace").decode("utf-8", "replace")
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
        raise NotFound(f"there is no page {path}")

    def _document(self, relative: str) -> Response:
        target = resolve_output(self.engine.home / "out", relative)
        if target is None:
            raise NotFound(f"there is no document out/{relative}")
        import mimetypes

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
        from sqlalchemy.exc import DBAPIError

        from rcmflow.log import get_logger

        if isinstance(exc, (DatabaseError, DBAPIError)):
            get_logger().error("the status page cannot read the database", path=_redact(path), error=str(exc))
            status, message = 503, "The database cannot be read just now; the page will try again in a minute."
        else:
            get_logger().exception("the status page failed", path=_redact(path))
            status, message = 500, "Something went wrong while building this page; the server's log says what."
        try:
            return self._error(status, message, links)
        except Exception:  # the error page itself failed: plain text, still no traceback
            return Response(status, message.encode("utf-8"), "text/plain; charset=utf-8")


def make_server(app: StatusApp, host: str = "127.0.0.1", port: int = 8000):
    """A threading wsgiref server for `app`, bound but not yet serving (port 0: any
    free port; see `server.server_port`)."""
    import socket
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    from rcmflow.log import get_logger

    class Server(ThreadingMixIn, WSGIServer):
        # a browser's idle pre-opened connection must not hold up everyone else
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Handler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            get_logger().info("web", client=self.client_address[0], request=_redact(format % args))

    server = Server((host, port), Handler)
    server.set_app(app)
    return server


# --- the commands -----------------------------------------------------------------------------


@rcmflow.hookimpl
def register_commands(cli, pass_engine):
    @cli.command()
    @click.option("--host", help="Address to listen on [rcmflow.toml [serve] host; default 127.0.0.1].")
    @click.option("--port", type=click.IntRange(0, 65535), help="Port [rcmflow.toml [serve] port; default 8000].")
    @pass_engine
    def serve(engine, host: str | None, port: int | None):
        """Show the status in a browser: a read-only web page that refreshes itself.

        \b
        http://127.0.0.1:8000/               every country against every open step
        http://127.0.0.1:8000/instances/ID   one step: tracks, next steps, history, documents

        Only this machine may look, unless rcmflow.toml sets [serve] token = "…": then a
        browser elsewhere adds ?token=… to the address (start with --host 0.0.0.0).
        """
        settings = engine.config.section("serve")
        token = configured_token(settings)
        host = host or settings.get("host", "127.0.0.1")
        port = port if port is not None else settings.get("port", 8000)
        if not isinstance(host, str) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise BadInput('rcmflow.toml: [serve] host must be a string and port a number, e.g. host = "127.0.0.1"')
        engine.status()  # an unreachable or empty database is said now, not on every page
        try:
            server = make_server(StatusApp(engine, token), host, port)
        except OSError as exc:
            raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"RCM roadmap status on http://{shown}:{server.server_port}/  (Ctrl-C stops it)")
        if host not in LOOPBACK_NAMES and not _is_loopback(host):
            click.echo("other machines are refused unless they bring the token of rcmflow.toml ([serve] token)"
                       if token else "other machines are refused: set [serve] token in rcmflow.toml to let them in",
                       err=True)
        if token and len(token) < MIN_TOKEN_LENGTH:
            click.echo(f"warning: the [serve] token is short; use at least {MIN_TOKEN_LENGTH} random characters",
                       err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            server.server_close()

    @cli.command()
    @click.option("--html", "html_file", required=True, type=click.Path(dir_okay=False),
                  help="Write the report to this HTML file.")
    @pass_engine
    def report(engine, html_file: str):
        """Write the status as one self-contained HTML file, to send by e-mail.

        The matrix of every country against every open step, the list of all steps,
        and the detail of each open step with its history, in one file that needs
        nothing else (no links out, styles inside).
        """
        pages = Pages(engine)
        html = pages.report()
        try:
            Path(html_file).write_text(html, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot write {html_file}: {exc.strerror or exc}") from None
        click.echo(f"wrote {html_file} ({len(html.encode('utf-8')) // 1024} KB)")
