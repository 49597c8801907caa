"""Time and the mainland-China working-day calendar.

The only module that imports pendulum and knows holidays (config/statutory.py estimates
those of the years without an official schedule). Working-day arithmetic is O(1) per
call: a day index holds, for every day in range, the number of working days up to and
including it, and the list of working days in order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pendulum

from rectify_core import HOME
from rectify_core.config.files import optional, read_toml
from rectify_core.config.limits import limits
from rectify_core.config.statutory import FIRST_YEAR, LAST_YEAR
from rectify_core.config.statutory import statutory as statutory_holidays
from rectify_core.errors import ConfigError, RectifyError

TZ = "Asia/Shanghai"
_ZONE = pendulum.timezone(TZ)  # a zoneinfo.ZoneInfo: the standard library converts with it
OFFICIAL_DATA = HOME / "data" / "cn_calendar.toml"


def to_local(at: dt.datetime) -> dt.datetime:
    """An aware datetime shown in Asia/Shanghai."""
    return pendulum.instance(at).in_timezone(TZ)


Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    """The real time, in UTC. Read only at the edges (a command, a page, a flow run, a claim
    lease) and handed inward from there: no rule reads it."""
    return dt.datetime.now(dt.UTC)


def local_today(now: dt.datetime) -> dt.date:
    """The calendar day in Asia/Shanghai at instant `now` (a naive one is UTC, as
    pendulum reads it). pendulum's zone through the standard library's conversion: this
    runs once per notice when a day's history is loaded."""
    return (now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)).astimezone(_ZONE).date()


