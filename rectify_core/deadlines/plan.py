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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.people import Directory, split_names
from rectify_core.config.rules import Ladder, Rules, Step
from rectify_core.deadlines.datetext import month_end
from rectify_core.errors import RectifyError
from rectify_core.vocab import ACTIVE, ONGOING, ROLE_NAMES, URGENCY, DeadlineKind, Light, NoticeKind, Role

FALLBACK = {"owner": "leader", "leader": "first_responsible"}
# a rebounded item's notices also go one level up the chain
LEVEL_UP = {"owner": "leader", "leader": "first_responsible", "first_responsible": "inspection_office"}
# escalation follows notification: a role is told only after the level below it was
ESCALATES_AFTER: dict[str, tuple[str, ...]] = {Role.FIRST_RESPONSIBLE: (Role.OWNER, Role.LEADER),
                                               Role.INSPECTION_OFFICE: (Role.FIRST_RESPONSIBLE,)}


# The planner's values are slotted, not frozen, dataclasses: ten times cheaper to make,
# and one of each is made per item a day. Nothing changes one after it is made.
@dataclass(slots=True, unsafe_hash=True)
class Obligation:
    """What someone owes by a date: an item's own rectification, or a look-back task's
    re-check of a closed item. One shape for the planner, the outbox and the digest;
    `subject` says which it is."""

    id: int  # the item's id (a look-back task is about an item too)
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
    lookback_id: int | None = None
    first_responsible: str | None = None  # named on the round; contacts add more
    subject: NoticeKind = NoticeKind.ITEM
    department: str | None = None

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

    def dedup_keys(self) -> list[str]:
        assert self.due.date is not None and self.offset is not None
        return [notice_key(self.item.key, self.due.date, self.offset, r.unit, r.name) for r in self.notify]


def notice_key(key: str, due: dt.date, offset: int, unit: str, name: str) -> str:
    return f"{key}:{due.isoformat()}:{offset:+d}:{unit}/{name}"


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


def due_of(item: Obligation, today: dt.date, rules: Rules, cal: WorkCalendar) -> Due:
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




def urgency(p: ItemPlan) -> tuple[int, int, int]:
    """Most urgent first: by light, then fewest working days left, then number."""
    left = p.workdays_left if p.workdays_left is not None else 10**6
    return URGENCY[p.light], left, p.item.no


def open_ended(kind: str | None, deadline: dt.date | None, extended_to: dt.date | None) -> bool:
    """A long-term (长期坚持) item with no final date of its own: its due dates are quarterly."""
    return kind == DeadlineKind.LONG_TERM and deadline is None and extended_to is None


def light_of(item: Obligation, left: int | None, was_red: bool, rules: Rules) -> Light | None:
    ended = item.subject == NoticeKind.ITEM and open_ended(item.kind, item.deadline, item.extended_to)
    return light(ended, left, was_red, rules)


def was_red(item: Obligation, history: Iterable[Sent]) -> bool:
    """Sticky red: once overdue (recorded, or told as overdue), an item stays at least
    yellow until it is done, whatever a later extension says."""
    return item.overdue_since is not None or any(s.offset > 0 for s in history)


def light_on(item: Obligation, history: Iterable[Sent], today: dt.date, rules: Rules,
             cal: WorkCalendar) -> Light | None:
    """An obligation's light on `today` by the planner's own rule: its due date by rule
    (holiday shift included), working days left, sticky red."""
    try:
        due = due_of(item, today, rules, cal)
    except RectifyError:
        return None
    left = cal.workdays_between(today, due.date) if due.date else None
    return light_of(item, left, was_red(item, history), rules)


def light(open_ended: bool, left: int | None, was_red: bool, rules: Rules) -> Light | None:
    """红黄绿灯, the one definition: blue for long-term items without a final date; red
    when overdue; yellow within `yellow_within` working days, or once overdue until done;
    else green."""
    if open_ended:
        return Light.BLUE
    if left is None:
        return None
    if left < 0:
        return Light.RED
    if left <= rules.yellow_within or was_red:
        return Light.YELLOW
    return Light.GREEN


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


