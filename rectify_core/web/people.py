"""The unit's people, kept from the browser (/admin/people): who they are and how to reach
them, by the channels the administrator configured (chosen by name, never a URL). A unit's
clerk keeps their own unit's people, the office every unit's and those serving every unit.
The page puts first who holds open items but cannot be reached, and the notices the outbox
gave up on, with a resend once the person is fixed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core.config.people import ANY_UNIT, Directory, needs
from rectify_core.delivery import outbox
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.identity import person_name
from rectify_core.ledger import db, journal, people, people_io, reach
from rectify_core.ledger.models import DirectoryPerson, Unit
from rectify_core.vocab import CONTACT_ROLES, ROLE_NAMES
from rectify_core.web.admin import AdminDep, AdminForm, Signed, admin_page
from rectify_core.web.pages import RecordId, Refused, text_field

router = APIRouter(prefix="/admin")
BACK = "/admin/people"
PAGE = 50
DONE = {"added": "已添加人员。以后的提醒按其通知渠道发送。", "edited": "已保存。以后的提醒按新的信息发送。",
        "removed": "已删除人员。如需恢复，请重新添加。",
        "resent": "已重新排队：未送达的通知将在下一次发送时送出（发送时段内几分钟内）。"}


def _writer(signed: Signed) -> None:
    """A viewer is not shown the forms (a viewer's post is refused by AdminForm itself)."""
    if not signed.scope.writes:
        raise Refused(403, "只读账号不能修改人员。", BACK)


def _unit_ids(signed: Signed, session: Session) -> list[int] | None:
    """The units the account keeps people for (None: every unit, and those serving every unit)."""
    if signed.scope.unit is None:
        return None
    return list(session.scalars(select(Unit.id).where(Unit.name == signed.scope.unit)))


def _units(signed: Signed, session: Session) -> list[str]:
    names = list(session.scalars(select(Unit.name).order_by(Unit.name)))
    return [n for n in names if signed.scope.sees(n)]


def _channels(directory: Directory) -> list[tuple[str, str]]:
    """(name, what it needs of a person) for each configured channel."""
    said = {"email": "按电子邮箱发送", "mobile": "按手机号发送", None: "共用渠道（群或固定邮箱）"}
    return [(name, said[needs(url)]) for name, url in directory.channels.items()]


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, signed: AdminDep, unit: str = "", q: str = "", page_no: int = 1,
                ok: str = "") -> Response:
    """The people of the account's units (filtered by unit and name, a page at a time), and
    first whoever cannot be reached."""
    portal_ = signed.portal
    unit, q, page_no = unit[:200], q[:100], max(1, min(page_no, 10**6))
    with portal_.factory() as session:
        directory = portal_.office.directory(session)
        fix = reach.people_to_fix(directory, _unit_ids(signed, session), session=session)
        clashes = reach.shared_text(reach.shared_user_ids(session=session)) if signed.scope.unit is None else []
        held = _units(signed, session)
    wanted = person_name(q) if q else ""
    shown = [c for c in sorted(directory.contacts, key=lambda c: (c.unit, c.name))
             if (signed.scope.unit is None or c.unit in (signed.scope.unit, ANY_UNIT)) and (not unit or c.unit == unit)
             and wanted in person_name(c.name)]

    def link(unit_name: str, name: str) -> str:
        """Where a person is edited: their own page when kept here, else the form filled
        from contacts.toml or from what the ledger names (saving keeps them here)."""
        contact = directory.contact(name, unit_name)
        where = contact.unit if contact else unit_name
        if signed.scope.unit is not None and where == ANY_UNIT:  # kept by the office: the unit's own entry
            return f"{BACK}/new?{urlencode({'unit': signed.scope.unit, 'name': name})}"
        if contact is not None and contact.kept_id is not None:
            return f"{BACK}/{contact.kept_id}"
        return f"{BACK}/new?{urlencode({'unit': where, 'name': name})}"

    rows = [(c, link(c.unit, c.name), "、".join(ROLE_NAMES.get(r, r) for r in c.roles),
             "、".join(people.shown_channel(n) for n in c.notify), reach.why_unreachable(c, directory))
            for c in shown[(page_no - 1) * PAGE:page_no * PAGE]]
    return admin_page(request, signed, "admin_people.html.j2", fix=fix, rows=rows, total=len(shown), unit=unit,
                      q=q, units=held, page_no=page_no, per_page=PAGE, done=DONE.get(ok, ""), link=link,
                      clashes=clashes, everyone=ANY_UNIT)


def _form_page(request: Request, signed: Signed, form: people.PersonForm, unit: str, person_id: int | None,
               *, status: int = 200, error: str = "", note: str = "") -> Response:
    with signed.portal.factory() as session:
        directory = signed.portal.office.directory(session)
        held = _units(signed, session)
    return admin_page(request, signed, "admin_person.html.j2", status=status, form=form, unit=unit,
                      person_id=person_id, units=held, error=error, note=note, channels=_channels(directory),
                      roles=[(str(r), ROLE_NAMES[r]) for r in CONTACT_ROLES], everyone=ANY_UNIT)


