"""rectify web: each person's page behind their signed link, and the clerk's page.

Every action is one lifecycle transition (or a request that leads to one) with its
event, recorded with the link it came from. The page reads the clock at the request
boundary (`clock`) and passes `now` down, as the CLI does.

Security, in order of a request's path: security headers on every answer (no framing,
no referrer: the token is in the URL, no caching, a CSP allowing only this origin);
the request body capped before it is parsed; bad tokens counted per client and
refused for a while past a limit; tokens checked in constant time, for expiry and for
revocation; every form carries a CSRF token bound to a cookie and to the link; uploads
checked by type and content and stored by hash.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import MutableMapping
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from rectify_core import masking
from rectify_core.config.limits import limits
from rectify_core.config.web import admin_token, web_secret
from rectify_core.delivery import links
from rectify_core.ledger import db, uploads
from rectify_core.ledger.office import Office
from rectify_core.templating import WEB_TEMPLATES
from rectify_core.web import admin, decisions, imports, manage, people, person
from rectify_core.web.pages import Portal, Refused, error, page

HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

log = logging.getLogger("rectify.web")


class BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: security headers on every answer, the time it took to make
    (Server-Timing), and a cap on request bodies (by Content-Length at once, and by
    counting what arrives)."""

    def __init__(self, app: Any, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        began = time.perf_counter()

        async def headed(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", [])
                named = {name.lower() for name, _ in own}  # a route's own header wins (the stylesheet's cache)
                # the time the answer took to make (Server-Timing: browsers' tools and web_bench read it)
                took = f"app;dur={(time.perf_counter() - began) * 1000:.2f}".encode()
                message["headers"] = [*own, *(h for h in HEADERS if h[0] not in named), (b"server-timing", took)]
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            answer = error(413, f"提交的内容过大（上限约 {self.max_body // 2**20} MB），请压缩或分次上传。")
            await answer(scope, receive, headed)  # answered before the body is read
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge
            return message

        await self.app(scope, counted, headed)


def create_app(office: Office, *, secret: bytes, admin_token: str | None) -> FastAPI:
    """The web application over one database and config: a person's pages (web.person)
    and the clerk's (web.admin), behind the guard."""
    app = FastAPI(title="rectify", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = Portal(office, secret, admin_token)
    uploads.sweep_parts(office.files)  # what a killed server left half-written
    for kind, handler in _HANDLERS.items():
        app.add_exception_handler(kind, handler)
    app.add_api_route("/", home, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/healthz", healthz, methods=["GET"], response_class=PlainTextResponse)
    app.add_api_route("/static/app.css", css, methods=["GET"])
    app.include_router(person.router)
    app.include_router(admin.router)
    app.include_router(imports.router)
    app.include_router(decisions.router)
    app.include_router(manage.router)
    app.include_router(people.router)
    cfg = office.settings.web
    biggest = max(cfg.max_files * cfg.max_upload_mb, limits().file_mb)  # evidence, or a ledger to import
    app.add_middleware(Guard, max_body=biggest * 2**20 + 2**20)
    return app


def home() -> Response:
    return page("home.html.j2")


def healthz() -> str:
    return "ok"


def css() -> Response:
    return FileResponse(WEB_TEMPLATES / "app.css", media_type="text/css", headers={"cache-control": "max-age=3600"})


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return error(exc.status, exc.message, exc.back)


async def _too_large(request: Request, exc: Exception) -> Response:
    return error(413, "提交的内容过大，请压缩或分次上传。")


async def _crashed(request: Request, exc: Exception) -> Response:
    log.exception("rectify web: %s %s failed", request.method, request.url.path.split("/p/")[0] or "/p/…")
    return error(500, "系统出错，所做的操作未保存。请稍后再试，或联系巡察整改工作办公室。")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error(exc.status_code, "没有这个页面。" if exc.status_code == 404 else "请求无法处理。")


async def _invalid(request: Request, exc: Exception) -> Response:
    """A URL whose id is not a record's (too large, negative, not a number): not found."""
    return error(404, "没有这个页面。")


_HANDLERS = {Refused: _refused, BodyTooLarge: _too_large, Exception: _crashed,
             StarletteHTTPException: _http_error, RequestValidationError: _invalid}


STORE_ENV = uploads.FILES_ENV
BASE_URL_ENV = links.BASE_URL_ENV


def from_environment() -> FastAPI:
    """The application as `rectify web` configured it through the environment: what each
    uvicorn worker process builds for itself (its own engine and connections)."""
    from rectify_core.config.settings import load_settings, resolve_config_dir

    masking.install()
    settings = load_settings(resolve_config_dir(None))
    if base := os.environ.get(BASE_URL_ENV):
        settings = replace(settings, web=replace(settings.web, base_url=base.rstrip("/")))
    secret = web_secret()
    assert secret is not None
    # `rectify web` migrated the schema before it started the workers
    office = Office(db.database_url(), settings=settings, migrated=True)
    app = create_app(office, secret=secret, admin_token=admin_token())
    # what start-up made (modules, the schema, templates) lives as long as the worker: kept
    # out of the collector's full passes, which a large page would otherwise set off over
    # every one of those objects (tens of milliseconds, now and then)
    gc.collect()
    gc.freeze()
    return app


def serve(host: str, port: int, *, workers: int = 1, proxy: bool = False) -> None:
    """Run under uvicorn until interrupted, with `workers` processes."""
    import uvicorn

    uvicorn.run("rectify_core.web.app:from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, proxy_headers=proxy,
                forwarded_allow_ips="127.0.0.1" if proxy else None, server_header=False)

