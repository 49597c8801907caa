"""What every page of rectify web shares: the templates, the error page, the portal
(engine, settings, secrets, the bad-link limiter), CSRF and the form helpers, and the
dependencies routes take (`PortalDep`, `RecordId`)."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi import Path as PathParam
from sqlalchemy import Engine, bindparam, delete, func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

from rectify_core import signing
from rectify_core.config.calendar import Clock
from rectify_core.config.settings import Settings
from rectify_core.delivery import links
from rectify_core.errors import RefusedError
from rectify_core.ledger import accounts, db, uploads
from rectify_core.ledger.models import WebFailure
from rectify_core.ledger.office import Office
from rectify_core.templating import render

ADMIN_COOKIE, CSRF_COOKIE = "rectify_admin", "rectify_csrf"
ADMIN_HOURS = accounts.SESSION_HOURS
WINDOW = 600.0  # seconds over which bad tokens are counted
MAX_ID = 2**63 - 1  # the largest id either database holds
DONE_MESSAGES = {
    "ack": "已确认已阅。", "progress": "已报送进展。", "extension": "已提交延期申请，等待审批。",
    "closure": "已提交销号申请，等待核验。", "approved": "已批准。", "rejected": "已退回。",
    "revoked": "已收回此人的全部链接。",
}
# a record's id in a URL: bounded before it reaches the database (anything else is "not found")
RecordId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


_TRIES = (select(func.count()).select_from(WebFailure)
          .where(WebFailure.client == bindparam("client"), WebFailure.at > bindparam("since")))


class Limiter:
    """Bad tries (forged or tampered links, wrong admin passwords) per client over a sliding
    window; past the limit the client is refused (429) until the window moves on. Kept in
    the database, so every worker of `rectify web --workers N` and every process counts
    the same tries."""

    def __init__(self, engine: Engine, limit: int, clock: Clock, window: float = WINDOW) -> None:
        self.engine, self.limit, self.clock = engine, limit, clock
        self.window = dt.timedelta(seconds=window)
        self.reads = db.session_factory(db.reader(engine))

    def blocked(self, client: str, session: Session | None = None) -> bool:
        """Is the client past the limit? Read in the caller's `session` when given (a page
        reads its link in one), else in a reading session of its own."""
        params = {"client": client[:64], "since": self.clock() - self.window}
        if session is not None:
            tries = session.connection().execute(_TRIES, params).scalar()
        else:
            with self.reads() as own:
                tries = own.connection().execute(_TRIES, params).scalar()
        return int(tries or 0) >= self.limit

    def fail(self, client: str) -> None:
        now = self.clock()
        with db.transaction(self.engine) as session:
            session.add(WebFailure(client=client[:64], at=now))
            session.execute(delete(WebFailure).where(WebFailure.at <= now - self.window))  # the window moved on




def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context), status_code=status)


def error(status: int, message: str, back: str | None = None) -> HTMLResponse:
    titles = {400: "无法处理", 403: "无法打开", 404: "没有找到", 409: "未能办理", 413: "文件过大",
              415: "文件类型不符", 429: "请稍后再试"}
    return page("error.html.j2", status, title=titles.get(status, "出错了"), message=message, back=back)


class Refused(Exception):
    """A request that ends in an error page: status, message, and where to go back to."""

    def __init__(self, status: int, message: str, back: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.back = status, message, back


class Portal:
    """The web's hold on the office (ledger.office.Office), with what only the web has: the
    signing secret, the bootstrap token and the failed-try limiter."""

    def __init__(self, office: Office, secret: bytes, admin_token: str | None) -> None:
        self.office, self.secret, self.admin_token = office, secret, admin_token
        self.limiter = Limiter(office.engine, office.settings.web.failed_per_10min, office.clock)
        self.factory = db.session_factory(db.reader(office.engine))  # pages read; actions use db.transaction

    @property
    def engine(self) -> Engine:
        return self.office.engine

    @property
    def settings(self) -> Settings:
        return self.office.settings

    @property
    def store(self) -> Path:
        return self.office.files

    def clock(self) -> dt.datetime:
        return self.office.clock()

    # --- links and forms ---------------------------------------------------------

    def holder(self, request: Request, token: str, session: Session) -> links.Holder:
        client = request.client.host if request.client else "?"
        if self.limiter.blocked(client, session):
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
        return signing.sign(self.secret, signing.CSRF, f"{cookie}.{bound}")

    def check_csrf(self, request: Request, form: FormData, bound: str, back: str | None) -> None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = form.get("csrf")
        if not cookie or not isinstance(sent, str) \
                or not signing.verify(self.secret, signing.CSRF, f"{cookie}.{bound}", sent):
            raise Refused(403, "表单已失效（缺少或不匹配的安全校验），请回到页面刷新后重新提交。", back)

    def admin_scope(self, request: Request) -> accounts.Scope | None:
        """Who is signed in to the clerk's pages, and over what (None: nobody)."""
        value = request.cookies.get(ADMIN_COOKIE, "")
        if not value or len(value) > 200:
            return None
        with self.factory() as session:
            return accounts.from_cookie(self.secret, value, self.clock(), self.admin_token, session=session)


