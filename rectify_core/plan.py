"""The daily plan as a pure function.

(items, notice history, today, rules, calendar, directory) -> one ItemPlan per open or
ongoing item: its due date and where it came from, working days left, light, the
ladder step reached, and the notice owed today (if any) with its recipients.

Catch-up: what counts is the highest step reached by today and not yet notified for
the current due date, so a machine that was down sends what it owes (one notice, to
everyone the missed steps would have told) instead of skipping or flooding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rectify_core.dates import WorkCalendar
from rectify_core.datetext import month_end
from rectify_core.people import Directory, split_names
from rectify_core.rules import ROLE_NAMES, Ladder, Rules, Step
from rectify_core.status import ACTIVE, ONGOING

FALLBACK = {"owner": "leader", "leader": "first_responsible"}
# a rebounded item's notices also go one level up the chain
LEVEL_UP = {"owner": "leader", "leader": "first_responsible", "first_responsible": "inspection_office"}


@dataclass(frozen=True)
class PlanItem:
    id: int
    round_id: int
    round_name: str
    unit: str
    no: int
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
    lookback_id: int | None = None  # set when this is a look-back task, not the item itself

    @property
    def key(self) -> str:
        """The notice namespace: an item's own reminders, or one look-back task's."""
        return f"lookback:{self.lookback_id}" if self.lookback_id else f"item:{self.id}"


@dataclass(frozen=True)
class Sent:
    """A notice already in the outbox: the history the plan must not repeat."""

    key: str
    due: dt.date
    offset: int
    ladder: str


@dataclass(frozen=True)
class Recipient:
    name: str
    role: str
    reason: str


@dataclass(frozen=True)
class Due:
    date: dt.date | None
    source: str | None  # item | rule | extension
    problem: str | None = None


@dataclass(frozen=True)
class ItemPlan:
    item: PlanItem
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

    def dedup_keys(self) -> list[str]:
        assert self.due.date is not None and self.offset is not None
        return [notice_key(self.item.key, self.due.date, self.offset, r.name) for r in self.notify]


def notice_key(key: str, due: dt.date, offset: int, name: str) -> str:
    return f"{key}:{due.isoformat()}:{offset:+d}:{name}"


def _shift(day: dt.date, rules: Rules, cal: WorkCalendar) -> dt.date:
    if rules.non_workday == "previous":
        return cal.previous_workday(day)
    if rules.non_workday == "next":
        return cal.next_workday(day)
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    end = month_end(day.year + year, month + 1)
    return end if day.day > end.day else end.replace(day=day.day)


def month_end_of(day: dt.date) -> dt.date:
    return month_end(day.year, day.month)


def quarter_end(day: dt.date) -> dt.date:
    return month_end(day.year, (day.month - 1) // 3 * 3 + 3)


def due_of(item: PlanItem, today: dt.date, rules: Rules, cal: WorkCalendar) -> Due:
    """Extension, else the item's own date, else the rule for its kind."""
    if item.extended_to:
        return Due(_shift(item.extended_to, rules, cal), "extension")
    if item.deadline:
        return Due(_shift(item.deadline, rules, cal), "item")
    if item.kind == "long_term":
        return Due(_shift(quarter_end(today), rules, cal), "rule")
    if item.feedback_date is None:
        return Due(None, None, "轮次缺少反馈日期，无法按规则计算整改时限")
    if item.kind == "immediate":
        return Due(cal.add_workdays(item.feedback_date, rules.immediate_workdays), "rule")
    return Due(_shift(add_months(item.feedback_date, rules.dated_months), rules, cal), "rule")


def light_of(item: PlanItem, left: int | None, was_red: bool, rules: Rules) -> str | None:
    open_ended = item.kind == "long_term" and item.extended_to is None and item.deadline is None
    return light(open_ended, left, was_red, rules)


def light(open_ended: bool, left: int | None, was_red: bool, rules: Rules) -> str | None:
    """红黄绿灯: blue for long-term items without a final date; red when overdue; yellow
    within `yellow_within` working days, or once overdue until done; else green."""
    if open_ended:
        return "blue"
    if left is None:
        return None
    if left < 0:
        return "red"
    if left <= rules.yellow_within or was_red:
        return "yellow"
    return "green"


def last_firing(step: Step, elapsed: int) -> int | None:
    """The latest ladder position <= elapsed at which `step` fires (None: not yet)."""
    if step.at > elapsed:
        return None
    return step.at + (elapsed - step.at) // step.every * step.every if step.every else step.at


