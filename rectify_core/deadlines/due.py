"""Due dates and lights: when an obligation is due (its own date, an extension, or the
rule for its kind, shifted off non-working days), and its 红黄绿灯, the one definition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple, Protocol

from rectify_core import vocab
from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.rules import Rules
from rectify_core.deadlines.datetext import month_end
from rectify_core.deadlines.types import Due, ItemPlan, Obligation, Sent
from rectify_core.errors import RectifyError
from rectify_core.vocab import DeadlineKind, Light, NoticeKind


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


class Dated(Protocol):
    """What dates an item: its own deadline, an extension, its kind and its round's feedback."""

    @property
    def extended_to(self) -> dt.date | None: ...
    @property
    def deadline(self) -> dt.date | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def feedback_date(self) -> dt.date | None: ...


class Dates(NamedTuple):
    """The dates of one item, as `due_of` reads them (a `Dated` of its own)."""

    extended_to: dt.date | None
    deadline: dt.date | None
    kind: str | None
    feedback_date: dt.date | None


def due_of(item: Dated, today: dt.date, rules: Rules, cal: WorkCalendar) -> Due:
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


def urgency(p: ItemPlan) -> tuple[int, int, tuple[int, int, int]]:
    """Most urgent first (vocab.urgency)."""
    return vocab.urgency(p.light, p.workdays_left, p.item.ref)


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


def left_text(left: int | None) -> str:
    """Working days left as people read them: 还剩5个工作日, 今天到期, 逾期12个工作日 (never "-12")."""
    if left is None:
        return ""
    return f"还剩{left}个工作日" if left > 0 else "今天到期" if left == 0 else f"逾期{-left}个工作日"
