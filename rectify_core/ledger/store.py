"""Writing a parsed ledger into the database, as one recorded batch.

One call is one import: the caller's transaction makes it all-or-nothing, and a dry
run is the same call in a transaction that is rolled back. The round is found by its
identity (unit + inspection, see `identity.round_key`), never by file name; a file
that would start a new round looking like an existing one is refused. Items are
matched by what they say, not by number (`matching`); numbers then follow the sheet and
items it no longer lists are set aside from its numbers (`sheet`), each an event. Items
change only through the lifecycle's import transition, which keeps what people
recorded in rectify. A file that changes nothing records no batch.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core import bulk
from rectify_core.bulk import gc_paused
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.identity import person_name, round_key
from rectify_core.importers.ledger import SHORT
from rectify_core.importers.parsed import ParsedHeading, ParsedItem, ParsedLedger
from rectify_core.ledger import db, import_changes, lifecycle, recorded, sheet, units, validate
from rectify_core.ledger.matching import Match, match_rows
from rectify_core.ledger.models import (
    Aspect,
    ImportBatch,
    Item,
    Measure,
    Person,
    Round,
    Topic,
    Unit,
)
from rectify_core.vocab import Role

# Item columns copied from the parsed item; a change in any is an "updated" event.
COPIED = ("title", "status", "status_text", "immediate", "deadline", "deadline_kind",
          "deadline_text", "leader", "leader_title", "department", "owner",
          "measures_text", "evidence", "figures", "extra")
ROUND_DATES = ("inspection_start", "inspection_end", "feedback_date", "report_date")
ROUND_FIELDS = ("inspector", *ROUND_DATES)
# a new round is refused as a likely duplicate when this share of its titles is already in one
SIMILAR_SHARE = 0.6
# events that do not count as a person's change to an item (an undo may still go ahead)

@dataclass
class ImportResult:
    round_id: int
    round_name: str
    unit: str
    batch_id: int | None  # None: the file changed nothing, and no batch was recorded
    round_created: bool
    created: list[tuple[int, str]] = field(default_factory=list)  # (no, title)
    changed: list[import_changes.ImportChange] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    matches: list[Match] = field(default_factory=list)  # rows matched to items, with the basis
    set_aside: list[sheet.SetAside] = field(default_factory=list)  # items the sheet does not list
    fresh_disagreements: int = 0  # not recorded by an earlier import of the same file value
    # items left with no due date (reference, title): never reminded until the round has a feedback date
    no_deadline: list[tuple[str, str]] = field(default_factory=list)
    appended: list[str] = field(default_factory=list)  # headings (方面、专题) the round did not have, put last

    @property
    def renumbered(self) -> list[Match]:
        return [m for m in self.matches if m.moved]

    @property
    def nothing(self) -> bool:
        """The file changed nothing at all."""
        return not (self.round_created or self.created or self.updated or self.fresh_disagreements or self.renumbered
                    or any(a.new for a in self.set_aside))

    @property
    def updated(self) -> int:
        return sum(1 for c in self.changed if c.changes)

    def as_json(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "round": self.round_name, "unit": self.unit, "batch": self.batch_id,
                "round_created": self.round_created,
                "created": [{"no": no, "title": t} for no, t in self.created],
                "updated": [{"no": c.no, "changes": c.changes} for c in self.changed if c.changes],
                "disagreements": self.disagreements, "unchanged": self.unchanged,
                "matches": [{"old_ref": m.old_ref, "no": m.row_no, "basis": m.basis} for m in self.matches],
                "no_deadline": [{"ref": ref, "title": t, "reason": recorded.NO_DEADLINE}
                                for ref, t in self.no_deadline],
                "not_in_sheet": [{"former_no": a.no, "ref": a.ref, "title": a.title, "status": a.status, "new": a.new}
                                 for a in self.set_aside]}


class SimilarRound(RefusedError):
    """A file for a new round that looks like round `round_id`: the clerk says which."""

    def __init__(self, round_id: int, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.round_id = round_id


def known_unit(name: str, *, session: Session) -> Unit | None:
    """The unit `name` names: the same name, or the same on the working copy (a report in
    traditional characters, full-width letters, stray spaces: the same unit)."""
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is not None:
        return unit
    return units.unit_by_key(name, session=session)


def _unit(name: str, *, session: Session) -> Unit:
    unit = known_unit(name, session=session)
    if unit is None:
        unit = Unit(name=name)
        session.add(unit)
        session.flush()
    return unit


def key_of(parsed: ParsedLedger) -> str:
    return parsed.round_key or round_key(parsed.inspector, parsed.feedback_date, parsed.round_name)


def _similar_round(parsed: ParsedLedger, unit: Unit | None, *, session: Session) -> tuple[Round, int] | None:
    """An existing round (of the same unit, or any when the file named no unit) holding
    most of this file's item titles."""
    titles = {person_name(p.title) for p in parsed.items if p.title}
    if not titles:
        return None
    query = select(Item.round_id, Item.title)
    if unit is not None:
        query = query.join(Round, Item.round_id == Round.id).where(Round.unit_id == unit.id)
    shared: dict[int, int] = {}
    for rid, title in session.execute(query):
        if person_name(title) in titles:
            shared[rid] = shared.get(rid, 0) + 1
    best = max(shared.items(), key=lambda kv: kv[1], default=None)
    if best is None or best[1] < SIMILAR_SHARE * len(titles):
        return None
    rnd = session.get(Round, best[0])
    assert rnd is not None
    return rnd, best[1]


