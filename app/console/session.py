"""The console's signed session cookie, the dependency that demands it, and CSRF checks."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import Resources, ResourcesDep
from app.console.auth import LoginThrottle, admin_keys, key_fingerprint, session_secret
from app.console.experiment import ExperimentCache
from app.console.report_data import ReportCache
from app.security.keys import ApiKey
from app.serving.guard import StoreUnavailable
from app.settings import Settings

COOKIE = "cartlift_console"
PREFIX = "/console"
SESSION_SECONDS = 8 * 3600  # a working day; the signature carries the time it was issued
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# A person waits for a page, so store calls from the console get longer than a request's
# deadline: on a busy machine a rollback must not fail for taking 60 ms.
STORE_DEADLINE_SECONDS = 5.0


@dataclass(frozen=True)
class ConsoleSession:
    fingerprint: str
    csrf: str


@dataclass
class ConsoleState:
    """What the console keeps per process: the brake on wrong keys, the last reports."""

    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    report: ReportCache = field(default_factory=ReportCache)
    experiment: ExperimentCache = field(default_factory=ExperimentCache)
    _engine: AsyncEngine | None = None

    def engine(self, settings: Settings) -> AsyncEngine:
        """The console's own database engine, opened on first use: the answer path has none,
        and a process whose console is never opened never loads the database driver."""
        if self._engine is None:
            from app.db.engine import make_engine

            self._engine = make_engine(settings.reveal_database_url())
        return self._engine

    async def close(self) -> None:
        await self.report.close()  # before the engine their reads may be using
        await self.experiment.close()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


class LoginRequired(Exception):
    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


class CsrfRefused(Exception):
    """A changing request without this session's token: made by another site, or stale."""


def _serializer(signing_secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(signing_secret), salt="cartlift-console")


def open_session(response: Response, request: Request, signing_secret: bytes, key: ApiKey) -> None:
    session = {"k": key_fingerprint(key), "c": secrets.token_urlsafe()}
    token = _serializer(signing_secret).dumps(session)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def close_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")


async def read_session(request: Request, resources: Resources) -> ConsoleSession | None:
    """The session of a signed, unexpired cookie whose admin key is still configured."""
    token = request.cookies.get(COOKIE)
    ring = resources.security.ring
    if not token or not admin_keys(ring):
        return None
    try:
        signing_secret = await resources.signing_secret.get()
        data = _serializer(signing_secret).loads(token, max_age=SESSION_SECONDS)
    except (BadSignature, StoreUnavailable):  # BadSignature: also an expired one
        return None
    live = {key_fingerprint(key) for key in admin_keys(ring)}
    if not isinstance(data, dict) or data.get("k") not in live:
        return None
    return ConsoleSession(str(data["k"]), str(data["c"]))


async def require_session(request: Request, resources: ResourcesDep) -> ConsoleSession:
    session = await read_session(request, resources)
    if session is None:
        raise LoginRequired(_here(request))
    return session


SessionDep = Annotated[ConsoleSession, Depends(require_session)]


async def require_csrf(request: Request, session: SessionDep) -> ConsoleSession:
    """The session, once the request proved it came from a console page."""
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if given is None or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise CsrfRefused()
    return session


ChangeDep = Annotated[ConsoleSession, Depends(require_csrf)]


async def get_console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


ConsoleStateDep = Annotated[ConsoleState, Depends(get_console_state)]


def safe_back_to(target: str) -> str:
    """Only a console path: `next=` must never send a fresh session to another site."""
    inside = target == PREFIX or target.startswith((f"{PREFIX}/", f"{PREFIX}?"))
    return target if inside and "\\" not in target else PREFIX


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _login_required(request: Request, error: Exception) -> Response:
    assert isinstance(error, LoginRequired)
    target = f"{PREFIX}/login?next={quote(error.back_to, safe='')}"
    if request.headers.get("hx-request"):  # htmx swaps answers in place: ask for a page load
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install_session_handlers(app: FastAPI) -> None:
    app.state.console = ConsoleState()
    app.add_exception_handler(LoginRequired, _login_required)