def highest_step(ladder: Ladder, elapsed: int) -> tuple[int, str] | None:
    """The highest ladder position reached and the names of the steps firing there."""
    firings = [(last_firing(s, elapsed), s.name) for s in ladder.steps]
    reached = [f for f, _ in firings if f is not None]
    if not reached:
        return None
    best = max(reached)
    return best, "、".join(dict.fromkeys(name for f, name in firings if f == best))


def _reason(step: str, due: Due, left: int) -> str:
    assert due.date is not None
    when = (f"距整改时限还有{left}个工作日" if left > 0 else "今天到期" if left == 0
            else f"已逾期{-left}个工作日")
    source = "（延期后时限）" if due.source == "extension" else ""
    return f"{step}：整改时限 {due.date.isoformat()}{source}，{when}"


def resolve(item: PlanItem, role: str, directory: Directory) -> tuple[list[tuple[str, str]], str]:
    """Names for a role on an item, climbing the chain when a role is vacant.
    Returns [(name, role)] and a note on any fallback."""
    note = ""
    current = role
    while True:
        if current == "owner":
            names = split_names(item.owner)
        elif current == "leader":
            names = split_names(item.leader)
        else:
            names = directory.holders(item.unit, current)
        if names or current not in FALLBACK:
            return [(n, current) for n in names], note
        note = f"（未指定{ROLE_NAMES[role]}，改发{ROLE_NAMES[FALLBACK[current]]}）"
        current = FALLBACK[current]


def _recipients(item: PlanItem, roles: list[str], reason: str,
                directory: Directory) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
    out: dict[str, Recipient] = {}
    unresolved: list[str] = []
    for role in roles:
        found, note = resolve(item, role, directory)
        if not found:
            unresolved.append(role)
        for name, held in found:
            out.setdefault(name, Recipient(name, held, reason + note))
    return tuple(out.values()), tuple(unresolved)


def plan_item(item: PlanItem, history: list[Sent], today: dt.date, rules: Rules,
              ladders: Mapping[str, Ladder], cal: WorkCalendar, directory: Directory) -> ItemPlan:
    ladder_id = min(history, key=lambda s: (s.due, s.offset)).ladder if history else rules.ladder.version
    ladder = ladders.get(ladder_id, rules.ladder)
    due = due_of(item, today, rules, cal)
    left = cal.workdays_between(today, due.date) if due.date else None
    was_red = item.overdue_since is not None or any(s.offset > 0 for s in history)
    estimated = cal.is_estimated(today) or (due.date is not None and cal.is_estimated(due.date))
    update = (_shift(month_end_of(add_months(today, rules.ongoing_update_months - 1)), rules, cal)
              if item.status == ONGOING else None)
    reached = highest_step(ladder, -left) if left is not None else None
    offset, step = reached if reached else (None, None)
    notify: tuple[Recipient, ...] = ()
    unresolved: tuple[str, ...] = ()
    done = [s.offset for s in history if s.due == due.date]
    if reached and left is not None and (not done or max(done) < reached[0]):
        roles, missed = owed(ladder, reached[0], max(done) if done else None)
        if item.rebound_count:
            roles = list(dict.fromkeys([*roles, *(LEVEL_UP[r] for r in roles if r in LEVEL_UP)]))
        reason = _reason(reached[1], due, left) + (f"（含此前未发的：{'、'.join(missed)}）" if missed else "")
        notify, unresolved = _recipients(item, roles, reason, directory)
    return ItemPlan(item, due, left, light_of(item, left, was_red, rules), estimated, update, step,
                    offset, ladder_id, notify, unresolved)


def owed(ladder: Ladder, offset: int, after: int | None) -> tuple[list[str], list[str]]:
    """Roles to tell at ladder position `offset` when the last notice went out at
    `after` (None: never): those of the step itself and of every step passed since,
    O(steps) however far overdue. Also names the missed steps that add someone the
    current step would not tell."""
    fresh = [(f, s) for s in reversed(ladder.steps)
             if (f := last_firing(s, offset)) is not None and (after is None or f > after)]
    roles = list(dict.fromkeys(r for _, s in sorted(fresh, key=lambda fs: -fs[0]) for r in s.to))
    top = {r for f, s in fresh if f == offset for r in s.to}
    missed = [s.name for f, s in sorted(fresh, key=lambda fs: fs[0])
              if f < offset and not set(s.to) <= top]
    return roles, list(dict.fromkeys(missed))


def plan(items: Iterable[PlanItem], history: Mapping[str, list[Sent]], today: dt.date,
         rules: Rules, ladders: Mapping[str, Ladder], cal: WorkCalendar,
         directory: Directory) -> list[ItemPlan]:
    """Plan every open or ongoing item for `today`; done items are never planned."""
    return [plan_item(i, history.get(i.key, []), today, rules, ladders, cal, directory)
            for i in items if i.status in ACTIVE]
