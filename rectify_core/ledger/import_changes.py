"""The import half of the item lifecycle (see ledger.lifecycle): what an import would change
on an item, and the change applied or undone. An import may raise an unpinned status but
never lowers or overwrites a pinned field: it records a "report disagrees" event instead."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from rectify_core import bulk
from rectify_core.ledger import holders
from rectify_core.ledger.lifecycle import FIELD_NAMES, PIN_COLUMNS, PIN_NAMES, event, jsonable, unpin
from rectify_core.ledger.models import Event, Item
from rectify_core.vocab import (
    RANK,
    ItemState,
)

# --- imports ---------------------------------------------------------------------

@dataclass
class ImportChange:
    """What an import did, or would do, to one item."""

    no: int
    title: str
    changes: dict[str, list[Any]] = field(default_factory=dict)  # column -> [old, new]
    disagreements: list[dict[str, Any]] = field(default_factory=list)


def _status_verdict(item: Any, file_status: str) -> str:
    """apply | same | disagree, for a file's status against the item's."""
    if file_status == item.status:
        return "same"
    pin = (item.pinned or {}).get("status")
    if RANK.get(file_status, 0) < RANK.get(item.status, 0):
        return "disagree"  # no import lowers a status, whoever set it: it is told, and kept
    if pin is None:
        return "apply"
    return "apply" if pin == "progress" and RANK[file_status] > RANK[item.status] else "disagree"


BATCH = 5000


@dataclass(frozen=True)
class ImportRun:
    """One import as its transitions record it: when, the day the file stands for, the
    file (`source`) and the batch it belongs to."""

    now: dt.datetime
    report_date: dt.date | None
    source: dict[str, Any]
    batch_id: int
    # disagreements already recorded (item, field, file value): not repeated
    known_disagreements: set[tuple[int, str, str]] = field(default_factory=set)


def imported(rows: list[dict[str, Any]], run: ImportRun, *, session: Session,
             into: bulk.Writer | None = None, ids: list[int] | None = None) -> dict[int, int]:
    """New items from a file, in batches (one INSERT per few thousand rows, not one per
    item), each with its "imported" event; written by `into` when given (the caller's
    run of inserts), else at once; with the new `ids` when the caller took them
    (bulk.take_ids). `rows` are item column values; returns number -> id."""
    if into is None:
        with bulk.writer(session) as own:
            return imported(rows, run, session=session, into=own, ids=ids)
    now, source, batch_id = run.now, run.source, run.batch_id
    for row in rows:
        row["done_on"] = (run.report_date or now.date()) if row["status"] == ItemState.DONE else None
    items, events = cast(Table, Item.__table__), cast(Table, Event.__table__)
    by_no = dict(zip((r["no"] for r in rows), ids or bulk.take_ids(session, items, len(rows)), strict=True))
    # items with the same status wording share one data object (the insert encodes it once)
    data: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        into.insert_all(items, [{"id": by_no[r["no"]], **r} for r in chunk])
        holders.add(((by_no[r["no"]], r.get("owner"), r.get("leader")) for r in chunk), session=session, into=into)
        into.insert_all(events, [
            {"round_id": r["round_id"], "item_id": by_no[r["no"]], "at": now, "kind": "imported", "actor": "import",
             "data": data.get((r["status"], r["status_text"])) or data.setdefault(
                 (r["status"], r["status_text"]), {**source, "status": r["status"], "status_text": r["status_text"]}),
             "batch_id": batch_id}
            for r in chunk])
    return by_no


def plan_import(item: Any, values: dict[str, Any], no: int | None = None) -> ImportChange:
    """Compare a file's values with an item (an Item, or a row of its columns), writing
    nothing: the changes an import would apply, and the pinned fields where the file
    disagrees. `no`: the item's number in the file, when it differs from the stored one."""
    change = ImportChange(no or item.no, item.title)
    pinned = item.pinned or {}
    protected = {col: name for name, cols in PIN_COLUMNS.items() if name in pinned for col in cols}
    status_verdict = _status_verdict(item, values["status"])
    for col, new in values.items():
        old = getattr(item, col)
        if old == new or _same(col, old, new, item, values):
            continue
        if col in ("status", "status_text"):
            if status_verdict == "apply" or (col == "status_text" and "status" not in pinned):
                change.changes[col] = [jsonable(old), jsonable(new)]
            elif col == "status" and status_verdict == "disagree":
                change.disagreements.append(_disagreement(item, change.no, "status", ItemState(old).label,
                                                          ItemState(new).label, values["status_text"]))
        elif col in protected:
            if col == PIN_COLUMNS[protected[col]][0]:
                change.disagreements.append(_disagreement(item, change.no, protected[col], jsonable(old),
                                                          jsonable(new)))
        else:
            change.changes[col] = [jsonable(old), jsonable(new)]
    return change


_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _same(col: str, old: Any, new: Any, item: Any, values: dict[str, Any]) -> bool:
    """No change worth recording: empty for empty, or a deadline written as the date it
    already is (rectify's own export writes a date cell where the sheet had words)."""
    if old in _EMPTY and new in _EMPTY:
        return True
    return (col == "deadline_text" and item.deadline is not None and values.get("deadline") == item.deadline
            and new == item.deadline.isoformat())


def _disagreement(item: Any, no: int, name: str, kept: Any, file: Any, wording: str | None = None) -> dict[str, Any]:
    why = PIN_NAMES.get((item.pinned or {}).get(name, ""), "已在 rectify 中记录")
    said = "（空）" if file is None else file
    shown = f"“{wording}”（即{said}）" if wording and wording != said else f"“{said}”"
    return {"field": name, "kept": kept, "file": file,
            "message": f"问题{no}：文件中的{FIELD_NAMES[name]}为{shown}，但该问题{why}"
                       f"（{'未注明' if kept is None else kept}），已保留 rectify 中的记录"}


def apply_import(item: Item, change: ImportChange, values: dict[str, Any], run: ImportRun, *,
                 session: Session) -> None:
    """Apply what `plan_import` found, with one event for the changes and one per new
    disagreement (a disagreement already recorded for the same file value is not repeated)."""
    now, source, batch_id, known_disagreements = run.now, run.source, run.batch_id, run.known_disagreements
    for col in change.changes:
        setattr(item, col, values[col])
    if {"owner", "leader"} & change.changes.keys():
        holders.replace(item, session=session)
    if "status" in change.changes:
        unpin(item, "status")
        today = run.report_date or now.date()
        item.done_on = (item.done_on or today) if item.status == ItemState.DONE else None
    if change.changes:
        item.updated_at = now
        kind = "status_changed" if "status" in change.changes else "updated"
        event(item, kind, "import", now, {**source, "changes": change.changes}, session=session, batch_id=batch_id)
    for d in change.disagreements:
        key = (item.id, d["field"], str(d["file"]))
        if key in known_disagreements:
            continue
        known_disagreements.add(key)
        event(item, "import_disagrees", "import", now, {**source, **d}, session=session, batch_id=batch_id)


def restore(item: Item, old: dict[str, Any], by: str, now: dt.datetime, batch_id: int, *, session: Session) -> None:
    """Undo one import's changes to an item (the values it had before)."""
    for col, value in old.items():
        if col in ("deadline", "done_on") and value is not None:
            value = dt.date.fromisoformat(value)
        setattr(item, col, value)
    if {"owner", "leader"} & old.keys():
        holders.replace(item, session=session)
    item.updated_at = now
    event(item, "import_undone", by, now, {"batch": batch_id, "restored": sorted(old)}, session=session,
          batch_id=batch_id)
