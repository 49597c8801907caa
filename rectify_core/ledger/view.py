"""The ledger as of a day, read once for everything the office hands up: the progress
report, the Excel 台账 and the dashboard. Due dates and lights come from the planner
(one definition); closures, progress and look-backs from their records."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Session, contains_eager

from rectify_core.config.calendar import WorkCalendar, local_today
from rectify_core.config.people import Directory
from rectify_core.config.rules import Rules
from rectify_core.deadlines.plan import Planner
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.fetch import stream_rows, streams
from rectify_core.ledger import db, evidence
from rectify_core.ledger.models import Aspect, Closure, Event, Item, LookbackTask, Round, Topic, Unit
from rectify_core.ledger.obligations import obligation_of
from rectify_core.refs import is_former, item_ref, label
from rectify_core.vocab import SET_ASIDE, ItemState, completion_rate


def counted(item: type[Item]) -> ColumnElement[bool]:
    """The one rule for what a view counts: every item of a round but those withdrawn or
    merged; an item the latest sheet no longer lists is counted (and marked) until the
    clerk decides. Written as "not set aside" (the states are those five; none is null):
    no index serves it, so a query of some rounds finds their items through the rounds'
    index — SQLite without statistics took the state's index and read every item."""
    return item.status.not_in(SET_ASIDE)


class Row(NamedTuple):
    """One item as the office's documents show it (a tuple: a county's views hold a
    hundred thousand, and a frozen dataclass sets each field through a call)."""

    ref: str  # 13, or 原13 for an item the latest sheet no longer lists (refs)
    aspect: str | None
    topic: str | None
    title: str
    measures: str
    progress: str | None
    progress_on: dt.date | None
    leader: str | None
    leader_title: str | None
    department: str | None
    owner: str | None
    deadline: dt.date | None
    deadline_text: str | None
    deadline_kind: str | None
    extended_to: dt.date | None
    status: str
    status_text: str
    immediate: bool
    due: dt.date | None
    workdays_left: int | None
    light: str | None
    closed_on: dt.date | None
    verified_by: str | None
    evidence_count: int
    lookback: str | None  # 巩固 / 反弹 / None
    rebound_count: int
    item_id: int = 0
    extra: tuple[tuple[str, str], ...] = ()  # the office's own columns (备注…), as the sheet had them
    rebound: tuple[dt.date, dt.date | None] | None = None  # reopened: (the closure's day, the day it was reopened)

    @property
    def listed(self) -> bool:
        """The latest sheet lists it (else it is counted and marked until withdrawn or merged)."""
        return not is_former(self.ref)

    @property
    def label(self) -> str:
        return label(self.ref)


@dataclass
class RoundView:
    id: int
    unit: str
    name: str
    inspector: str | None
    inspection_start: dt.date | None
    inspection_end: dt.date | None
    feedback_date: dt.date | None
    first_responsible: str | None
    as_of: dt.date
    aspects: list[tuple[int, str]] = field(default_factory=list)
    topics: list[tuple[int, int | None, str]] = field(default_factory=list)  # (no, aspect no, title)
    # every item the round counts (`counted`): the sheet's rows by number, then the items
    # it no longer lists, still the round's until the clerk withdraws or merges them
    rows: list[Row] = field(default_factory=list)
    aspect_of: dict[str, int | None] = field(default_factory=dict)  # item ref -> aspect no
    topic_of: dict[str, int | None] = field(default_factory=dict)  # item ref -> topic no
    # items withdrawn or merged: (ref, title, state, the reason given, the ref merged into)
    set_aside: list[tuple[str, str, str, str, str | None]] = field(default_factory=list)

    @property
    def listed(self) -> list[Row]:
        """The rows of the latest sheet."""
        return [r for r in self.rows if r.listed]

    @property
    def unlisted(self) -> list[Row]:
        """Counted items the latest sheet no longer lists (marked wherever they are shown)."""
        return [r for r in self.rows if not r.listed]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rows)

    @property
    def rate(self) -> float:
        return completion_rate(self.count(ItemState.DONE), len(self.rows))


