"""Reading the ledger back: items as the CLI and scripts see them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from rectify_core import refs
from rectify_core.config.calendar import to_local
from rectify_core.config.people import Directory
from rectify_core.errors import NotFoundError
from rectify_core.ledger import approvals, units
from rectify_core.ledger.models import Aspect, Closure, Event, Item, ItemRequest, Measure, Notice, Round, Topic, Unit
from rectify_core.refs import FORMER
from rectify_core.vocab import (
    FIELD_NAMES,
    LABELS,
    ROLE_NAMES,
    DeadlineKind,
    EventKind,
    ItemState,
    RequestKind,
    RequestState,
)


def list_items(*, session: Session, round_id: int | None = None, unit: str | None = None) -> list[Item]:
    """The ledger's items, of one round or one unit when asked (`unit`: its exact name):
    the sheet's rows by number, then the items it no longer lists."""
    query = (select(Item).options(selectinload(Item.measures), selectinload(Item.aspect),
                                  selectinload(Item.topic), selectinload(Item.round).selectinload(Round.unit))
             .order_by(Item.round_id, Item.listed.desc(), Item.shown_no, Item.former_seq))
    if round_id is not None:
        query = query.where(Item.round_id == round_id)
    if unit is not None:
        query = query.join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id).where(
            Unit.name == unit)
    return list(session.scalars(query))


def _where_ref(ref: refs.ItemRef) -> ColumnElement[bool]:
    if ref.former:
        return (Item.listed.is_(False)) & (Item.former_no == ref.no) & (func.coalesce(Item.former_seq, 1) == ref.seq)
    return (Item.listed.is_(True)) & (Item.no == ref.no)


def _round_ids(*, session: Session, round_id: int | None, unit: str | None) -> list[int] | None:
    """The rounds a reference is looked for in: the one given, a unit's (full or short
    name), or every round (None)."""
    if round_id is not None:
        if session.get(Round, round_id) is None:
            raise NotFoundError(f"没有编号为 {round_id} 的轮次", hint="rectify rounds 可列出全部轮次")
        return [round_id]
    if unit is None:
        return None
    found = units.find_unit(unit, session=session)
    return list(session.scalars(select(Round.id).where(Round.unit_id == found.id).order_by(Round.id)))


def round_names(round_ids: list[int], *, session: Session) -> str:
    """轮次 1：交通运输局 / 第一轮巡察；…: rounds as a "which round?" question names them."""
    rounds = session.scalars(select(Round).where(Round.id.in_(round_ids)).order_by(Round.id))
    return "；".join(f"轮次 {r.id}：{r.unit.name} / {r.name}" for r in rounds)


def get_item(ref: refs.ItemRef | str | int, *, session: Session, round_id: int | None = None,
             unit: str | None = None) -> Item:
    """The item a person names: `13` is row 13 of the latest sheet, `原13` the item that had
    13 when the sheet last listed it; a plain number never reaches an item set aside. With
    several rounds, `round_id` or `unit` (full or short name) says which."""
    wanted = ref if isinstance(ref, refs.ItemRef) else refs.parse(str(ref))
    scope = _round_ids(session=session, round_id=round_id, unit=unit)
    query = select(Item).where(_where_ref(wanted))
    if scope is not None:
        query = query.where(Item.round_id.in_(scope))
    found = list(session.scalars(query))
    if not found:
        raise NotFoundError(_not_found(wanted, scope, session=session))
    if len(found) > 1:
        names = round_names([i.round_id for i in found], session=session)
        raise NotFoundError(f"有 {len(found)} 个轮次都有{refs.label(str(wanted))}，请指定轮次或单位：{names}",
                            hint="--round 轮次编号，或 --unit 单位")
    return found[0]


