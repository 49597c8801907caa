"""Loading what the planner needs: one query per kind, no per-item queries.

Two loaders produce obligations: items (their own rectification) and look-back tasks
(a reviewer's re-check of a closed item)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import starmap
from typing import Any

from sqlalchemy import String, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from rectify_core.config.calendar import local_today
from rectify_core.config.people import Directory
from rectify_core.config.rules import Ladder, Step
from rectify_core.config.settings import Settings
from rectify_core.deadlines.types import Obligation, Sent
from rectify_core.fetch import converters, dates_in_iso, dialect_of, made, raw_chunks, stream_rows, streams
from rectify_core.ledger import holders, people
from rectify_core.ledger.models import Item, LookbackTask, Notice, Person, Round, Unit
from rectify_core.ledger.models import Ladder as LadderRow
from rectify_core.vocab import ACTIVE, NoticeKind, NoticeState, Role, TaskState


def _active_query(unit: str | None, leader: str | None = None) -> Any:
    query = (
        # in the order of Obligation's fields (_obligation); status and kind as their
        # stored text: the planner compares them with the enums, which equal their values,
        # and converting a hundred thousand rows costs
        select(Item.id, Item.round_id, Round.name, Unit.name, Item.ref, Item.title,
               type_coerce(Item.status, String), type_coerce(Item.deadline_kind, String), Item.deadline,
               Item.extended_to, Round.feedback_date, Item.owner, Item.leader, Item.overdue_since, Item.rebound_count,
               Round.first_responsible, Item.department)
        .join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
        .where(Item.status.in_(ACTIVE)).order_by(Item.round_id, Item.no))
    if leader is not None:
        query = query.where(Item.id.in_(holders.held_by(leader, Role.LEADER)))
    return query if unit is None else query.where(Unit.name == unit)


def _obligation(row: Any) -> Obligation:
    return Obligation(*row)  # the SELECT's columns are the obligation's first fields, in order


def active_items(*, session: Session, unit: str | None = None, leader: str | None = None) -> list[Obligation]:
    """Every open or ongoing item (of one unit, if given; naming `leader` as leader, if
    given) with what the plan needs, in one SELECT."""
    rows = session.connection().execute(_active_query(unit, leader))
    return list(map(_obligation, rows))


def overdue_history(item_ids: list[int], *, session: Session) -> dict[int, list[Sent]]:
    """The overdue notices (offset > 0) already in the outbox for these items: what makes
    their red sticky."""
    out: dict[int, list[Sent]] = defaultdict(list)
    for start in range(0, len(item_ids), 5000):
        rows = session.execute(select(Notice.item_id, Notice.due, Notice.step_key, Notice.ladder, Notice.role)
                               .where(Notice.item_id.in_(item_ids[start:start + 5000]),
                                      Notice.kind == NoticeKind.ITEM))
        for item_id, due, step, ladder, role in rows:
            if int(step) > 0:
                out[item_id].append(Sent(f"item:{item_id}", due, int(step), ladder, role))
    return out


def stream_active_items(*, session: Session, unit: str | None = None, chunk: int = 20_000,
                        alone: bool = False) -> Iterator[Obligation]:
    """The same rows, fetched a chunk at a time, so a caller that writes as it plans holds
    one chunk, not the ledger. When nothing else uses the session's connection until the
    rows are all read (`alone`), they come from the driver itself (`fetch.stream_rows`: on
    PostgreSQL one statement whose rows the server sends on without a round trip a chunk);
    else through SQLAlchemy (a server-side cursor on PostgreSQL)."""
    connection = session.connection()
    if alone and streams(connection.dialect):
        yield from stream_rows(connection, _active_query(unit), Obligation, chunk)
        return
    # on the statement, not the connection: a connection's options would stay set for the
    # inserts that follow in the same transaction
    result = connection.execute(_active_query(unit).execution_options(yield_per=chunk))
    for row in result:
        yield _obligation(row)


@dataclass(frozen=True)
class RowForm:
    """How the rows of `active_item_rows` are to be made into obligations, in any process:
    None, made as they are; else the dialect whose result processors convert them."""

    dialect: tuple[str, str] | None
    iso_dates: bool = False  # dates as ISO text (fetch.dates_in_iso)

    def obligations(self, rows: list[tuple[Any, ...]]) -> Iterator[Obligation]:
        if self.dialect is None:
            return starmap(Obligation, rows)
        return made(rows, Obligation, _converters(self.dialect, self.iso_dates))


@cache
def _converters(dialect: tuple[str, str], iso_dates: bool) -> list[Any]:
    return converters(dialect_of(*dialect), _active_query(None), iso_dates)


def items_ever(*, session: Session) -> int:
    """How many items the ledger has had at most (the highest id: one index lookup), for a
    caller deciding early whether the active items may be many."""
    return int(session.scalar(select(func.max(Item.id))) or 0)


def active_item_rows(*, session: Session, unit: str | None = None, chunk: int = 20_000,
                     travel: bool = False) -> tuple[Generator[list[tuple[Any, ...]], None, None], RowForm]:
    """The rows of `stream_active_items` a chunk at a time, as tuples another process can
    take (`RowForm.obligations` makes them), read as `stream_active_items` reads them when
    the connection is theirs alone. Each row begins with the item's id. Rows that `travel`
    to other processes hold plain values where the database allows (PostgreSQL's dates as
    ISO text): they go several times faster."""
    connection = session.connection()
    dialect = connection.dialect
    if streams(dialect):
        iso = travel and dates_in_iso(connection)
        return (raw_chunks(connection, _active_query(unit), chunk, iso_dates=iso),
                RowForm((dialect.name, dialect.driver), iso))
    result = connection.execute(_active_query(unit).execution_options(yield_per=chunk))
    return (list(map(tuple, rows)) for rows in result.partitions()), RowForm(None)


def plan_item_of(item: Item) -> Obligation:
    """One ORM item as the planner sees it (for single-item commands; the daily run
    loads the same fields for every item in one SELECT, above)."""
    return obligation_of(item, item.round, item.round.unit.name)


def obligation_of(item: Any, rnd: Round, unit: str) -> Obligation:
    """An item (an ORM item, or a plain row with the same attribute names) of round `rnd`
    of `unit`, as the planner sees it."""
    return Obligation(item.id, rnd.id, rnd.name, unit, item.ref, item.title, item.status, item.deadline_kind,
                      item.deadline, item.extended_to, rnd.feedback_date, item.owner, item.leader,
                      item.overdue_since, item.rebound_count, first_responsible=rnd.first_responsible,
                      department=item.department)


def units_with_work(*, session: Session) -> list[str]:
    """Units that have open or ongoing items: the scale-out shards."""
    return list(session.scalars(select(Unit.name).join(Round, Round.unit_id == Unit.id)
                                .join(Item, Item.round_id == Round.id).where(Item.status.in_(ACTIVE))
                                .distinct().order_by(Unit.name)))


_SETTLED = (NoticeState.SENT, NoticeState.DEAD, NoticeState.CAPPED)


def history(*, session: Session) -> dict[str, list[Sent]]:
    """Notices already enqueued for active items and open look-back tasks, by plan key:
    each with its role and the day it was settled (delivered, or given up on)."""
    out: dict[str, list[Sent]] = defaultdict(list)
    days: dict[dt.datetime, dt.date] = {}  # a run sends its notices at one instant: each converted once
    rows = session.connection().execute(  # Core rows: the ORM's row handling cost more than the query
        select(Notice.item_id, Notice.lookback_id, Notice.due, Notice.step_key, Notice.ladder, Notice.role,
               Notice.state, Notice.sent_at, Notice.planned_on)
        .join(Item, Notice.item_id == Item.id).outerjoin(LookbackTask, Notice.lookback_id == LookbackTask.id)
        .where(Notice.kind != NoticeKind.ADMIN, or_(Item.status.in_(ACTIVE), LookbackTask.state == TaskState.DUE)))
    for item_id, lookback_id, due, step, ladder, role, state, sent_at, planned_on in rows:
        key = f"lookback:{lookback_id}" if lookback_id else f"item:{item_id}"
        settled = None
        if state in _SETTLED:
            settled = planned_on
            if sent_at is not None:
                settled = days.get(sent_at) or days.setdefault(sent_at, local_today(sent_at))
        out[key].append(Sent(key, due, int(step), ladder, role, settled))
    return out


def lookback_items(directory: Directory, *, session: Session, unit: str | None = None) -> list[Obligation]:
    """Open look-back tasks as obligations: the reviewer owes a check by the task's due
    date; the reviewer's supervisor (contacts.toml) is next up the chain."""
    query = (select(LookbackTask, Item, Round.name, Unit.name).join(Item, LookbackTask.item_id == Item.id)
             .join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
             .where(LookbackTask.state == TaskState.DUE))
    if unit is not None:
        query = query.where(Unit.name == unit)
    out = []
    for task, item, round_name, unit_name in session.execute(query):
        contact = directory.contact(task.reviewer, unit_name) if task.reviewer else None
        out.append(Obligation(item.id, item.round_id, round_name, unit_name, item.ref, item.title,
                              item.status, "dated", task.due, None, None, task.reviewer,
                              contact.supervisor if contact else None, lookback_id=task.id,
                              subject=NoticeKind.LOOKBACK))
    return out