def pick_round(round_id: int | None, *, session: Session) -> Round:
    """The round asked for, or the only one; several rounds need --round."""
    if round_id is not None:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise NotFoundError(f"没有编号为 {round_id} 的轮次", hint="rectify rounds 可列出全部轮次")
        return rnd
    rounds = list(session.scalars(select(Round).order_by(Round.id)))
    if not rounds:
        raise NotFoundError("还没有任何轮次：请先导入台账或报告", hint="rectify import 文件")
    if len(rounds) > 1:
        names = "；".join(f"{r.id}：{r.unit.name} / {r.name}" for r in rounds)
        raise RectifyError(f"有 {len(rounds)} 个轮次，请指定轮次：{names}", hint="--round 编号")
    return rounds[0]


_OUTCOMES = {"consolidated": "巩固", "rebound": "反弹"}


def round_view(rnd: Round, today: dt.date, rules: Rules, cal: WorkCalendar, directory: Directory, *,
               session: Session) -> RoundView:
    return _views([rnd], _Found.read(session, [rnd.id]), Planner(today, rules, {}, cal, directory), today)[0]


def _views(rounds: list[Round], found: _Found, planner: Planner, today: dt.date) -> list[RoundView]:
    return [_view(rnd, found, planner, today) for rnd in rounds]


@dataclass
class _Found:
    """Every record the views read, by round (or by id, for closures): of the rounds asked
    for, or (`read(session, None)`) of every round."""

    aspects: dict[int, dict[int, Aspect]] = field(default_factory=lambda: defaultdict(dict))
    topics: dict[int, dict[int, Topic]] = field(default_factory=lambda: defaultdict(dict))
    items: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    closures: dict[int, _ClosureRow] = field(default_factory=dict)
    outcomes: dict[int, str] = field(default_factory=dict)
    set_aside: dict[int, list[tuple[str, str, str, str, str | None]]] = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session, round_ids: list[int] | None) -> _Found:
        def of(column: Any) -> Any:
            return column.in_(round_ids) if round_ids is not None else sa_true()

        found = cls()
        for a in session.scalars(select(Aspect).where(of(Aspect.round_id))):
            found.aspects[a.round_id][a.id] = a
        for t in session.scalars(select(Topic).where(of(Topic.round_id))):
            found.topics[t.round_id][t.id] = t
        items = (select(*_ITEM_COLUMNS).where(counted(Item), of(Item.round_id))
                 .order_by(Item.round_id, Item.listed.desc(), Item.shown_no, Item.former_seq))
        connection = session.connection()  # plain rows, by the driver where it streams: ORM objects cost 3×
        rows = (stream_rows(connection, items, _ItemRow, 20_000) if streams(connection.dialect)
                else map(_ItemRow._make, connection.execute(items)))
        for item in rows:
            found.items[item.round_id].append(item)
        in_rounds = select(Item.id).where(of(Item.round_id))
        found.closures = {c.id: c for c in map(_ClosureRow._make, connection.execute(
            select(*_closure_columns(connection.dialect.name)).where(Closure.item_id.in_(in_rounds))))}
        for item_id, outcome in session.execute(select(LookbackTask.item_id, LookbackTask.outcome).where(
                LookbackTask.item_id.in_(in_rounds), LookbackTask.outcome.is_not(None)).order_by(LookbackTask.id)):
            found.outcomes[item_id] = _OUTCOMES.get(outcome or "", outcome or "")
        found.set_aside = _set_aside(of(Item.round_id), session=session)
        return found


