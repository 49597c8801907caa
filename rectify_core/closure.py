"""销号: closing an item takes evidence and a second person."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from rectify_core.dates import WorkCalendar
from rectify_core.errors import RefusedError
from rectify_core.models import Closure, Event, Item
from rectify_core.people import split_names
from rectify_core.plan import due_of
from rectify_core.rules import Rules
from rectify_core.scan import plan_item_of
from rectify_core.status import DONE


def evidence_record(value: str) -> dict[str, Any]:
    """A file is recorded by name, size and SHA-256; anything else as text."""
    path = Path(value)
    if path.is_file():
        data = path.read_bytes()
        return {"kind": "file", "name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return {"kind": "text", "text": value.strip()}


def close_item(item: Item, evidence: list[str], by: str, verified_by: str, now: dt.datetime, today: dt.date,
               rules: Rules, cal: WorkCalendar, *, session: Session) -> Closure:
    """Close (销号) an item. Refused without evidence, without a verifier other than the
    closer and the owner, or when it is already closed with evidence."""
    evidence = [e for e in evidence if e.strip()]
    if not evidence:
        raise RefusedError(f"问题{item.no}销号须提供至少一份佐证材料（--evidence 文件路径或文字说明）")
    if not by.strip() or not verified_by.strip():
        raise RefusedError("销号须写明经办人（--by）和核验人（--verified-by）")
    if verified_by.strip() in {by.strip(), *split_names(item.owner)}:
        raise RefusedError(f"核验人须是责任人和经办人以外的第二人，“{verified_by.strip()}”不能核验自己的销号")
    current = session.get(Closure, item.closure_id) if item.closure_id else None
    if current is not None and current.evidence_recorded and current.reopened_at is None:
        raise RefusedError(f"问题{item.no}已于 {current.closed_on} 销号，不能重复销号")
    due = due_of(plan_item_of(item), today, rules, cal).date
    closure = Closure(item_id=item.id, closed_at=now, closed_on=today, closed_by=by.strip(),
                      verified_by=verified_by.strip(), evidence=[evidence_record(e) for e in evidence],
                      evidence_recorded=True,
                      late=bool(item.overdue_since or item.extension_count or (due and today > due)))
    session.add(closure)
    session.flush()
    previous = item.status
    item.status, item.status_text, item.closure_id, item.updated_at = DONE, "已销号", closure.id, now
    session.add(Event(round_id=item.round_id, item_id=item.id, at=now, kind="closed", actor=by.strip(),
                      data={"closure": closure.id, "verified_by": verified_by.strip(), "from": previous,
                            "evidence": closure.evidence, "late": closure.late}))
    session.flush()
    return closure
