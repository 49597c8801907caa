"""The look-back transitions (see ledger.lifecycle): a closed item found holding is
consolidated (巩固); one found sliding back (反弹回潮) is reopened, linked to its closure
and the look-back task, with a new deadline."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rectify_core.deadlines.due import add_months
from rectify_core.ledger.act import Act, Terms
from rectify_core.ledger.lifecycle import event, pin, set_status
from rectify_core.ledger.models import Closure, Item, LookbackTask
from rectify_core.vocab import (
    REBOUND_WORDING,
    DeadlineKind,
    ItemState,
)

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
    set_status(item, ItemState.OPEN, REBOUND_WORDING, today)
    item.rebound_count += 1
    item.reopened_from, item.closure_id = closure.id, None
    item.deadline = cal.previous_workday(add_months(today, rules.dated_months))
    item.deadline_kind, item.extended_to, item.overdue_since = DeadlineKind.DATED, None, None
    item.updated_at = now
    pin(item, "status", "reopened")
    pin(item, "deadline", "reopened")
    event(item, "reopened", by, now,
          {**data, "task": task.id, "from": previous, "closure": closure.id, "deadline": item.deadline.isoformat(),
           "rebound_count": item.rebound_count}, session=session)
    session.flush()
