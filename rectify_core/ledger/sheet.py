"""Numbers follow the latest sheet: after a sheet's rows are matched to a round's items
(`matching`), matched items take the row's 序号 and items the sheet does not list are set
aside from its numbers, each change an event the item's trail shows.

A number is a label the office changes every few weeks; the item is what it says. An
item the sheet does not list keeps its state and is still chased until the clerk
decides (撤销 or 合并); it holds -id as its number (no sheet uses one) and remembers the
number it had, which is how people know it: "原问题3".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from rectify_core.bulk import insert_all, update_all
from rectify_core.ledger import db, import_changes
from rectify_core.ledger.matching import Known, Matching
from rectify_core.ledger.models import Event, Item
from rectify_core.ledger.models.core import shown_number
from rectify_core.refs import item_ref
from rectify_core.vocab import EventKind


@dataclass(frozen=True)
class SetAside:
    """An item the latest sheet does not list."""

    id: int
    no: int  # the number it had
    title: str
    status: str
    new: bool  # this import set it aside (else an earlier one did)
    ref: str = ""  # how it is named now: 原3


PARK_CHUNK = 10_000


def apply(matching: Matching, current: dict[int, Any], run: import_changes.ImportRun, *,
          session: Session) -> tuple[dict[str, dict[str, Any]], list[SetAside], list[dict[str, Any]]]:
    """Park the items whose numbers change and record their events (renumbered, set
    aside); returns what they were before (for undo), the items set aside, and their new
    numbers, which `write_places` writes together with the rows' new places."""
    moves = {m.item_id: m.row_no for m in matching.matches if current[m.item_id].no != m.row_no}
    gone = [k for k in matching.missing if current[k.id].listed]
    before = {str(i): _numbers(current[i]) for i in [*moves, *(k.id for k in gone)]}
    # parked first, at numbers no sheet uses: two items never share one mid-way; in chunks,
    # as no driver binds a hundred thousand parameters (PostgreSQL stops at 65,535)
    parked = [int(i) for i in before]
    dialect = session.get_bind().dialect
    for chunk in db.id_chunks(parked, PARK_CHUNK):
        session.execute(update(Item).where(db.one_of(Item.id, chunk, dialect))
                        .values(no=-Item.id).execution_options(synchronize_session=False))
    seqs = _former_seqs(current, gone)
    numbers = [{"id": i, "no": no, "listed": True, "former_no": None, "former_seq": None} for i, no in moves.items()]
    numbers += [{"id": k.id, "no": -k.id, "listed": False, "former_no": k.no, "former_seq": seqs[k.id]} for k in gone]
    events = [_event(current[i], EventKind.RENUMBERED if current[i].listed else EventKind.RELISTED,
                     {"from": shown_number(current[i].no, current[i].listed, current[i].former_no), "to": no}, run)
              for i, no in moves.items()]
    events += [_event(current[k.id], EventKind.UNLISTED,
                      {"no": k.no, "ref": item_ref(-k.id, False, k.no, seqs[k.id])}, run) for k in gone]
    insert_all(session, Event.__table__, events)
    aside = [SetAside(k.id, k.no, k.title, current[k.id].status, current[k.id].listed,
                      item_ref(-k.id, False, k.no, seqs.get(k.id, current[k.id].former_seq))) for k in matching.missing]
    return before, aside, numbers


PLACE = ("aspect_id", "topic_id", "source_line")


def write_places(numbers: list[dict[str, Any]], moved: list[dict[str, Any]], placed: dict[int, dict[str, Any]],
                 current: dict[int, Any], *, session: Session) -> None:
    """The new numbers (from `apply`) and the new places in the sheet (`moved`: items whose
    only change is their place) in one statement (PostgreSQL) or one executemany: every
    row its item's number and place, a renumbered row the place of its line in the file."""
    rows: dict[int, dict[str, Any]] = {}
    for n in numbers:
        place = placed[n["no"]] if n["listed"] else {k: getattr(current[n["id"]], k) for k in PLACE}
        rows[n["id"]] = {**n, **place}
    for m in moved:
        rows[m["id"]] = {**rows.get(m["id"], {"id": m["id"], **_numbers(current[m["id"]])}), **m}
    update_all(session, Item.__table__, list(rows.values()))


def _former_seqs(current: dict[int, Any], gone: list[Known]) -> dict[int, int | None]:
    """The reference each newly set-aside item takes: 原N, or 原N-2 (-3…) when an item of
    the round set aside earlier already answers to 原N — so no two items share one."""
    taken: dict[int, int] = {}
    for row in current.values():
        if not row.listed and row.former_no is not None:
            taken[row.former_no] = max(taken.get(row.former_no, 0), row.former_seq or 1)
    seqs: dict[int, int | None] = {}
    for known in gone:
        seq = taken.get(known.no, 0) + 1
        taken[known.no] = seq
        seqs[known.id] = seq if seq > 1 else None
    return seqs


def known_of(row: Any, aspects: dict[int, str], recorded: tuple[str, ...] = ()) -> Known:
    """An item's row (store._current) as matching reads it; `recorded`: what people
    recorded on it in rectify."""
    return Known(row.id, shown_number(row.no, row.listed, row.former_no), row.title,
                 aspects.get(row.aspect_id) if row.aspect_id else None, row.owner, row.leader, row.department,
                 row.measures_text, item_ref(row.no, row.listed, row.former_no, row.former_seq), recorded)


def _numbers(row: Any) -> dict[str, Any]:
    return {"no": row.no, "listed": row.listed, "former_no": row.former_no, "former_seq": row.former_seq}


def _event(row: Any, kind: EventKind, data: dict[str, Any], run: import_changes.ImportRun) -> dict[str, Any]:
    """The event of one item's new number, as a row for the bulk insert."""
    return {"round_id": row.round_id, "item_id": row.id, "at": run.now, "kind": kind, "actor": "import",
            "data": {**run.source, **data}, "batch_id": run.batch_id}
