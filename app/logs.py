"""Structured logging: JSON lines with the request id bound, secrets never printed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# scheme://user:password@host, the user may be empty (redis://:password@host).
SECRET_PATTERN = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
SECRET_FIELDS = {"api_key", "password", "authorization", "x-api-key", "admin_api_key"}
# Servers log through the standard library; their lines go through the same renderer.
FOREIGN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic")
HANDLER_NAME = "cartlift"


def redact(text: str) -> str:
    """Hide the password part of any DSN (scheme://user:password@host)."""
    return SECRET_PATTERN.sub(r"\1***@", text)


def _redact_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for name, value in list(event.items()):
        if name.lower() in SECRET_FIELDS:
            event[name] = "***"
        elif isinstance(value, str):
            event[name] = redact(value)
    return event


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is at each line: test runners and tools swap it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _formatter(json: bool) -> structlog.stdlib.ProcessorFormatter:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks are text too: format them first so the redaction sees them.
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
    )


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """One stderr handler on the root logger renders our events and the servers' lines alike."""
    numeric = logging.getLevelName(level.upper())
    handler = _StderrHandler()
    handler.setFormatter(_formatter(json))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    # Replace our own handler only: calling this twice must not print every line twice.
    root.handlers = [h for h in root.handlers if h.get_name() != HANDLER_NAME] + [handler]
    root.setLevel(numeric)
    for name in FOREIGN_LOGGERS:
        foreign = logging.getLogger(name)
        if foreign.handlers:  # a handler of their own; none + no propagation means switched off
            foreign.handlers.clear()
            foreign.propagate = True
    structlog.configure(
        processors=[
            # The level is the root logger's, read at each call: loggers cached on first use
            # keep following it when the level is configured again (one process, many apps).
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
