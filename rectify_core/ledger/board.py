"""The dashboard's figures, from one pass: every counted item's state and light (one
SELECT without words, a lookup a row: glance.Timings) tallied by unit, by aspect and by
department within its unit, and the words read only for the overdue items shown. At
county scale (hundreds of units) the dashboard costs what reading its items' dates does,
not what building every round's view would."""

from __future__ import annotations

import datetime as dt
import heapq
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.rules import Rules
from rectify_core.fetch import driver_rows
from rectify_core.ledger import db
from rectify_core.ledger.glance import Timings, timing_columns
from rectify_core.ledger.models import Aspect, Item, Round, Unit
from rectify_core.ledger.units import UnitFigures, counted_figures
from rectify_core.ledger.view import counted
from rectify_core.refs import item_ref, order
from rectify_core.vocab import ACTIVE, ItemState


@dataclass
class Tally:
    """Done, all and overdue items of one bar."""

    done: int = 0
    total: int = 0
    red: int = 0


class Overdue(NamedTuple):
    """An overdue item as the dashboard lists it (a tuple: a county's bulletin lists tens
    of thousands)."""

    item_id: int
    ref: str
    unit: str
    round_id: int
    title: str
    due: dt.date | None
    left: int
    owner: str | None
    leader: str | None
    department: str | None


@dataclass
class Board:
    """What the dashboard shows of some rounds (a unit's, or every round for the county)."""

    round_ids: list[int]
    units: list[str]  # by name
    lights: Counter[str | None] = field(default_factory=Counter)  # "done" for a done item, else its light
    by_unit: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    states: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # + "red": overdue
    # within each unit: its aspects by title (with the feedback's number), its departments
    aspects: dict[str, dict[str | None, Tally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))
    aspect_no: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    departments: dict[str, dict[str | None, Tally]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))
    overdue: list[Overdue] = field(default_factory=list)  # the ones shown, the longest overdue first
    overdue_count: int = 0
    unit_of: dict[int, str] = field(default_factory=dict)  # each round's unit
    # every overdue item by round, without its words (read `words=False`): `overdue_in_turn`
    late: dict[int, Late] = field(default_factory=dict)


class Late:
    """A round's overdue items without their words: ids, working days left and due days
    (ordinals, 0: none) in arrays, some twenty bytes an item (a province's bulletin names
    hundreds of thousands)."""

    __slots__ = ("due", "ids", "left")

    def __init__(self) -> None:
        self.ids, self.left, self.due = array("q"), array("i"), array("i")

    def add(self, left: int, item_id: int, due: dt.date | None) -> None:
        self.ids.append(item_id)
        self.left.append(left)
        self.due.append(due.toordinal() if due is not None else 0)

    def listed(self) -> Iterator[tuple[int, int, dt.date | None]]:
        for item_id, left, due in zip(self.ids, self.left, self.due, strict=True):
            yield left, item_id, dt.date.fromordinal(due) if due else None


def read(today: dt.date, rules: Rules, cal: WorkCalendar, *, session: Session, unit: str | None = None,
         round_ids: list[int] | None = None, shown: int | None = None, words: bool = True) -> Board:
    """The board of one unit's rounds (`unit`, its exact name), of `round_ids`, or of every
    round; `shown`: how many overdue items it lists (the longest overdue; None: all);
    `words=False`: none, every overdue item kept by round without its words, to be read
    unit by unit (`overdue_in_turn`)."""
    rounds_query = select(Round.id, Unit.name).join(Unit, Round.unit_id == Unit.id).order_by(Unit.name, Round.id)
    if unit is not None:
        rounds_query = rounds_query.where(Unit.name == unit)
    if round_ids is not None:
        rounds_query = rounds_query.where(Round.id.in_(round_ids))
    unit_of: dict[int, str] = {round_id: name for round_id, name in session.execute(rounds_query)}
    board = Board(list(unit_of), sorted(set(unit_of.values())), unit_of=unit_of)
    aspects = _aspects(board, unit_of, session=session)
    # a unit's or the rounds asked for; else every round, which needs no condition
    in_rounds = (Item.round_id.in_(board.round_ids),) if unit is not None or round_ids is not None else ()
    query = (select(Item.id, Item.round_id, Item.aspect_id, Item.department, *timing_columns())
             .join(Round, Item.round_id == Round.id).where(counted(Item), *in_rounds))
    timings = Timings(today, rules, cal)
    late: list[tuple[int, int, dt.date | None]] = []  # (working days left, item id, due) of every overdue item
    for item_id, round_id, aspect_id, department, *columns in driver_rows(session.connection(), query):
        name = unit_of[round_id]
        done = columns[0] == ItemState.DONE
        due, left, light = timings.of(tuple(columns))
        red = not done and light == "red"
        board.lights["done" if done else light] += 1
        board.states[name][columns[0]] += 1
        board.states[name]["red"] += red
        for tally in (board.by_unit[name], board.aspects[name][aspects.get(aspect_id)],
                      board.departments[name][department]):
            tally.total += 1
            tally.done += done
            tally.red += red
        if red and words:
            late.append((left or 0, item_id, due))
        elif red:
            board.late.setdefault(round_id, Late()).add(left or 0, item_id, due)
    board.overdue_count = len(late) + sum(len(kept.ids) for kept in board.late.values())
    listed = late if shown is None else heapq.nsmallest(shown, late)
    board.overdue = _words(listed, unit_of, in_rounds, session=session)
    return board