def find_round(parsed: ParsedLedger, *, session: Session, round_id: int | None = None,
               new_round: bool = False) -> Round | None:
    """The round this file updates, or None for a new one. Refuses a new round that
    looks like an existing one unless `new_round`."""
    if round_id is not None:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise NotFoundError(f"没有编号为 {round_id} 的轮次", hint="rectify rounds 可列出全部轮次")
        return rnd
    unit = known_unit(parsed.unit, session=session)
    if unit is not None:
        rnd = session.scalar(select(Round).where(Round.unit_id == unit.id, Round.key == key_of(parsed)))
        if rnd is not None:
            return rnd
    if new_round:
        return None
    if parsed.unit_found and unit is None:
        return None  # a unit rectify does not know yet: its first round, whatever others hold
    similar = _similar_round(parsed, unit if parsed.unit_found else None, session=session)
    if similar is not None:
        rnd, shared = similar
        raise SimilarRound(
            rnd.id,
            f"{parsed.source_name} 看起来与已有轮次 {rnd.id}（{rnd.unit.name} / {rnd.name}）是同一轮巡察："
            f"文件中 {len(parsed.items)} 个问题有 {shared} 个与之相同，未导入。"
            "如是该轮次的新版台账或报告，请导入到该轮次；如确是新的一轮巡察，请确认是新轮次",
            hint=f"--round {rnd.id}，或 --new-round")
    return None


def _round(parsed: ParsedLedger, existing: Round | None, now: dt.datetime, *,
           session: Session) -> tuple[Round, dict[str, Any]]:
    """Create or update the round; returns it and its values before (for undo)."""
    if existing is None:
        unit = _unit(parsed.unit, session=session)
        key = key_of(parsed)
        taken = session.scalar(select(func.count()).select_from(Round).where(
            Round.unit_id == unit.id, Round.key.startswith(key, autoescape=True)))
        rnd = Round(unit_id=unit.id, key=f"{key}#{taken + 1}" if taken else key, name=parsed.round_name,
                    imported_at=now)
        session.add(rnd)
        before: dict[str, Any] = {}
    else:
        rnd = existing
        before = {a: lifecycle.jsonable(getattr(rnd, a))
                  for a in (*ROUND_FIELDS, "source_name", "source_sha256", "imported_at", "first_responsible")}
    for attr in ROUND_FIELDS:
        value = getattr(parsed, attr)
        if value is not None:
            setattr(rnd, attr, value)
    rnd.source_name, rnd.source_sha256, rnd.imported_at = parsed.source_name, parsed.sha256, now
    named = [n for n, role in parsed.people if role == Role.FIRST_RESPONSIBLE]
    if named and not rnd.first_responsible:
        rnd.first_responsible = named[0]
    session.flush()
    return rnd, before


