"""The item lifecycle: every change of an item's state goes through one of these
transitions, and each writes one event with old -> new values, who, when and why.

    open ──► ongoing ──► done ──► closed(销号) ──► look-back ──► consolidated
      ▲                                                │
      └──────────── reopened (rebound, linked) ◄───────┘

An import is one source of facts among several. What a person recorded in rectify
(a closure, progress, a rebound, a reassignment) pins the fields it set; an import
may raise an unpinned status but never lowers or overwrites a pinned field: it
records a "report disagrees" event instead.

This module holds what every transition shares (the event, the pins, the status) and what
people record between imports; the import half is ledger.import_changes, the clerk's
decisions on a set-aside item ledger.decisions, the look-back outcomes ledger.rebounds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.limits import limits
from rectify_core.config.people import split_names
from rectify_core.config.rules import Rules
from rectify_core.deadlines.due import due_of
from rectify_core.errors import RefusedError
from rectify_core.identity import person_name
from rectify_core.ledger import holders
from rectify_core.ledger.act import Act, Terms
from rectify_core.ledger.models import Closure, Event, Item, Notice, Round, Unit
from rectify_core.ledger.obligations import plan_item_of
from rectify_core.vocab import (
    ACTIVE,
    CLOSED_WORDING,
    LABELS,
    ItemState,
    NoticeState,
    Role,
)

# a pinned field -> the item columns it protects from imports
PIN_COLUMNS = {"status": ("status", "status_text"), "owner": ("owner",), "leader": ("leader", "leader_title"),
               "deadline": ("deadline", "deadline_kind", "deadline_text")}
FIELD_NAMES = {"status": "完成情况", "owner": "责任人", "leader": "责任领导", "deadline": "整改时限"}
PIN_NAMES = {"closed": "已在 rectify 中销号", "progress": "已在 rectify 中报送进展",
             "reopened": "回头看反弹后重新打开", "reassigned": "已在 rectify 中移交",
             "withdrawn": "已在 rectify 中撤销", "merged": "已在 rectify 中合并"}


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


class Subject(Protocol):
    """What an event is about: an item, or a row of its columns (an import reads rows)."""

    id: int
    round_id: int


def event(item: Subject, kind: str, actor: str | None, now: dt.datetime, data: dict[str, Any], *,
          session: Session, batch_id: int | None = None) -> Event:
    row = Event(round_id=item.round_id, item_id=item.id, at=now, kind=kind, actor=actor, data=data,
                batch_id=batch_id)
    session.add(row)
    return row


def set_status(item: Item, status: ItemState, text: str, today: dt.date) -> None:
    item.status, item.status_text = status, text
    item.done_on = (item.done_on or today) if status == ItemState.DONE else None


def pin(item: Item, name: str, why: str) -> None:
    item.pinned = {**(item.pinned or {}), name: why}


def unpin(item: Item, name: str) -> None:
    item.pinned = {k: v for k, v in (item.pinned or {}).items() if k != name}


# --- what people record between imports -------------------------------------------

def acknowledge(item: Item, act: Act, *, session: Session) -> Event:
    """已阅: a person read the reminder about the item (from their link); digests and `show`
    say so. Acknowledging again on a later day moves the date."""
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成，无需再确认已阅")
    before = item.acknowledged_on
    item.acknowledged_on, item.acknowledged_by = act.today, act.by
    return event(item, "acknowledged", act.by, act.now,
                 {"date": act.today.isoformat(), "before": jsonable(before), **act.via}, session=session)


def record_progress(item: Item, text: str, act: Act, *, status: ItemState | None = None,
                    evidence: list[dict[str, Any]] | None = None, session: Session) -> Event:
    """报送进展 on an open or ongoing item; optionally moves it between 未完成 and 阶段性完成."""
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成（已销号），不能再报送进展；"
                           "如问题反弹，请记录回头看结论“反弹”", hint="rectify lookback record")
    if not text.strip() or not act.by:
        raise RefusedError("报送进展须写明进展情况和报送人", hint="--text、--by")
    if status is not None and status not in ACTIVE:
        raise RefusedError(f"报送进展只能把状态改为“{ItemState.ONGOING.label}”或“{ItemState.OPEN.label}”；"
                           "完成整改请销号", hint="rectify close")
    old = item.status
    if status is not None and status != item.status:
        set_status(item, status, LABELS[status], act.today)
    item.progress, item.progress_on, item.updated_at = text.strip(), act.today, act.now
    pin(item, "status", "progress")
    return event(item, "progress", act.by, act.now,
                 {"text": text.strip(), "date": act.today.isoformat(), "from": old, "to": item.status,
                  "evidence": evidence or [], **act.via}, session=session)


def extension_due(item: Item, to: dt.date, today: dt.date, rules: Rules, cal: WorkCalendar) -> dt.date | None:
    """The item's current due date, when an extension to `to` can be granted: refused past
    the cap, for a date not later than the current one, or outside the supported years.
    (A request is checked by the same rule as its approval, so a leader is never asked to
    approve what cannot be done.)"""
    if item.extension_count >= rules.max_extensions:
        raise RefusedError(f"{item.label}已延期{item.extension_count}次，达到上限"
                           f"（{rules.max_extensions}次，见 rules.toml 的 extensions.max_count）")
    current = due_of(plan_item_of(item), today, rules, cal).date
    if current is not None and to <= current:
        raise RefusedError(f"新时限 {to} 须晚于当前时限 {current}")
    lim = limits()
    if not lim.first_year <= to.year <= lim.last_year:
        raise RefusedError(f"新时限 {to} 超出支持的日期范围（{lim.first_year}–{lim.last_year} 年）")
    return current


def extend(item: Item, to: dt.date, reason: str, act: Act, terms: Terms, *, session: Session) -> Event:
    """延期: move an open item's due date to `to`, approved by `act.by`. Refused for done
    items, for a date not later than the current due date, for an empty reason or
    approver, and past the cap."""
    now, today, approved_by = act.now, act.today, act.by
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成，不能延期")
    if not reason.strip() or not approved_by:
        raise RefusedError("延期须写明理由和批准人", hint="--reason、--approved-by")
    current = extension_due(item, to, today, terms.rules, terms.calendar)
    row = event(item, "extended", approved_by, now,
                {"from": current.isoformat() if current else None, "to": to.isoformat(),
                 "reason": reason.strip(), "approved_by": approved_by, "count": item.extension_count + 1,
                 **act.via}, session=session)
    item.extended_to, item.extension_count, item.updated_at = to, item.extension_count + 1, now
    if current is not None and current < today and item.overdue_since is None:
        item.overdue_since = terms.calendar.add_workdays(current, 1)
    session.flush()
    return row


def close(item: Item, evidence: list[dict[str, Any]], verified_by: str, act: Act, terms: Terms, *,
          session: Session) -> Closure:
    """销号 by `act.by`: refused without evidence, without a verifier other than the
    closer and the owner, or when the item is already closed with evidence."""
    by, now, today = act.by, act.now, act.today
    if not evidence:
        raise RefusedError(f"{item.label}销号须提供至少一份佐证材料（文件或文字说明）",
                           hint="--evidence 文件，或 --evidence-text 文字说明")
    if not by or not verified_by.strip():
        raise RefusedError("销号须写明经办人和核验人", hint="--by、--verified-by")
    # the closer by name: a write through the web is 王芳（网页，账号 jt）, and 王芳 verifies nothing of it
    others = {person_name(by.partition("（")[0].strip()), *(person_name(n) for n in split_names(item.owner))}
    if person_name(verified_by) in others:
        raise RefusedError(f"核验人须是责任人和经办人以外的第二人，“{verified_by.strip()}”不能核验自己的销号")
    current = session.get(Closure, item.closure_id) if item.closure_id else None
    if current is not None and current.evidence_recorded and current.reopened_at is None:
        raise RefusedError(f"{item.label}已于 {current.closed_on} 销号，不能重复销号")
    due = due_of(plan_item_of(item), today, terms.rules, terms.calendar).date
    closure = Closure(item_id=item.id, closed_at=now, closed_on=today, closed_by=by,
                      verified_by=verified_by.strip(), evidence=evidence,
                      evidence_recorded=True,
                      late=bool(item.overdue_since or item.extension_count or (due and today > due)))
    session.add(closure)
    session.flush()
    previous = item.status
    item.done_on = None
    set_status(item, ItemState.DONE, CLOSED_WORDING, today)
    item.closure_id, item.updated_at = closure.id, now
    pin(item, "status", "closed")
    event(item, "closed", by, now,
          {"closure": closure.id, "verified_by": verified_by.strip(), "from": previous,
           "evidence": closure.evidence, "late": closure.late, **act.via}, session=session)
    session.flush()
    return closure


def reassign(items: list[Item], role: Role, old: str, new: str, act: Act, *, session: Session) -> int:
    """人员变动: hand `role` on these items from `old` to `new`; their pending notices
    move with them. Returns how many notices moved."""
    column = "owner" if role == Role.OWNER else "leader"
    by, now, day = act.by, act.now, act.today
    moved = 0
    for item in items:
        names = [new if person_name(n) == person_name(old) else n for n in split_names(getattr(item, column))]
        before = getattr(item, column)
        setattr(item, column, "、".join(dict.fromkeys(names)))
        holders.replace(item, session=session)
        item.updated_at = now
        pin(item, column, "reassigned")
        event(item, "reassigned", by, now, {"role": role, "from": before, "to": getattr(item, column),
                                            "old": old, "new": new, "date": day.isoformat()}, session=session)
        note = f"【工作移交】本事项原由{old}负责，{day.isoformat()}起移交给您。"
        result = session.execute(
            update(Notice).where(Notice.item_id == item.id, Notice.recipient == old,
                                 Notice.state.in_((NoticeState.PENDING, NoticeState.FAILED)))
            .values(recipient=new, reason=note + Notice.reason).execution_options(synchronize_session=False))
        moved += int(getattr(result, "rowcount", 0) or 0)
    session.flush()
    return moved


def active_items_of(person: str, role: Role, unit: str | None, *, session: Session) -> list[Item]:
    """Open and ongoing items where `person` holds `role` (owner or leader), optionally in one unit."""
    query = (select(Item).join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
             .where(Item.status.in_(ACTIVE), Item.id.in_(holders.held_by(person, role)))
             .order_by(Item.round_id, Item.no))
    if unit:
        query = query.where(Unit.name == unit)
    return list(session.scalars(query))

