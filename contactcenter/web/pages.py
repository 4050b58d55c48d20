"""Pages and static assets: the shell's own (login, shared script and style) and each context's.

Design note: pages and static files are public (they hold no data); everything a page shows
comes from role-checked JSON routes, so the auth middleware guards the data and CSRF-checks
every change. A context brings its pages as ``<name>.html`` files in its own ``static/``
folder, served at ``/<name>``, and its scripts at ``/static/<context>/``; the shell's shared
assets (``common.js``, ``panel.css``) stay at ``/static/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from aiohttp import web

from contactcenter.web.roles import PUBLIC, add_public_static, requires

STATIC_DIR = Path(__file__).with_name("static")
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    # 'self' covers the page's own ws:// and wss:// too (CSP 3); "ws: wss:" allowed any host.
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'",
}


def _page_handler(html: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @requires(PUBLIC)
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(html, headers=PAGE_HEADERS)

    return page


def add_pages(app: web.Application, context: str, static_dir: Path, pages: Iterable[str]) -> None:
    """Serve ``static_dir/<page>.html`` at ``/<page>`` and ``static_dir`` at ``/static/<context>/``."""
    for name in pages:
        app.router.add_get(f"/{name}", _page_handler(static_dir / f"{name}.html"))
    add_public_static(app, f"/static/{context}/", static_dir)


def add_shell_pages(app: web.Application) -> None:
    """``/`` (to the login page), ``/login`` and the shared assets at ``/static/``."""

    @requires(PUBLIC)
    async def index(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/login")

    app.router.add_get("/", index)
    app.router.add_get("/login", _page_handler(STATIC_DIR / "login.html"))
    add_public_static(app, "/static/", STATIC_DIR)