def resolve(item: Obligation, role: str, directory: Directory) -> tuple[list[tuple[str, str, str]], str]:
    """People for a role on an item as (name, role held, unit), climbing the chain when
    a role is vacant. Returns them and a note on any fallback."""
    note = ""
    current = role
    while True:
        if current in ("owner", "leader"):
            found = [(n, _unit_of(n, item, directory))
                     for n in split_names(item.owner if current == "owner" else item.leader)]
        else:
            found = directory.holders_in(item.unit, current)
            if current == Role.FIRST_RESPONSIBLE and item.first_responsible:
                found = [(n, item.unit) for n in split_names(item.first_responsible)]
        if found or current not in FALLBACK:
            return [(n, current, u) for n, u in found], note
        note = f"（未指定{ROLE_NAMES[role]}，改发{ROLE_NAMES[FALLBACK[current]]}）"
        current = FALLBACK[current]


def _unit_of(name: str, item: Obligation, directory: Directory) -> str:
    """A look-back reviewer may serve every unit (contacts.toml); an item's people are its unit's."""
    if item.subject == NoticeKind.LOOKBACK:
        contact = directory.contact(name, item.unit)
        if contact is not None:
            return contact.unit
    return item.unit


def _recipients(item: Obligation, roles: list[str], reason: str,
                directory: Directory) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
    out: dict[tuple[str, str], Recipient] = {}
    unresolved: list[str] = []
    for role in roles:
        found, note = resolve(item, role, directory)
        if not found:
            unresolved.append(role)
        for name, held, unit in found:
            out.setdefault((unit, name), Recipient(name, held, reason + note, unit))
    return tuple(out.values()), tuple(unresolved)


Resolver = Callable[[Obligation, str], tuple[list[tuple[str, str, str]], str]]


def _gate(roles: list[str], same_due: list[Sent], item: Obligation, today: dt.date, rules: Rules,
          cal: WorkCalendar, directory: Directory, resolver: Resolver | None = None) -> list[str]:
    """Drop escalation roles whose level below was not yet notified (delivered, or given
    up on) about this due date at least `escalation.wait_workdays` ago. (`resolver`: the
    planner's memoised `resolve`.)"""
    if not rules.escalate_after_notified:
        return roles

    def settled(below: tuple[str, ...]) -> bool:
        return any(s.role in below and s.settled_on is not None
                   and cal.workdays_between(s.settled_on, today) >= rules.escalation_wait_workdays
                   for s in same_due)

    kept = []
    for role in roles:
        below = ESCALATES_AFTER.get(role)
        if below == (Role.FIRST_RESPONSIBLE,) and not (
                resolver(item, Role.FIRST_RESPONSIBLE) if resolver else resolve(item, Role.FIRST_RESPONSIBLE,
                                                                                 directory))[0]:
            below = ESCALATES_AFTER[Role.FIRST_RESPONSIBLE]  # no first responsible: wait on the level below
        if below is None or settled(below):
            kept.append(role)
    return kept


def plan_item(item: Obligation, history: list[Sent], today: dt.date, rules: Rules,
              ladders: Mapping[str, Ladder], cal: WorkCalendar, directory: Directory) -> ItemPlan:
    ladder_id = min(history, key=lambda s: (s.due, s.offset)).ladder if history else rules.ladder.version
    ladder = ladders.get(ladder_id, rules.ladder)
    due = due_of(item, today, rules, cal)
    left = cal.workdays_between(today, due.date) if due.date else None
    red_before = was_red(item, history)
    estimated = cal.is_estimated(today) or (due.date is not None and cal.is_estimated(due.date))
    update = (_shift(month_end_of(add_months(today, rules.ongoing_update_months - 1)), rules, cal)
              if item.status == ONGOING and item.subject == NoticeKind.ITEM else None)
    reached = highest_step(ladder, -left) if left is not None else None
    offset, step = reached if reached else (None, None)
    notify: tuple[Recipient, ...] = ()
    unresolved: tuple[str, ...] = ()
    if reached and left is not None:
        same_due = [s for s in history if s.due == due.date]
        owed_now, missed = _owed_roles(ladder, reached[0], same_due, item, rules)
        roles = _gate(owed_now, same_due, item, today, rules, cal, directory)
        reason = _reason(reached[1], due, left) + (f"（含此前未发的：{'、'.join(missed)}）" if missed else "")
        notify = _recipients(item, roles, reason, directory)[0] if roles else ()
        # a role nobody holds is reported even while its escalation waits
        unresolved = _recipients(item, owed_now, reason, directory)[1]
    return ItemPlan(item, due, left, light_of(item, left, red_before, rules), estimated, update, step,
                    offset, ladder_id, notify, unresolved)


