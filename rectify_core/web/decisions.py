"""Decisions on one problem from its page, by clicking it: for an item the sheet no longer
lists, withdraw, merge into another (chosen from a list), keep chasing, or reinstate; for
any item, progress, an approved extension, a closure with evidence and a second person who
verifies it; and the round's feedback date and first responsible. Each is the lifecycle
transition the command line makes, with the signed-in account as the actor of its event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core.config.people import ANY_UNIT
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import db, decisions, items, lifecycle, obligations, rounds, uploads
from rectify_core.ledger.act import Act
from rectify_core.ledger.evidence import text_record
from rectify_core.ledger.journal import record as journal
from rectify_core.ledger.models import Item, Person, Unit
from rectify_core.vocab import ACTIVE, SET_ASIDE, ItemState
from rectify_core.web.admin import AdminDep, AdminForm, Signed, session_bound
from rectify_core.web.pages import Portal, RecordId, Refused, csrf_cookie, page, store_files, text_field, with_csrf

router = APIRouter(prefix="/admin")

DONE = {  # what each action did, in one sentence, and where to undo it
    "withdrawn": "已撤销：不再提醒，不计入统计和报告。如需恢复，点本页的“恢复”。",
    "merged": "已合并：记录已并入目标问题。如需恢复，点本页的“恢复”。",
    "kept": "已确认继续督办：仍按原时限提醒。",
    "reinstated": "已恢复：重新提醒并计入统计。",
    "progress": "已记录整改进展。",
    "extended": "已记录延期，新的整改时限已生效。",
    "closed": "已销号。如经回头看发现反弹，可重新打开。",
    "round": "已修改本轮次。",
}


def people_of(unit: str, portal_: Portal, *, session: Session) -> list[str]:
    """Everyone rectify knows in `unit`: recorded by imports, and the unit's contacts."""
    directory = obligations.directory(portal_.settings, session=session)
    names = {n for (u, _), held in directory.held.items() if u == unit for n in held}
    names |= {c.name for c in directory.contacts if c.unit in (unit, ANY_UNIT)}
    names |= set(session.scalars(select(Person.name).join(Unit, Unit.id == Person.unit_id).where(Unit.name == unit)))
    return sorted(names)


def _item(signed: Signed, item_id: int, session: Session) -> Item:
    item = session.get(Item, item_id)
    if item is None or not signed.scope.sees(item.round.unit.name):
        raise Refused(404, "没有找到这个问题。", "/admin")
    return item


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: RecordId, signed: AdminDep, ok: str = "") -> Response:
    """One item's whole trail, and (for an account that writes) what can be decided on it."""
    portal_ = signed.portal
    with portal_.factory() as session:
        item = _item(signed, item_id, session)
        unit = item.round.unit.name
        trail = [(items.when(e), items.event_text(e), items.actor_text(e))
                 for e in items.events_of(item, session=session)]
        targets = session.execute(select(Item.id, Item.ref, Item.title).where(
            Item.round_id == item.round_id, Item.id != item.id, Item.status.not_in(list(SET_ASIDE)))
            .order_by(Item.listed.desc(), Item.no)).all()
        cookie = csrf_cookie(request)
        shown = page("admin_item.html.j2", item=item, unit=unit, trail=trail, text=items.describe(item, []),
                     scope=signed.scope, active=item.status in ACTIVE, set_aside=item.status in SET_ASIDE,
                     targets=targets, people=people_of(unit, portal_, session=session), rnd=item.round,
                     done=DONE.get(ok, ""), states=[ItemState.OPEN, ItemState.ONGOING],
                     csrf=portal_.csrf(cookie, session_bound(request)))
    return with_csrf(shown, request, cookie)


def _decide(signed: Signed, item_id: int, what: str, change: Callable[[Item, Act, Session], str]) -> Response:
    """Run one change on an item the account holds, as one transaction with its journal
    line; a refusal is the rule's own sentence."""
    portal_ = signed.portal
    back = f"/admin/items/{item_id}"
    act = Act.at(signed.scope.actor, portal_.clock(), {"via": "web", "account": signed.scope.login})
    try:
        with db.transaction(portal_.engine) as session:
            item = _item(signed, item_id, session)
            said = change(item, act, session)
            journal(signed.scope, item.round.unit.name, f"{item.label}：{said}", act.now, session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), back) from None
    except RefusedError as exc:
        raise Refused(409, str(exc), back) from None
    return RedirectResponse(f"{back}?ok={what}", status_code=303)


def _chosen(form: FormData, name: str, among: list[str], what: str) -> str:
    value = text_field(form, name, 100)
    if value not in among:
        raise RefusedError(f"请从列表中选择{what}")
    return value


