"""What 结果考评 reads of the record (deadlines.scoring scores it): every counted item with
its deadline as the rules date it, its extensions, closures and their evidence files,
look-back outcomes, the reminders sent to its owner and leader, and the days it was read
or progress reported — each kind of fact in one query, as of the end of the day scored."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import Date, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from rectify_core.config.calendar import TZ
from rectify_core.config.settings import Settings
from rectify_core.deadlines.due import Dates, due_of, open_ended
from rectify_core.deadlines.scoring import Closure as ClosureFact
from rectify_core.deadlines.scoring import ItemRecord
from rectify_core.fetch import driver_rows
from rectify_core.ledger import evidence
from rectify_core.ledger.db import common, id_chunks
from rectify_core.ledger.models import Closure, Event, Item, LookbackTask, Notice, Round, Unit
from rectify_core.ledger.view import counted
from rectify_core.vocab import EventKind, NoticeKind, NoticeState, Role

ANSWERS = (EventKind.ACKNOWLEDGED, EventKind.PROGRESS)
ASKED = (Role.OWNER, Role.LEADER)  # the roles a reminder asks to act


def _day_sql(column: Any, dialect: str) -> Any:
    """The calendar day in Asia/Shanghai of a stored instant, computed by the database (a
    hundred thousand conversions in Python cost more than the reads): a date on
    PostgreSQL, ISO text on SQLite, which stores UTC (Shanghai has kept +8 hours, without
    summer time, since 1991)."""
    if dialect == "postgresql":
        return cast(func.timezone(TZ, column), Date)
    return type_coerce(func.date(column, "+8 hours"), String)


class _Days(dict[Any, dt.date]):
    """A day as the driver gives it (ISO text on SQLite, a date on PostgreSQL) -> the date,
    each made once: a county's facts fall on a few hundred days, and a hit is a plain
    dictionary lookup."""

    def __missing__(self, value: Any) -> dt.date:
        day = self[value] = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
        return day


_day = _Days().__getitem__


def _day_or_none(value: Any) -> dt.date | None:
    return None if value is None else _day(value)


def _by_item(rows: Iterable[Any], pick: Callable[[Any], Any]) -> dict[int, tuple[Any, ...]]:
    """Each item's facts in the rows' order (rows of one item need not be adjacent)."""
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(pick(row))
    return {item: tuple(facts) for item, facts in out.items()}


def _date_sql(column: Any, dialect: str) -> Any:
    """A DATE column as the driver gives it (ISO text on SQLite: parsed below, in C)."""
    return column if dialect == "postgresql" else type_coerce(column, String)


def _since(dialect: str) -> Any:
    """Each round's day its items are tracked from: its feedback date, else its import's."""
    return select(Round.id, Round.feedback_date, _day_sql(Round.imported_at, dialect))


def queries(day: dt.date, dialect: str, unit: str | None = None, unit_ids: list[int] | None = None) -> dict[str, Any]:
    """The SELECTs of the facts, as of the end of `day`, of every unit, the one named
    `unit`, or those of `unit_ids`: what `by_unit` runs, and what a benchmark takes as its
    floor."""
    # every bound is a day, compared with the local day the database computes (the rows may
    # be read by the driver itself, which binds plain values only)
    upto: Any = day if dialect == "postgresql" else day.isoformat()
    sent, answered = _day_sql(Notice.sent_at, dialect).label("sent"), _day_sql(Event.at, dialect).label("day")
    scope = select(Item.id).join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
    of_units = [] if unit is None else [Unit.name == unit]
    of_units += [] if unit_ids is None else [Round.unit_id.in_(unit_ids)]
    scope = scope.where(*of_units)
    # a unit's items together (by_unit scores a unit at a time), each unit's in order of round and number
    items = (select(Item.id, Item.round_id, Round.unit_id, Item.ref, type_coerce(Item.status, String),
                    type_coerce(Item.deadline_kind, String), _date_sql(Item.deadline, dialect),
                    _date_sql(Item.extended_to, dialect), _date_sql(Round.feedback_date, dialect))
             .join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
             .where(counted(Item)).order_by(Round.unit_id, Item.round_id, Item.no))
    return {
        "items": items.where(*of_units),
        # extensions are few: only the items that have some; the day tracking began is the round's
        "extended": select(Item.id, Item.extension_count).where(Item.id.in_(scope), Item.extension_count > 0),
        "since": _since(dialect),
        "closures": select(Closure.item_id, Closure.closed_on, evidence.counted_sql(dialect, "file")).where(
            Closure.item_id.in_(scope), _date_sql(Closure.closed_on, dialect) <= upto)
        .order_by(Closure.closed_at, Closure.id),
        "lookbacks": select(LookbackTask.item_id, LookbackTask.outcome).where(
            LookbackTask.item_id.in_(scope), LookbackTask.outcome.is_not(None),
            _day_sql(LookbackTask.recorded_at, dialect) <= upto)
        .order_by(LookbackTask.recorded_at),
        # each item's days in order (a reminder's day once): the database sorts them
        "reminders": select(Notice.item_id, sent).where(
            Notice.item_id.in_(scope), common(Notice.state == NoticeState.SENT, dialect),
            Notice.kind == NoticeKind.ITEM, Notice.role.in_(ASKED), sent <= upto)
        .distinct().order_by(Notice.item_id, sent),
        "answers": select(Event.item_id, answered, type_coerce(Event.kind, String)).where(
            Event.item_id.in_(scope), Event.kind.in_(ANSWERS), answered <= upto).order_by(Event.item_id, answered),
    }


def by_unit(day: dt.date, settings: Settings, *, session: Session,
            unit: str | None = None) -> Iterator[tuple[str, list[ItemRecord]]]:
    """Each unit scored (every unit, or the one named, with items or not) with its counted
    items' records as of `day`, a unit at a time: a batch of units' facts is read first (see
    UNITS_AT_ONCE), then their items stream in order of unit, so only one unit's records
    are held. Nothing else may use the session until every unit is given."""
    units_q = select(Unit.id, Unit.name).order_by(Unit.name)
    names = {i: n for i, n in session.execute(units_q if unit is None else units_q.where(Unit.name == unit))}
    connection = session.connection()  # plain rows: the reads are the command's cost
    dialect = connection.dialect.name

    def run(query: Any) -> Iterator[Any]:
        return iter(driver_rows(connection, query))  # raw: the readers below take text dates

    since = {r: _day(feedback or imported) for r, feedback, imported in run(_since(dialect))}
    dated = _Dated(day, settings)
    given: set[int] = set()
    batches: Iterable[list[int] | None] = id_chunks(sorted(names), UNITS_AT_ONCE) if dialect == "sqlite" else [None]
    for batch in batches:
        sql = queries(day, dialect, unit, batch)
        facts = _Facts(*(run(sql[kind]) for kind in ("extended", "closures", "lookbacks", "reminders", "answers")))
        for unit_id, rows in itertools.groupby(run(sql["items"]), key=itemgetter(2)):  # the items last: they stream
            name = names[unit_id]
            given.add(unit_id)
            yield name, [facts.record(name, row, since[row[1]], dated(*row[5:9])) for row in rows]
    yield from ((name, []) for unit_id, name in names.items() if unit_id not in given)


# units whose facts are read at once on SQLite, which reads a batch's through the items'
# indexes: what is held does not grow with the county. PostgreSQL plans a batch as a scan of
# each whole table joined with the batch's items (as dear as reading every unit's), so it
# reads them all at once.
UNITS_AT_ONCE = 50


class _Facts:
    """One batch of units' facts by item, each kind read whole (a batch's worth)."""

    def __init__(self, extended: Iterator[Any], closures: Iterator[Any], lookbacks: Iterator[Any],
                 reminders: Iterator[Any], answers: Iterator[Any]) -> None:
        self.extended = dict(extended).get
        self.closures = _by_item(closures, lambda r: ClosureFact(_day(r[1]), r[2])).get
        self.lookbacks = _by_item(lookbacks, lambda r: str(r[1])).get
        self.reminders = _by_item(reminders, lambda r: _day(r[1])).get  # each item's days sorted by the query
        self.answers, self.progress = (facts.get for facts in _answers(answers))

    def record(self, name: str, row: Any, since: dt.date, due: tuple[bool, dt.date | None]) -> ItemRecord:
        item_id, _, _, ref, status = row[:5]
        return ItemRecord(name, ref, status, due[0], due[1], since, self.extended(item_id, 0),
                          self.closures(item_id, ()), self.lookbacks(item_id, ()), self.reminders(item_id, ()),
                          self.answers(item_id, ()), self.progress(item_id, ()))


class _Dated:
    """(long-term?, due date) of a deadline as the rules date it on `day`: items share their
    dates, so each is dated once."""

    def __init__(self, day: dt.date, settings: Settings) -> None:
        self.day, self.rules, self.cal = day, settings.rules, settings.calendar
        self.dues: dict[tuple[Any, ...], tuple[bool, dt.date | None]] = {}

    def __call__(self, kind: Any, deadline: Any, extended_to: Any, feedback: Any) -> tuple[bool, dt.date | None]:
        found = self.dues.get((kind, deadline, extended_to, feedback))
        if found is None:
            dates = Dates(_day_or_none(extended_to), _day_or_none(deadline), kind, _day_or_none(feedback))
            long_term = open_ended(kind, dates.deadline, dates.extended_to)
            found = self.dues[kind, deadline, extended_to, feedback] = (
                long_term, None if long_term else due_of(dates, self.day, self.rules, self.cal).date)
        return found


def _answers(rows: Iterable[Any]) -> tuple[dict[int, tuple[dt.date, ...]], dict[int, tuple[dt.date, ...]]]:
    """The days each item was read or had progress reported, and those it had progress
    (each item's rows in order of day, as the query sorts them)."""
    answered: dict[int, list[dt.date]] = defaultdict(list)
    progress: dict[int, list[dt.date]] = defaultdict(list)
    for item_id, day, kind in rows:
        answered[item_id].append(_day(day))
        if kind == EventKind.PROGRESS:
            progress[item_id].append(_day(day))
    return ({i: tuple(days) for i, days in answered.items()}, {i: tuple(days) for i, days in progress.items()})
