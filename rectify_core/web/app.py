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

import collections
import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from rectify_core import HOME
from rectify_core.config.calendar import local_today
from rectify_core.config.settings import Settings
from rectify_core.config.web import ADMIN_ENV, web_secret
from rectify_core.deadlines.scan import with_people
from rectify_core.documents import report as progress_report
from rectify_core.documents.dashboard import build as build_dashboard
from rectify_core.documents.dashboard import render as render_dashboard
from rectify_core.documents.docx import write_docx
from rectify_core.documents.xlsx import write_xlsx
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import approvals, db, lifecycle, uploads
from rectify_core.ledger.act import Act
from rectify_core.ledger.models import Item, ItemRequest
from rectify_core.ledger.view import all_round_views, pick_round, round_view
from rectify_core.vocab import ItemState
from rectify_core.web import links, portal

TEMPLATES = HOME / "templates" / "web"
ADMIN_COOKIE, CSRF_COOKIE = "rectify_admin", "rectify_csrf"
ADMIN_HOURS = 12
WINDOW = 600.0  # seconds over which bad tokens are counted
SHOWN = 300  # ledger rows on the clerk's page; filters narrow the rest
DONE_MESSAGES = {
    "ack": "已确认已阅。", "progress": "已报送进展。", "extension": "已提交延期申请，等待审批。",
    "closure": "已提交销号申请，等待核验。", "approved": "已批准。", "rejected": "已退回。",
    "revoked": "已收回此人的全部链接。",
}
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