@router.post("/items/{item_id}/withdraw")
def withdraw(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    reason = text_field(form, "reason", 500)

    def change(item: Item, act: Act, session: Session) -> str:
        decisions.withdraw(item, reason, act, session=session)
        return f"撤销（理由：{reason}）"

    return _decide(signed, item_id, "withdrawn", change)


@router.post("/items/{item_id}/merge")
def merge(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    into = text_field(form, "into", 20)

    def change(item: Item, act: Act, session: Session) -> str:
        target = session.get(Item, int(into)) if into.isdigit() and len(into) < 19 else None
        if target is None or target.round_id != item.round_id:
            raise RefusedError("请从列表中选择要并入的问题")
        decisions.merge(item, target, act, session=session)
        return f"并入{target.label}"

    return _decide(signed, item_id, "merged", change)


@router.post("/items/{item_id}/keep")
def keep(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    note = text_field(form, "note", 500)

    def change(item: Item, act: Act, session: Session) -> str:
        decisions.keep(item, note, act, session=session)
        return "确认继续督办"

    return _decide(signed, item_id, "kept", change)


@router.post("/items/{item_id}/reinstate")
def reinstate(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    def change(item: Item, act: Act, session: Session) -> str:
        decisions.reinstate(item, act, session=session)
        return f"恢复为{ItemState.label_of(item.status)}"

    return _decide(signed, item_id, "reinstated", change)


@router.post("/items/{item_id}/progress")
async def progress(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    text, state = text_field(form, "text"), text_field(form, "status", 20)
    status = ItemState(state) if state in (ItemState.OPEN, ItemState.ONGOING) else None
    files = await store_files(form, signed.portal, f"/admin/items/{item_id}")

    def change(item: Item, act: Act, session: Session) -> str:
        evidence = uploads.record(files, item.id, act, session=session)
        lifecycle.record_progress(item, text, act, status=status, evidence=evidence, session=session)
        return f"报送进展（{text[:40]}）"

    return _decide(signed, item_id, "progress", change)


@router.post("/items/{item_id}/extend")
def extend(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    reason = text_field(form, "reason", 500)
    try:
        to = dt.date.fromisoformat(text_field(form, "to", 20))
    except ValueError:
        raise Refused(400, "请填写批准后的新整改时限（年-月-日）。", f"/admin/items/{item_id}") from None

    def change(item: Item, act: Act, session: Session) -> str:
        approver = _chosen(form, "approved_by", people_of(item.round.unit.name, signed.portal, session=session),
                           "批准人")
        approved = Act(approver, act.now, act.today, {**act.via, "recorded_by": act.by})  # the CLI's --approved-by
        done = lifecycle.extend(item, to, reason, approved, signed.portal.settings, session=session)
        return f"延期至 {done.data['to']}（批准人 {approver}，理由：{reason}）"

    return _decide(signed, item_id, "extended", change)


@router.post("/items/{item_id}/close")
async def close(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    note = text_field(form, "evidence_text")
    files = await store_files(form, signed.portal, f"/admin/items/{item_id}")

    def change(item: Item, act: Act, session: Session) -> str:
        verifier = _chosen(form, "verified_by", people_of(item.round.unit.name, signed.portal, session=session),
                           "核验人")
        proof = uploads.record(files, item.id, act, session=session)
        proof += [text_record(note)] if note else []
        closure = lifecycle.close(item, proof, verifier, act, signed.portal.settings, session=session)
        return f"销号（核验人 {verifier}，佐证 {len(closure.evidence)} 份）"

    return _decide(signed, item_id, "closed", change)


@router.post("/items/{item_id}/round")
def edit_round(item_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    """The round of this item: its feedback date, its first responsible."""
    given, first = text_field(form, "feedback_date", 20), text_field(form, "first_responsible", 100)
    try:
        feedback = dt.date.fromisoformat(given) if given else None
    except ValueError:
        raise Refused(400, "反馈日期请写成 年-月-日。", f"/admin/items/{item_id}") from None

    def change(item: Item, act: Act, session: Session) -> str:
        changes: dict[str, Any] = {"feedback_date": feedback}
        if first:
            changes["first_responsible"] = _chosen(
                form, "first_responsible", people_of(item.round.unit.name, signed.portal, session=session),
                "第一责任人")
        rnd = rounds.edit(item.round_id, changes, act.by, act.now, session=session)
        return (f"修改轮次“{rnd.name}”：反馈日期 {rnd.feedback_date or '未定'}，"
                f"第一责任人 {rnd.first_responsible or '未定'}")

    return _decide(signed, item_id, "round", change)

