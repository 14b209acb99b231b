"""Signing in and out of the console with any key that has the admin scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ResourcesDep
from app.console.auth import admin_key, admin_keys
from app.console.session import (
    PREFIX,
    STORE_DEADLINE_SECONDS,
    ChangeDep,
    ConsoleStateDep,
    close_session,
    open_session,
    read_session,
    safe_back_to,
)
from app.console.templates import page
from app.serving.guard import StoreUnavailable

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, resources: ResourcesDep, next: str = PREFIX) -> Response:
    if await read_session(request, resources) is not None:
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
    found = admin_key(resources.security.ring, key)
    if found is None:  # unknown, or a key without the admin scope: the same answer
        state.throttle.failed(address)
        return _form(request, resources, back_to, "That is not an admin key.", status=401)
    try:
        signing_secret = await resources.signing_secret.get(STORE_DEADLINE_SECONDS)
    except StoreUnavailable:
        message = "The rule store did not answer, so no session can be signed. Try again."
        return _form(request, resources, back_to, message, status=503)
    state.throttle.succeeded(address)
    response = RedirectResponse(back_to, status_code=303)
    open_session(response, request, signing_secret, found)
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
    disabled = not admin_keys(resources.security.ring)
    context = {"back_to": back_to, "error": error, "disabled": disabled, "title": "Sign in"}
    return page(request, "login.html", None, context, status=403 if disabled else status)
