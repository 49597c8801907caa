"""The item lifecycle: every change of an item's state goes through one of these
transitions, and each writes one event with old -> new values, who, when and why.

    open ──► ongoing ──► done ──► closed(销号) ──► look-back ──► consolidated
      ▲                                                │
      └──────────── reopened (rebound, linked) ◄───────┘

An import is one source of facts among several. What a person recorded in rectify
(a closure, progress, a rebound, a reassignment) pins the fields it set; an import
may raise an unpinned status but never lowers or overwrites a pinned field: it
records a "report disagrees" event instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from rectify_core import bulk
from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.limits import limits
from rectify_core.config.people import split_names
from rectify_core.config.rules import Rules
from rectify_core.deadlines.due import add_months, due_of
from rectify_core.errors import RefusedError
from rectify_core.identity import person_name
from rectify_core.ledger import holders
from rectify_core.ledger.act import Act, Terms
from rectify_core.ledger.models import Closure, Event, Item, LookbackTask, Notice, Round, Unit
from rectify_core.ledger.obligations import plan_item_of
from rectify_core.vocab import (
    ACTIVE,
    CLOSED_WORDING,
    LABELS,
    RANK,
    REBOUND_WORDING,
    SET_ASIDE,
    DeadlineKind,
    EventKind,
    ItemState,
    NoticeState,
    Role,
)

# a pinned field -> the item columns it protects from imports
PIN_COLUMNS = {"status": ("status", "status_text"), "owner": ("owner",), "leader": ("leader", "leader_title"),
               "deadline": ("deadline", "deadline_kind", "deadline_text")}
FIELD_NAMES = {"status": "完成情况", "owner": "责任人", "leader": "责任领导", "deadline": "整改时限"}
PIN_NAMES = {"closed": "已在 rectify 中销号", "progress": "已在 rectify 中报送进展",
             "reopened": "回头看反弹后重新打开", "reassigned": "已在 rectify 中移交",
             "withdrawn": "已在 rectify 中撤销", "merged": "已在 rectify 中合并"}


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


class Subject(Protocol):
    """What an event is about: an item, or a row of its columns (an import reads rows)."""

    id: int
    round_id: int


def event(item: Subject, kind: str, actor: str | None, now: dt.datetime, data: dict[str, Any], *,
          session: Session, batch_id: int | None = None) -> Event:
    row = Event(round_id=item.round_id, item_id=item.id, at=now, kind=kind, actor=actor, data=data,
                batch_id=batch_id)
    session.add(row)
    return row


def _set_status(item: Item, status: ItemState, text: str, today: dt.date) -> None:
    item.status, item.status_text = status, text
    item.done_on = (item.done_on or today) if status == ItemState.DONE else None


def _pin(item: Item, name: str, why: str) -> None:
    item.pinned = {**(item.pinned or {}), name: why}


def _unpin(item: Item, name: str) -> None:
    item.pinned = {k: v for k, v in (item.pinned or {}).items() if k != name}


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
        _unpin(item, "status")
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


# --- what people record between imports -------------------------------------------

def acknowledge(item: Item, act: Act, *, session: Session) -> Event:
    """已阅: a person read the reminder about the item (from their link); digests and `show`
    say so. Acknowledging again on a later day moves the date."""
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成，无需再确认已阅")
    before = item.acknowledged_on
    item.acknowledged_on, item.acknowledged_by = act.today, act.by
    return event(item, "acknowledged", act.by, act.now,
                 {"date": act.today.isoformat(), "before": jsonable(before), **act.via}, session=session)


def record_progress(item: Item, text: str, act: Act, *, status: ItemState | None = None,
                    evidence: list[dict[str, Any]] | None = None, session: Session) -> Event:
    """报送进展 on an open or ongoing item; optionally moves it between 未完成 and 阶段性完成."""
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成（已销号），不能再报送进展；"
                           "如问题反弹，请用 rectify lookback record 记录")
    if not text.strip() or not act.by:
        raise RefusedError("报送进展须写明进展情况和报送人", hint="--text、--by")
    if status is not None and status not in ACTIVE:
        raise RefusedError(f"报送进展只能把状态改为“{ItemState.ONGOING.label}”或“{ItemState.OPEN.label}”；"
                           "完成整改请销号", hint="rectify close")
    old = item.status
    if status is not None and status != item.status:
        _set_status(item, status, LABELS[status], act.today)
    item.progress, item.progress_on, item.updated_at = text.strip(), act.today, act.now
    _pin(item, "status", "progress")
    return event(item, "progress", act.by, act.now,
                 {"text": text.strip(), "date": act.today.isoformat(), "from": old, "to": item.status,
                  "evidence": evidence or [], **act.via}, session=session)


def extension_due(item: Item, to: dt.date, today: dt.date, rules: Rules, cal: WorkCalendar) -> dt.date | None:
    """The item's current due date, when an extension to `to` can be granted: refused past
    the cap, for a date not later than the current one, or outside the supported years.
    (A request is checked by the same rule as its approval, so a leader is never asked to
    approve what cannot be done.)"""
    if item.extension_count >= rules.max_extensions:
        raise RefusedError(f"{item.label}已延期{item.extension_count}次，达到上限"
                           f"（{rules.max_extensions}次，见 rules.toml 的 extensions.max_count）")
    current = due_of(plan_item_of(item), today, rules, cal).date
    if current is not None and to <= current:
        raise RefusedError(f"新时限 {to} 须晚于当前时限 {current}")
    lim = limits()
    if not lim.first_year <= to.year <= lim.last_year:
        raise RefusedError(f"新时限 {to} 超出支持的日期范围（{lim.first_year}–{lim.last_year} 年）")
    return current


def extend(item: Item, to: dt.date, reason: str, act: Act, terms: Terms, *, session: Session) -> Event:
    """延期: move an open item's due date to `to`, approved by `act.by`. Refused for done
    items, for a date not later than the current due date, for an empty reason or
    approver, and past the cap."""
    now, today, approved_by = act.now, act.today, act.by
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}已完成，不能延期")
    if not reason.strip() or not approved_by:
        raise RefusedError("延期须写明理由和批准人", hint="--reason、--approved-by")
    current = extension_due(item, to, today, terms.rules, terms.calendar)
    row = event(item, "extended", approved_by, now,
                {"from": current.isoformat() if current else None, "to": to.isoformat(),
                 "reason": reason.strip(), "approved_by": approved_by, "count": item.extension_count + 1,
                 **act.via}, session=session)
    item.extended_to, item.extension_count, item.updated_at = to, item.extension_count + 1, now
    if current is not None and current < today and item.overdue_since is None:
        item.overdue_since = terms.calendar.add_workdays(current, 1)
    session.flush()
    return row


def close(item: Item, evidence: list[dict[str, Any]], verified_by: str, act: Act, terms: Terms, *,
          session: Session) -> Closure:
    """销号 by `act.by`: refused without evidence, without a verifier other than the
    closer and the owner, or when the item is already closed with evidence."""
    by, now, today = act.by, act.now, act.today
    if not evidence:
        raise RefusedError(f"{item.label}销号须提供至少一份佐证材料（文件或文字说明）",
                           hint="--evidence 文件，或 --evidence-text 文字说明")
    if not by or not verified_by.strip():
        raise RefusedError("销号须写明经办人和核验人", hint="--by、--verified-by")
    others = {person_name(by), *(person_name(n) for n in split_names(item.owner))}
    if person_name(verified_by) in others:
        raise RefusedError(f"核验人须是责任人和经办人以外的第二人，“{verified_by.strip()}”不能核验自己的销号")
    current = session.get(Closure, item.closure_id) if item.closure_id else None
    if current is not None and current.evidence_recorded and current.reopened_at is None:
        raise RefusedError(f"{item.label}已于 {current.closed_on} 销号，不能重复销号")
    due = due_of(plan_item_of(item), today, terms.rules, terms.calendar).date
    closure = Closure(item_id=item.id, closed_at=now, closed_on=today, closed_by=by,
                      verified_by=verified_by.strip(), evidence=evidence,
                      evidence_recorded=True,
                      late=bool(item.overdue_since or item.extension_count or (due and today > due)))
    session.add(closure)
    session.flush()
    previous = item.status
    item.done_on = None
    _set_status(item, ItemState.DONE, CLOSED_WORDING, today)
    item.closure_id, item.updated_at = closure.id, now
    _pin(item, "status", "closed")
    event(item, "closed", by, now,
          {"closure": closure.id, "verified_by": verified_by.strip(), "from": previous,
           "evidence": closure.evidence, "late": closure.late, **act.via}, session=session)
    session.flush()
    return closure


def reassign(items: list[Item], role: Role, old: str, new: str, act: Act, *, session: Session) -> int:
    """人员变动: hand `role` on these items from `old` to `new`; their pending notices
    move with them. Returns how many notices moved."""
    column = "owner" if role == Role.OWNER else "leader"
    by, now, day = act.by, act.now, act.today
    moved = 0
    for item in items:
        names = [new if person_name(n) == person_name(old) else n for n in split_names(getattr(item, column))]
        before = getattr(item, column)
        setattr(item, column, "、".join(dict.fromkeys(names)))
        holders.replace(item, session=session)
        item.updated_at = now
        _pin(item, column, "reassigned")
        event(item, "reassigned", by, now, {"role": role, "from": before, "to": getattr(item, column),
                                            "old": old, "new": new, "date": day.isoformat()}, session=session)
        note = f"【工作移交】本事项原由{old}负责，{day.isoformat()}起移交给您。"
        result = session.execute(
            update(Notice).where(Notice.item_id == item.id, Notice.recipient == old,
                                 Notice.state.in_((NoticeState.PENDING, NoticeState.FAILED)))
            .values(recipient=new, reason=note + Notice.reason).execution_options(synchronize_session=False))
        moved += int(getattr(result, "rowcount", 0) or 0)
    session.flush()
    return moved


# --- the clerk's decision on an item the sheet no longer lists -----------------------

def _decidable(item: Item, verb: str) -> None:
    if item.status not in ACTIVE:
        raise RefusedError(f"{item.label}{ItemState(item.status).label}，不能{verb}")


def withdraw(item: Item, reason: str, act: Act, *, session: Session) -> Event:
    """撤销 (e.g. approved by the inspection office): no more reminders, left out of counts
    and reports, its reason shown. Undone by `reinstate`."""
    _decidable(item, "撤销")
    if not reason.strip() or not act.by:
        raise RefusedError("撤销须写明理由和经办人", hint="--reason、--by")
    previous = item.status
    _set_status(item, ItemState.WITHDRAWN, f"撤销：{reason.strip()}", act.today)
    item.updated_at = act.now
    _pin(item, "status", "withdrawn")
    return event(item, EventKind.WITHDRAWN, act.by, act.now,
                 {"reason": reason.strip(), "from": previous, "no": item.shown_no, "ref": item.ref, **act.via},
                 session=session)


def merge(item: Item, into: Item, act: Act, *, session: Session) -> Event:
    """合并: the item's history joins `into`'s trail (an event on each points at the
    other); it is no longer chased nor counted. Undone by `reinstate`."""
    _decidable(item, "合并")
    if into.id == item.id or into.round_id != item.round_id:
        raise RefusedError("只能把问题合并到同一轮次的另一个问题")
    if into.status in SET_ASIDE:
        raise RefusedError(f"{into.label}{ItemState(into.status).label}，不能作为合并目标")
    if not act.by:
        raise RefusedError("合并须写明经办人", hint="--by")
    previous = item.status
    _set_status(item, ItemState.MERGED, f"并入{into.label}", act.today)
    item.merged_into, item.updated_at = into.id, act.now
    _pin(item, "status", "merged")
    event(into, EventKind.MERGED_IN, act.by, act.now,
          {"item": item.id, "no": item.shown_no, "ref": item.ref, "title": item.title, **act.via},
          session=session)
    return event(item, EventKind.MERGED, act.by, act.now,
                 {"into": into.id, "into_no": into.shown_no, "into_ref": into.ref, "from": previous, **act.via},
                 session=session)


def reinstate(item: Item, act: Act, *, session: Session) -> Event:
    """Undo a withdrawal or a merge: the item is open again as it was before."""
    if item.status not in SET_ASIDE:
        raise RefusedError(f"{item.label}没有被撤销或合并，无需恢复")
    last = session.scalar(select(Event).where(Event.item_id == item.id, Event.kind.in_(
        (EventKind.WITHDRAWN, EventKind.MERGED))).order_by(Event.id.desc()).limit(1))
    before = ItemState(last.data.get("from", ItemState.OPEN)) if last is not None else ItemState.OPEN
    undone = item.status
    _set_status(item, before, before.label, act.today)
    item.merged_into, item.updated_at = None, act.now
    _unpin(item, "status")
    return event(item, EventKind.REINSTATED, act.by, act.now, {"undone": undone, "to": before, **act.via},
                 session=session)


# --- look-back outcomes -------------------------------------------------------------

def consolidate(item: Item, task: LookbackTask, act: Act, data: dict[str, Any], *, session: Session) -> None:
    event(item, "lookback_consolidated", act.by, act.now, {**data, "task": task.id}, session=session)


def reopen(item: Item, task: LookbackTask, act: Act, terms: Terms, data: dict[str, Any], *,
           session: Session) -> None:
    """反弹回潮: reopen the item with a new deadline by rule, linked to the closure it undoes."""
    by, now, today, rules, cal = act.by, act.now, act.today, terms.rules, terms.calendar
    closure = session.get(Closure, task.closure_id)
    assert closure is not None
    closure.reopened_at = now
    previous = item.status
    _set_status(item, ItemState.OPEN, REBOUND_WORDING, today)
    item.rebound_count += 1
    item.reopened_from, item.closure_id = closure.id, None
    item.deadline = cal.previous_workday(add_months(today, rules.dated_months))
    item.deadline_kind, item.extended_to, item.overdue_since = DeadlineKind.DATED, None, None
    item.updated_at = now
    _pin(item, "status", "reopened")
    _pin(item, "deadline", "reopened")
    event(item, "reopened", by, now,
          {**data, "task": task.id, "from": previous, "closure": closure.id, "deadline": item.deadline.isoformat(),
           "rebound_count": item.rebound_count}, session=session)
    session.flush()


def active_items_of(person: str, role: Role, unit: str | None, *, session: Session) -> list[Item]:
    """Open and ongoing items where `person` holds `role` (owner or leader), optionally in one unit."""
    query = (select(Item).join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
             .where(Item.status.in_(ACTIVE), Item.id.in_(holders.held_by(person, role)))
             .order_by(Item.round_id, Item.no))
    if unit:
        query = query.where(Unit.name == unit)
    return list(session.scalars(query))

