"""The merchandiser console: server-rendered pages under /console for holders of an admin key."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from app.console import login, merch_page, overview, report_page, rules_page, tester
from app.console.session import PREFIX, CsrfRefused, install_session_handlers, read_session
from app.console.templates import STATIC_DIR, page

_ROUTERS = (
    login.router,
    overview.router,
    rules_page.router,
    tester.router,
    merch_page.router,
    report_page.router,
)


def install_console(app: FastAPI) -> None:
    """Mounted after the API's routes, so matching an API request never walks these."""
    for router in _ROUTERS:
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    install_session_handlers(app)
    app.add_exception_handler(CsrfRefused, _csrf_refused)


async def close_console(app: FastAPI) -> None:
    await app.state.console.close()


async def _csrf_refused(request: Request, _error: Exception) -> Response:
    session = await read_session(request, request.app.state.resources)
    message = "This form was not sent from a page of this session. Reload the page and try again."
    context = {"title": "Refused", "message": message}
    return page(request, "refused.html", session, context, status=403)
