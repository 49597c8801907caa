"""Enqueueing: each plan's notices into the outbox once (INSERT ... ON CONFLICT DO NOTHING
on the dedup key, SQLite and PostgreSQL), the ladders in use recorded, and items seen
overdue for the first time given their first overdue day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from rectify_core.bulk import Rows, converters, executemany, insert_batches, insert_ignore
from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.rules import Ladder, Rules
from rectify_core.deadlines.types import ItemPlan
from rectify_core.delivery.outbox import BATCH, CAPPED, ESCALATION_ROLES, PENDING, plain_utc
from rectify_core.ledger.models import Item, Notice
from rectify_core.ledger.models import Ladder as LadderRow
from rectify_core.vocab import NoticeKind

_NOTICES = cast(Table, Notice.__table__)


@dataclass(frozen=True)
class Enqueued:
    planned: int
    inserted: int
    capped: int


def _prior_counts(item_ids: list[int], *, session: Session) -> Counter[int]:
    counts: Counter[int] = Counter()
    for start in range(0, len(item_ids), BATCH):
        chunk = item_ids[start:start + BATCH]
        for item_id, n in session.execute(select(Notice.item_id, func.count(func.distinct(Notice.step_key)))
                                          .where(Notice.item_id.in_(chunk)).group_by(Notice.item_id)):
            counts[item_id] += n
    return counts


def enqueue(plans: Iterable[ItemPlan], today: dt.date, now: dt.datetime, rules: Rules,
            ladders: dict[str, Ladder], cal: WorkCalendar, *, session: Session) -> Enqueued:
    """Insert each plan's notices once; record ladders in use and first overdue days."""
    now = plain_utc(now)
    plans = list(plans)
    owing = [p for p in plans if p.notify]
    insert_ignore(session, LadderRow.__table__, [
        {"version": v, "spec": [asdict(s) for s in ladders[v].steps], "created_at": now}
        for v in {p.ladder for p in owing} if v in ladders], "version")
    prior = (_prior_counts([p.item.id for p in owing if p.item.subject == NoticeKind.ITEM], session=session)
             if rules.max_per_item else Counter())
    made = _Made(owing, today, now, rules, prior, session.get_bind().dialect)
    inserted = insert_batches(session, _NOTICES, NOTICE_COLUMNS, made.batches(), "dedup_key")
    _mark_overdue([p for p in plans if p.workdays_left is not None and p.workdays_left < 0
                   and p.item.subject == NoticeKind.ITEM and p.item.overdue_since is None], cal,
                  session=session)
    return Enqueued(made.rows, inserted, made.capped)


@dataclass
class _Made:
    """The outbox rows of what plans owe, made a batch of plans at a time (the database
    takes one batch while the next is made); how many, and how many capped, so far."""

    owing: list[ItemPlan]
    today: dt.date
    now: dt.datetime
    rules: Rules
    prior: Counter[int]
    dialect: Any
    rows: int = 0
    capped: int = 0

    def batches(self, size: int = 20_000) -> Iterator[tuple[Rows, Rows]]:
        for start in range(0, len(self.owing), size):
            made = notice_rows(self.owing[start:start + size], self.today, self.now, self.rules, self.prior,
                               self.dialect)
            self.rows += len(made.fresh) + len(made.again)
            self.capped += made.capped
            yield made.fresh, made.again


# the outbox row of a planned notice, in this order
NOTICE_COLUMNS = ("dedup_key", "kind", "recipient_unit", "item_id", "lookback_id", "round_id", "due", "step_key",
                  "step_name", "ladder", "recipient", "role", "reason", "planned_on", "state", "attempts",
                  "created_at")


@dataclass(frozen=True)
class NoticeRows:
    """Outbox rows in NOTICE_COLUMNS order, in the driver's form: those of plans whose
    obligation had no notice yet (`fresh`), the others (`again`), and how many are capped."""

    fresh: list[tuple[Any, ...]]
    again: list[tuple[Any, ...]]
    capped: int


def notice_rows(owing: list[ItemPlan], today: dt.date, now: dt.datetime, rules: Rules,
                prior: Counter[int], dialect: Any) -> NoticeRows:
    """The outbox rows of what the plans owe (capped past `delivery.max_per_item`), each
    built once as the driver takes it: what rows share (the day, the instant, a plan's
    due date and step) is converted once."""
    to = converters(_NOTICES, NOTICE_COLUMNS, dialect)
    day, at = to["planned_on"](today), to["created_at"](now)
    kinds = {kind: to["kind"](kind) for kind in NoticeKind}
    pending, capped_state = to["state"](PENDING), to["state"](CAPPED)
    fresh: list[tuple[Any, ...]] = []
    again: list[tuple[Any, ...]] = []
    capped = 0
    for p in owing:
        item = p.item
        over_cap = bool(rules.max_per_item) and prior[item.id] >= rules.max_per_item
        lookback = item.subject == NoticeKind.LOOKBACK
        shared = (kinds[item.subject], item.id, item.lookback_id, item.round_id, to["due"](p.due.date),
                  f"{p.offset:+d}", p.step or "", p.ladder)
        out = fresh if p.fresh else again
        for r, key in zip(p.notify, p.dedup_keys(), strict=True):
            state = pending
            if over_cap and r.role not in ESCALATION_ROLES:
                state, capped = capped_state, capped + 1
            kind, item_id, lookback_id, round_id, due, step_key, step_name, ladder = shared
            out.append((key, kind, r.unit, item_id, lookback_id, round_id, due, step_key, step_name, ladder, r.name,
                        "reviewer" if lookback and r.role == "owner" else r.role, r.reason, day, state, 0, at))
    return NoticeRows(fresh, again, capped)


_ITEMS = cast(Table, Item.__table__)


def _mark_overdue(plans: list[ItemPlan], cal: WorkCalendar, *, session: Session) -> None:
    """First overdue day of items seen overdue for the first time, set-based: PostgreSQL
    joins the items to the arrays of ids and days (one statement); SQLite runs one
    prepared UPDATE by primary key per item in the driver's executemany. No ids are
    rendered into SQL text."""
    next_day: dict[dt.date, dt.date] = {}
    pairs: list[tuple[int, dt.date]] = []
    for p in plans:
        if p.due.date is not None:
            since = next_day.get(p.due.date)
            if since is None:
                since = next_day[p.due.date] = cal.add_workdays(p.due.date, 1)
            pairs.append((p.item.id, since))
    if not pairs:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"UPDATE {_ITEMS.name} SET overdue_since = v.since "
            "FROM unnest(%(ids)s::integer[], %(days)s::date[]) AS v(id, since) "
            f"WHERE {_ITEMS.name}.id = v.id AND {_ITEMS.name}.overdue_since IS NULL",
            {"ids": [i for i, _ in pairs], "days": [d for _, d in pairs]})
        return
    day = converters(_ITEMS, ["overdue_since"], connection.dialect)["overdue_since"]
    executemany(connection, f"UPDATE {_ITEMS.name} SET overdue_since = ? WHERE id = ? AND overdue_since IS NULL",
                [(day(since), i) for i, since in pairs])
