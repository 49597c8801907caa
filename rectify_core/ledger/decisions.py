"""The clerk's decisions on an item the sheet no longer lists (see ledger.lifecycle):
withdraw it (撤销, its reason kept), merge it into another (合并, its history joins that
item's trail), or reinstate it. Each is a transition with its event."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core.errors import RefusedError
from rectify_core.ledger.act import Act
from rectify_core.ledger.lifecycle import event, pin, set_status, unpin
from rectify_core.ledger.models import Event, Item
from rectify_core.vocab import (
    ACTIVE,
    SET_ASIDE,
    EventKind,
    ItemState,
)

# --- the clerk's decision on an item the sheet no longer lists -----------------------

def _decidable(item: Item, verb: str) -> None:
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}{ItemState(item.status).label}，不能{verb}")


def withdraw(item: Item, reason: str, act: Act, *, session: Session) -> Event:
    """撤销 (e.g. approved by the inspection office): no more reminders, left out of counts
    and reports, its reason shown. Undone by `reinstate`."""
    _decidable(item, "撤销")
    if not reason.strip() or not act.by:
        raise RefusedError("撤销须写明理由和经办人", hint="--reason、--by")
    previous = item.status
    set_status(item, ItemState.WITHDRAWN, f"撤销：{reason.strip()}", act.today)
    item.updated_at = act.now
    pin(item, "status", "withdrawn")
    return event(item, EventKind.WITHDRAWN, act.by, act.now,
                 {"reason": reason.strip(), "from": previous, "no": item.shown_no, "ref": item.ref, **act.via},
                 session=session)


def merge(item: Item, into: Item, act: Act, *, session: Session) -> Event:
    """合并: the item's history joins `into`'s trail (an event on each points at the
    other); it is no longer chased nor counted. Undone by `reinstate`."""
    _decidable(item, "合并")
    if into.id == item.id or into.round_id != item.round_id:
        raise RefusedError("只能把问题合并到同一轮次的另一个问题")
    if into.status in SET_ASIDE:
        raise RefusedError(f"{into.label}{ItemState(into.status).label}，不能作为合并目标")
    if not act.by:
        raise RefusedError("合并须写明经办人", hint="--by")
    previous = item.status
    set_status(item, ItemState.MERGED, f"并入{into.label}", act.today)
    item.merged_into, item.updated_at = into.id, act.now
    pin(item, "status", "merged")
    event(into, EventKind.MERGED_IN, act.by, act.now,
          {"item": item.id, "no": item.shown_no, "ref": item.ref, "title": item.title, **act.via},
          session=session)
    return event(item, EventKind.MERGED, act.by, act.now,
                 {"into": into.id, "into_no": into.shown_no, "into_ref": into.ref, "from": previous, **act.via},
                 session=session)


def keep(item: Item, note: str, act: Act, *, session: Session) -> Event:
    """继续督办: the sheet no longer lists the item, and the clerk says it is still owed; it
    stays chased as it is, and the decision is on its trail."""
    _decidable(item, "继续督办")
    if item.listed:
        raise RefusedError(f"{item.label}仍在台账中，无需确认继续督办")
    return event(item, EventKind.KEPT, act.by, act.now, {"note": note.strip(), **act.via}, session=session)


def reinstate(item: Item, act: Act, *, session: Session) -> Event:
    """Undo a withdrawal or a merge: the item is open again as it was before."""
    if item.status not in SET_ASIDE:
        raise RefusedError(f"{item.label}没有被撤销或合并，无需恢复")
    last = session.scalar(select(Event).where(Event.item_id == item.id, Event.kind.in_(
        (EventKind.WITHDRAWN, EventKind.MERGED))).order_by(Event.id.desc()).limit(1))
    before = ItemState(last.data.get("from", ItemState.OPEN)) if last is not None else ItemState.OPEN
    undone = item.status
    set_status(item, before, before.label, act.today)
    item.merged_into, item.updated_at = None, act.now
    unpin(item, "status")
    return event(item, EventKind.REINSTATED, act.by, act.now, {"undone": undone, "to": before, **act.via},
                 session=session)
