"""The clerk's /admin: the ledger with lights and filters, pending requests, each item's
trail, a person's links issued or revoked, and the office's documents to download.

Everyone signs in with their own account (rectify accounts): a unit's clerk sees and acts
on that unit only — another unit's item, round or link is "not found"; the office above
the units sees every unit, with a unit filter, and downloads the county's files; a viewer
only reads."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core.config.calendar import local_today
from rectify_core.config.settings import Settings
from rectify_core.deadlines.scoring import lost_text
from rectify_core.delivery import links
from rectify_core.documents import county
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import accounts, approvals, db, obligations, scores, units
from rectify_core.ledger.models import Account, Item, ItemRequest
from rectify_core.vocab import ItemState
from rectify_core.web.listing import PAGE, Filters, listing, round_of, rounds_seen
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


@dataclass(frozen=True)
class Signed:
    """The portal, and who is signed in to it over what."""

    portal: Portal
    scope: accounts.Scope


async def signed_in(request: Request, portal_: PortalDep) -> Signed:
    scope = portal_.admin_scope(request)
    if scope is None:
        raise Refused(403, "请先登录管理页面。", "/admin")
    return Signed(portal_, scope)


AdminDep = Annotated[Signed, Depends(signed_in)]


def session_bound(request: Request) -> str:
    """What an admin form's CSRF token is bound to: this signed-in session (its cookie's
    signature), so a token from another or an ended session does not post."""
    return "admin:" + request.cookies.get(ADMIN_COOKIE, "").rpartition(".")[2][:64]


async def admin_form(request: Request, signed: AdminDep) -> FormData:
    """A form posted from the clerk's page, its CSRF token checked; a viewer posts nothing."""
    form = await checked_form(request, signed.portal, session_bound(request), "/admin")
    if not signed.scope.writes and request.url.path != "/admin/logout":
        raise Refused(403, "只读账号不能修改。", "/admin")
    return form


AdminForm = Annotated[FormData, Depends(admin_form)]


def admin_page(request: Request, signed: Signed, template: str, status: int = 200, **context: Any) -> Response:
    """A page of /admin for the signed-in account, its forms carrying the session's CSRF token."""
    cookie = csrf_cookie(request)
    shown = page(template, status=status, scope=signed.scope, csrf=signed.portal.csrf(cookie, session_bound(request)),
                 **context)
    return with_csrf(shown, request, cookie)


def _login_page(request: Request, portal_: Portal, status: int = 200, failed: bool = False) -> Response:
    with portal_.factory() as session:
        configured = bool(portal_.admin_token) or session.scalar(select(Account.id).limit(1)) is not None
    cookie = csrf_cookie(request)
    shown = page("admin_login.html.j2", status=status, configured=configured, failed=failed,
                 csrf=portal_.csrf(cookie, "login"))
    return with_csrf(shown, request, cookie)


@router.get("", response_class=HTMLResponse)
def admin(request: Request, portal_: PortalDep, ok: str = "") -> Response:
    """The ledger the account sees, a page at a time, with its pending requests."""
    scope = portal_.admin_scope(request)
    if scope is None:
        return _login_page(request, portal_, 401 if request.cookies.get(ADMIN_COOKIE) else 200)
    settings, today = portal_.settings, local_today(portal_.clock())
    wanted = Filters.of(request.query_params)
    with portal_.factory() as session:
        found = listing(wanted, scope, today, settings, session=session)
        ids = [r.id for r in found.rounds]
        pending = session.execute(select(ItemRequest, Item).join(Item, ItemRequest.item_id == Item.id)
                                  .where(ItemRequest.state == approvals.PENDING, Item.round_id.in_(ids))
                                  .order_by(ItemRequest.id)).all()
        cookie = csrf_cookie(request)
        shown = page("admin.html.j2", views=found.rounds, units=found.units, rows=found.rows, total=found.total,
                     shown=PAGE, counts=found.counts, pending=pending, kinds=approvals.KIND_NAMES, today=today,
                     round=wanted.round, light=wanted.light, q=wanted.q, unit=wanted.unit, scope=scope, f=wanted,
                     states=[(str(s), s.label) for s in (ItemState.OPEN, ItemState.ONGOING, ItemState.DONE)],
                     done=DONE_MESSAGES.get(ok, ""), csrf=portal_.csrf(cookie, session_bound(request)))
    return with_csrf(shown, request, cookie)


@router.post("/login")
async def login(request: Request, portal_: PortalDep) -> Response:
    client = request.client.host if request.client else "?"
    if portal_.limiter.blocked(client):
        raise Refused(429, "失败次数过多，请 10 分钟后再试。")
    form = await request.form(max_files=0, max_fields=5)
    portal_.check_csrf(request, form, "login", "/admin")
    login_, password = form.get("login"), form.get("password")
    if not isinstance(login_, str) or not isinstance(password, str) or len(login_) > 64 or len(password) > 200:
        portal_.limiter.fail(client)
        return _login_page(request, portal_, 403, failed=True)
    with portal_.factory() as session:
        scope = accounts.sign_in(login_, password, portal_.admin_token, session=session)
        cookie = (accounts.session_cookie(portal_.secret, scope, portal_.clock(), session=session)
                  if scope is not None else None)
    if cookie is None:
        portal_.limiter.fail(client)  # counted with bad links, by every worker
        return _login_page(request, portal_, 403, failed=True)
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(ADMIN_COOKIE, cookie, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=ADMIN_HOURS * 3600)
    return response


