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
from dataclasses import dataclass, field

from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.people import Directory, split_names
from rectify_core.config.rules import Ladder, Rules, Step
from rectify_core.deadlines.due import _shift, add_months, due_of, light_of, month_end_of, was_red
from rectify_core.deadlines.types import Due, ItemPlan, Obligation, Recipient, Sent
from rectify_core.errors import RectifyError
from rectify_core.names import not_people
from rectify_core.vocab import ACTIVE, ONGOING, ROLE_NAMES, NoticeKind, Role

FALLBACK: dict[str, str] = {Role.OWNER: Role.LEADER, Role.LEADER: Role.FIRST_RESPONSIBLE}
# a rebounded item's notices also go one level up the chain
LEVEL_UP: dict[str, str] = {Role.OWNER: Role.LEADER, Role.LEADER: Role.FIRST_RESPONSIBLE,
                             Role.FIRST_RESPONSIBLE: Role.INSPECTION_OFFICE}
# escalation follows notification: a role is told only after the level below it was
ESCALATES_AFTER: dict[str, tuple[str, ...]] = {Role.FIRST_RESPONSIBLE: (Role.OWNER, Role.LEADER),
                                               Role.INSPECTION_OFFICE: (Role.FIRST_RESPONSIBLE,)}


# The planner's values are slotted, not frozen, dataclasses: ten times cheaper to make,
# and one of each is made per item a day. Nothing changes one after it is made.


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


class People:
    """Names and role holders as the plan reads them, each looked up once: a day's items
    share their owners, leaders and units."""

    __slots__ = ("_holders", "_names", "directory")

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._names: dict[str | None, list[str]] = {}
        self._holders: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def split(self, text: str | None) -> list[str]:
        names = self._names.get(text)
        if names is None:
            names = self._names[text] = split_names(text)
        return names

    def stand_ins(self, unit: str, text: str | None, role: str) -> tuple[list[tuple[str, str]], str]:
        """Who takes a role whose cell names no person, only a department or a title
        (办公室, 分管副局长): the department's head (contacts: department_head), else the
        unit's clerk (联络员); and a note saying so. Nobody is ever sent "办公室"."""
        others = not_people(text)
        if not others:
            return [], ""
        shown = "、".join(n.text for n in others)
        heads = [h for n in others if n.kind == "department" for h in self.directory.department_heads(unit, n.text)]
        if heads:
            return heads, f"（{ROLE_NAMES[role]}一栏为“{shown}”，改发部门负责人）"
        clerks = self.holders_in(unit, Role.CLERK)
        if clerks:
            return clerks, f"（{ROLE_NAMES[role]}一栏为“{shown}”，未写明具体人员，请单位联络员分派）"
        return [], ""

    def holders_in(self, unit: str, role: str) -> list[tuple[str, str]]:
        key = (unit, role)
        found = self._holders.get(key)
        if found is None:
            found = self._holders[key] = self.directory.holders_in(unit, role)
        return found


def resolve(item: Obligation, role: str, people: People) -> tuple[list[tuple[str, str, str]], str]:
    """People for a role on an item as (name, role held, unit), climbing the chain when
    a role is vacant. Returns them and a note on any fallback."""
    note, current = "", role
    while True:
        if current in (Role.OWNER, Role.LEADER):
            cell = item.owner if current == Role.OWNER else item.leader
            found = [(n, _unit_of(n, item, people.directory)) for n in people.split(cell)]
            if not found:
                found, stand_in = people.stand_ins(item.unit, cell, current)
                if found:
                    return [(n, current, u) for n, u in found], note + stand_in
        elif current == Role.FIRST_RESPONSIBLE and item.first_responsible:
            found = [(n, item.unit) for n in people.split(item.first_responsible)]
        else:
            found = people.holders_in(item.unit, current)
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


Resolver = Callable[[Obligation, str], tuple[list[tuple[str, str, str]], str]]


def who(item: Obligation, owed_now: list[str], roles: list[str],
        resolver: Resolver) -> tuple[tuple[tuple[str, str, str, str], ...], tuple[str, ...]]:
    """(name, role held, unit, fallback note) of each person to tell for `roles`, and the
    roles owed now that nobody holds (reported even while their escalation waits)."""
    resolved = {role: resolver(item, role) for role in owed_now}
    out: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for role in roles:
        found, note = resolved[role] if role in resolved else resolver(item, role)
        for name, held, unit in found:
            out.setdefault((unit, name), (name, held, unit, note))
    return tuple(out.values()), tuple(role for role in owed_now if not resolved[role][0])


