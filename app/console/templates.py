"""Jinja2 templates of the console, their filters, and the page response every route sends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.console.session import CSRF_FIELD, ConsoleSession

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
NONE = "\N{EN DASH}"
# Every asset is the app's own; nothing inline runs, and no page can be framed elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def money(value: float | None) -> str:
    return NONE if value is None else f"{value:,.2f} €"


def percent(share: float | None, digits: int = 1) -> str:
    return NONE if share is None else f"{share * 100:.{digits}f} %"


def figure(value: float | None, digits: int = 2) -> str:
    if value is None:
        return NONE
    return "∞" if value == float("inf") else f"{value:,.{digits}f}"


def age(seconds: float | None) -> str:
    """`3 min`, `5 h 2 min`, `2 d 4 h`: how long ago, as a person says it."""
    if seconds is None:
        return NONE
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min" if minutes else f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def since(stamp: float | None) -> str:
    return NONE if stamp is None else age(time.time() - stamp)


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(money=money, percent=percent, figure=figure, age=age, since=since)
templates.env.globals.update(csrf_field=CSRF_FIELD)


def page(
    request: Request,
    name: str,
    session: ConsoleSession | None,
    context: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    """One console page; every one carries the session's CSRF token for its forms."""
    full = {"csrf": session.csrf if session else "", "signed_in": session is not None, **context}
    response = templates.TemplateResponse(request, name, full, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response