def _headings(rnd: Round, parsed: ParsedLedger, *, session: Session) -> tuple[
        dict[int, int], dict[int, int], list[str]]:
    """Aspects and topics kept in the inspection's order: the file's numbers map to the
    round's headings by their words, so a sheet sorted another way never renumbers them; a
    heading the round does not have is appended after its last. Returns the file's number
    -> id maps, and the headings appended (to name in the import)."""
    aspects = list(session.scalars(select(Aspect).where(Aspect.round_id == rnd.id).order_by(Aspect.no)))
    topics = list(session.scalars(select(Topic).where(Topic.round_id == rnd.id).order_by(Topic.no)))
    added: list[str] = []
    aspect_ids = _placed(aspects, parsed.aspects, lambda no: Aspect(round_id=rnd.id, no=no), added, session)
    topic_of = {h.no: h for h in parsed.topics}
    topic_ids = _placed(topics, parsed.topics, lambda no: Topic(round_id=rnd.id, no=no), added, session)
    for topic in topics:
        for no, topic_id in topic_ids.items():
            aspect_no = topic_of[no].aspect_no
            if topic_id == topic.id and aspect_no is not None and aspect_no in aspect_ids:
                topic.aspect_id = aspect_ids[aspect_no]
    session.flush()
    return aspect_ids, topic_ids, added


def _placed(held: list[Any], given: list[ParsedHeading], make: Any, added: list[str],
            session: Session) -> dict[int, int]:
    """The round's heading for each of the file's (by the same words, else the same number
    when the round's heading of that number is not named otherwise in the file: a reworded
    heading), the missing ones appended in the file's order."""
    by_words: dict[str, list[Any]] = defaultdict(list)  # (a feedback may give two headings the same words)
    for x in held:
        by_words[person_name(x.title)].append(x)
    named = {person_name(h.title) for h in given}
    by_no = {h.no: h for h in held if person_name(h.title) not in named}
    out: dict[int, Any] = {}
    for h in given:
        same = by_words.get(person_name(h.title))
        row = same.pop(0) if same else by_no.pop(h.no, None)
        if row is None:
            row = make(max((x.no for x in held), default=0) + 1 if held else h.no)
            row.title = h.title
            session.add(row)
            if held:
                added.append(h.title)
            held.append(row)
        elif person_name(row.title) != person_name(h.title):
            row.title = h.title  # the same heading, reworded
        out[h.no] = row
    session.flush()
    return {no: row.id for no, row in out.items()}


def _people(unit_id: int, people: list[tuple[str, str]], *, session: Session) -> None:
    known: set[tuple[str, str]] = {(name, role) for name, role in
                                   session.execute(select(Person.name, Person.role).where(Person.unit_id == unit_id))}
    for name, role in people:
        if (name, role) not in known:
            known.add((name, role))
            session.add(Person(unit_id=unit_id, name=name, role=Role(role)))


def _values(p: ParsedItem) -> dict[str, Any]:
    return {name: getattr(p, name) for name in COPIED}


def _measures(p: ParsedItem) -> list[dict[str, Any]]:
    return [{"date": m.date, "date_end": m.date_end, "text": m.text} for m in p.measures]


def _measures_of(item: Item) -> list[dict[str, Any]]:
    return [{"date": m.date, "date_end": m.date_end, "text": m.text} for m in item.measures]


def set_measures(item: Item, measures: list[dict[str, Any]]) -> None:
    item.measures = [Measure(seq=n, **m) for n, m in enumerate(measures, start=1)]


def _create(new: list[ParsedItem], round_id: int, aspect_ids: dict[int, int], topic_ids: dict[int, int],
            run: import_changes.ImportRun, *, session: Session) -> list[int]:
    """Insert new items, their events and measures a batch at a time (memory stays flat);
    returns their ids."""
    created: list[int] = []
    new_ids = bulk.take_ids(session, Item.__table__, len(new))  # now: the writer has the connection below
    with bulk.writer(session) as into:
        for start in range(0, len(new), import_changes.BATCH):
            chunk = new[start:start + import_changes.BATCH]
            rows = [{"round_id": round_id, "no": p.no, "updated_at": run.now, "pinned": {}, "extension_count": 0,
                     "rebound_count": 0, "aspect_id": aspect_ids.get(p.aspect_no) if p.aspect_no else None,
                     "topic_id": topic_ids.get(p.topic_no) if p.topic_no else None, "source_line": p.line,
                     **_values(p)} for p in chunk]
            ids = import_changes.imported(rows, run, session=session, into=into,
                                          ids=new_ids[start:start + import_changes.BATCH])
            into.insert_all(Measure.__table__, [{"item_id": ids[p.no], "seq": n, **m} for p in chunk
                                                for n, m in enumerate(_measures(p), start=1)])
            created += [ids[p.no] for p in chunk]
    return created