Clock = Callable[[], dt.datetime]
log = logging.getLogger("rectify.web")


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: security headers on every answer, and a cap on request bodies
    (by Content-Length at once, and by counting what arrives)."""

    def __init__(self, app: Any, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def headed(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            page = _error(413, f"提交的内容过大（上限约 {self.max_body // 2**20} MB），请压缩或分次上传。")
            await page(scope, receive, headed)  # answered before the body is read
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


class Limiter:
    """Bad tokens per client over a sliding window; past the limit the client is
    refused (429) until the window moves on. In memory, per process."""

    def __init__(self, limit: int, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self.fails: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def _recent(self, client: str, now: float) -> collections.deque[float]:
        q = self.fails[client]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, client: str) -> bool:
        return len(self._recent(client, time.monotonic())) >= self.limit

    def fail(self, client: str) -> None:
        self._recent(client, time.monotonic()).append(time.monotonic())
        if len(self.fails) > 100_000:  # forget the quiet ones
            for key in [k for k, q in self.fails.items() if not q][:50_000]:
                del self.fails[key]


_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                   autoescape=select_autoescape(["j2", "html"]), trim_blocks=True, lstrip_blocks=True)


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status)


def _error(status: int, message: str, back: str | None = None) -> HTMLResponse:
    titles = {400: "无法处理", 403: "无法打开", 404: "没有找到", 409: "未能办理", 413: "文件过大",
              415: "文件类型不符", 429: "请稍后再试"}
    return _page("error.html.j2", status, title=titles.get(status, "出错了"), message=message, back=back)


class Refused(Exception):
    """A request that ends in an error page: status, message, and where to go back to."""

    def __init__(self, status: int, message: str, back: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.back = status, message, back


@dataclass
class Portal:
    engine: Engine
    settings: Settings
    secret: bytes
    admin_token: str | None
    store: Path
    clock: Clock = wall_clock
    limiter: Limiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = Limiter(self.settings.web.failed_per_10min)
        self.factory = db.session_factory(db.reader(self.engine))  # pages read; actions use db.transaction

    # --- links and forms ---------------------------------------------------------

    def holder(self, request: Request, token: str, session: Session) -> links.Holder:
        client = request.client.host if request.client else "?"
        if self.limiter.blocked(client):
            raise Refused(429, "失败次数过多，请 10 分钟后再试。")
        try:
            holder = links.verify(self.secret, token, self.clock(), self.settings.web.link_days)
            links.check_revoked(holder, session=session)
        except links.LinkError as exc:
            if exc.suspicious:
                self.limiter.fail(client)
            raise Refused(403, str(exc)) from None
        return holder

    def csrf(self, cookie: str, bound: str) -> str:
        return hmac.new(self.secret, f"csrf.{cookie}.{bound}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, form: FormData, bound: str, back: str | None) -> None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = form.get("csrf")
        if not cookie or not isinstance(sent, str) or not hmac.compare_digest(self.csrf(cookie, bound), sent):
            raise Refused(403, "表单已失效（缺少或不匹配的安全校验），请回到页面刷新后重新提交。", back)

    def admin_cookie(self, now: dt.datetime) -> str:
        stamp = str(int(now.timestamp()))
        return f"{stamp}.{hmac.new(self.secret, f'admin.{stamp}'.encode(), hashlib.sha256).hexdigest()}"

    def is_admin(self, request: Request) -> bool:
        value = request.cookies.get(ADMIN_COOKIE, "")
        stamp, _, sig = value.partition(".")
        if not self.admin_token or not stamp.isdigit():
            return False
        good = hmac.new(self.secret, f"admin.{stamp}".encode(), hashlib.sha256).hexdigest()
        fresh = self.clock().timestamp() - int(stamp) < ADMIN_HOURS * 3600
        return hmac.compare_digest(good, sig) and fresh


def _with_csrf(response: Response, request: Request, cookie: str) -> Response:
    secure = request.url.scheme == "https"
    response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict", secure=secure)
    return response


def _csrf_cookie(request: Request) -> str:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if len(value) == 32 and value.isalnum() else secrets.token_hex(16)


async def _form(request: Request, portal_: Portal, back: str | None) -> FormData:
    cfg = portal_.settings.web
    try:
        return await request.form(max_files=cfg.max_files, max_fields=30)
    except StarletteHTTPException as exc:
        raise Refused(400, f"表单无法处理：{exc.detail}（每次最多上传 {cfg.max_files} 个文件）", back) from None


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(uploads.CHUNK):
        yield chunk


async def _store_files(form: FormData, portal_: Portal, back: str) -> list[uploads.Stored]:
    cfg = portal_.settings.web
    stored = []
    for value in form.getlist("files"):
        if isinstance(value, UploadFile) and value.filename:
            try:
                stored.append(await uploads.store(value.filename, _chunks(value), portal_.store,
                                                  cfg.max_upload_mb * 2**20, cfg.allowed))
            except uploads.UploadRefused as exc:
                raise Refused(exc.status, str(exc), back) from None
    return stored


def _text(form: FormData, name: str, limit: int = 4000) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > limit:
        raise RefusedError(f"内容过长（不超过 {limit} 字）")
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t").strip()


def _date(form: FormData, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(_text(form, name, 20))
    except ValueError:
        raise RefusedError("请填写新的整改时限（年-月-日）") from None


def _downloadable(path: Path, name: str, media: str) -> FileResponse:
    return FileResponse(path, media_type=media, filename=name, content_disposition_type="attachment")


def create_app(engine: Engine, settings: Settings, *, secret: bytes, admin_token: str | None, store: Path,
               clock: Clock = wall_clock) -> FastAPI:
    """The web application over one database and config."""
    portal_ = Portal(engine, settings, secret, admin_token, store, clock)
    cfg = settings.web
    app = FastAPI(title="rectify", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return _error(exc.status, exc.message, exc.back)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        return _error(413, "提交的内容过大，请压缩或分次上传。")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("rectify web: %s %s failed", request.method, request.url.path.split("/p/")[0] or "/p/…")
        return _error(500, "系统出错，所做的操作未保存。请稍后再试，或联系巡察整改工作办公室。")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, "没有这个页面。" if exc.status_code == 404 else "请求无法处理。")

    @app.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return _page("home.html.j2")

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/static/app.css")
    def css() -> Response:
        return FileResponse(TEMPLATES / "app.css", media_type="text/css", headers={"cache-control": "max-age=3600"})

    # --- a person's page -----------------------------------------------------------

    @app.get("/p/{token}", response_class=HTMLResponse)
    async def person(request: Request, token: str, ok: str = "") -> Response:
        # a few milliseconds of local queries: run inline, as a thread hop and the pool's
        # queue cost more than the work (see bench/web_bench.py)
        now = clock()
        with portal_.factory() as session:
            holder = portal_.holder(request, token, session)
            view = portal.person_view(holder.unit, holder.name, local_today(now), settings, session=session)
            cookie = _csrf_cookie(request)
            page = _page("person.html.j2", view=view, token=token, csrf=portal_.csrf(cookie, holder.link),
                         done=DONE_MESSAGES.get(ok, ""), kinds=approvals.KIND_NAMES)
        return _with_csrf(page, request, cookie)

    @app.get("/p/{token}/items/{item_id}", response_class=HTMLResponse)
    async def item_page(request: Request, token: str, item_id: int, ok: str = "") -> Response:
        now = clock()
        with portal_.factory() as session:
            holder = portal_.holder(request, token, session)
            try:
                card = portal.item_view(holder.unit, holder.name, item_id, local_today(now), settings, session=session)
            except NotFoundError as exc:
                raise Refused(404, str(exc), f"/p/{quote(token)}") from None
            cookie = _csrf_cookie(request)
            page = _page("item.html.j2", c=card, name=holder.name, token=token, csrf=portal_.csrf(cookie, holder.link),
                         done=DONE_MESSAGES.get(ok, ""), kinds=approvals.KIND_NAMES, states=approvals.STATE_NAMES,
                         max_mb=cfg.max_upload_mb, max_files=cfg.max_files, allowed=cfg.allowed,
                         accept=",".join(f".{a}" for a in cfg.allowed))
        return _with_csrf(page, request, cookie)

    @app.post("/p/{token}/items/{item_id}/{action}")
    async def act(request: Request, token: str, item_id: int, action: str) -> Response:
        back = f"/p/{quote(token)}"
        if action not in ("ack", "progress", "extension", "closure"):
            raise Refused(404, "没有这个操作。", back)
        with portal_.factory() as session:  # link and item first: refused before the body is read
            holder = portal_.holder(request, token, session)
            try:
                portal.item_of(holder.unit, holder.name, item_id, local_today(clock()), session=session)
            except NotFoundError as exc:
                raise Refused(404, str(exc), back) from None
        form = await _form(request, portal_, back)
        portal_.check_csrf(request, form, holder.link, back)
        files = await _store_files(form, portal_, back) if action in ("progress", "closure") else []
        await run_in_threadpool(_act, portal_, holder, item_id, action, form, files, back)
        if action == "ack" and form.get("from") != "item":
            return RedirectResponse(f"{back}?ok={action}#item-{item_id}", status_code=303)
        return RedirectResponse(f"{back}/items/{item_id}?ok={action}", status_code=303)

    @app.post("/p/{token}/requests/{request_id}/decide")
    async def decide(request: Request, token: str, request_id: int) -> Response:
        back = f"/p/{quote(token)}"
        with portal_.factory() as session:
            holder = portal_.holder(request, token, session)
        form = await _form(request, portal_, back)
        portal_.check_csrf(request, form, holder.link, back)
        verdict = form.get("decision")
        if verdict not in ("approve", "reject"):
            raise Refused(400, "请选择批准（核验通过）或退回。", back)
        await run_in_threadpool(_decide, portal_, holder, request_id, verdict == "approve", _text(form, "note"), back)
        return RedirectResponse(f"{back}?ok={'approved' if verdict == 'approve' else 'rejected'}", status_code=303)

    @app.get("/p/{token}/files/{upload_id}")
    def file(request: Request, token: str, upload_id: int) -> Response:
        with portal_.factory() as session:
            holder = portal_.holder(request, token, session)
            try:
                row = portal.upload_of(holder.unit, holder.name, upload_id, local_today(clock()), settings,
                                       session=session)
            except NotFoundError as exc:
                raise Refused(404, str(exc), f"/p/{quote(token)}") from None
            path, name, media = uploads.path_of(store, row.sha256), row.name, row.media_type
        if not path.is_file():
            raise Refused(404, "文件已不在存储目录中，请联系巡察整改工作办公室。", f"/p/{quote(token)}")
        return _downloadable(path, name, media)

    # --- the clerk's page --------------------------------------------------------------

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request, round: int | None = None, light: str = "", q: str = "", ok: str = "") -> Response:
        if not portal_.is_admin(request):
            return _page("admin_login.html.j2", status=401 if request.cookies.get(ADMIN_COOKIE) else 200,
                         configured=bool(admin_token), failed=False)
        today = local_today(clock())
        with portal_.factory() as session:
            directory = with_people(settings.contacts, session=session)
            views = all_round_views(today, settings.rules, settings.calendar, directory, session=session)
            pending = session.execute(select(ItemRequest, Item).join(Item, ItemRequest.item_id == Item.id)
                                      .where(ItemRequest.state == approvals.PENDING).order_by(ItemRequest.id)).all()
            rows, counts = _ledger(views, round, light, q)
            cookie = _csrf_cookie(request)
            page = _page("admin.html.j2", views=views, rows=rows[:SHOWN], total=len(rows), shown=SHOWN,
                         counts=counts, pending=pending, kinds=approvals.KIND_NAMES, today=today,
                         round=round, light=light, q=q, done=DONE_MESSAGES.get(ok, ""),
                         csrf=portal_.csrf(cookie, "admin"))
        return _with_csrf(page, request, cookie)

    @app.post("/admin/login")
    async def login(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        if portal_.limiter.blocked(client):
            raise Refused(429, "失败次数过多，请 10 分钟后再试。")
        form = await request.form(max_files=0, max_fields=5)
        given = form.get("token")
        if not admin_token or not isinstance(given, str) or not hmac.compare_digest(given.encode(),
                                                                                      admin_token.encode()):
            portal_.limiter.fail(client)
            return _page("admin_login.html.j2", status=403, configured=bool(admin_token), failed=True)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(ADMIN_COOKIE, portal_.admin_cookie(clock()), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=ADMIN_HOURS * 3600)
        return response

    @app.post("/admin/logout")
    def logout() -> Response:
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(ADMIN_COOKIE)
        return response

    @app.post("/admin/links")
    async def person_links(request: Request) -> Response:
        """A person's links: issue a new one (to send by hand), or revoke every one issued."""
        if not portal_.is_admin(request):
            raise Refused(403, "请先登录管理页面。", "/admin")
        form = await request.form(max_files=0, max_fields=6)
        portal_.check_csrf(request, form, "admin", "/admin")
        unit, name = _text(form, "unit", 200), _text(form, "name", 100)
        if not unit or not name:
            raise Refused(400, "请填写单位和姓名。", "/admin")
        if form.get("do") == "issue":
            with portal_.factory() as session:
                base = links.base_url(cfg, session=session) or str(request.base_url).rstrip("/")
            url = links.LinkMaker(secret, base).url(unit, name, clock())
            return _page("admin_link.html.j2", unit=unit, name=name, url=url, days=cfg.link_days)
        with db.transaction(engine) as session:
            links.revoke(unit, name, "管理员（网页）", clock(), session=session)
        return RedirectResponse("/admin?ok=revoked", status_code=303)

    @app.get("/admin/download/{what}")
    def download(request: Request, what: str, round: int | None = None) -> Response:
        if not portal_.is_admin(request):
            raise Refused(403, "请先登录管理页面。", "/admin")
        if what not in ("report.docx", "ledger.xlsx", "dashboard.html"):
            raise Refused(404, "没有这个文件。", "/admin")
        today = local_today(clock())
        out = Path(tempfile.mkdtemp(prefix="rectify-web-")) / what
        with portal_.factory() as session:
            directory = with_people(settings.contacts, session=session)
            try:
                if what == "dashboard.html":
                    views = all_round_views(today, settings.rules, settings.calendar, directory, session=session)
                    out.write_text(render_dashboard(build_dashboard(views, today, session=session)), encoding="utf-8")
                else:
                    rnd = pick_round(round, session=session)
                    view = round_view(rnd, today, settings.rules, settings.calendar, directory, session=session)
                    if what == "report.docx":
                        write_docx(progress_report.build(view), out)
                    else:
                        write_xlsx(view, out)
            except (NotFoundError, RefusedError) as exc:
                raise Refused(409, str(exc), "/admin") from None
        media = {"report.docx": uploads.KINDS["docx"][0], "ledger.xlsx": uploads.KINDS["xlsx"][0],
                 "dashboard.html": "text/html"}[what]
        names = {"report.docx": "整改进展情况报告", "ledger.xlsx": "整改台账", "dashboard.html": "整改看板"}
        return _downloadable(out, f"{names[what]}-{today.isoformat()}.{what.rsplit('.', 1)[1]}", media)

    max_body = cfg.max_files * cfg.max_upload_mb * 2**20 + 2**20
    app.add_middleware(Guard, max_body=max_body)
    return app