def _view(rnd: Round, found: _Found, planner: Planner, today: dt.date) -> RoundView:
    view = RoundView(rnd.id, rnd.unit.name, rnd.name, rnd.inspector, rnd.inspection_start, rnd.inspection_end,
                     rnd.feedback_date, rnd.first_responsible, today)
    aspects, topics = found.aspects.get(rnd.id, {}), found.topics.get(rnd.id, {})
    view.aspects = sorted((a.no, a.title) for a in aspects.values())
    view.topics = sorted((t.no, aspects[t.aspect_id].no if t.aspect_id in aspects else None, t.title)
                         for t in topics.values())
    view.set_aside = found.set_aside.get(rnd.id, [])
    unit = rnd.unit.name
    for item in found.items.get(rnd.id, []):
        ref = item.ref
        view.aspect_of[ref] = aspects[item.aspect_id].no if item.aspect_id in aspects else None
        view.topic_of[ref] = topics[item.topic_id].no if item.topic_id in topics else None
        # timings only (a view names no recipient); a date out of the calendar leaves them empty
        timing = (None, None, None) if item.status == ItemState.DONE else planner.glance(
            obligation_of(item, rnd, unit))
        view.rows.append(_row(item, ref, aspects, topics, found, timing))
    return view


def _closure_columns(dialect: str) -> tuple[Any, ...]:
    """What a view reads of a closure: its evidence counted by the database."""
    return (Closure.id, Closure.closed_on, Closure.verified_by, Closure.reopened_at,
            evidence.counted_sql(dialect).label("evidence_count"))


class _ClosureRow(db.row_type(select(*_closure_columns("sqlite")), "ClosureRow")):  # type: ignore[misc]
    """A closure as a view reads it (a plain row: a county has tens of thousands)."""

    __slots__ = ()


_ITEM_COLUMNS = (Item.id, Item.round_id, Item.no, Item.listed, Item.former_no, Item.former_seq, Item.aspect_id,
                 Item.topic_id, Item.title, Item.measures_text, Item.progress, Item.progress_on, Item.leader,
                 Item.leader_title, Item.department, Item.owner, Item.deadline, Item.deadline_text,
                 Item.deadline_kind, Item.extended_to, Item.status, Item.status_text, Item.immediate, Item.done_on,
                 Item.rebound_count, Item.extra, Item.closure_id, Item.reopened_from, Item.overdue_since)


class _ItemRow(db.row_type(select(*_ITEM_COLUMNS), "ItemRow")):  # type: ignore[misc]
    """An item's row as a view reads it, named as the item's own attributes."""

    __slots__ = ()

    @property
    def ref(self) -> str:
        return item_ref(self.no, self.listed, self.former_no, self.former_seq)


def _row(item: Any, ref: str, aspects: dict[int, Aspect], topics: dict[int, Topic], found: _Found,
         timing: tuple[dt.date | None, int | None, str | None]) -> Row:
    due, left, light = timing
    closures, outcomes = found.closures, found.outcomes
    closure = closures.get(item.closure_id) if item.closure_id else None
    return Row(ref, aspects[item.aspect_id].title if item.aspect_id in aspects else None,
               topics[item.topic_id].title if item.topic_id in topics else None, item.title,
               item.measures_text or "", item.progress, item.progress_on, item.leader, item.leader_title,
               item.department, item.owner, item.deadline, item.deadline_text, item.deadline_kind, item.extended_to,
               item.status, item.status_text, item.immediate, due, left, light,
               closure.closed_on if closure else item.done_on, closure.verified_by if closure else None,
               closure.evidence_count if closure else 0, outcomes.get(item.id), item.rebound_count, item.id,
               tuple((str(k), str(v)) for k, v in (item.extra or {}).items()), _rebound(item, closures))


def _rebound(item: Any, closures: dict[int, _ClosureRow]) -> tuple[dt.date, dt.date | None] | None:
    reopened = closures.get(item.reopened_from) if item.reopened_from else None
    if reopened is None:
        return None
    return reopened.closed_on, local_today(reopened.reopened_at) if reopened.reopened_at else None


