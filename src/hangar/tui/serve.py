"""``ainb serve``: the same app in a browser tab, on this machine only, behind a token.

textual-serve runs one app process per browser tab and ends it when the tab closes; it has
no authentication of its own. This adds it: the server listens on 127.0.0.1 only, and the
URL printed at start carries a one-time token. The first request with it gets a session
cookie (HttpOnly, SameSite=Strict) and is redirected to a URL without the token; every
later request, the websocket included, needs that cookie. The page is Hangar's own, so
nothing is fetched from outside (textual-serve's page links a web font).
"""

from __future__ import annotations

import hmac
import secrets
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

__all__ = ["COOKIE", "HOST", "ServeAuth", "TokenServer", "serve"]

HOST = "127.0.0.1"
COOKIE = "hangar_serve"
_PAGE_DIR = Path(__file__).parent / "web"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServeAuth:
    """The one-time token in the printed URL, and the session secret it trades for."""

    def __init__(self) -> None:
        self.token: str | None = secrets.token_urlsafe(24)
        self.session = secrets.token_urlsafe(32)

    def take_token(self, offered: str) -> bool:
        """True once: the printed token, offered for the first time."""
        token = self.token
        if token is None or not hmac.compare_digest(offered.encode(), token.encode()):
            return False
        self.token = None
        return True

    def has_session(self, request: web.Request) -> bool:
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session.encode())


class TokenServer(Server):
    """textual-serve's server with Hangar's page and the token check in front of every route."""

    def __init__(
        self, command: str, *, port: int, title: str = "Hangar", note: str | None = None
    ) -> None:
        super().__init__(
            command,
            host=HOST,
            port=port,
            title=title,
            templates_path=_PAGE_DIR,
        )
        self.auth = ServeAuth()
        #: said after the link at start (what the tabs may do)
        self.note = note

    @property
    def login_url(self) -> str:
        return f"{self.public_url}/?token={self.auth.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        offered = request.query.get("token")
        if offered is not None and request.path == "/":
            if not self.auth.take_token(offered):
                return _refused("this link was already used or is wrong")
            # the cookie from now on; the token leaves the address bar and the history
            response = web.HTTPFound("/")
            response.set_cookie(
                COOKIE, self.auth.session, httponly=True, samesite="Strict", path="/"
            )
            return response
        if not self.auth.has_session(request):
            return _refused("open the link `ainb serve` printed when it started")
        origin = request.headers.get("Origin")
        if origin is not None and origin != self.public_url:
            return _refused(f"requests from {origin} are not accepted")
        return await handler(request)

    async def on_startup(self, app: web.Application) -> None:
        print(f"Hangar in the browser: {self.login_url}", flush=True)
        print("(the link works once; this server listens on this machine only; Ctrl+C ends it)")
        if self.note:
            print(self.note, flush=True)


def _refused(why: str) -> web.Response:
    return web.Response(status=403, text=f"403: {why}\n", content_type="text/plain")


def app_command(start: str, workspace: str | None) -> str:
    """The command textual-serve runs per tab. It takes a shell string: ours is built from
    this interpreter's path and fixed words, each quoted — no user text reaches it."""
    argv = [sys.executable, "-m", "hangar.tui.run", "--start", start]
    if workspace:
        argv += ["--workspace", workspace]
    return shlex.join(argv)


def serve(
    *, port: int, start: str = "home", workspace: str | None = None, note: str | None = None
) -> None:
    """``note``: a line said at start. A daemon token for the tabs, if any, is already in
    ``$HANGAR_TOKEN``: each tab's app process inherits it (``ainb serve --token``)."""
    TokenServer(app_command(start, workspace), port=port, note=note).serve()