def _ledger(views: list[Any], round_id: int | None, light: str, q: str) -> tuple[list[tuple[Any, Any]], dict[str, int]]:
    rows = [(v, r) for v in views if round_id is None or v.id == round_id for r in v.rows]
    counts: dict[str, int] = collections.Counter(
        "done" if r.status == ItemState.DONE else (r.light or "none") for _, r in rows)
    if light:
        rows = [(v, r) for v, r in rows if ("done" if r.status == ItemState.DONE else r.light) == light]
    if q.strip():
        needle = q.strip()
        rows = [(v, r) for v, r in rows if any(needle in (x or "") for x in (r.title, r.owner, r.leader, r.department))]
    return rows, dict(counts)


def _act(portal_: Portal, holder: links.Holder, item_id: int, action: str, form: FormData,
         files: list[uploads.Stored], back: str) -> None:
    act = Act.at(holder.name, portal_.clock(), {"via": "web", "link": holder.link})
    settings = portal_.settings
    try:
        with db.transaction(portal_.engine) as session:
            item, roles = portal.item_of(holder.unit, holder.name, item_id, act.today, session=session)
            if not portal.acts_on(roles):
                raise RefusedError("第一责任人可查看本单位的问题；报送进展和申请由责任人或责任领导办理")
            if action == "ack":
                lifecycle.acknowledge(item, act, session=session)
            elif action == "progress":
                status = ItemState.ONGOING if form.get("ongoing") == "1" else None
                evidence = uploads.record(files, item.id, act, session=session)
                lifecycle.record_progress(item, _text(form, "text"), act, status=status, evidence=evidence,
                                          session=session)
            elif action == "extension":
                approvals.request_extension(item, holder.unit, _date(form, "to"), _text(form, "reason"), act,
                                            settings, session=session)
            else:
                evidence = uploads.record(files, item.id, act, session=session)
                approvals.request_closure(item, holder.unit, _text(form, "text"), evidence, act, session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), back) from None
    except RefusedError as exc:
        raise Refused(409, str(exc), back) from None


