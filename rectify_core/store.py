"""Writing a parsed ledger into the database.

One call is one import: the caller's transaction makes it all-or-nothing. Items
are matched by (round, number), so importing the same file twice changes nothing
and a newer report of the same round updates items with events for each change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core.importers.parsed import ParsedHeading, ParsedItem, ParsedLedger
from rectify_core.models import Aspect, Event, Item, Measure, Person, Round, Topic, Unit

# Item columns copied from the parsed item; a change in any is an "updated" event.
COPIED = ("title", "status", "status_text", "immediate", "deadline", "deadline_kind",
          "deadline_text", "leader", "leader_title", "department", "owner",
          "measures_text", "evidence", "figures")


@dataclass(frozen=True)
class ImportResult:
    round_id: int
    round_name: str
    unit: str
    created: int
    updated: int
    unchanged: int


def _unit(name: str, *, session: Session) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        unit = Unit(name=name)
        session.add(unit)
        session.flush()
    return unit


def _round(parsed: ParsedLedger, unit: Unit, now: dt.datetime, *, session: Session) -> Round:
    rnd = session.scalar(select(Round).where(Round.unit_id == unit.id,
                                             Round.name == parsed.round_name))
    if rnd is None:
        rnd = Round(unit_id=unit.id, name=parsed.round_name, imported_at=now)
        session.add(rnd)
    for attr in ("inspector", "inspection_start", "inspection_end", "feedback_date",
                 "report_date"):
        value = getattr(parsed, attr)
        if value is not None:
            setattr(rnd, attr, value)
    rnd.source_name, rnd.source_sha256, rnd.imported_at = parsed.source_name, parsed.sha256, now
    session.flush()
    return rnd


def _headings(rnd: Round, parsed: ParsedLedger, *, session: Session) -> tuple[
        dict[int, int], dict[int, int]]:
    """Upsert aspects and topics; return number -> id maps."""
    aspects = {a.no: a for a in session.scalars(select(Aspect).where(Aspect.round_id == rnd.id))}
    topics = {t.no: t for t in session.scalars(select(Topic).where(Topic.round_id == rnd.id))}
    for h in parsed.aspects:
        _upsert_heading(aspects, h, lambda h=h: Aspect(round_id=rnd.id, no=h.no), session)
    session.flush()
    for h in parsed.topics:
        topic = _upsert_heading(topics, h, lambda h=h: Topic(round_id=rnd.id, no=h.no), session)
        topic.aspect_id = aspects[h.aspect_no].id if h.aspect_no in aspects else None
    session.flush()
    return {n: a.id for n, a in aspects.items()}, {n: t.id for n, t in topics.items()}


def _upsert_heading(existing: dict[int, Any], h: ParsedHeading, make: Any, session: Session) -> Any:
    row = existing.get(h.no)
    if row is None:
        row = existing[h.no] = make()
        session.add(row)
    row.title = h.title
    return row


def _people(unit: Unit, people: list[tuple[str, str]], *, session: Session) -> None:
    known = set(session.execute(select(Person.name, Person.role).where(Person.unit_id == unit.id)))
    for name, role in people:
        if (name, role) not in known:
            session.add(Person(unit_id=unit.id, name=name, role=role))


def _values(p: ParsedItem) -> dict[str, Any]:
    return {name: getattr(p, name) for name in COPIED}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def save_ledger(parsed: ParsedLedger, now: dt.datetime, *, session: Session) -> ImportResult:
    """Insert or update the round, its headings, items, measures, and events."""
    unit = _unit(parsed.unit, session=session)
    rnd = _round(parsed, unit, now, session=session)
    aspect_ids, topic_ids = _headings(rnd, parsed, session=session)
    _people(unit, parsed.people, session=session)
    existing = {i.no: i for i in session.scalars(select(Item).where(Item.round_id == rnd.id))}
    created = updated = 0
    source: dict[str, Any] = {"source": parsed.source_name, "sha256": parsed.sha256}
    for p in parsed.items:
        values = _values(p)
        item = existing.get(p.no)
        if item is None:
            item = Item(round_id=rnd.id, no=p.no, updated_at=now, **values)
            session.add(item)
            created += 1
            kind = "imported"
            data: dict[str, Any] = {**source, "status": p.status, "status_text": p.status_text}
        else:
            changed = {k: [_jsonable(getattr(item, k)), _jsonable(v)]
                       for k, v in values.items() if getattr(item, k) != v}
            if not changed:
                continue
            updated += 1
            for k, v in values.items():
                setattr(item, k, v)
            item.updated_at = now
            kind = "status_changed" if "status" in changed else "updated"
            data = {**source, "changes": changed}
        item.aspect_id = aspect_ids.get(p.aspect_no) if p.aspect_no else None
        item.topic_id = topic_ids.get(p.topic_no) if p.topic_no else None
        item.source_line = p.line
        item.measures = [Measure(seq=n, date=m.date, date_end=m.date_end, text=m.text)
                         for n, m in enumerate(p.measures, start=1)]
        session.flush()
        session.add(Event(round_id=rnd.id, item_id=item.id, at=now, kind=kind,
                          actor="import", data=data))
    session.flush()
    return ImportResult(rnd.id, rnd.name, unit.name, created, updated,
                        len(parsed.items) - created - updated)