def _not_found(wanted: refs.ItemRef, scope: list[int] | None, *, session: Session) -> str:
    """No such item: what the round asked about holds, so the clerk sees what to type (the
    one round there is, when none was named; with several, which to name)."""
    if scope is None:
        every = list(session.scalars(select(Round.id).order_by(Round.id)))
        if len(every) > 1:
            return (f"没有{refs.label(str(wanted))}（{len(every)} 个轮次中都没有）；请指定轮次或单位："
                    + round_names(every, session=session))
        scope = every
    query = select(Item.round_id, Item.ref).where(Item.round_id.in_(scope))
    listed: list[int] = []
    aside: list[str] = []
    for _, ref in session.execute(query):
        if refs.is_former(ref):
            aside.append(ref)
        else:
            listed.append(int(ref))
    where = f"（{round_names(scope, session=session)}）" if scope else ""
    text = f"没有{refs.label(str(wanted))}{where}"
    former = refs.ref_text(wanted.no, True)
    if not wanted.former and former in aside:
        text += f"；{former}是本次台账未列出的问题，请写“{former}”"
    elif wanted.former and wanted.no in listed:
        text += f"；台账现有问题{wanted.no}，请直接写“{wanted.no}”"
    if listed:
        text += f"。现有问题：{refs.ranges(listed)}"
    if aside:
        text += f"；本次台账未列出：{'、'.join(sorted(set(aside), key=refs.order))}"
    if not listed and not aside:
        text += "：还没有任何问题（请先导入台账）"
    return text


def events_of(item: Item, *, session: Session) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.item_id == item.id)
                                .order_by(Event.at, Event.id)))


def item_json(item: Item) -> dict[str, Any]:
    """The `items --json` contract."""
    return {
        # a row of the latest sheet has its number; an item the sheet no longer lists has
        # none, only the number it had ("ref": "原13" is how commands take it)
        **refs.ref_json(item.ref),
        "unit": item.round.unit.name,
        "in_latest_sheet": item.listed,
        "merged_into": item.merged_into,
        "round": item.round.name,
        "round_id": item.round_id,
        "title": item.title,
        "aspect_no": item.aspect.no if item.aspect else None,
        "topic_no": item.topic.no if item.topic else None,
        "status": ItemState.label_of(item.status),
        "status_text": item.status_text,
        "immediate": item.immediate,
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "deadline_kind": item.deadline_kind,
        "leader": item.leader,
        "leader_title": item.leader_title,
        "department": item.department,
        "owner": item.owner,
        "measures": [{"date": m.date, "date_end": m.date_end, "text": m.text}
                     for m in item.measures],
        "evidence": item.evidence,
        "figures": item.figures,
        "extended_to": item.extended_to.isoformat() if item.extended_to else None,
        "extension_count": item.extension_count,
        "progress": item.progress,
        "progress_on": item.progress_on.isoformat() if item.progress_on else None,
        "done_on": item.done_on.isoformat() if item.done_on else None,
        "rebound_count": item.rebound_count,
        "pinned": item.pinned or {},
        "extra": item.extra or {},
    }


def _at(value: dt.datetime | None) -> str | None:
    return to_local(value).isoformat(timespec="minutes") if value else None