@router.get("/people/new", response_class=HTMLResponse)
def new_person(request: Request, signed: AdminDep, unit: str = "", name: str = "") -> Response:
    """The form for a new person; filled from contacts.toml when the file has them (saving
    keeps them here from then on)."""
    _writer(signed)
    unit = signed.scope.unit or unit[:200]
    with signed.portal.factory() as session:
        contact = signed.portal.office.directory(session).contact(name[:100], unit) if name else None
    if contact is not None and contact.unit == (unit or ANY_UNIT) and not contact.kept:
        made = people_io.translated(contact, signed.portal.settings.config_contacts)
        note = "此人员目前由配置文件 contacts.toml 提供；保存后改由本系统保管，以后在此修改。"
        if isinstance(made, str):
            note += f"其{made}，请选择通知渠道。"
            made = replace(contact, notify=())
        return _form_page(request, signed, people.form_of(made), contact.unit, None, note=note)
    return _form_page(request, signed, people.PersonForm(name[:100]), unit, None)


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person_form(request: Request, person_id: RecordId, signed: AdminDep) -> Response:
    with signed.portal.factory() as session:
        row = _kept(signed, person_id, session)
        unit = _unit_name(row, session)
        contact = people.contact_of(row, unit)
    return _form_page(request, signed, people.form_of(contact), unit, person_id)


def _unit_name(row: DirectoryPerson, session: Session) -> str:
    """The unit a kept person belongs to, by name (ANY_UNIT: every unit)."""
    if row.unit_id is None:
        return ANY_UNIT
    return session.scalar(select(Unit.name).where(Unit.id == row.unit_id)) or ANY_UNIT


def _kept(signed: Signed, person_id: int, session: Session) -> DirectoryPerson:
    try:
        return people.find(person_id, _unit_ids(signed, session), session=session)
    except NotFoundError:
        raise Refused(404, "没有找到这位人员。", BACK) from None


def _posted(form: FormData) -> people.PersonForm:
    return people.PersonForm(
        text_field(form, "name", 100), text_field(form, "department", 200), text_field(form, "title", 200),
        tuple(str(r)[:30] for r in form.getlist("roles"))[:10], text_field(form, "email", 200),
        text_field(form, "mobile", 30), tuple(str(c)[:100] for c in form.getlist("channels"))[:20],
        text_field(form, "supervisor", 100))


def _save(request: Request, signed: Signed, form: people.PersonForm, unit: str, person_id: int | None,
          change: Any) -> Response:
    """One write of a person, journalled; a refusal shows the form again as it was typed."""
    try:
        with db.transaction(signed.portal.engine) as session:
            said = change(session, signed.portal.office.directory(session))
            journal.record(signed.scope, unit, said, signed.portal.clock(), session=session)
    except NotFoundError:
        raise Refused(404, "没有找到这位人员。", BACK) from None
    except RectifyError as exc:
        return _form_page(request, signed, form, unit, person_id, status=409, error=str(exc))
    return RedirectResponse(f"{BACK}?ok={'edited' if person_id else 'added'}", status_code=303)


@router.post("/people", response_class=HTMLResponse)
def add_person(request: Request, signed: AdminDep, form: AdminForm) -> Response:
    given, unit = _posted(form), signed.scope.unit or text_field(form, "unit", 200)

    def change(session: Session, directory: Directory) -> str:
        scope = None if unit in (ANY_UNIT, "") and signed.scope.unit is None else _unit(unit, session)
        row = people.add(given, scope, directory, signed.scope.actor, signed.portal.clock(), session=session)
        return f"添加人员：{row.name}"

    return _save(request, signed, given, unit, None, change)


def _unit(name: str, session: Session) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        raise RectifyError("请从列表中选择单位")
    return unit


@router.post("/people/{person_id}", response_class=HTMLResponse)
def edit_person(request: Request, person_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    given = _posted(form)
    with signed.portal.factory() as session:
        unit = _unit_name(_kept(signed, person_id, session), session)
    if text_field(form, "do", 10) == "remove":
        with db.transaction(signed.portal.engine) as session:
            row = _kept(signed, person_id, session)
            session.delete(row)
            journal.record(signed.scope, unit, f"删除人员：{row.name}", signed.portal.clock(), session=session)
        return RedirectResponse(f"{BACK}?ok=removed", status_code=303)

    def change(session: Session, directory: Directory) -> str:
        row = _kept(signed, person_id, session)
        changed = people.edit(row, given, directory, signed.scope.actor, signed.portal.clock(), session=session)
        return f"修改人员：{row.name}：" + ("；".join(f"{people.FIELDS[k]} {old or '（无）'} → {new or '（无）'}"
                                                  for k, (old, new) in changed.items()) or "无变化")

    return _save(request, signed, given, unit, person_id, change)


@router.post("/people-resend")
def resend(signed: AdminDep, form: AdminForm) -> Response:
    """The given-up notices of one person put back in the queue, once they can be reached."""
    name, unit = text_field(form, "name", 100), text_field(form, "unit", 200)
    if not signed.scope.sees(unit):
        raise Refused(404, "没有找到这位人员。", BACK)
    with db.transaction(signed.portal.engine) as session:
        directory = signed.portal.office.directory(session)
        found = [r for r in reach.people_to_fix(directory, _unit_ids(signed, session), session=session)
                 if r.unit == unit and person_name(r.name) == person_name(name) and r.given_up]
        if not found:
            raise Refused(404, "这位人员没有未送达的通知。", BACK)
        if not found[0].reachable:
            raise Refused(409, f"{found[0].name}仍无法联系（{found[0].why}）：请先填写其通知渠道，再重发。", BACK)
        done = outbox.resend(list(found[0].given_up), signed.portal.clock(), session=session)
        journal.record(signed.scope, unit, f"重发未送达的通知：{found[0].name}，{len(done)} 条", signed.portal.clock(),
                       session=session)
    return RedirectResponse(f"{BACK}?ok=resent", status_code=303)