def _owed_roles(ladder: Ladder, offset: int, same_due: list[Sent], item: Obligation,
                rules: Rules) -> tuple[list[str], list[str]]:
    """Roles owed a notice at `offset`: those of the steps passed since the last notice,
    and, when escalation waits on notification, every escalation role not yet told
    about this due date at the steps it has reached."""
    def lifted(roles: list[str]) -> list[str]:
        if not item.rebound_count:
            return roles
        return list(dict.fromkeys([*roles, *(LEVEL_UP[r] for r in roles if r in LEVEL_UP)]))

    done = [s.offset for s in same_due]
    after = max(done) if done else None
    roles, missed = owed(ladder, offset, after) if after is None or after < offset else ([], [])
    roles = lifted(roles)
    if rules.escalate_after_notified:
        for role in ESCALATES_AFTER:
            told = [s.offset for s in same_due if s.role == role]
            if role not in roles and role in lifted(owed(ladder, offset, max(told) if told else None)[0]):
                roles.append(role)
    return roles, missed


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


def plan(items: Iterable[Obligation], history: Mapping[str, list[Sent]], today: dt.date,
         rules: Rules, ladders: Mapping[str, Ladder], cal: WorkCalendar,
         directory: Directory) -> list[ItemPlan]:
    """Plan every obligation for `today`: open or ongoing items (done items are never
    planned) and open look-back tasks."""
    planner = Planner(today, rules, ladders, cal, directory)
    return [planner.plan(i, history.get(i.key, [])) for i in items
            if i.subject == NoticeKind.LOOKBACK or i.status in ACTIVE]


