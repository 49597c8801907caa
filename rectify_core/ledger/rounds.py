"""Rounds (巡察轮次) as people see and correct them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core.config.people import Directory
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger.models import Event, Item, Round, Unit
from rectify_core.vocab import Role


def list_rounds(*, session: Session, directory: Directory | None = None) -> list[dict[str, Any]]:
    """Every round with its item count; the first responsible is the round's own, else
    whom the directory (contacts and recorded holders) names for its unit."""
    counts = {rid: n for rid, n in session.execute(select(Item.round_id, func.count()).group_by(Item.round_id))}
    rows = session.execute(select(Round, Unit.name).join(Unit, Round.unit_id == Unit.id).order_by(Round.id))
    return [round_json(r, unit, counts.get(r.id, 0), directory) for r, unit in rows]


def round_json(r: Round, unit: str, items: int, directory: Directory | None = None) -> dict[str, Any]:
    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value else None

    named = directory.holders(unit, Role.FIRST_RESPONSIBLE) if directory is not None else []
    first, source = (r.first_responsible, "round") if r.first_responsible else (
        ("、".join(named), "contacts") if named else (None, None))
    return {"id": r.id, "unit": unit, "name": r.name, "key": r.key, "inspector": r.inspector,
            "feedback_date": day(r.feedback_date), "report_date": day(r.report_date),
            "first_responsible": first, "first_responsible_from": source, "items": items}


def edit(round_id: int, changes: dict[str, Any], by: str, now: dt.datetime, *, session: Session) -> Round:
    """Correct a round's name, feedback date or first responsible; one event records old -> new."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFoundError(f"没有编号为 {round_id} 的轮次", hint="rectify rounds 可列出全部轮次")
    wanted = {k: v for k, v in changes.items() if v is not None}
    if not wanted:
        raise RefusedError("请至少给出一项修改：反馈日期、名称或第一责任人",
                           hint="--feedback-date、--name 或 --first-responsible")
    if "name" in wanted and not str(wanted["name"]).strip():
        raise RefusedError("轮次名称不能为空")
    old = {k: getattr(rnd, k) for k in wanted}
    for key, value in wanted.items():
        setattr(rnd, key, value.strip() if isinstance(value, str) else value)
    session.add(Event(round_id=rnd.id, item_id=None, at=now, kind="round_edited", actor=by,
                      data={k: [_plain(old[k]), _plain(getattr(rnd, k))] for k in wanted}))
    session.flush()
    return rnd


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
