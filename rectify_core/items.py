"""Reading the ledger back: items as the CLI and scripts see them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rectify_core.errors import NotFoundError
from rectify_core.models import Event, Item, Round
from rectify_core.status import LABELS


def list_items(*, session: Session, round_id: int | None = None) -> list[Item]:
    query = (select(Item).options(selectinload(Item.measures), selectinload(Item.aspect),
                                  selectinload(Item.topic), selectinload(Item.round))
             .order_by(Item.round_id, Item.no))
    if round_id is not None:
        query = query.where(Item.round_id == round_id)
    return list(session.scalars(query))


def get_item(no: int, *, session: Session, round_id: int | None = None) -> Item:
    """The item numbered `no`; with several rounds, `round_id` says which."""
    query = select(Item).where(Item.no == no)
    if round_id is not None:
        query = query.where(Item.round_id == round_id)
    found = list(session.scalars(query))
    if not found:
        raise NotFoundError(f"没有编号为 {no} 的问题" + (f"（轮次 {round_id}）" if round_id else ""))
    if len(found) > 1:
        rounds = session.scalars(select(Round).where(Round.id.in_([i.round_id for i in found])))
        names = "；".join(f"{r.id}：{r.name}" for r in rounds)
        raise NotFoundError(f"有 {len(found)} 个轮次都有问题 {no}，请用 --round 指定：{names}")
    return found[0]


def events_of(item: Item, *, session: Session) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.item_id == item.id)
                                .order_by(Event.at, Event.id)))


def item_json(item: Item) -> dict[str, Any]:
    """The `items --json` contract."""
    return {
        "no": item.no,
        "round": item.round.name,
        "round_id": item.round_id,
        "title": item.title,
        "aspect_no": item.aspect.no if item.aspect else None,
        "topic_no": item.topic.no if item.topic else None,
        "status": LABELS[item.status],
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
    }


def _when(event: Event) -> str:
    from rectify_core.dates import to_local

    return to_local(event.at).strftime("%Y-%m-%d %H:%M")


def describe(item: Item, events: list[Event]) -> str:
    """One item for a person to read: fields, measures, then the event log."""
    lines = [f"问题{item.no}：{item.title}",
             f"  轮次：{item.round.name}",
             f"  状态：{LABELS[item.status]}（原文：{item.status_text or '未注明'}）"]
    if item.aspect:
        lines.append(f"  方面：{item.aspect.no}. {item.aspect.title}")
    if item.topic:
        lines.append(f"  专题：{item.topic.no}. {item.topic.title}")
    kind = {"immediate": "立行立改", "dated": "限期整改", "long_term": "长期坚持"}
    deadline = item.deadline.isoformat() if item.deadline else "未注明"
    lines.append(f"  整改时限：{deadline}（{kind.get(item.deadline_kind or '', '未分类')}）")
    for label, value in (("责任领导", item.leader), ("职务", item.leader_title),
                         ("责任部门", item.department), ("责任人", item.owner)):
        if value:
            lines.append(f"  {label}：{value}")
    if item.measures:
        lines.append("  整改措施：")
        lines += [f"    {m.seq}. [{m.date or '未注明日期'}] {m.text}" for m in item.measures]
    if item.evidence:
        lines.append("  佐证材料：" + "；".join(item.evidence))
    lines.append("  事件记录：")
    lines += [f"    {_when(e)}  {EVENT_NAMES.get(e.kind, e.kind)}  {e.actor or ''}"
              for e in events]
    return "\n".join(lines)


EVENT_NAMES = {"imported": "导入", "updated": "更新", "status_changed": "状态变更", "extended": "延期",
               "notified": "已提醒", "notify_failed": "提醒失败", "notify_dead": "提醒放弃", "closed": "销号",
               "lookback_assigned": "分派回头看", "lookback_consolidated": "回头看：巩固",
               "reopened": "反弹回潮，重新打开"}
