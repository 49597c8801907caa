"""The office's ledger list at county scale: every counted item at a glance (its round,
state, whether the sheet lists it, due date, working days left and light) from one SELECT
and the planner's timings alone, kept for as long as nothing was written; the full rows
are read for the page shown only.

A plan without people costs a dictionary lookup per item (timings are shared by items of
the same dates and state), so the glance of 100,000 items is a SELECT and a pass; the pass
is kept per process and day until an event is written or an item changes (every change of
the record writes one), so a clerk paging and filtering reads only what changed: nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.people import Directory
from rectify_core.config.rules import Rules
from rectify_core.deadlines.plan import Planner
from rectify_core.deadlines.types import Obligation
from rectify_core.fetch import driver_rows
from rectify_core.ledger.models import Event, Item, Round, Unit
from rectify_core.ledger.view import counted
from rectify_core.vocab import ACTIVE, ItemState


@dataclass(frozen=True)
class Glance:
    """One counted item as the list sees it before its row is read."""

    item_id: int
    round_id: int
    status: str
    listed: bool
    due: dt.date | None
    left: int | None
    light: str | None

    @property
    def colour(self) -> str:
        """The light a list counts it under: done, or its light (none when it has no date)."""
        return "done" if self.status == ItemState.DONE else (self.light or "none")


@dataclass(frozen=True)
class ListedRow:
    """One row of the page shown: the glance with what the page prints."""

    unit: str
    ref: str
    item_id: int
    title: str
    listed: bool
    leader: str | None
    owner: str | None
    due: dt.date | None
    workdays_left: int | None
    status: str
    light: str | None


class Glances:
    """Every counted item at a glance, and (made when first asked) each round's in order
    with what a list counts of them: by light, by state ("state:open") and off the sheet."""

    def __init__(self, rows: list[Glance]) -> None:
        self.rows = rows
        self._rounds: dict[int, tuple[list[Glance], Counter[str]]] | None = None

    @property
    def rounds(self) -> dict[int, tuple[list[Glance], Counter[str]]]:
        if self._rounds is None:
            found: dict[int, tuple[list[Glance], Counter[str]]] = {}
            for g in self.rows:
                if (held := found.get(g.round_id)) is None:
                    held = found[g.round_id] = ([], Counter())
                held[0].append(g)
            for rows, counts in found.values():
                counts.update([g.colour for g in rows] + [f"state:{g.status}" for g in rows])
                counts["offsheet"] = sum(not g.listed for g in rows)
            self._rounds = found
        return self._rounds


_CACHE: dict[tuple[Any, ...], Glances] = {}
_LOCK = threading.Lock()


def version(*, session: Session) -> tuple[Any, ...]:
    """What changes whenever the record does: the newest event, the number of items and
    the latest item change (three index-backed aggregates)."""
    newest = session.scalar(select(func.max(Event.id)))
    # apart: together, the maximum is no longer read from its index's end
    items, changed = session.scalar(select(func.count()).select_from(Item)), session.scalar(
        select(func.max(Item.updated_at)))
    return newest, items, changed


def glances(today: dt.date, rules: Rules, cal: WorkCalendar, *, session: Session) -> list[Glance]:
    """Every counted item at a glance, in the order the office reads them (unit, round,
    the sheet's order, then the items it no longer lists); kept until the record changes."""
    return kept(today, rules, cal, session=session).rows


def kept(today: dt.date, rules: Rules, cal: WorkCalendar, *, session: Session) -> Glances:
    """The glances, and each round's (`Glances`), kept per process until the record changes."""
    key = (str(session.connection().engine.url), id(rules), id(cal), today, version(session=session))
    with _LOCK:
        if (found := _CACHE.get(key)) is not None:
            return found
    made = Glances(_glances(today, rules, cal, session=session))
    with _LOCK:
        _CACHE.clear()  # one day and version per process: the newest
        _CACHE[key] = made
    return made


def query() -> Any:
    """Every counted item's dates and state, in the office's order: the glance's one SELECT."""
    return (select(Item.id, Item.round_id, type_coerce(Item.status, String), type_coerce(Item.deadline_kind, String),
                   Item.deadline, Item.extended_to, Round.feedback_date, Item.overdue_since, Item.rebound_count,
                   Item.listed)
            .join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id).where(counted(Item))
            .order_by(Unit.name, Round.id, Item.listed.desc(), Item.shown_no, Item.former_seq))


