"""structlog set-up: chosen once, at start-up, by the command line.

Logs go to stderr so that `--json` output on stdout stays clean. On a terminal the
lines are coloured and readable; `--log-format json` gives one JSON object a line,
for cron and log collectors. The engine binds the instance, trigger and actor of
each unit of work, so every line says what it concerns.

structlog (with the console renderer it brings) is imported on the first log line,
not at start-up: read-only commands such as `status --json` never log and start faster.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

#: what `configure` chose; None: the default (warnings on stderr), or the host's set-up
_chosen: tuple[str, str | None] | None = None
#: the last logger built, with what it was built for
_last = None


def configure(fmt: str = "console", level: str | None = None) -> None:
    """`fmt` is console or json. Console logging is quiet (warnings) unless asked;
    JSON logging, meant for files, records info too. Takes effect at the next log line."""
    global _chosen
    _chosen = (fmt, level)


def _processors(fmt: str) -> list:
    import structlog

    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if fmt == "json" else structlog.dev.set_exc_info,
        renderer,
    ]


def get_logger(**context):
    """rcmflow's logger. It never writes to stdout: without `configure`, it logs warnings
    and above to stderr, unless the host program has set structlog up itself."""
    import structlog

    if _chosen is None and structlog.is_configured():
        return structlog.get_logger("rcmflow").bind(**context)
    global _last
    fmt, level = _chosen or ("console", None)
    level = level or ("info" if fmt == "json" else "warning")
    # Built again when the choice or stderr changed, so a redirected stderr (tests,
    # pipes) is honoured, and reused otherwise: every command asks for a logger, and
    # building one costs more than a small transition's SQL. structlog's global
    # configuration, which belongs to the host program, is left alone.
    key = (fmt, level, sys.stderr)
    if _last is None or _last[0] != key:
        _last = key, structlog.wrap_logger(
            structlog.PrintLogger(sys.stderr), processors=_processors(fmt),
            wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]))
    return _last[1].bind(**context)


@contextmanager
def bound(**context):
    """Bind `context` to every log line written inside the block (the unit of work)."""
    import structlog

    with structlog.contextvars.bound_contextvars(**context):
        yield