def with_csrf(response: Response, request: Request, cookie: str) -> Response:
    secure = request.url.scheme == "https"
    response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict", secure=secure)
    return response


def csrf_cookie(request: Request) -> str:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if len(value) == 32 and value.isalnum() else secrets.token_hex(16)


async def read_form(request: Request, portal_: Portal, back: str | None) -> FormData:
    cfg = portal_.settings.web
    try:
        return await request.form(max_files=cfg.max_files, max_fields=30)
    except StarletteHTTPException as exc:
        raise Refused(400, f"表单无法处理：{exc.detail}（每次最多上传 {cfg.max_files} 个文件）", back) from None


async def chunks_of(upload: UploadFile) -> AsyncIterator[bytes]:
    """An uploaded file, a block at a time (never read whole)."""
    while chunk := await upload.read(uploads.CHUNK):
        yield chunk


async def store_files(form: FormData, portal_: Portal, back: str) -> list[uploads.Stored]:
    cfg = portal_.settings.web
    stored = []
    for value in form.getlist("files"):
        if isinstance(value, UploadFile) and value.filename:
            try:
                stored.append(await uploads.store(value.filename, chunks_of(value), portal_.store,
                                                  cfg.max_upload_mb * 2**20, cfg.allowed))
            except uploads.UploadRefused as exc:
                raise Refused(exc.status, str(exc), back) from None
    return stored


def text_field(form: FormData, name: str, limit: int = 4000) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > limit:
        raise RefusedError(f"内容过长（不超过 {limit} 字）")
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t").strip()


def date_field(form: FormData, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text_field(form, name, 20))
    except ValueError:
        raise RefusedError("请填写新的整改时限（年-月-日）") from None


def downloadable(path: Path, name: str, media: str, *, scratch: Path | None = None) -> FileResponse:
    """A file to save; `scratch`, a folder made for it, is removed once it is sent."""
    after = BackgroundTask(shutil.rmtree, scratch, ignore_errors=True) if scratch else None
    return FileResponse(path, media_type=media, filename=name, content_disposition_type="attachment",
                        background=after)


async def checked_form(request: Request, portal_: Portal, bound: str, back: str | None) -> FormData:
    """The posted form, once its CSRF token is checked against the cookie and `bound`
    (the link, or "admin")."""
    form = await read_form(request, portal_, back)
    portal_.check_csrf(request, form, bound, back)
    return form


# Dependencies are `async def` though most read the database: FastAPI runs a plain `def`
# dependency on its thread pool, and that hop (twice a page) cost more than the local
# queries they make; as with the pages themselves, they run inline (see bench/web_bench.py).


def portal_of_request(request: Request) -> Portal:
    portal_: Portal = request.app.state.portal
    return portal_


async def portal_of(request: Request) -> Portal:
    return portal_of_request(request)


PortalDep = Annotated[Portal, Depends(portal_of)]
