"""The office's own pages: the units of a round (added before their first ledger arrives,
renamed for tables, their signing office), the clerks' and viewers' accounts (created with
a password shown once, reset, disabled), and the journal of every write made through the
web, by unit and account. Only the office's accounts open them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core.config.calendar import to_local
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.ledger import accounts, db, journal, units
from rectify_core.ledger.models import Account, Unit
from rectify_core.web.admin import AdminDep, AdminForm, Signed, admin_page
from rectify_core.web.pages import RecordId, Refused, text_field

router = APIRouter(prefix="/admin")
BACK = "/admin/units"
DONE = {"unit": "已添加单位。", "edited": "已修改单位。", "enabled": "已恢复账号。",
        "disabled": "已停用账号：该账号已不能登录，已登录的会话随即失效。"}


def _office(signed: Signed) -> None:
    if signed.scope.unit is not None:
        raise Refused(404, "这个页面只对巡察办账号显示。", "/admin")


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request, signed: AdminDep, ok: str = "", password: str = "") -> Response:
    _office(signed)
    with signed.portal.factory() as session:
        held = list(session.scalars(select(Unit).order_by(Unit.name)))
        logins = accounts.listing(session=session)
    return admin_page(request, signed, "admin_units.html.j2", units=held, accounts=logins, done=DONE.get(ok, ""),
                 roles=accounts.ROLES)


def _write(signed: Signed, what: str, unit: str, change: Any) -> None:
    """One write of the office's, journalled; a refusal in words."""
    try:
        with db.transaction(signed.portal.engine) as session:
            said = change(session)
            journal.record(signed.scope, unit, f"{what}：{said}", signed.portal.clock(), session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), BACK) from None
    except RectifyError as exc:
        raise Refused(409, str(exc), BACK) from None


@router.post("/units")
def add_unit(signed: AdminDep, form: AdminForm) -> Response:
    _office(signed)
    name = text_field(form, "name", 200)

    def change(session: Any) -> str:
        return units.add(name, short=text_field(form, "short_name", 50), office=text_field(form, "office", 200),
                         session=session).name

    _write(signed, "添加单位", " ".join(name.split()), change)
    return RedirectResponse(f"{BACK}?ok=unit", status_code=303)


@router.post("/units/{unit_id}")
def edit_unit(unit_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    _office(signed)

    with signed.portal.factory() as session:
        named = session.scalar(select(Unit.name).where(Unit.id == unit_id))
    if named is None:
        raise Refused(404, "没有找到这个单位。", BACK)

    def change(session: Session) -> str:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise NotFoundError("没有找到这个单位。")
        changed = units.edit(unit, office=text_field(form, "office", 200), short=text_field(form, "short_name", 50))
        return unit.name + "：" + ("；".join(f"{k} {old or '（默认）'} → {new or '（默认）'}"
                                            for k, (old, new) in changed.items()) or "无变化")

    _write(signed, "修改单位", named, change)
    return RedirectResponse(f"{BACK}?ok=edited", status_code=303)


@router.post("/accounts", response_class=HTMLResponse)
def add_account(request: Request, signed: AdminDep, form: AdminForm) -> Response:
    """A clerk's or viewer's account for a unit, or one of the office's; its first password
    is shown once, on this answer only."""
    _office(signed)
    login, role, unit_name = text_field(form, "login", 64), text_field(form, "role", 20), text_field(form, "unit", 200)
    password = accounts.one_time_password()

    def change(session: Any) -> str:
        unit = units.find_unit(unit_name, session=session) if unit_name else None
        account = accounts.add(login, password, role, unit, signed.portal.clock(), session=session,
                               name=text_field(form, "name", 100))
        return accounts.scope_of(account, session=session).label

    _write(signed, "新建账号", unit_name, change)
    return admin_page(request, signed, "admin_password.html.j2", login=login, password=password, fresh=True)


@router.post("/accounts/{login}", response_class=HTMLResponse)
def change_account(request: Request, login: str, signed: AdminDep, form: AdminForm) -> Response:
    """Reset an account's password (shown once), or disable or enable it."""
    _office(signed)
    do, password = text_field(form, "do", 20), accounts.one_time_password()
    if do not in ("reset", "disable", "enable"):
        raise Refused(400, "请求无法处理。", BACK)

    def change(session: Any) -> str:
        account = accounts.find(login[:64], session=session)
        if account.id == signed.scope.account_id and do == "disable":
            raise RectifyError("不能停用自己正在使用的账号")
        if do == "reset":
            accounts.change_password(account, password, signed.portal.clock())  # earlier sessions end
        else:
            accounts.set_disabled(account, do == "disable", signed.portal.clock())
        return {"reset": "重置密码", "disable": "停用", "enable": "恢复"}[do] + f" {account.login}"

    _write(signed, "账号", "", change)
    if do == "reset":
        return admin_page(request, signed, "admin_password.html.j2", login=login, password=password, fresh=False)
    return RedirectResponse(f"{BACK}?ok={do}d", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, signed: AdminDep, unit: str = "", login: str = "", page_no: int = 1) -> Response:
    """Every write made through the web, newest first, by unit and account."""
    _office(signed)
    with signed.portal.factory() as session:
        lines, total = journal.read(session=session, units=None, unit=unit[:200], login=login[:64],
                                    page=max(1, min(page_no, 10**6)))
        held = list(session.scalars(select(Unit.name).order_by(Unit.name)))
        logins = list(session.scalars(select(Account.login).order_by(Account.login)))
    rows = [(to_local(a.at).strftime("%Y-%m-%d %H:%M"), a.login, a.unit, a.what) for a in lines]
    return admin_page(request, signed, "admin_audit.html.j2", lines=rows, total=total, unit=unit, login=login,
                 units=held, logins=logins, page_no=page_no, per_page=journal.PAGE)
