"""The clerk's /admin: the ledger with lights and filters, pending requests, a person's
links issued or revoked, and the office's documents to download."""

from __future__ import annotations

import collections
import hmac
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core.config.calendar import local_today
from rectify_core.deadlines.scan import with_people
from rectify_core.documents import report as progress_report
from rectify_core.documents.dashboard import build as build_dashboard
from rectify_core.documents.dashboard import render as render_dashboard
from rectify_core.documents.docx import write_docx
from rectify_core.documents.xlsx import write_xlsx
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import approvals, db, uploads
from rectify_core.ledger.models import Item, ItemRequest
from rectify_core.ledger.view import all_round_views, pick_round, round_view
from rectify_core.vocab import ItemState
from rectify_core.web import links
from rectify_core.web.pages import (
    ADMIN_COOKIE,
    ADMIN_HOURS,
    DONE_MESSAGES,
    Portal,
    PortalDep,
    Refused,
    checked_form,
    csrf_cookie,
    downloadable,
    page,
    text_field,
    with_csrf,
)

router = APIRouter(prefix="/admin")
SHOWN = 300  # ledger rows on the clerk's page; filters narrow the rest
DOWNLOADS = {"report.docx": ("整改进展情况报告", uploads.KINDS["docx"][0]),
             "ledger.xlsx": ("整改台账", uploads.KINDS["xlsx"][0]),
             "dashboard.html": ("整改看板", "text/html")}


def admin_of(request: Request, portal_: PortalDep) -> Portal:
    """The portal, for a signed-in clerk only."""
    if not portal_.is_admin(request):
        raise Refused(403, "请先登录管理页面。", "/admin")
    return portal_


AdminDep = Annotated[Portal, Depends(admin_of)]


async def admin_form(request: Request, portal_: AdminDep) -> FormData:
    """A form posted from the clerk's page, its CSRF token checked."""
    return await checked_form(request, portal_, "admin", "/admin")


AdminForm = Annotated[FormData, Depends(admin_form)]


@router.get("", response_class=HTMLResponse)
def admin(request: Request, portal_: PortalDep, round: int | None = None, light: str = "", q: str = "",
          ok: str = "") -> Response:
    if not portal_.is_admin(request):
        return page("admin_login.html.j2", status=401 if request.cookies.get(ADMIN_COOKIE) else 200,
                    configured=bool(portal_.admin_token), failed=False)
    settings, today = portal_.settings, local_today(portal_.clock())
    with portal_.factory() as session:
        directory = with_people(settings.contacts, session=session)
        views = all_round_views(today, settings.rules, settings.calendar, directory, session=session)
        pending = session.execute(select(ItemRequest, Item).join(Item, ItemRequest.item_id == Item.id)
                                  .where(ItemRequest.state == approvals.PENDING).order_by(ItemRequest.id)).all()
        rows, counts = _ledger(views, round, light, q)
        cookie = csrf_cookie(request)
        shown = page("admin.html.j2", views=views, rows=rows[:SHOWN], total=len(rows), shown=SHOWN,
                     counts=counts, pending=pending, kinds=approvals.KIND_NAMES, today=today,
                     round=round, light=light, q=q, done=DONE_MESSAGES.get(ok, ""),
                     csrf=portal_.csrf(cookie, "admin"))
    return with_csrf(shown, request, cookie)


@router.post("/login")
async def login(request: Request, portal_: PortalDep) -> Response:
    client = request.client.host if request.client else "?"
    if portal_.limiter.blocked(client):
        raise Refused(429, "失败次数过多，请 10 分钟后再试。")
    form = await request.form(max_files=0, max_fields=5)
    given, token = form.get("token"), portal_.admin_token
    if not token or not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
        portal_.limiter.fail(client)
        return page("admin_login.html.j2", status=403, configured=bool(token), failed=True)
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(ADMIN_COOKIE, portal_.admin_cookie(portal_.clock()), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=ADMIN_HOURS * 3600)
    return response


@router.post("/logout")
def logout(form: AdminForm) -> Response:
    response = RedirectResponse("/admin", status_code=303)
    response.delete_cookie(ADMIN_COOKIE)
    return response


@router.post("/links")
async def person_links(request: Request, portal_: AdminDep, form: AdminForm) -> Response:
    """A person's links: issue a new one (to send by hand), or revoke every one issued."""
    unit, name = text_field(form, "unit", 200), text_field(form, "name", 100)
    if not unit or not name:
        raise Refused(400, "请填写单位和姓名。", "/admin")
    cfg = portal_.settings.web
    if form.get("do") == "issue":
        with portal_.factory() as session:
            base = links.base_url(cfg, session=session) or str(request.base_url).rstrip("/")
        url = links.LinkMaker(portal_.secret, base).url(unit, name, portal_.clock())
        return page("admin_link.html.j2", unit=unit, name=name, url=url, days=cfg.link_days)
    try:
        with db.transaction(portal_.engine) as session:
            directory = with_people(portal_.settings.contacts, session=session)
            links.revoke(unit, name, "管理员（网页）", portal_.clock(), directory, session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), "/admin") from None
    return RedirectResponse("/admin?ok=revoked", status_code=303)


@router.get("/download/{what}")
def download(what: str, portal_: AdminDep, round: int | None = None) -> Response:
    if what not in DOWNLOADS:
        raise Refused(404, "没有这个文件。", "/admin")
    today = local_today(portal_.clock())
    out = Path(tempfile.mkdtemp(prefix="rectify-web-")) / what
    try:
        _write(what, out, portal_, round)
    except (NotFoundError, RefusedError) as exc:
        shutil.rmtree(out.parent, ignore_errors=True)
        raise Refused(409, str(exc), "/admin") from None
    name, media = DOWNLOADS[what]
    return downloadable(out, f"{name}-{today.isoformat()}.{what.rsplit('.', 1)[1]}", media, scratch=out.parent)


def _write(what: str, out: Path, portal_: Portal, round_id: int | None) -> None:
    settings, today = portal_.settings, local_today(portal_.clock())
    with portal_.factory() as session:
        directory = with_people(settings.contacts, session=session)
        if what == "dashboard.html":
            views = all_round_views(today, settings.rules, settings.calendar, directory, session=session)
            out.write_text(render_dashboard(build_dashboard(views, today, session=session)), encoding="utf-8")
            return
        view = round_view(pick_round(round_id, session=session), today, settings.rules, settings.calendar,
                          directory, session=session)
        if what == "report.docx":
            write_docx(progress_report.build(view), out)
        else:
            write_xlsx(view, out)


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
