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

#: what `configure` chose; None leaves structlog as the host program set it up
_chosen: tuple[str, str | None] | None = None
_configured = False


def configure(fmt: str = "console", level: str | None = None) -> None:
    """`fmt` is console or json. Console logging is quiet (warnings) unless asked;
    JSON logging, meant for files, records info too. Takes effect at the first log line."""
    global _chosen, _configured
    _chosen, _configured = (fmt, level), False


def _structlog():
    global _configured
    import structlog

    if _chosen is not None and not _configured:
        fmt, level = _chosen
        level = level or ("info" if fmt == "json" else "warning")
        renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                    else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info if fmt == "json" else structlog.dev.set_exc_info,
                renderer,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
            # looked up per logger, so a redirected stderr (tests, pipes) is honoured
            logger_factory=lambda *args: structlog.PrintLogger(sys.stderr),
            cache_logger_on_first_use=False,
        )
        _configured = True
    return structlog


def get_logger(**context):
    return _structlog().get_logger("rcmflow").bind(**context)


@contextmanager
def bound(**context):
    """Bind `context` to every log line written inside the block (the unit of work)."""
    with _structlog().contextvars.bound_contextvars(**context):
        yield
