"""`rcmflow serve` and `rcmflow report --html`.

This module is loaded with every command, so it imports only what defining the
commands needs; the pages and the server (Jinja2, waitress) load when one runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rcmflow.errors import BadInput
from rcmflow.default_plugins.web.access import LOOPBACK_NAMES, MIN_TOKEN_LENGTH, configured_token, is_loopback
from rcmflow.language import _

if TYPE_CHECKING:
    from rcmflow import Engine


def add_commands(cli: click.Group, pass_engine: Any) -> None:
    """Add `serve` and `report` to `cli`; each command's docstring is its help."""

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
        serve_status(engine, host, port)

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
        write_report(engine, html_file)


def serve_status(engine: "Engine", host: str | None, port: int | None) -> None:
    """Serve the pages on `host`:`port` (else rcmflow.toml's [serve], else
    127.0.0.1:8000) until Ctrl-C."""
    from rcmflow.default_plugins.web.app import StatusApp, make_server  # the server loads only to serve

    from rcmflow.default_plugins.web.proxies import trusted_networks
    from rcmflow.default_plugins.web.server import serve_threads

    settings = engine.config.section("serve")
    token = configured_token(settings)
    trusted, threads = trusted_networks(settings), serve_threads(settings)
    host = host or settings.get("host", "127.0.0.1")
    port = port if port is not None else settings.get("port", 8000)
    if not isinstance(host, str) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise BadInput(_('rcmflow.toml: [serve] host must be a string and port a number, e.g. host = "127.0.0.1"'))
    engine.status()  # an unreachable or empty database is said now, not on every page
    try:
        server = make_server(StatusApp(engine, token, trusted), host, port, threads)
    except OSError as exc:
        raise BadInput(_("cannot listen on {host}:{port}: {reason}").format(host=host, port=port,
                                                                            reason=exc.strerror or exc)) from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(_("RCM roadmap status on {url}  (Ctrl-C stops it)").format(url=f"http://{shown}:{server.server_port}/"))
    _warn_about_access(host, token)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo(_("stopped"))
    finally:
        server.server_close()


def _warn_about_access(host: str, token: str | None) -> None:
    if host not in LOOPBACK_NAMES and not is_loopback(host):
        click.echo(_("other machines are refused unless they bring the token of rcmflow.toml ([serve] token)")
                   if token else _("other machines are refused: set [serve] token in rcmflow.toml to let them in"),
                   err=True)
    if token and len(token) < MIN_TOKEN_LENGTH:
        click.echo(_("warning: the [serve] token is short; use at least {count} random characters").format(
            count=MIN_TOKEN_LENGTH), err=True)


def write_report(engine: "Engine", html_file: str) -> None:
    """Write the report to `html_file` and say how big it is."""
    from rcmflow.default_plugins.web.pages import Pages  # Jinja2 loads only to write a page

    html = Pages(engine).report()
    try:
        Path(html_file).write_text(html, encoding="utf-8")
    except OSError as exc:
        raise BadInput(_("cannot write {file}: {reason}").format(file=html_file, reason=exc.strerror or exc)) from None
    click.echo(_("wrote {file} ({size} KB)").format(file=html_file, size=len(html.encode("utf-8")) // 1024))