@router.post("/logout")
def logout(signed: AdminDep, form: AdminForm) -> Response:
    """Ends the session here and every copy of its cookie (the account's other sessions too)."""
    with db.transaction(signed.portal.engine) as session:
        accounts.end_sessions(signed.scope, signed.portal.clock(), session=session)
    response = RedirectResponse("/admin", status_code=303)
    response.delete_cookie(ADMIN_COOKIE)
    return response


def _known_person(unit: str, name: str, scope: Any, settings: Settings, *, session: Session) -> tuple[str, str]:
    """A link is for a person rectify knows in a unit the account holds, by the same rules
    as pages and revocation; a clerk learns nothing of other units from a refusal."""
    try:
        found = units.find_unit(unit, session=session).name
    except NotFoundError as exc:
        raise Refused(404, str(exc) if scope.unit is None else f"没有找到单位“{unit}”。", "/admin") from None
    if not scope.sees(found):
        raise Refused(404, f"没有找到单位“{unit}”。", "/admin")
    try:
        directory = obligations.directory(settings, session=session)
        return links.known_person(found, name, directory, session=session, others=scope.unit is None)
    except NotFoundError as exc:
        raise Refused(404, str(exc), "/admin") from None


@router.post("/links")
async def person_links(request: Request, signed: AdminDep, form: AdminForm) -> Response:
    """A person's links: issue a new one (to send by hand), or revoke every one issued."""
    portal_, scope = signed.portal, signed.scope
    unit, name = text_field(form, "unit", 200) or (scope.unit or ""), text_field(form, "name", 100)
    if not unit or not name:
        raise Refused(400, "请填写单位和姓名。", "/admin")
    cfg = portal_.settings.web
    if form.get("do") == "issue":
        with portal_.factory() as session:
            unit, key = _known_person(unit, name, scope, portal_.settings, session=session)
            held = links.open_items_of(unit, key, session=session)
            base = links.base_url(cfg, session=session) or str(request.base_url).rstrip("/")
        url = links.LinkMaker(portal_.secret, base).url(unit, name, portal_.clock(), by_hand=True)
        return page("admin_link.html.j2", unit=unit, name=name, url=url, days=cfg.link_days, held=held)
    if not scope.sees(unit):
        raise Refused(404, f"没有找到单位“{unit}”。", "/admin")
    try:
        with db.transaction(portal_.engine) as session:
            directory = obligations.directory(portal_.settings, session=session)
            links.revoke(unit, name, scope.actor, portal_.clock(), directory, session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), "/admin") from None
    return RedirectResponse("/admin?ok=revoked", status_code=303)


@router.get("/download/{what}")
def download(what: str, signed: AdminDep, round: str = "", unit: str = "") -> Response:
    """The office's files: one round's, or with 全部 those of every round the account sees
    (the county's files for the office)."""
    portal_ = signed.portal
    if what not in county.DOWNLOADS:
        raise Refused(404, "没有这个文件。", "/admin")
    today = local_today(portal_.clock())
    out = Path(tempfile.mkdtemp(prefix="rectify-web-")) / what
    try:
        with portal_.factory() as session:
            rounds = [(r.id, r.unit) for r in rounds_seen(signed.scope, session=session) if not unit or r.unit == unit]
            if round.strip():  # a round asked for, and none like it, is not found: never every round's file
                chosen = round_of(round.strip())
                rounds = [r for r in rounds if chosen is not None and r[0] == chosen]
                if not rounds:
                    raise NotFoundError("没有找到这个轮次。")
            county.write(what, rounds, portal_.settings, today, out, session=session)
    except NotFoundError as exc:
        shutil.rmtree(out.parent, ignore_errors=True)
        raise Refused(404, str(exc), "/admin") from None
    except RefusedError as exc:
        shutil.rmtree(out.parent, ignore_errors=True)
        raise Refused(409, str(exc), "/admin") from None
    name, media = county.DOWNLOADS[what]
    return downloadable(out, f"{name}-{today.isoformat()}.{what.rsplit('.', 1)[1]}", media, scratch=out.parent)


@router.get("/scores", response_class=HTMLResponse)
def admin_scores(request: Request, portal_: PortalDep) -> Response:
    """结果考评 of every unit, for the office: ranked, each unit's deductions explained."""
    scope = portal_.admin_scope(request)
    if scope is None:
        return _login_page(request, portal_, 401 if request.cookies.get(ADMIN_COOKIE) else 200)
    if scope.unit is not None:
        raise Refused(404, "结果考评只对巡察办账号显示。", "/admin")
    today = local_today(portal_.clock())
    with portal_.factory() as session:
        graded = scores.compute(today, portal_.settings, session=session)
    return page("admin_scores.html.j2", scores=graded, today=today, scope=scope, lost_text=lost_text)
