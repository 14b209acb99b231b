"""Signing in and out of the console with an admin key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ResourcesDep
from app.console.auth import admin_keys, is_admin_key
from app.console.session import (
    PREFIX,
    ChangeDep,
    ConsoleStateDep,
    close_session,
    open_session,
    read_session,
    safe_back_to,
)
from app.console.templates import page

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, resources: ResourcesDep, next: str = PREFIX) -> Response:
    if read_session(request, resources.settings) is not None:
        return RedirectResponse(safe_back_to(next), status_code=303)
    return _form(request, resources, safe_back_to(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    resources: ResourcesDep,
    state: ConsoleStateDep,
    key: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = PREFIX,
) -> Response:
    address = request.client.host if request.client else "unknown"
    back_to = safe_back_to(next)
    wait = state.throttle.retry_after(address)
    if wait:
        message = f"Too many wrong keys. Try again in {wait} s."
        refused = _form(request, resources, back_to, message, status=429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    if not is_admin_key(resources.settings, key):
        state.throttle.failed(address)
        return _form(request, resources, back_to, "That is not an admin key.", status=401)
    state.throttle.succeeded(address)
    response = RedirectResponse(back_to, status_code=303)
    open_session(response, request, resources.settings, key)
    return response


@router.post("/logout")
async def logout(_session: ChangeDep) -> Response:
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    close_session(response)
    return response


def _form(
    request: Request,
    resources: ResourcesDep,
    back_to: str,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    disabled = not admin_keys(resources.settings)
    context = {"back_to": back_to, "error": error, "disabled": disabled, "title": "Sign in"}
    return page(request, "login.html", None, context, status=403 if disabled else status)