def _set_aside(in_rounds: Any, *, session: Session) -> dict[int, list[tuple[str, str, str, str, str | None]]]:
    """Each round's withdrawn and merged items (`in_rounds`: which rounds, as a condition on
    Item.round_id), each with the reason its decision gave and (merged) the item it went into."""
    rows = session.execute(select(Item.id, Item.round_id, Item.ref, Item.title, Item.status, Item.merged_into)
                           .where(in_rounds, Item.status.in_(list(SET_ASIDE)))
                           .order_by(Item.former_no, Item.id)).all()
    if not rows:
        return {}
    ids = [r.id for r in rows]  # few: the items a clerk set aside
    reasons = {i: (d or {}).get("reason", "") for i, d in session.execute(
        select(Event.item_id, Event.data).where(Event.item_id.in_(ids), Event.kind.in_(("withdrawn", "merged")))
        .order_by(Event.id))}
    targets = [r.merged_into for r in rows if r.merged_into]
    into = dict(session.execute(select(Item.id, Item.ref).where(Item.id.in_(targets))).all()) if targets else {}
    out: dict[int, list[tuple[str, str, str, str, str | None]]] = defaultdict(list)
    for r in rows:
        out[r.round_id].append((r.ref, r.title, str(r.status), str(reasons.get(r.id) or ""), into.get(r.merged_into)))
    return out


def all_round_views(today: dt.date, rules: Rules, cal: WorkCalendar, directory: Directory, *,
                    session: Session, round_ids: list[int] | None = None) -> list[RoundView]:
    """Every round's view (or those of `round_ids`), in the office's order: by unit, then round."""
    query = select(Round).join(Unit, Round.unit_id == Unit.id).order_by(Unit.name, Round.id)
    if round_ids is not None:
        query = query.where(Round.id.in_(round_ids))
    rounds = list(session.scalars(query.options(contains_eager(Round.unit))))
    # every round's records read once for all of them (a county's 500 rounds: a handful of queries)
    return _views(rounds, _Found.read(session, round_ids), Planner(today, rules, {}, cal, directory), today)


def views_in_turn(today: dt.date, rules: Rules, cal: WorkCalendar, directory: Directory, round_ids: list[int], *,
                  session: Session, at_once: int) -> Iterator[RoundView]:
    """The views of `round_ids` (given in the office's order), read `at_once` rounds at a
    time: a handful of queries a batch, not a round's each, and no more than a batch held."""
    for batch in db.id_chunks(round_ids, at_once):
        yield from all_round_views(today, rules, cal, directory, session=session, round_ids=batch)


def rounds_in_order(*, session: Session) -> list[tuple[int, str, str]]:
    """Every round as (id, its unit's name, its own name), in the office's order: by unit,
    then round."""
    return [(round_id, unit, name) for round_id, unit, name in session.execute(
        select(Round.id, Unit.name, Round.name).join(Unit, Round.unit_id == Unit.id).order_by(Unit.name, Round.id))]


def counted_items(round_ids: list[int], *, session: Session) -> int:
    """How many items these rounds count (their views' rows)."""
    query = select(func.count()).select_from(Item).where(counted(Item))
    return sum(session.scalar(query.where(Item.round_id.in_(batch))) or 0 for batch in db.id_chunks(round_ids))


def completions(*, session: Session, round_ids: list[int] | None = None) -> list[tuple[dt.date, int]]:
    """How many items (of these rounds) became done on each day (the report's date for an
    imported 已完成, the closure day for a 销号), for the completion curve."""
    per_day: dict[dt.date, int] = defaultdict(int)
    query = select(Item.done_on).where(Item.status == ItemState.DONE, Item.done_on.is_not(None))
    if round_ids is not None:
        query = query.where(Item.round_id.in_(round_ids))
    for (day,) in session.execute(query):
        if day is not None:
            per_day[day] += 1
    return sorted(per_day.items())