def _decide(portal_: Portal, holder: links.Holder, request_id: int, approve: bool, note: str, back: str) -> None:
    act = Act.at(holder.name, portal_.clock(), {"via": "web", "link": holder.link})
    settings = portal_.settings
    try:
        with db.transaction(portal_.engine) as session:
            row = session.get(ItemRequest, request_id)
            directory = with_people(settings.contacts, session=session)
            if row is None or row.item.round.unit.name != holder.unit \
                    or not approvals.may_decide(holder.name, row, row.item, directory):
                raise NotFoundError("没有找到这份申请，或它不需要您审批")
            approvals.decide(row, row.item, approve, note, act, settings, directory, session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), back) from None
    except RefusedError as exc:
        raise Refused(409, str(exc), back) from None


STORE_ENV = "RECTIFY_WEB_STORE"
BASE_URL_ENV = links.BASE_URL_ENV


def from_environment() -> FastAPI:
    """The application as `rectify web` configured it through the environment: what each
    uvicorn worker process builds for itself (its own engine and connections)."""
    from rectify_core.config.settings import load_settings, resolve_config_dir

    settings = load_settings(resolve_config_dir(None))
    if base := os.environ.get(BASE_URL_ENV):
        settings = replace(settings, web=replace(settings.web, base_url=base.rstrip("/")))
    engine = db.make_engine(db.database_url())
    secret = web_secret()
    assert secret is not None
    store = Path(os.environ.get(STORE_ENV) or db.default_database_path().parent / "uploads")
    return create_app(engine, settings, secret=secret, admin_token=os.environ.get(ADMIN_ENV) or None,
                      store=store)


def serve(host: str, port: int, *, workers: int = 1, proxy: bool = False) -> None:
    """Run under uvicorn until interrupted, with `workers` processes."""
    import uvicorn

    uvicorn.run("rectify_core.web.app:from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, proxy_headers=proxy,
                forwarded_allow_ips="127.0.0.1" if proxy else None, server_header=False)