def trail(item: Item, directory: Directory, *, session: Session) -> dict[str, Any]:
    """The whole trail of an item: fields, extensions, closures, progress, import
    disagreements, every notice, and the event log (the `show --json` contract)."""
    events = events_of(item, session=session)
    closures = session.scalars(select(Closure).where(Closure.item_id == item.id).order_by(Closure.id))
    notices = session.scalars(select(Notice).where(Notice.item_id == item.id).order_by(Notice.id))
    asked = session.scalars(select(ItemRequest).where(ItemRequest.item_id == item.id).order_by(ItemRequest.id))

    def of(kind: str) -> list[Event]:
        return [e for e in events if e.kind == kind]

    return {
        **item_json(item),
        "extensions": [{"from": e.data.get("from"), "to": e.data.get("to"), "reason": e.data.get("reason"),
                        "approved_by": e.actor, "count": e.data.get("count"), "at": _at(e.at)}
                       for e in of("extended")],
        "closures": [{"closed_on": c.closed_on.isoformat(), "closed_by": c.closed_by, "verified_by": c.verified_by,
                      "evidence": c.evidence, "evidence_recorded": c.evidence_recorded, "late": c.late,
                      "reopened_at": _at(c.reopened_at)} for c in closures],
        "progress_reports": [{"date": e.data.get("date"), "text": e.data.get("text"), "by": e.actor,
                              "from": e.data.get("from"), "to": e.data.get("to"),
                              "evidence": e.data.get("evidence", [])} for e in of("progress")],
        "disagreements": [{"field": e.data.get("field"), "kept": e.data.get("kept"), "file": e.data.get("file"),
                           "source": e.data.get("source"), "message": e.data.get("message"), "at": _at(e.at)}
                          for e in of("import_disagrees")],
        "reassignments": [{"role": e.data.get("role"), "from": e.data.get("old"), "to": e.data.get("new"),
                           "date": e.data.get("date"), "by": e.actor} for e in of("reassigned")],
        "notices": [{"id": n.id, "person": n.recipient, "unit": n.recipient_unit, "role": n.role, "kind": n.kind,
                     "step": n.step_name, "due": n.due.isoformat(), "state": n.state, "channel": n.channel,
                     "sent_at": _at(n.sent_at)} for n in notices],
        "acknowledged": ({"on": item.acknowledged_on.isoformat(), "by": item.acknowledged_by}
                         if item.acknowledged_on else None),
        "requests": [{"id": r.id, "kind": r.kind, "state": r.state, "by": r.requested_by, "at": _at(r.requested_at),
                      "data": r.data, "decided_by": r.decided_by, "decided_at": _at(r.decided_at), "note": r.note,
                      # who may decide it: the same rule, and the same directory, as the web's
                      "deciders": (approvals.deciders(item, r.kind, r.requested_by, directory)
                                   if r.state == RequestState.PENDING else [])}
                     for r in asked],
        "events": [{"at": _at(e.at), "kind": e.kind, "actor": e.actor, "by": actor_text(e), "data": e.data}
                   for e in events],
    }


def when(event: Event) -> str:
    return to_local(event.at).strftime("%Y-%m-%d %H:%M")


def _progress_text(d: dict[str, Any]) -> str:
    moved = d.get("from") != d.get("to")
    change = f"，{LABELS.get(d['from'], d['from'])} → {LABELS.get(d['to'], d['to'])}" if moved else ""
    return f"报送进展（{d.get('date')}）：{d.get('text')}{change}"


def _closed_text(d: dict[str, Any]) -> str:
    files = "、".join(x.get("name") or x.get("text", "") for x in d.get("evidence", []))
    return f"销号（核验人 {d.get('verified_by')}；佐证：{files}）"


def _changed_text(kind: EventKind) -> Callable[[dict[str, Any]], str]:
    return lambda d: f"{kind.label}：{'、'.join(FIELD_NAMES.get(c, c) for c in d.get('changes', {}))}{_file(d)}"


def _file(d: dict[str, Any]) -> str:
    """（the file's name）, where the event came from an import and the reader may see it."""
    return f"（{d['source']}）" if d.get("source") else ""


