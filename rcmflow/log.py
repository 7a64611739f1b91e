"""structlog set-up: configured once, at start-up, by the command line.

Logs go to stderr so that `--json` output on stdout stays clean. On a terminal the
lines are coloured and readable; `--log-format json` gives one JSON object a line,
for cron and log collectors. The engine binds the instance, trigger and actor of
each unit of work, so every line says what it concerns.
"""

from __future__ import annotations

import logging
import sys

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(fmt: str = "console", level: str | None = None) -> None:
    """`fmt` is console or json. Console logging is quiet (warnings) unless asked;
    JSON logging, meant for files, records info too."""
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


def get_logger(**context):
    return structlog.get_logger("rcmflow").bind(**context)
