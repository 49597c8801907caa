"""What the planner reads and writes: obligations, the notice history, due dates, recipients and plans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rectify_core.vocab import NoticeKind, Role


@dataclass(slots=True, unsafe_hash=True)
class Obligation:
    """What someone owes by a date: an item's own rectification, or a look-back task's
    re-check of a closed item. One shape for the planner, the outbox and the digest;
    `subject` says which it is."""

    id: int  # the item's id (a look-back task is about an item too)
    round_id: int
    round_name: str
    unit: str
    ref: str  # how people name the item: 13, or 原13 when the sheet no longer lists it (refs)
    title: str
    status: str
    kind: str | None
    deadline: dt.date | None
    extended_to: dt.date | None
    feedback_date: dt.date | None
    owner: str | None
    leader: str | None
    overdue_since: dt.date | None = None
    rebound_count: int = 0
    first_responsible: str | None = None  # named on the round; contacts add more
    department: str | None = None
    # the fields above are the columns of the daily SELECT, in its order (scan._active_query)
    lookback_id: int | None = None
    subject: NoticeKind = NoticeKind.ITEM

    @property
    def key(self) -> str:
        """The notice namespace: an item's own reminders, or one look-back task's."""
        return f"lookback:{self.lookback_id}" if self.subject == NoticeKind.LOOKBACK else f"item:{self.id}"


PlanItem = Obligation


@dataclass(slots=True, unsafe_hash=True)
class Sent:
    """A notice already in the outbox: the history the plan must not repeat.
    `settled_on` is the day it was delivered, or given up (dead/capped); None while
    it is still on its way."""

    key: str
    due: dt.date
    offset: int
    ladder: str
    role: str = Role.OWNER
    settled_on: dt.date | None = None


@dataclass(slots=True, unsafe_hash=True)
class Recipient:
    name: str
    role: str
    reason: str
    unit: str = ""  # with the name, the person's identity


@dataclass(slots=True, unsafe_hash=True)
class Due:
    date: dt.date | None
    source: str | None  # item | rule | extension
    problem: str | None = None


@dataclass(slots=True, unsafe_hash=True)
class ItemPlan:
    item: Obligation
    due: Due
    workdays_left: int | None
    light: str | None
    estimated: bool
    next_update: dt.date | None
    step: str | None
    offset: int | None
    ladder: str
    notify: tuple[Recipient, ...]
    unresolved: tuple[str, ...]
    # no notice of this obligation was in the outbox when it was planned: its notices
    # cannot be there yet, unless another process has enqueued them since
    fresh: bool = False
    # the planner's memo entry this plan's timing came from (all but `item`, `notify` and
    # `unresolved`), or None: the JSON encoder writes that part once per entry
    shared: object = field(default=None, compare=False, repr=False)

    def dedup_keys(self) -> list[str]:
        assert self.due.date is not None and self.offset is not None
        return [notice_key(self.item.key, self.due.date, self.offset, r.unit, r.name) for r in self.notify]


def notice_key(key: str, due: dt.date, offset: int, unit: str, name: str) -> str:
    return f"{key}:{due.isoformat()}:{offset:+d}:{unit}/{name}"