def ladders(current: Ladder, *, session: Session) -> dict[str, Ladder]:
    """Every ladder items have started on, plus the current one."""
    out = {current.version: current}
    for row in session.scalars(select(LadderRow)):
        out[row.version] = Ladder(tuple(Step(s["name"], s["at"], tuple(s["to"]), s["every"])
                                        for s in row.spec))
    return out


def directory(settings: Settings, *, session: Session) -> Directory:
    """The people directory every rule reads: the contacts of config/contacts.toml with the
    role holders the imports recorded. The only way to it (Office.directory wraps it): the
    config-only list, `settings.config_contacts`, never answers who holds a role."""
    return _with_people(settings.config_contacts, session=session)


def _with_people(directory: Directory, *, session: Session) -> Directory:
    """The config directory with the people the units keep (they take the place of the
    file's entries of the same name and unit) and the role holders recorded by imports."""
    held: dict[tuple[str, str], list[str]] = defaultdict(list)
    for unit, name, role in session.execute(
            select(Unit.name, Person.name, Person.role).join(Unit, Person.unit_id == Unit.id)):
        held[(unit, role)].append(name)
    return Directory(contacts=people.merged(directory.contacts, session=session), admin=directory.admin,
                     channels=directory.channels, office=directory.office, held=held, addressed=directory.addressed)