def _gate(roles: list[str], same_due: list[Sent], item: Obligation, today: dt.date, rules: Rules,
          cal: WorkCalendar, resolver: Resolver) -> list[str]:
    """Drop escalation roles whose level below was not yet notified (delivered, or given
    up on) about this due date at least `escalation.wait_workdays` ago."""
    if not rules.escalate_after_notified:
        return roles

    def settled(below: tuple[str, ...]) -> bool:
        return any(s.role in below and s.settled_on is not None
                   and cal.workdays_between(s.settled_on, today) >= rules.escalation_wait_workdays
                   for s in same_due)

    kept = []
    for role in roles:
        below = ESCALATES_AFTER.get(role)
        if below == (Role.FIRST_RESPONSIBLE,) and not resolver(item, Role.FIRST_RESPONSIBLE)[0]:
            below = ESCALATES_AFTER[Role.FIRST_RESPONSIBLE]  # no first responsible: wait on the level below
        if below is None or settled(below):
            kept.append(role)
    return kept


def plan_item(item: Obligation, history: list[Sent], today: dt.date, rules: Rules,
              ladders: Mapping[str, Ladder], cal: WorkCalendar, directory: Directory) -> ItemPlan:
    """One obligation's plan for `today`: the planner with nothing shared yet."""
    return Planner(today, rules, ladders, cal, directory).plan(item, history)


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


@dataclass(slots=True)
class _Timing:
    """The part of a plan that items with the same dates, status and history share."""

    due: Due
    left: int | None
    light: str | None
    estimated: bool
    update: dt.date | None
    step: str | None
    offset: int | None
    ladder: str
    owed_now: list[str] | None = None  # None: no step reached, nobody owed a notice
    same_due: list[Sent] = field(default_factory=list)
    reason: str = ""


