"""Structured logging: JSON lines with the request id bound, secrets never printed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_PATTERN = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
SECRET_FIELDS = {"api_key", "password", "authorization", "x-api-key", "admin_api_key"}


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


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_event,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
