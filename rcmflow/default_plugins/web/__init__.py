"""The status of the roadmap in a browser: `rcmflow serve` and `rcmflow report --html`.

`rcmflow serve` runs a small read-only web server (waitress, with a bounded pool of
threads: `[serve] threads`, default 8) that shows what `rcmflow status` shows, for the
people who do not use a terminal:

- `/`: every country against every open step, with due dates, overdue marks, a
  summary per step and what blocks its next step; below it, every instance.
- `/instances/ID`: one instance: params, data, tracks, next steps, its whole
  history and the documents built for it in `out/ID/` (downloads: `/out/ID/FILE`).

Pages come from the Jinja2 templates in `rcmflow/default_plugins/web/templates/`, with autoescape
on: whatever a country typed (notes, amendments, reasons) arrives as text, never as
markup. The database is the only state: every request reads it afresh.

Access: the server listens on 127.0.0.1 unless told otherwise. A client on another
address is refused (403) unless rcmflow.toml sets a token and the request carries it,
as `?token=...` or as the header `Authorization: Bearer ...`. Behind a reverse proxy,
a request that carries `X-Forwarded-For` or `Forwarded` counts as coming from the
addresses it names (so a remote browser behind a proxy on this machine needs the
token too); for the proxies listed in `trusted_proxies`, the client they name decides:

    [serve]
    token = "..."      # e.g. python -c "import secrets; print(secrets.token_urlsafe())"
    trusted_proxies = ["127.0.0.1"]   # addresses or networks, e.g. "10.0.0.0/8"
    threads = 8        # requests answered at once; more wait their turn

`rcmflow report --html FILE` writes the same overview, with the detail of every open
instance, as one self-contained HTML file to send by e-mail (to the PPT, say).

The parts, by job: `access` (who may look), `proxies` (who the client is behind a
proxy), `links` (where pages link to), `files` (the documents in out/), `pages` (what
each template gets, and the rendering), `app` (the WSGI application), `server` (the
waitress server that runs it), `commands` (`serve`, `report`).
"""

from __future__ import annotations

from rcmflow import hookimpl
from rcmflow.default_plugins.web.commands import add_commands


@hookimpl
def register_commands(cli, pass_engine):
    add_commands(cli, pass_engine)