_JSON_COPIED = ("evidence", "figures", "extra")  # lists and dicts: the heaviest part of a row in memory
_CHEAP = (Item.id, Item.round_id, Item.no, Item.listed, Item.former_no, Item.former_seq, Item.pinned, Item.aspect_id,
          Item.topic_id, Item.source_line, *(getattr(Item, c) for c in COPIED if c not in _JSON_COPIED))
_JSON = tuple(getattr(Item, c) for c in _JSON_COPIED)
_CurrentRow = db.row_type(select(*_CHEAP, *_JSON), "CurrentRow")
COMPARED_AT_ONCE = 2000  # matched items whose JSON columns are read together, then let go


def _current(round_id: int, *, session: Session) -> dict[int, Any]:
    """The round's items by id, as plain named tuples of what matching and numbering read,
    not ORM objects; their JSON columns are left empty (None) here and read a chunk at a
    time as the rows are compared (`_compared`): a weekly re-import of a large ledger
    holds the round's items once, lightly."""
    rows = session.execute(select(*_CHEAP).where(Item.round_id == round_id).execution_options(yield_per=5000))
    return {row[0]: _CurrentRow._make((*_shared(row), None, None, None)) for row in rows}


# columns whose few values repeat down a ledger (names, departments, statuses, deadlines)
_REPEATED = tuple(i for i, c in enumerate(_CHEAP) if c.key in ("status", "status_text", "deadline_kind",
                                                                "deadline_text", "leader", "leader_title",
                                                                "department", "owner"))


def _shared(row: Any) -> list[Any]:
    """A row's values, each repeated short text kept once however many rows repeat it (the
    driver makes a new string for every row)."""
    values = list(row)
    for i in _REPEATED:
        value = values[i]
        if type(value) is str and len(value) <= SHORT:
            values[i] = sys.intern(value)
    return values


def _compared(items: dict[int, Any], ids: list[int], *, session: Session) -> dict[int, Any]:
    """These items' rows whole, their JSON columns read now (for comparing with a file)."""
    return {item_id: items[item_id]._replace(**dict(zip(_JSON_COPIED, values, strict=True)))
            for item_id, *values in session.execute(
                select(Item.id, *_JSON).where(db.one_of(Item.id, ids, session.get_bind().dialect)))}


@dataclass(frozen=True)
class ImportChoices:
    """What the clerk said about a file: the round it updates (or that it starts a new
    one), rows matched by hand (old reference -> new number), and rows that are new
    problems whatever their titles resemble."""

    round_id: int | None = None
    new_round: bool = False
    match: dict[str, int] = field(default_factory=dict)  # old reference (13, 原13) -> the file's row
    new: tuple[int, ...] = ()  # rows the clerk says are new problems


def save_ledger(parsed: ParsedLedger, now: dt.datetime, *, session: Session,
                choices: ImportChoices = ImportChoices()) -> ImportResult:
    """Import one file as a batch: new items, changes, renumbering, items the sheet no
    longer lists, and disagreements with what people recorded in rectify (kept, and
    recorded as events). Nothing reaches the database that either database could not
    keep as it is (`validate.check`); a file that changes nothing records nothing."""
    with gc_paused():
        # two imports of one unit at once: the second waits, then finds the first's round
        db.serialise(session, "import:" + person_name(parsed.unit))
        nested = session.begin_nested()
        result = _save(parsed, now, choices, session=session)
        if result.nothing:
            nested.rollback()
            result.batch_id = None
        else:
            nested.commit()
        return result