class Planner:
    """`plan_item` for many items on one day, at a few microseconds an item: what items
    share (due dates from the same deadline, working days to the same date, the ladder
    step at the same distance, the roles owed after the same history, the holders of a
    role in a unit, the reason text) is computed once. `plan_item` stays the
    definition; a property test holds the two equal."""

    def __init__(self, today: dt.date, rules: Rules, ladders: Mapping[str, Ladder], cal: WorkCalendar,
                 directory: Directory) -> None:
        self.today, self.rules, self.ladders, self.cal, self.directory = today, rules, ladders, cal, directory
        self._due: dict[tuple[object, ...], Due] = {}
        self._left: dict[dt.date, int] = {}
        self._reached: dict[tuple[str, int], tuple[int, str] | None] = {}
        self._owed: dict[tuple[object, ...], tuple[list[str], list[str]]] = {}
        self._reasons: dict[tuple[object, ...], str] = {}
        self._names: dict[str | None, list[str]] = {}
        self._holders: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._estimated: dict[dt.date, bool] = {}
        self._people: dict[tuple[object, ...], tuple[tuple[tuple[str, str, str, str], ...], tuple[str, ...]]] = {}
        self._today_estimated = cal.is_estimated(today)
        self._update = _shift(month_end_of(add_months(today, rules.ongoing_update_months - 1)), rules, cal)

    def plan(self, item: Obligation, history: list[Sent]) -> ItemPlan:
        try:
            return self._plan(item, history)
        except RectifyError as exc:
            return ItemPlan(item, Due(None, None, str(exc)), None, None, True, None, None, None,
                            self.rules.ladder.version, (), ())

    def _plan(self, item: Obligation, history: list[Sent]) -> ItemPlan:
        rules = self.rules
        ladder_id = min(history, key=lambda s: (s.due, s.offset)).ladder if history else rules.ladder.version
        due = self._due_of(item)
        left = self._left_to(due.date) if due.date else None
        red_before = was_red(item, history)
        estimated = self._today_estimated or (due.date is not None and self._is_estimated(due.date))
        update = self._update if item.status == ONGOING and item.subject == NoticeKind.ITEM else None
        reached = self._step(ladder_id, -left) if left is not None else None
        offset, step = reached if reached else (None, None)
        notify: tuple[Recipient, ...] = ()
        unresolved: tuple[str, ...] = ()
        if reached and left is not None:
            same_due = [s for s in history if s.due == due.date] if history else []
            owed_now, missed = self._owed_roles(ladder_id, reached[0], same_due, item)
            roles = self._gate(owed_now, same_due, item) if any(r in ESCALATES_AFTER for r in owed_now) else owed_now
            reason = self._reason(reached[1], due, left, missed)
            notify, unresolved = self._recipients(item, owed_now, roles, reason)
        return ItemPlan(item, due, left, light_of(item, left, red_before, rules), estimated, update, step,
                        offset, ladder_id, notify, unresolved)

    def _gate(self, owed_now: list[str], same_due: list[Sent], item: Obligation) -> list[str]:
        """`_gate`; with no history nobody below was told, so no escalation role passes."""
        if same_due or not self.rules.escalate_after_notified:
            return _gate(owed_now, same_due, item, self.today, self.rules, self.cal, self.directory,
                         self._resolve)
        return [r for r in owed_now if r not in ESCALATES_AFTER]

    def _due_of(self, item: Obligation) -> Due:
        key = (item.kind, item.deadline, item.extended_to, item.feedback_date)
        due = self._due.get(key)
        if due is None:
            due = self._due[key] = due_of(item, self.today, self.rules, self.cal)
        return due

    def _left_to(self, day: dt.date) -> int:
        left = self._left.get(day)
        if left is None:
            left = self._left[day] = self.cal.workdays_between(self.today, day)
        return left

    def _is_estimated(self, day: dt.date) -> bool:
        known = self._estimated.get(day)
        if known is None:
            known = self._estimated[day] = self.cal.is_estimated(day)
        return known

    def _ladder(self, ladder_id: str) -> Ladder:
        return self.ladders.get(ladder_id, self.rules.ladder)

    def _step(self, ladder_id: str, elapsed: int) -> tuple[int, str] | None:
        key = (ladder_id, elapsed)
        if key not in self._reached:
            self._reached[key] = highest_step(self._ladder(ladder_id), elapsed)
        return self._reached[key]

    def _owed_roles(self, ladder_id: str, offset: int, same_due: list[Sent],
                    item: Obligation) -> tuple[list[str], list[str]]:
        if same_due:
            done = max(s.offset for s in same_due)
            told = tuple(max((s.offset for s in same_due if s.role == r), default=None) for r in ESCALATES_AFTER)
        else:
            done, told = None, (None,) * len(ESCALATES_AFTER)
        key = (ladder_id, offset, done, told, item.rebound_count > 0)
        found = self._owed.get(key)
        if found is None:
            found = self._owed[key] = _owed_roles(self._ladder(ladder_id), offset, same_due, item, self.rules)
        return found

    def _reason(self, step: str, due: Due, left: int, missed: list[str]) -> str:
        key = (step, due.date, due.source, left, tuple(missed))
        text = self._reasons.get(key)
        if text is None:
            text = _reason(step, due, left) + (f"（含此前未发的：{'、'.join(missed)}）" if missed else "")
            self._reasons[key] = text
        return text

    def _split(self, text: str | None) -> list[str]:
        names = self._names.get(text)
        if names is None:
            names = self._names[text] = split_names(text)
        return names

    def _resolve(self, item: Obligation, role: str) -> tuple[list[tuple[str, str, str]], str]:
        """`resolve`, with names and role holders looked up once."""
        if item.subject == NoticeKind.LOOKBACK:
            return resolve(item, role, self.directory)
        note, current = "", role
        while True:
            if current in ("owner", "leader"):
                found = [(n, item.unit) for n in self._split(item.owner if current == "owner" else item.leader)]
            elif current == Role.FIRST_RESPONSIBLE and item.first_responsible:
                found = [(n, item.unit) for n in self._split(item.first_responsible)]
            else:
                key = (item.unit, current)
                if key not in self._holders:
                    self._holders[key] = self.directory.holders_in(item.unit, current)
                found = self._holders[key]
            if found or current not in FALLBACK:
                return [(n, current, u) for n, u in found], note
            note = f"（未指定{ROLE_NAMES[role]}，改发{ROLE_NAMES[FALLBACK[current]]}）"
            current = FALLBACK[current]

    def _recipients(self, item: Obligation, owed_now: list[str], roles: list[str],
                    reason: str) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
        if item.subject != NoticeKind.ITEM:
            people, unresolved = self._who(item, owed_now, roles)
        else:
            key = (tuple(owed_now), tuple(roles), item.unit, item.owner, item.leader, item.first_responsible)
            found = self._people.get(key)
            if found is None:
                found = self._people[key] = self._who(item, owed_now, roles)
            people, unresolved = found
        return tuple(Recipient(name, held, reason + note, unit) for name, held, unit, note in people), unresolved

    def _who(self, item: Obligation, owed_now: list[str],
             roles: list[str]) -> tuple[tuple[tuple[str, str, str, str], ...], tuple[str, ...]]:
        """(name, role held, unit, note) of each person to tell, and the roles nobody holds."""
        resolved = {role: self._resolve(item, role) for role in owed_now}
        out: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        for role in roles:
            found, note = resolved[role] if role in resolved else self._resolve(item, role)
            for name, held, unit in found:
                out.setdefault((unit, name), (name, held, unit, note))
        return tuple(out.values()), tuple(role for role in owed_now if not resolved[role][0])