UNITS_AT_ONCE = 50  # `overdue_in_turn` reads the words of this many units' overdue items at a time


def overdue_in_turn(board: Board, units: list[str], *, session: Session,
                    at_once: int = UNITS_AT_ONCE) -> Iterator[tuple[str, list[Overdue]]]:
    """Each of `units` (in that order) with its overdue items and their words, the longest
    overdue first, from a board read `words=False`: the words read for `at_once` units at
    a time, so only theirs are held."""
    rounds_of: dict[str, list[int]] = defaultdict(list)
    for round_id, name in board.unit_of.items():
        rounds_of[name].append(round_id)
    for start in range(0, len(units), at_once):
        batch = units[start:start + at_once]
        round_ids = [rid for name in batch for rid in rounds_of.get(name, []) if rid in board.late]
        listed = [entry for rid in round_ids for entry in board.late[rid].listed()]
        by_unit: dict[str, list[Overdue]] = defaultdict(list)
        for o in _words(listed, board.unit_of, (Item.round_id.in_(round_ids),), session=session):
            by_unit[o.unit].append(o)
        for name in batch:
            yield name, by_unit.pop(name, [])


def _aspects(board: Board, unit_of: dict[int, str], *, session: Session) -> dict[int, str]:
    """Each aspect's title by id, and (per unit) the number the feedback gave it first."""
    titles: dict[int, str] = {}
    rows = session.execute(select(Aspect.id, Aspect.round_id, Aspect.no, Aspect.title)
                           .where(Aspect.round_id.in_(board.round_ids)).order_by(Aspect.round_id, Aspect.no)).all()
    rounds_in_order = {rid: n for n, rid in enumerate(board.round_ids)}
    for aspect_id, round_id, no, title in sorted(rows, key=lambda r: rounds_in_order[r.round_id]):
        titles[aspect_id] = title
        board.aspect_no[unit_of[round_id]].setdefault(title, no)
    return titles


BY_ID = 1_000  # more overdue items than this: their words are sifted from every open item's


def _words(listed: list[tuple[int, int, dt.date | None]], unit_of: dict[int, str], in_rounds: tuple[Any, ...], *,
           session: Session) -> list[Overdue]:
    """The overdue items listed, with their words, the longest overdue first, then in the
    sheet's order. A few are read by id; many (a county bulletin names tens of thousands)
    from one SELECT of the open items of these rounds, which binds no list of ids."""
    timing = {item_id: (left, due) for left, item_id, due in listed}
    words = select(Item.id, Item.round_id, Item.no, Item.listed, Item.former_no, Item.former_seq, Item.title,
                   Item.owner, Item.leader, Item.department)
    if len(timing) <= BY_ID:
        reads = [words.where(Item.id.in_(list(timing)))] if timing else []
    else:
        active = Item.status.in_(ACTIVE)  # (of some rounds: read through their index, not the state's)
        dialect = session.connection().dialect.name
        reads = [words.where(db.common(active, dialect), *in_rounds) if in_rounds else words.where(active)]
    out = []
    for query in reads:
        for item_id, round_id, no, listed, former_no, former_seq, title, owner, leader, department in driver_rows(
                session.connection(), query):
            if (found := timing.get(item_id)) is not None:
                left, due = found
                out.append(Overdue(item_id, item_ref(no, bool(listed), former_no, former_seq), unit_of[round_id],
                                   round_id, title, due, left, owner, leader, department))
    return sorted(out, key=lambda o: (o.left, order(o.ref), o.unit, o.round_id, o.item_id))


def figures(board: Board, default_office: str, *, session: Session) -> list[UnitFigures]:
    """The figures of the board's units (a county file names no other unit)."""
    shown = set(board.units)
    return [f for f in counted_figures(board.states, default_office, session=session) if f.unit in shown]
