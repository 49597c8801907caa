"""结果考评: each unit's rectification scored from its own record, as of a day.

One pure function of the record and the day (`score_units`), like the planner: each unit
starts from full marks and loses points measure by measure for facts of its items
(overdue, closed late, extended twice, rebounds, reminders left unanswered, closures
without evidence, progress not reported), each measure's loss capped; every point lost is a
deduction naming its item, the fact and the rule. Adding an on-time closure with evidence
never lowers a score.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from rectify_core import refs
from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.scoring import MEASURES, NOT_GRADED, Scoring
from rectify_core.deadlines.due import add_months
from rectify_core.vocab import ACTIVE, ItemState, completion_rate

REBOUND = "rebound"


@dataclass(frozen=True)
class Closure:
    closed_on: dt.date
    files: int  # evidence files recorded with it


@dataclass(slots=True)
class ItemRecord:
    """What the record says of one counted item, as of the day scored."""

    unit: str
    ref: str
    status: str
    long_term: bool
    due: dt.date | None  # the (extended) deadline; None: long-term, or no rule can date it
    since: dt.date  # when it began to be tracked (the round's feedback date, else its import)
    extensions: int = 0
    closures: tuple[Closure, ...] = ()  # in order; the last stands while the item is done
    lookbacks: tuple[str, ...] = ()  # outcomes recorded: consolidated | rebound
    reminders: tuple[dt.date, ...] = ()  # days a reminder was sent to its owner or leader
    answers: tuple[dt.date, ...] = ()  # days it was read (已阅) or progress reported, sorted
    progress: tuple[dt.date, ...] = ()  # days progress was reported, sorted


@dataclass(frozen=True, slots=True)
class Lost:
    """One deduction: the item, the measure, the points and the words that explain it (a
    province's county has hundreds of thousands: the rule's words are one string for every
    deduction under it, and the whole made when read)."""

    ref: str
    measure: str
    points: float
    fact: str  # what the item's record shows
    rule: str  # the rule and its cap, shared

    @property
    def text(self) -> str:
        return f"{refs.label(self.ref)} {self.fact}，扣{self.points:g}分（规则：{self.rule}）"

    def as_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "measure": self.measure, "points": self.points, "text": self.text}


@dataclass
class UnitScore:
    unit: str
    items: int = 0
    due: int = 0
    on_time: int = 0
    overdue_items: int = 0
    overdue_working_days: int = 0
    extensions: int = 0
    extended_twice: int = 0
    looked_back: int = 0
    rebounds: int = 0
    reminders: int = 0
    answered: int = 0
    closures: int = 0
    closures_with_evidence: int = 0
    progress_due: int = 0
    progress_missed: int = 0
    score: float | None = None
    grade: str = NOT_GRADED
    rank: int | None = None
    deductions: list[Lost] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float:
        """按期完成率, in percent (100 when nothing was due yet)."""
        return completion_rate(self.on_time, self.due) if self.due else 100.0

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "deductions"}
        return {**out, "on_time_rate": self.on_time_rate, "deductions": [d.as_json() for d in self.deductions]}


def _points(value: float) -> float:
    return round(value, 2)


class _Ledger:
    """The deductions of one unit, each measure capped as they are added in item order."""

    def __init__(self, rules: Scoring) -> None:
        self.rules = rules
        self.lost: list[Lost] = []
        self.taken = dict.fromkeys(MEASURES, 0.0)
        self.rule_words: dict[str, str] = {}  # each measure's rule in words, made once

    def take(self, ref: str, measure: str, fact: Callable[[], str], points: float | None = None) -> None:
        """Lose `points` (the measure's own by default) for `fact()` of item `ref` (its words
        made only when a point is lost: past a measure's cap, none is)."""
        deduction = self.rules.deductions[measure]
        room = deduction.cap - self.taken[measure]
        if room <= 0:
            return  # the measure's cap is reached: the fact still shows in the measures
        points = _points(min(deduction.points if points is None else points, room))
        if points <= 0:
            return
        self.taken[measure] += points
        rule = self.rule_words.get(measure)
        if rule is None:
            rule = self.rule_words[measure] = f"{_rule(measure, self.rules)}，上限{deduction.cap:g}分"
        self.lost.append(Lost(ref, measure, points, fact(), rule))


_PLACE = {measure: n for n, measure in enumerate(MEASURES)}  # the measures' order, for sorting deductions


def _rule(measure: str, rules: Scoring) -> str:
    d = rules.deductions[measure]
    if measure == "overdue":
        return f"逾期每{d.per}个工作日扣{d.points:g}分"
    return f"{MEASURES[measure][0]}每项扣{d.points:g}分"


class Workdays(Protocol):
    """What the scores ask of the working calendar."""

    def workdays_between(self, start: dt.date, end: dt.date) -> int: ...


class _Counted:
    """Working days between two dates, each pair counted once: a county's deadlines,
    reminders and answers fall on a few hundred days."""

    def __init__(self, cal: WorkCalendar) -> None:
        self._cal = cal
        self._known: dict[tuple[dt.date, dt.date], int] = {}

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        found = self._known.get((start, end))
        if found is None:
            found = self._known[start, end] = self._cal.workdays_between(start, end)
        return found


def _due_facts(r: ItemRecord, day: dt.date, cal: Workdays, s: UnitScore, book: _Ledger) -> None:
    due = r.due
    if due is None or due > day:
        return
    s.due += 1
    closed = r.closures[-1].closed_on if r.closures and r.status == ItemState.DONE else None
    if r.status == ItemState.DONE:
        if closed is not None and closed > due:
            on, late = closed, cal.workdays_between(due, closed)
            book.take(r.ref, "late", lambda: f"{on.isoformat()}完成，晚于整改时限{due.isoformat()}（{late}个工作日）")
        else:
            s.on_time += 1
    elif r.status in ACTIVE and due < day:
        days = max(cal.workdays_between(due, day), 0)
        s.overdue_items += 1
        s.overdue_working_days += days
        d = book.rules.deductions["overdue"]
        book.take(r.ref, "overdue", lambda: f"逾期{days}个工作日（整改时限{due.isoformat()}）",
                  math.ceil(days / d.per) * d.points)


def _answered(r: ItemRecord, sent: dt.date, window: int, cal: Workdays) -> bool:
    i = bisect.bisect_left(r.answers, sent)
    return i < len(r.answers) and cal.workdays_between(sent, r.answers[i]) <= window


def _reminder_facts(r: ItemRecord, day: dt.date, cal: Workdays, s: UnitScore, book: _Ledger) -> None:
    window = book.rules.answer_workdays
    for sent in r.reminders:
        if _answered(r, sent, window, cal):
            s.reminders += 1
            s.answered += 1
        elif cal.workdays_between(sent, day) > window:  # its time to answer is over
            s.reminders += 1
            book.take(r.ref, "unanswered", partial("{}的督办提醒{}个工作日内未阅、未报进展".format, sent, window))


def _record_facts(r: ItemRecord, s: UnitScore, book: _Ledger) -> None:
    s.extensions += r.extensions
    if r.extensions >= 2:
        s.extended_twice += 1
        book.take(r.ref, "extensions", lambda: f"延期{r.extensions}次")
    for outcome in r.lookbacks:
        s.looked_back += 1
        if outcome == REBOUND:
            s.rebounds += 1
            book.take(r.ref, "rebounds", lambda: "回头看发现反弹")
    for c in r.closures:
        s.closures += 1
        if c.files:
            s.closures_with_evidence += 1
        else:
            book.take(r.ref, "no_evidence", partial("{}销号时没有佐证材料文件".format, c.closed_on))


def _progress_facts(r: ItemRecord, start: dt.date, s: UnitScore, book: _Ledger) -> None:
    """`start`: the day the current update period began (progress is due since then)."""
    if r.status not in ACTIVE or not (r.status == ItemState.ONGOING or r.long_term):
        return
    if r.since > start:
        return  # tracked for less than one update period: nothing was due yet
    s.progress_due += 1
    if not r.progress or r.progress[-1] < start:
        s.progress_missed += 1
        book.take(r.ref, "no_progress", lambda: f"{start.isoformat()}以来未报送进展")


def score_unit(unit: str, records: list[ItemRecord], day: dt.date, rules: Scoring, cal: Workdays,
               update_months: int) -> UnitScore:
    """One unit's measures, deductions and score as of `day` (rank is given by `rank`)."""
    s, book = UnitScore(unit, items=len(records)), _Ledger(rules)
    start = add_months(day, -update_months)
    for r in sorted(records, key=lambda r: refs.order(r.ref)):
        _due_facts(r, day, cal, s, book)
        if r.reminders:
            _reminder_facts(r, day, cal, s, book)
        if r.extensions or r.lookbacks or r.closures:
            _record_facts(r, s, book)
        _progress_facts(r, start, s, book)
    s.deductions = sorted(book.lost, key=lambda d: (_PLACE[d.measure], refs.order(d.ref)))
    if s.items >= rules.min_items and s.items > 0:
        s.score = _points(max(rules.full - sum(d.points for d in s.deductions), 0))
        s.grade = rules.grade(s.score)
    return s


def rank(scores: list[UnitScore]) -> list[UnitScore]:
    """Graded units by score, highest first (equal scores share a rank), then those not graded."""
    graded = sorted((s for s in scores if s.score is not None), key=lambda s: (-(s.score or 0), s.unit))
    for n, s in enumerate(graded):
        s.rank = graded[n - 1].rank if n and graded[n - 1].score == s.score else n + 1
    return graded + sorted((s for s in scores if s.score is None), key=lambda s: s.unit)


def score_units(records: Iterable[ItemRecord], units: Iterable[str], day: dt.date, rules: Scoring,
                cal: WorkCalendar, update_months: int) -> list[UnitScore]:
    """Every unit's score as of `day`, ranked; a unit without items is listed, not graded."""
    by_unit: dict[str, list[ItemRecord]] = {u: [] for u in units}
    for r in records:
        by_unit.setdefault(r.unit, []).append(r)
    return score_groups(by_unit.items(), day, rules, cal, update_months)


def score_groups(groups: Iterable[tuple[str, list[ItemRecord]]], day: dt.date, rules: Scoring, cal: WorkCalendar,
                 update_months: int) -> list[UnitScore]:
    """`score_units` for records that come a unit at a time (each unit once, with all its
    records): each unit is scored as it comes, so its records need not be kept."""
    days = _Counted(cal)
    return rank([score_unit(u, rs, day, rules, days, update_months) for u, rs in groups])


def biggest(score: UnitScore, n: int = 3) -> list[Lost]:
    """The `n` deductions that cost the most (for a table that has room for a few)."""
    return sorted(score.deductions, key=lambda d: -d.points)[:n]


def lost_text(score: UnitScore, n: int = 3) -> str:
    """A unit's biggest deductions, short: 问题4逾期扣2分；问题2销号无佐证扣2分 (无 for none)."""
    return "；".join(f"{refs.label(d.ref)}{MEASURES[d.measure][0]}扣{d.points:g}分" for d in biggest(score, n)) or "无"