class Planner:
    """The plan of many obligations on one day, at a few microseconds each. It composes
    the rule functions above (due_of, highest_step, _owed_roles, _gate, resolve, who,
    _reason, light_of) and memoises what obligations share: due dates from the same
    deadline, working days to the same date, the ladder step at the same distance, the
    roles owed after the same history, names and role holders, the reason text. A
    property test holds a planner warmed by many items equal to a fresh one per item."""

    def __init__(self, today: dt.date, rules: Rules, ladders: Mapping[str, Ladder], cal: WorkCalendar,
                 directory: Directory) -> None:
        self.today, self.rules, self.ladders, self.cal, self.directory = today, rules, ladders, cal, directory
        self._due: dict[tuple[object, ...], Due] = {}
        self._left: dict[dt.date, int] = {}
        self._reached: dict[tuple[str, int], tuple[int, str] | None] = {}
        self._owed: dict[tuple[object, ...], tuple[list[str], list[str]]] = {}
        self._reasons: dict[tuple[object, ...], str] = {}
        self.people = People(directory)
        self._estimated: dict[dt.date, bool] = {}
        self._people: dict[tuple[object, ...], tuple[tuple[tuple[str, str, str, str], ...], tuple[str, ...]]] = {}
        self._today_estimated = cal.is_estimated(today)
        self._timings: dict[tuple[object, ...], _Timing] = {}
        self._told: dict[tuple[object, ...], tuple[tuple[Recipient, ...], tuple[str, ...]]] = {}
        self._update = _shift(month_end_of(add_months(today, rules.ongoing_update_months - 1)), rules, cal)

    def glance(self, item: Obligation) -> tuple[dt.date | None, int | None, str | None]:
        """An item's due date, working days left and light, as `plan(item, [])` gives them,
        without who would be owed a notice: what a list shows (memoised as plans are)."""
        key = (item.kind, item.deadline, item.extended_to, item.feedback_date, item.status,
               item.overdue_since is not None, item.rebound_count, ())
        timing = self._timings.get(key)
        if timing is None:
            try:
                timing = self._timings[key] = self._timing(item, [])
            except RectifyError:
                return None, None, None
        return timing.due.date, timing.left, timing.light

    def plan(self, item: Obligation, history: list[Sent]) -> ItemPlan:
        try:
            return self._plan(item, history)
        except RectifyError as exc:
            return ItemPlan(item, Due(None, None, str(exc)), None, None, True, None, None, None,
                            self.rules.ladder.version, (), ())

    def _plan(self, item: Obligation, history: list[Sent]) -> ItemPlan:
        # an item's plan is its timing (what its dates, status and history make of today)
        # and its people (who the owed roles reach): each is memoised on what it reads; a
        # look-back task (a few a day) is planned whole
        memo = item.subject == NoticeKind.ITEM
        if memo:
            told = tuple([(s.due, s.offset, s.ladder, s.role, s.settled_on) for s in history]) if history else ()
            key = (item.kind, item.deadline, item.extended_to, item.feedback_date, item.status,
                   item.overdue_since is not None, item.rebound_count, told)
            timing = self._timings.get(key)
            if timing is None:
                timing = self._timings[key] = self._timing(item, history)
        else:
            timing = self._timing(item, history)
        notify: tuple[Recipient, ...] = ()
        unresolved: tuple[str, ...] = ()
        if timing.owed_now is not None:
            who_key = (id(timing), item.unit, item.owner, item.leader, item.first_responsible)
            found = self._told.get(who_key) if memo else None
            if found is None:
                found = self._people_of(item, timing)
                if memo:
                    self._told[who_key] = found
            notify, unresolved = found
        return ItemPlan(item, timing.due, timing.left, timing.light, timing.estimated, timing.update, timing.step,
                        timing.offset, timing.ladder, notify, unresolved, not history, timing if memo else None)

    def _timing(self, item: Obligation, history: list[Sent]) -> _Timing:
        """Everything of an item's plan but its people; it reads only the fields and the
        history that key it in `_plan`."""
        rules = self.rules
        ladder_id = min(history, key=lambda s: (s.due, s.offset)).ladder if history else rules.ladder.version
        due = self._due_of(item)
        left = self._left_to(due.date) if due.date else None
        estimated = self._today_estimated or (due.date is not None and self._is_estimated(due.date))
        update = self._update if item.status == ONGOING and item.subject == NoticeKind.ITEM else None
        reached = self._step(ladder_id, -left) if left is not None else None
        offset, step = reached if reached else (None, None)
        timing = _Timing(due, left, light_of(item, left, was_red(item, history), rules), estimated, update, step,
                         offset, ladder_id)
        if reached and left is not None:
            timing.same_due = [s for s in history if s.due == due.date] if history else []
            timing.owed_now, missed = self._owed_roles(ladder_id, reached[0], timing.same_due, item)
            timing.reason = self._reason(reached[1], due, left, missed)
        return timing

    def _people_of(self, item: Obligation, timing: _Timing) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
        owed_now = timing.owed_now
        assert owed_now is not None
        roles = (self._gate(owed_now, timing.same_due, item) if any(r in ESCALATES_AFTER for r in owed_now)
                 else owed_now)
        return self._recipients(item, owed_now, roles, timing.reason)

    def _gate(self, owed_now: list[str], same_due: list[Sent], item: Obligation) -> list[str]:
        """`_gate`; with no history nobody below was told, so no escalation role passes."""
        if same_due or not self.rules.escalate_after_notified:
            return _gate(owed_now, same_due, item, self.today, self.rules, self.cal, self._resolve)
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

    def _resolve(self, item: Obligation, role: str) -> tuple[list[tuple[str, str, str]], str]:
        return resolve(item, role, self.people)

    def _recipients(self, item: Obligation, owed_now: list[str], roles: list[str],
                    reason: str) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
        if item.subject != NoticeKind.ITEM:
            people, unresolved = who(item, owed_now, roles, self._resolve)
        else:
            key = (tuple(owed_now), tuple(roles), item.unit, item.owner, item.leader, item.first_responsible)
            found = self._people.get(key)
            if found is None:
                found = self._people[key] = who(item, owed_now, roles, self._resolve)
            people, unresolved = found
        return tuple(Recipient(name, held, reason + note, unit) for name, held, unit, note in people), unresolved
