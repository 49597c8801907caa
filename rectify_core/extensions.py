"""Approved extensions (延期): recorded as events, counted, capped by rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from rectify_core.dates import WorkCalendar
from rectify_core.errors import RefusedError
from rectify_core.models import Event, Item
from rectify_core.plan import due_of
from rectify_core.rules import Rules
from rectify_core.scan import plan_item_of
from rectify_core.status import ACTIVE


def extend(item: Item, to: dt.date, reason: str, approved_by: str, now: dt.datetime, today: dt.date,
           rules: Rules, cal: WorkCalendar, *, session: Session) -> Event:
    """Move an open item's deadline to `to`. Refused for done items, for a date not
    later than the current due date, for an empty reason or approver, and past the cap."""
    if item.status not in ACTIVE:
        raise RefusedError(f"问题{item.no}已完成，不能延期")
    if not reason.strip() or not approved_by.strip():
        raise RefusedError("延期须写明理由（--reason）和批准人（--approved-by）")
    if item.extension_count >= rules.max_extensions:
        raise RefusedError(f"问题{item.no}已延期{item.extension_count}次，达到上限"
                           f"（{rules.max_extensions}次，见 rules.toml 的 extensions.max_count）")
    current = due_of(plan_item_of(item), today, rules, cal).date
    if current is not None and to <= current:
        raise RefusedError(f"新时限 {to} 须晚于当前时限 {current}")
    event = Event(round_id=item.round_id, item_id=item.id, at=now, kind="extended",
                  actor=approved_by.strip(),
                  data={"from": current.isoformat() if current else None, "to": to.isoformat(),
                        "reason": reason.strip(), "count": item.extension_count + 1})
    item.extended_to, item.extension_count, item.updated_at = to, item.extension_count + 1, now
    if current is not None and current < today and item.overdue_since is None:
        item.overdue_since = cal.add_workdays(current, 1)
    session.add(event)
    session.flush()
    return event