# how each kind of event reads in a trail; a kind not here reads as its label
_EVENT_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    EventKind.EXTENDED: lambda d: (f"延期至 {d.get('to')}（原 {d.get('from') or '未定'}，理由：{d.get('reason')}，"
                                   f"第{d.get('count')}次）"),
    EventKind.CLOSED: _closed_text,
    EventKind.PROGRESS: _progress_text,
    EventKind.ACKNOWLEDGED: lambda d: f"已阅（{d.get('date')}）",
    EventKind.EXTENSION_REQUESTED: lambda d: f"申请延期至 {d.get('to')}（理由：{d.get('reason')}）",
    EventKind.CLOSURE_REQUESTED: lambda d: f"申请销号：{d.get('text')}（佐证 {len(d.get('evidence', []))} 份）",
    EventKind.REQUEST_REJECTED: lambda d: f"{RequestKind.label_of(d.get('kind'))}申请被退回：{d.get('note')}",
    EventKind.IMPORT_DISAGREES: lambda d: f"导入文件与记录不一致：{d.get('message')}{_file(d)}",
    EventKind.REASSIGNED: lambda d: (f"{ROLE_NAMES.get(d.get('role', ''), '')}由 {d.get('old')} 移交给 {d.get('new')}"
                                     f"（{d.get('date')}）"),
    EventKind.UPDATED: _changed_text(EventKind.UPDATED),
    EventKind.STATUS_CHANGED: _changed_text(EventKind.STATUS_CHANGED),
    EventKind.NOTIFIED: lambda d: f"已提醒 {d.get('recipient')}（{d.get('step')}，{d.get('channel')}）",
    EventKind.REOPENED: lambda d: f"反弹回潮，重新打开（新整改时限 {d.get('deadline')}）",
    EventKind.RENUMBERED: lambda d: f"序号变更：问题{d.get('from')} → 问题{d.get('to')}{_file(d)}",
    EventKind.RELISTED: lambda d: f"重新列入台账：{FORMER}{d.get('from')} → 问题{d.get('to')}{_file(d)}",
    EventKind.UNLISTED: lambda d: f"本次台账未列出（此后称 {d.get('ref') or refs.ref_text(d.get('no', 0), True)}）"
                                  f"{_file(d)}",
    EventKind.WITHDRAWN: lambda d: f"撤销：{d.get('reason')}",
    EventKind.MERGED: lambda d: f"并入{refs.label(str(d.get('into_ref') or d.get('into_no')))}",
    EventKind.MERGED_IN: lambda d: f"{refs.label(str(d.get('ref') or d.get('no')))}“{d.get('title')}”并入本问题",
    EventKind.REINSTATED: lambda d: (f"恢复为{ItemState.label_of(d.get('to'))}"
                                     f"（此前{ItemState.label_of(d.get('undone'))}）"),
}


IMPORT_ACTOR, SYSTEM_ACTOR = "import", "rectify"  # what rectify's own events carry as actor
SYSTEM = "系统"


def actor_text(e: Event, files: bool = True) -> str:
    """Who did it, as a clerk reads it: a person's name; 导入（文件名） for an import (导入
    where file names are not shown); 系统 for rectify itself (a reminder sent, a look-back
    drawn). Earlier records that say rectify or import read the same."""
    actor = (e.actor or "").strip()
    if actor == IMPORT_ACTOR:
        source = (e.data or {}).get("source") if files else None
        return f"导入（{source}）" if source else "导入"
    if actor in ("", SYSTEM_ACTOR, SYSTEM):
        return SYSTEM
    return actor


def event_text(e: Event, files: bool = True) -> str:
    """An event as people read it, in Chinese; `files=False` leaves out the names of the
    files imports came from (a person's page shows none)."""
    text = _EVENT_TEXT.get(e.kind)
    data = (e.data or {}) if files else {k: v for k, v in (e.data or {}).items() if k != "source"}
    return text(data) if text else EVENT_NAMES.get(e.kind, e.kind)


class Described(NamedTuple):
    """What `describe` prints of an item: read from its ORM object, or as plain rows for a
    whole round at once (the archive describes every item of a county)."""

    label: str
    title: str
    listed: bool
    unit: str
    round_name: str
    round_id: int
    status: ItemState
    status_text: str | None
    aspect: tuple[int, str] | None  # (no, title)
    topic: tuple[int, str] | None
    deadline: dt.date | None
    deadline_kind: DeadlineKind | None
    extended_to: dt.date | None
    extension_count: int
    leader: str | None
    leader_title: str | None
    department: str | None
    owner: str | None
    extra: dict[str, str] | None
    progress: str | None
    progress_on: dt.date | None
    acknowledged_on: dt.date | None
    acknowledged_by: str | None
    measures: list[tuple[int, str | None, str]]  # (seq, date, text), in order
    evidence: list[str] | None

    @classmethod
    def of(cls, item: Item) -> Described:
        return cls(item.label, item.title, item.listed, item.round.unit.name, item.round.name, item.round_id,
                   item.status, item.status_text, (item.aspect.no, item.aspect.title) if item.aspect else None,
                   (item.topic.no, item.topic.title) if item.topic else None, item.deadline, item.deadline_kind,
                   item.extended_to, item.extension_count, item.leader, item.leader_title, item.department,
                   item.owner, item.extra, item.progress, item.progress_on, item.acknowledged_on,
                   item.acknowledged_by, [(m.seq, m.date, m.text) for m in item.measures], item.evidence)


