"""What 结果考评 reads of the record (deadlines.scoring scores it): every counted item with
its deadline as the rules date it, its extensions, closures and their evidence files,
look-back outcomes, the reminders sent to its owner and leader, and the days it was read
or progress reported — each kind of fact in one query, as of the end of the day scored."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core.config.calendar import local_datetime, to_local
from rectify_core.config.settings import Settings
from rectify_core.deadlines.due import due_of
from rectify_core.deadlines.scoring import Closure as ClosureFact
from rectify_core.deadlines.scoring import ItemRecord
from rectify_core.ledger import obligations
from rectify_core.ledger.models import Closure, Event, Item, LookbackTask, Notice, Round, Unit
from rectify_core.vocab import DeadlineKind, EventKind, NoticeKind, NoticeState, Role

ANSWERS = (EventKind.ACKNOWLEDGED, EventKind.PROGRESS)
ASKED = (Role.OWNER, Role.LEADER)  # the roles a reminder asks to act


def _local_day(at: dt.datetime) -> dt.date:
    return to_local(at).date()


def _by_item(rows: Any, pick: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(pick(row))
    return out


def _files(evidence: list[dict[str, Any]] | None) -> int:
    return sum(1 for e in evidence or () if isinstance(e, dict) and e.get("kind") == "file")


def records(day: dt.date, settings: Settings, *, session: Session,
            unit: str | None = None) -> tuple[list[ItemRecord], list[str]]:
    """The counted items' records as of `day` (of one unit, if given), and the units scored
    (every unit, or that one, whether it has items or not)."""
    end = local_datetime(day + dt.timedelta(days=1))
    units_q = select(Unit.name).order_by(Unit.name)
    units = list(session.scalars(units_q if unit is None else units_q.where(Unit.name == unit)))
    items = [o for o in obligations.counted_items(session=session, unit=unit)]
    if not items:
        return [], units
    scope = select(Item.id).join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
    scope = scope if unit is None else scope.where(Unit.name == unit)
    extra = {i: (n, fb, imported) for i, n, fb, imported in session.execute(
        select(Item.id, Item.extension_count, Round.feedback_date, Round.imported_at)
        .join(Round, Item.round_id == Round.id).where(Item.id.in_(scope)))}
    closures = _by_item(session.execute(
        select(Closure.item_id, Closure.closed_on, Closure.evidence).where(
            Closure.item_id.in_(scope), Closure.closed_on <= day).order_by(Closure.closed_at, Closure.id)),
        lambda r: ClosureFact(r[1], _files(r[2])))
    lookbacks = _by_item(session.execute(
        select(LookbackTask.item_id, LookbackTask.outcome).where(
            LookbackTask.item_id.in_(scope), LookbackTask.outcome.is_not(None), LookbackTask.recorded_at < end)
        .order_by(LookbackTask.recorded_at)), lambda r: str(r[1]))
    reminders = _by_item(session.execute(
        select(Notice.item_id, Notice.sent_at).where(
            Notice.item_id.in_(scope), Notice.state == NoticeState.SENT, Notice.kind == NoticeKind.ITEM,
            Notice.role.in_(ASKED), Notice.sent_at < end)), lambda r: _local_day(r[1]))
    answers = _by_item(session.execute(
        select(Event.item_id, Event.at, Event.kind).where(
            Event.item_id.in_(scope), Event.kind.in_(ANSWERS), Event.at < end)), lambda r: (_local_day(r[1]), r[2]))
    rules, cal = settings.rules, settings.calendar
    out = []
    for o in items:
        count, feedback, imported = extra[o.id]
        long_term = o.kind == DeadlineKind.LONG_TERM and not o.deadline and not o.extended_to
        said = answers.get(o.id, [])
        out.append(ItemRecord(
            unit=o.unit, ref=o.ref, status=o.status, long_term=long_term,
            due=None if long_term else due_of(o, day, rules, cal).date,
            since=feedback or _local_day(imported), extensions=count or 0,
            closures=tuple(closures.get(o.id, ())), lookbacks=tuple(lookbacks.get(o.id, ())),
            reminders=tuple(sorted(set(reminders.get(o.id, ())))),
            answers=tuple(sorted(d for d, _ in said)),
            progress=tuple(sorted(d for d, k in said if k == EventKind.PROGRESS))))
    return out, units