def local_datetime(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An instant: `day` at hh:mm in Asia/Shanghai."""
    return pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=TZ)


@dataclass
class Schedule:
    """Official days off and make-up working days of some years."""

    years: set[int] = field(default_factory=set)
    off: set[dt.date] = field(default_factory=set)
    work: set[dt.date] = field(default_factory=set)


def _days(values: Any, source: str, key: str) -> set[dt.date]:
    if not isinstance(values, list):
        raise ConfigError(source, key, "应为日期列表，如 [\"2027-01-01\", \"2027-02-05..2027-02-11\"]")
    out: set[dt.date] = set()
    for value in values:
        try:
            first, _, last = str(value).partition("..")
            start = dt.date.fromisoformat(first)
            end = dt.date.fromisoformat(last) if last else start
        except ValueError:
            raise ConfigError(source, key, f"“{value}”不是有效日期（格式 YYYY-MM-DD 或 "
                                           "YYYY-MM-DD..YYYY-MM-DD）") from None
        if end < start:
            raise ConfigError(source, key, f"“{value}”的结束日期早于开始日期")
        out.update(start + dt.timedelta(n) for n in range((end - start).days + 1))
    return out


def load_schedule(path: Path, schedule: Schedule | None = None) -> Schedule:
    """Read a calendar TOML (the shipped data or an office's config) into `schedule`.

    `[years.YYYY]` with `off` and `work` declares a whole official year; `[days]`
    maps single dates to "off" or "work" for local adjustments."""
    schedule = schedule or Schedule()
    source = str(path)
    data = read_toml(path)
    unknown = set(data) - {"years", "days"}
    if unknown:
        raise ConfigError(source, ", ".join(sorted(unknown)), "未知的配置项（可用：years、days）")
    for year_text, spec in data.get("years", {}).items():
        key = f"years.{year_text}"
        if not year_text.isdigit() or not isinstance(spec, dict) or set(spec) - {"off", "work"}:
            raise ConfigError(source, key, "应为 [years.YYYY]，只含 off 与 work 两个列表")
        year = int(year_text)
        off, work = _days(spec.get("off", []), source, f"{key}.off"), _days(
            spec.get("work", []), source, f"{key}.work")
        if any(d.year != year for d in off | work):
            raise ConfigError(source, key, f"列出的日期必须都在 {year} 年内")
        schedule.off = {d for d in schedule.off if d.year != year} | off
        schedule.work = {d for d in schedule.work if d.year != year} | work
        schedule.years.add(year)
    for day_text, kind in data.get("days", {}).items():
        day = next(iter(_days([day_text], source, f"days.{day_text}")))
        if kind not in ("off", "work"):
            raise ConfigError(source, f"days.{day_text}", "取值应为 \"off\" 或 \"work\"")
        (schedule.off if kind == "off" else schedule.work).add(day)
        (schedule.work if kind == "off" else schedule.off).discard(day)
    return schedule


class WorkCalendar:
    """Working days of mainland China from FIRST_YEAR to LAST_YEAR."""

    def __init__(self, schedule: Schedule, first_year: int = FIRST_YEAR,
                 last_year: int = LAST_YEAR) -> None:
        self.official_years = frozenset(schedule.years)
        self.first = dt.date(first_year, 1, 1)
        self.last = dt.date(last_year, 12, 31)
        estimated = [y for y in range(first_year, last_year + 1) if y not in schedule.years]
        statutory = statutory_holidays(estimated)
        base = self.first.toordinal()
        self._base = base
        days = self.last.toordinal() - base + 1
        # a century of days: Monday to Friday by pattern, then the exceptions (an estimated
        # year's statutory holidays, the schedules' days off, then their make-up working days)
        week = bytes(1 if (self.first.weekday() + i) % 7 < 5 else 0 for i in range(7))
        working = bytearray((week * (days // 7 + 1))[:days])
        for day, value in [*((d, 0) for d in statutory if d.year not in schedule.years),
                           *((d, 0) for d in schedule.off), *((d, 1) for d in schedule.work)]:
            if self.first <= day <= self.last:
                working[day.toordinal() - base] = value
        self._cum: list[int] = list(itertools.accumulate(working))
        self._workdays: list[int] = [base + i for i, w in enumerate(working) if w]

    def _index(self, day: dt.date) -> int:
        if not self.first <= day <= self.last:
            raise RectifyError(f"日期 {day} 超出工作日历范围（{self.first.year}–{self.last.year} 年）")
        return day.toordinal() - self._base

    def is_estimated(self, day: dt.date) -> bool:
        """True when `day`'s year has no official schedule in the data."""
        return day.year not in self.official_years

    def next_year_note(self, today: dt.date) -> str | None:
        """From 1 November, while next year's schedule is not in: what the daily run says."""
        if today.month < 11 or not self.is_estimated(dt.date(today.year + 1, 1, 1)):
            return None
        return (f"{today.year + 1} 年的节假日安排尚未读入，该年的整改时限和提醒暂按估算的工作日计算；"
                "国务院办公厅通知发布后，请用 rectify calendar import 读入")

    def is_workday(self, day: dt.date) -> bool:
        i = self._index(day)
        return self._cum[i] - (self._cum[i - 1] if i else 0) == 1

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d <= end; negative (d in (end, start]) if end < start."""
        return self._cum[self._index(end)] - self._cum[self._index(start)]

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (before it for n < 0); `day` itself for n = 0."""
        i = self._index(day)
        if n == 0:
            return day
        position = self._cum[i] + n - 1 if n > 0 else self._cum[i] - self.is_workday(day) + n
        if not 0 <= position < len(self._workdays):
            raise RectifyError(f"从 {day} 起算 {n} 个工作日超出工作日历范围")
        return dt.date.fromordinal(self._workdays[position])

    def previous_workday(self, day: dt.date) -> dt.date:
        """`day` if it is a working day, else the last working day before it."""
        return day if self.is_workday(day) else self.add_workdays(day, -1)

    def next_workday(self, day: dt.date) -> dt.date:
        """`day` if it is a working day, else the first working day after it."""
        return day if self.is_workday(day) else self.add_workdays(day, 1)


def load_calendar(config_dir: Path | None) -> WorkCalendar:
    """Shipped official schedules, then the office's config/calendar.toml if present."""
    schedule = load_schedule(OFFICIAL_DATA)
    office = optional(config_dir, "calendar.toml")
    if office is not None:
        load_schedule(office, schedule)
    lim = limits()
    # a year of margin each side: ladder steps reach a few weeks past a due date
    return WorkCalendar(schedule, lim.first_year - 1, lim.last_year + 1)


def run_now(day: dt.date | None) -> dt.datetime:
    """The instant a run acts at: 09:00 Asia/Shanghai on `day` when a day is replayed,
    else the clock. Only the edges (CLI, flows) call this; everything below takes `now`."""
    return local_datetime(day, 9, 0) if day else dt.datetime.now(dt.UTC)