_DESCRIBED = (Item.id, Item.no, Item.listed, Item.former_no, Item.former_seq, Item.title, Item.status,
              Item.status_text, Aspect.no, Aspect.title, Topic.no, Topic.title, Item.deadline, Item.deadline_kind,
              Item.extended_to, Item.extension_count, Item.leader, Item.leader_title, Item.department, Item.owner,
              Item.extra, Item.progress, Item.progress_on, Item.acknowledged_on, Item.acknowledged_by, Item.evidence)


def described_in_round(rnd: Round, *, session: Session) -> Iterator[tuple[int, Described]]:
    """Every item of the round by id, as `describe` reads it: two queries, plain rows."""
    measures: dict[int, list[tuple[int, str | None, str]]] = {}
    for item_id, seq, date, text in session.execute(
            select(Measure.item_id, Measure.seq, Measure.date, Measure.text).join(Item, Measure.item_id == Item.id)
            .where(Item.round_id == rnd.id).order_by(Measure.item_id, Measure.seq)):
        measures.setdefault(item_id, []).append((seq, date, text))
    unit, name = rnd.unit.name, rnd.name
    query = (select(*_DESCRIBED).outerjoin(Aspect, Item.aspect_id == Aspect.id)
             .outerjoin(Topic, Item.topic_id == Topic.id).where(Item.round_id == rnd.id).order_by(Item.id))
    for (item_id, no, listed, former_no, former_seq, title, status, status_text, aspect_no, aspect_title,
         topic_no, topic_title, *fields) in session.execute(query):
        aspect = (aspect_no, aspect_title) if aspect_no is not None else None
        topic = (topic_no, topic_title) if topic_no is not None else None
        yield item_id, Described._make([refs.label(refs.item_ref(no, listed, former_no, former_seq)), title, listed,
                                        unit, name, rnd.id, status, status_text, aspect, topic, *fields[:-1],
                                        measures.get(item_id, []), fields[-1]])


def describe(item: Item | Described, events: Sequence[Any]) -> str:
    """One item for a person to read: fields, measures, progress, then the event log
    (`events`: the item's, as Event objects or rows of their fields)."""
    item = Described.of(item) if isinstance(item, Item) else item
    lines = [f"{item.label}：{item.title}" + ("" if item.listed else "（本次台账未列出）"),
             f"  单位：{item.unit}",
             f"  轮次：{item.round_name}（编号 {item.round_id}）",
             f"  状态：{ItemState.label_of(item.status)}（原文：{item.status_text or '未注明'}）"]
    if item.aspect:
        lines.append(f"  方面：{item.aspect[0]}. {item.aspect[1]}")
    if item.topic:
        lines.append(f"  专题：{item.topic[0]}. {item.topic[1]}")
    deadline = item.deadline.isoformat() if item.deadline else "未注明"
    extended = f"，已延期至 {item.extended_to}（{item.extension_count}次）" if item.extended_to else ""
    lines.append(f"  整改时限：{deadline}（{DeadlineKind.label_of(item.deadline_kind, '未分类')}）{extended}")
    for label, value in (("责任领导", item.leader), ("职务", item.leader_title),
                         ("责任部门", item.department), ("责任人", item.owner)):
        if value:
            lines.append(f"  {label}：{value}")
    for label, value in (item.extra or {}).items():
        lines.append(f"  {label}：{value}")
    if item.progress:
        lines.append(f"  最新进展（{item.progress_on}）：{item.progress}")
    if item.acknowledged_on:
        lines.append(f"  已阅：{item.acknowledged_on}（{item.acknowledged_by}）")
    if item.measures:
        lines.append("  整改措施：")
        lines += [f"    {seq}. [{date or '未注明日期'}] {text}" for seq, date, text in item.measures]
    if item.evidence:
        lines.append("  佐证材料：" + "；".join(item.evidence))
    lines.append("  事件记录：")
    lines += [f"    {when(e)}  {event_text(e)}  {actor_text(e)}" for e in events]
    return "\n".join(lines)


EVENT_NAMES = EventKind.labels()
