"""申请 and 审批: an extension or a closure asked for from a personal link, decided once
by someone other than the one who asked.

    申请延期 ──► the item's leader (else the first responsible) ──► 批准: lifecycle.extend
                                                                └► 驳回: a rejected request
    申请销号 ──► the unit's verifier (else the leader, else the first responsible)
                                                                ──► 核验通过: lifecycle.close
                                                                └► 退回

A decision is a compare-and-set on the request's state, so two approvals of the same
request (a double click, two tabs, two leaders) change the item once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rectify_core.config.people import Directory, split_names
from rectify_core.errors import RefusedError
from rectify_core.identity import person_name
from rectify_core.ledger import lifecycle
from rectify_core.ledger.act import Act, Terms
from rectify_core.ledger.models import Item, ItemRequest, Round, Unit
from rectify_core.vocab import ACTIVE, REQUEST_STATES, RequestKind, RequestState

EXTENSION, CLOSURE = RequestKind.EXTENSION, RequestKind.CLOSURE
PENDING, APPROVED, REJECTED = RequestState.PENDING, RequestState.APPROVED, RequestState.REJECTED
KIND_NAMES = RequestKind.labels()



def _pending(item: Item, kind: str, *, session: Session) -> ItemRequest | None:
    return session.scalar(select(ItemRequest).where(ItemRequest.item_id == item.id, ItemRequest.kind == kind,
                                                    ItemRequest.state == PENDING))


def _check_open(item: Item, kind: str, *, session: Session) -> None:
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成（已销号），不能再申请{KIND_NAMES[kind]}")
    if (waiting := _pending(item, kind, session=session)) is not None:
        raise RefusedError(f"{item.label}已有一份待审批的{KIND_NAMES[kind]}申请"
                           f"（{waiting.requested_by}提交），请等待审批结果")


def request_extension(item: Item, unit: str, to: dt.date, reason: str, act: Act, terms: Terms, *,
                      session: Session) -> ItemRequest:
    """申请延期: checked now as the extension itself will be (a later date, under the cap),
    so the leader is never asked to approve what cannot be done."""
    _check_open(item, EXTENSION, session=session)
    if not reason.strip():
        raise RefusedError("申请延期须写明理由")
    current = lifecycle.extension_due(item, to, act.today, terms.rules, terms.calendar)
    row = ItemRequest(item_id=item.id, kind=EXTENSION, state=PENDING, requested_by=act.by, requested_unit=unit,
                      requested_at=act.now, data={"to": to.isoformat(), "reason": reason.strip(),
                                              "from": current.isoformat() if current else None})
    session.add(row)
    session.flush()
    lifecycle.event(item, "extension_requested", act.by, act.now, {**row.data, "request": row.id, **act.via},
                    session=session)
    return row


def request_closure(item: Item, unit: str, text: str, evidence: list[dict[str, Any]], act: Act, *,
                    session: Session) -> ItemRequest:
    """申请销号: needs a description and at least one evidence file; the closure itself
    (`lifecycle.close`) counts the description as evidence too."""
    _check_open(item, CLOSURE, session=session)
    if not text.strip():
        raise RefusedError("申请销号须写明整改完成情况")
    if not evidence:
        raise RefusedError("申请销号须上传至少一份佐证材料")
    row = ItemRequest(item_id=item.id, kind=CLOSURE, state=PENDING, requested_by=act.by, requested_unit=unit,
                      requested_at=act.now, data={"text": text.strip(), "evidence": evidence})
    session.add(row)
    session.flush()
    lifecycle.event(item, "closure_requested", act.by, act.now, {**row.data, "request": row.id, **act.via},
                    session=session)
    return row


def deciders(item: Item, kind: str, requested_by: str, directory: Directory) -> list[str]:
    """Who may decide: for an extension the item's leaders, for a closure the unit's
    verifiers, else its leaders; never the one who asked nor (for a closure) an owner.
    With nobody left, the first responsible."""
    unit = item.round.unit.name
    excluded = {person_name(requested_by)}
    if kind == CLOSURE:
        excluded |= {person_name(n) for n in split_names(item.owner)}
    chain = [split_names(item.leader)]
    if kind == CLOSURE:
        chain.insert(0, directory.holders(unit, "verifier"))
    chain.append([n for n in [item.round.first_responsible, *directory.holders(unit, "first_responsible")] if n])
    for names in chain:
        if allowed := [n for n in dict.fromkeys(names) if person_name(n) not in excluded]:
            return allowed
    return []


def may_decide(name: str, request: ItemRequest, item: Item, directory: Directory) -> bool:
    return person_name(name) in {person_name(n) for n in deciders(item, request.kind, request.requested_by,
                                                                    directory)}


def decide(request: ItemRequest, item: Item, approve: bool, note: str, act: Act, terms: Terms,
           directory: Directory, *, session: Session) -> None:
    """批准/驳回 (extension) or 核验通过/退回 (closure), once. An approval runs the
    transition itself (extend, or close with the two-person rule); if that refuses, the
    request stays pending and nothing changes."""
    by, now = act.by, act.now
    if not may_decide(by, request, item, directory):
        raise RefusedError(f"您不是这份{KIND_NAMES[request.kind]}申请的审批人")
    if not approve and not note.strip():
        raise RefusedError("退回申请须写明理由")
    claimed = session.execute(
        update(ItemRequest).where(ItemRequest.id == request.id, ItemRequest.state == PENDING)
        .values(state=APPROVED if approve else REJECTED, decided_by=by, decided_at=now, note=note.strip() or None)
        .execution_options(synchronize_session=False))
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        session.refresh(request)
        verdict = REQUEST_STATES.get(request.state, request.state)
        raise RefusedError(f"这份{KIND_NAMES[request.kind]}申请已由{request.decided_by or '他人'}处理（{verdict}），"
                           "不能重复审批")
    act = Act(by, now, act.today, {**act.via, "request": request.id})
    via = act.via
    if not approve:
        lifecycle.event(item, "request_rejected", by, now,
                        {"request": request.id, "kind": request.kind, "note": note.strip(), **via}, session=session)
    elif request.kind == EXTENSION:
        reason = request.data["reason"] + (f"（审批意见：{note.strip()}）" if note.strip() else "")
        lifecycle.extend(item, dt.date.fromisoformat(request.data["to"]), reason, act, terms, session=session)
    else:
        evidence = [*request.data.get("evidence", []), {"kind": "text", "text": request.data["text"]}]
        lifecycle.close(item, evidence, by, act.as_(request.requested_by), terms, session=session)
    session.refresh(request)


def waiting_for(name: str, unit: str, directory: Directory, *, session: Session) -> list[tuple[ItemRequest, Item]]:
    """Pending requests in `unit` that `name` may decide, oldest first."""
    rows = session.execute(
        select(ItemRequest, Item).join(Item, ItemRequest.item_id == Item.id).join(Round, Item.round_id == Round.id)
        .join(Unit, Round.unit_id == Unit.id)
        .where(ItemRequest.state == PENDING, Unit.name == unit).order_by(ItemRequest.id)).all()
    return [(r, i) for r, i in rows if may_decide(name, r, i, directory)]
