"""Import batches as the clerk sees them: listed, and undone when nothing changed since."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, defer

from rectify_core import refs
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import db, holders, import_changes
from rectify_core.ledger.models import (
    Aspect,
    Event,
    ImportBatch,
    Item,
    LookbackTask,
    Measure,
    Notice,
    Round,
    Topic,
    Unit,
)
from rectify_core.ledger.store import ROUND_DATES, set_measures

PASSIVE_EVENTS = ("notified", "notify_failed", "notify_dead", "notice_requeued")


def batches(*, session: Session) -> list[ImportBatch]:
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id)))


def page_of(*, session: Session, unit: str | None = None, page: int = 1,
            per_page: int = 50) -> tuple[list[ImportBatch], int]:
    """One page of the batches (newest first) of one unit, or of every unit, and how many
    there are: filtered, counted and cut in the database. A batch's unit is its round's,
    or (its round removed by an undo) the one it recorded."""
    of_unit = func.coalesce(Unit.name, ImportBatch.round_before["unit"].as_string())
    query = select(ImportBatch).outerjoin(Round, ImportBatch.round_id == Round.id).outerjoin(
        Unit, Round.unit_id == Unit.id)
    if unit is not None:
        query = query.where(of_unit == unit)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.options(defer(ImportBatch.before), defer(ImportBatch.created))
                           .order_by(ImportBatch.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(total)


def batch_json(b: ImportBatch) -> dict[str, Any]:
    from rectify_core.config.calendar import to_local

    return {"id": b.id, "at": to_local(b.at).isoformat(timespec="minutes"), "round_id": b.round_id,
            "round": b.round_before.get("name"), "unit": b.round_before.get("unit"), "source": b.source_name,
            "sha256": b.sha256, "report_date": b.report_date.isoformat() if b.report_date else None,
            "round_created": b.round_created, **b.counts,
            "undone_at": to_local(b.undone_at).isoformat(timespec="minutes") if b.undone_at else None,
            "undone_by": b.undone_by}


def _changed_since(batch: ImportBatch, item_ids: set[int], *, session: Session) -> dict[int, list[str]]:
    """Items this batch touched that something else changed afterwards: item id -> event kinds.
    A later batch that was itself undone (its events, and its undo's) does not count."""
    last = session.scalar(select(func.max(Event.id)).where(Event.batch_id == batch.id)) or 0
    undone = select(ImportBatch.id).where(ImportBatch.undone_at.is_not(None))
    found: dict[int, list[str]] = {}
    # the round's later events, sifted here: a batch may touch more items than a statement binds
    for item_id, kind in session.execute(
            select(Event.item_id, Event.kind).where(
                Event.round_id == batch.round_id, Event.id > last, Event.kind.not_in(PASSIVE_EVENTS),
                or_(Event.batch_id.is_(None), Event.batch_id.not_in(undone))).order_by(Event.id)):
        if item_id in item_ids:
            found.setdefault(item_id, []).append(kind)
    return found


def undo_batch(batch_id: int, by: str, now: dt.datetime, *, session: Session) -> ImportBatch:
    """Revert one import whose items nothing has changed since; else refuse, naming them."""
    from rectify_core.ledger.items import EVENT_NAMES

    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"没有编号为 {batch_id} 的导入批次", hint="rectify imports 可列出全部批次")
    if batch.undone_at is not None:
        raise RefusedError(f"导入批次 {batch_id} 已于 {batch.undone_at:%Y-%m-%d} 撤销过")
    touched = {*batch.created, *(int(k) for k in batch.before)}
    later = _changed_since(batch, touched, session=session)
    if later:
        nos = {i: ref for chunk in db.id_chunks(list(later))
               for i, ref in session.execute(select(Item.id, Item.ref).where(Item.id.in_(chunk)))}
        names = "；".join(f"{refs.label(nos[i])}（{'、'.join(dict.fromkeys(EVENT_NAMES.get(k, k) for k in kinds))}）"
                         for i, kinds in sorted(later.items(), key=lambda kv: refs.order(nos[kv[0]])))
        raise RefusedError(f"导入批次 {batch_id} 之后以下问题又有变动，不能撤销：{names}")
    if batch.created:  # first: they hold numbers the items below had before
        _delete_items(batch.created, session=session)
    renumbered = [int(i) for i, old in batch.before.items() if "no" in old]
    for chunk in db.id_chunks(renumbered):  # parked, so restoring numbers never has two items share one mid-way
        session.execute(update(Item).where(Item.id.in_(chunk)).values(no=-Item.id)
                        .execution_options(synchronize_session="fetch"))
    for chunk in db.id_chunks([int(k) for k in batch.before]):
        items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(chunk)))}
        for item_id in chunk:
            item, old = items[item_id], batch.before[str(item_id)]
            measures = old.pop("measures", None)
            if measures is not None:
                set_measures(item, measures)
            import_changes.restore(item, old, by, now, batch.id, session=session)
        session.flush()
    _restore_round(batch, session=session)
    batch.undone_at, batch.undone_by = now, by
    session.flush()
    return batch


def _delete_items(ids: list[int], *, session: Session) -> None:
    holders.drop(ids, session=session)
    for chunk in db.id_chunks(ids):
        for table in (Notice, LookbackTask, Event, Measure):
            session.execute(delete(table).where(table.item_id.in_(chunk)))
    for chunk in db.id_chunks(ids):
        session.execute(delete(Item).where(Item.id.in_(chunk)))


def _restore_round(batch: ImportBatch, *, session: Session) -> None:
    rnd = session.get(Round, batch.round_id) if batch.round_id else None
    if rnd is None:
        return
    if not batch.round_created:
        for attr, value in batch.round_before.items():
            if attr in ("name", "unit"):
                continue
            if attr in ROUND_DATES and value is not None:
                value = dt.date.fromisoformat(value)
            if attr == "imported_at":
                value = dt.datetime.fromisoformat(value)
            setattr(rnd, attr, value)
        return
    if session.scalar(select(func.count()).select_from(Item).where(Item.round_id == rnd.id)):
        return  # a later batch added items to this round: it stays
    session.execute(delete(Event).where(Event.round_id == rnd.id))
    session.execute(delete(Topic).where(Topic.round_id == rnd.id))
    session.execute(delete(Aspect).where(Aspect.round_id == rnd.id))
    for other in session.scalars(select(ImportBatch).where(ImportBatch.round_id == rnd.id)):
        other.round_id = None
    session.flush()
    session.delete(rnd)