def _glances(today: dt.date, rules: Rules, cal: WorkCalendar, *, session: Session) -> list[Glance]:
    timings = Timings(today, rules, cal)
    out = []
    for item_id, round_id, status, kind, deadline, extended, feedback, overdue, rebounds, listed in (
            session.connection().execute(query())):
        due, left, light = timings.of((status, kind, deadline, extended, feedback, overdue is not None, rebounds))
        out.append(Glance(item_id, round_id, status, bool(listed), due, left, light))
    return out


def timing_columns() -> tuple[Any, ...]:
    """What an item's timing reads, as the driver gives it (for `Timings.of`): its state,
    deadline kind, dates (ISO text on SQLite), whether it was ever overdue and rebounds.
    A SELECT of them joins Round (the feedback date)."""
    return (type_coerce(Item.status, String), type_coerce(Item.deadline_kind, String), _raw_date(Item.deadline),
            _raw_date(Item.extended_to), _raw_date(Round.feedback_date), Item.overdue_since.is_not(None),
            Item.rebound_count)


class Timings:
    """Due date, working days left and light of items read by `timing_columns`, each
    distinct set of them planned once (a county's items share a few hundred): a row costs a
    lookup. A done item has none."""

    def __init__(self, today: dt.date, rules: Rules, cal: WorkCalendar) -> None:
        self._planner = Planner(today, rules, {}, cal, Directory())
        self._known: dict[tuple[Any, ...], tuple[dt.date | None, int | None, str | None]] = {}

    def of(self, columns: tuple[Any, ...]) -> tuple[dt.date | None, int | None, str | None]:
        found = self._known.get(columns)
        if found is None:
            status, kind, deadline, extended, feedback, overdue, rebounds = columns
            found = self._known[columns] = (None, None, None) if status not in ACTIVE else self._planner.glance(
                Obligation(0, 0, "", "", "", "", status, kind, _date(deadline), _date(extended), _date(feedback),
                           None, None, dt.date.min if overdue else None, rebounds or 0))
        return found


def tally(today: dt.date, rules: Rules, cal: WorkCalendar, *, session: Session) -> Counter[tuple[int, str, bool]]:
    """How many counted items each round has in each state, overdue or not: what `units`
    counts, from one SELECT without order and a lookup a row (`Timings`)."""
    query = select(Item.round_id, *timing_columns()).join(Round, Item.round_id == Round.id).where(counted(Item))
    timings = Timings(today, rules, cal)
    counts: Counter[tuple[int, str, bool]] = Counter()
    for row in driver_rows(session.connection(), query):
        counts[row[0], row[1], timings.of(row[1:])[2] == "red"] += 1
    return counts


def _raw_date(column: Any) -> Any:
    """A DATE column as the driver gives it: ISO text on SQLite (made a date by `_date`)."""
    return type_coerce(column, String)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def rows_of(shown: list[Glance], *, session: Session) -> list[ListedRow]:
    """The rows of the page: what the glance has, with the words read for these items only."""
    by_id = {g.item_id: g for g in shown}
    found = {r.id: r for r in session.execute(
        select(Item.id, Item.ref, Item.title, Item.leader, Item.owner, Unit.name.label("unit"))
        .join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
        .where(Item.id.in_(list(by_id))))}
    return [ListedRow(found[g.item_id].unit, found[g.item_id].ref, g.item_id, found[g.item_id].title, g.listed,
                      found[g.item_id].leader, found[g.item_id].owner, g.due, g.left, g.status, g.light)
            for g in shown if g.item_id in found]