def _save(parsed: ParsedLedger, now: dt.datetime, choices: ImportChoices, *, session: Session) -> ImportResult:
    validate.check(parsed)
    existing_round = find_round(parsed, session=session, round_id=choices.round_id, new_round=choices.new_round)
    rnd, round_before = _round(parsed, existing_round, now, session=session)
    batch = ImportBatch(round_id=rnd.id, source_name=Path(parsed.source_name).name, sha256=parsed.sha256,
                        report_date=parsed.report_date, at=now, round_created=existing_round is None,
                        round_before={**round_before, "name": rnd.name, "unit": rnd.unit.name}, created=[],
                        before={}, counts={})
    session.add(batch)
    session.flush()
    aspect_ids, topic_ids, appended = _headings(rnd, parsed, session=session)
    _people(rnd.unit_id, parsed.people, session=session)
    result = ImportResult(rnd.id, rnd.name, rnd.unit.name, batch.id, existing_round is None, appended=appended)
    items = _current(rnd.id, session=session)
    known = recorded.disagreements(rnd.id, session=session)
    # a file's name, never its path: events are read on people's phones
    source: dict[str, Any] = {"source": Path(parsed.source_name).name, "sha256": parsed.sha256, "batch": batch.id}
    aspect_titles = dict(session.execute(select(Aspect.id, Aspect.title).where(Aspect.round_id == rnd.id)).all())
    kept = recorded.by_people(rnd.id, session=session)
    matching = match_rows(parsed.items, [sheet.known_of(r, aspect_titles, kept.get(r.id, ()))
                                         for r in items.values()],
                          {h.no: h.title for h in parsed.aspects}, choices.match, choices.new)
    run = import_changes.ImportRun(now, parsed.report_date, source, batch.id, known)
    before, result.set_aside, numbers = sheet.apply(matching, items, run, session=session)
    result.matches = matching.matches
    created = _create(matching.new_rows, rnd.id, aspect_ids, topic_ids, run, session=session)
    result.created += [(p.no, p.title) for p in matching.new_rows]
    item_of = matching.item_of()
    placed = {p.no: {"aspect_id": aspect_ids.get(p.aspect_no) if p.aspect_no else None,
                     "topic_id": topic_ids.get(p.topic_no) if p.topic_no else None, "source_line": p.line}
              for p in parsed.items}
    matched = [(p, item_id) for p in parsed.items if (item_id := item_of.get(p.no, -1)) in items]
    moved: list[dict[str, Any]] = []  # items whose only change is their place in the sheet
    for start in range(0, len(matched), COMPARED_AT_ONCE):
        chunk = matched[start:start + COMPARED_AT_ONCE]
        whole = _compared(items, [item_id for _, item_id in chunk], session=session)
        moved += [{"id": item_id, **placed[p.no]} for p, item_id in chunk
                  if _update(p, whole[item_id], placed[p.no], run, result, before, session=session)]
    sheet.write_places(numbers, moved, placed, items, session=session)  # one statement for them all
    result.no_deadline = recorded.without_deadline(rnd, session=session)
    batch.created, batch.before = created, before
    batch.counts = {"created": len(result.created), "updated": result.updated,
                    "disagreements": len(result.disagreements), "unchanged": result.unchanged}
    session.flush()
    return result


def _update(p: ParsedItem, current: Any, placement: dict[str, Any], run: import_changes.ImportRun,
            result: ImportResult, before: dict[str, Any], *, session: Session) -> bool:
    """One matched row against its item: changes applied (lifecycle), old values kept for
    undo, disagreements recorded. True when only its place (aspect, topic, line) moved."""
    values = _values(p)
    change = import_changes.plan_import(current, values, p.no)
    moved = {k: v for k, v in placement.items() if getattr(current, k) != v}
    if not (change.changes or change.disagreements):
        result.unchanged += 1
        if moved:
            before[str(current.id)] = {**before.get(str(current.id), {}), **{k: getattr(current, k) for k in moved}}
        return bool(moved)
    with session.no_autoflush:  # the items changed before it are flushed together, not one by one here
        item = session.get_one(Item, current.id)
    old = {col: lifecycle.jsonable(getattr(item, col)) for col in [*change.changes, *moved, "done_on", "pinned"]}
    old = {**before.get(str(item.id), {}), **old}
    if "measures_text" in change.changes:
        old["measures"] = _measures_of(item)
        set_measures(item, _measures(p))
    for k, v in moved.items():
        setattr(item, k, v)
    result.fresh_disagreements += sum((item.id, d["field"], str(d["file"])) not in run.known_disagreements
                                      for d in change.disagreements)
    import_changes.apply_import(item, change, values, run, session=session)
    before[str(item.id)] = old
    result.changed.append(change)
    result.disagreements += change.disagreements
    return False
