"""The working-day calendar: official edges, estimates, office overrides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import holidays
import pytest

from rectify_core.config.calendar import (
    OFFICIAL_DATA,
    WorkCalendar,
    load_calendar,
    load_schedule,
    local_datetime,
    local_today,
)
from rectify_core.errors import ConfigError

D = dt.date
CAL = load_calendar(None)


@pytest.mark.parametrize(("day", "working"), [
    # National Day + Mid-Autumn 2025: 10-01..10-08 off, Sunday 09-28 and Saturday 10-11 worked
    (D(2025, 9, 28), True), (D(2025, 9, 30), True), (D(2025, 10, 1), False),
    (D(2025, 10, 8), False), (D(2025, 10, 9), True), (D(2025, 10, 11), True),
    (D(2025, 10, 12), False),
    # Spring Festival 2026: 02-15..02-23 off, Saturdays 02-14 and 02-28 worked
    (D(2026, 2, 13), True), (D(2026, 2, 14), True), (D(2026, 2, 16), False),
    (D(2026, 2, 23), False), (D(2026, 2, 24), True), (D(2026, 2, 28), True),
    # make-up Saturday 2025-02-08 after Spring Festival 2025
    (D(2025, 2, 8), True), (D(2025, 2, 4), False),
    # ordinary weekend and weekday
    (D(2025, 11, 22), False), (D(2025, 11, 24), True),
    # New Year 2026: 01-01..01-03 off, Sunday 01-04 worked
    (D(2026, 1, 2), False), (D(2026, 1, 4), True),
])
def test_official_days(day: dt.date, working: bool) -> None:
    assert CAL.is_workday(day) is working
    assert not CAL.is_estimated(day)


@pytest.mark.parametrize(("start", "end", "count"), [
    (D(2025, 9, 30), D(2025, 10, 9), 1),     # the whole holiday counts once: 10-09
    (D(2025, 9, 26), D(2025, 9, 30), 3),     # 09-28 (Sun, worked), 09-29, 09-30
    (D(2025, 10, 9), D(2025, 9, 30), -1),    # reversed: minus the count of (D, T]
    (D(2025, 1, 31), D(2025, 2, 28), 19),    # 02-05..07, Saturday 02-08 worked, 3 full weeks
    (D(2025, 12, 31), D(2025, 12, 31), 0),
])
def test_workdays_between(start: dt.date, end: dt.date, count: int) -> None:
    assert CAL.workdays_between(start, end) == count


def test_add_workdays_and_shifts() -> None:
    assert CAL.add_workdays(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert CAL.add_workdays(D(2025, 10, 9), -1) == D(2025, 9, 30)
    assert CAL.add_workdays(D(2025, 10, 4), 1) == D(2025, 10, 9)     # from a holiday
    assert CAL.add_workdays(D(2025, 10, 4), -1) == D(2025, 9, 30)
    assert CAL.add_workdays(D(2025, 10, 9), 0) == D(2025, 10, 9)
    assert CAL.previous_workday(D(2025, 8, 31)) == D(2025, 8, 29)    # month end on a Sunday
    assert CAL.next_workday(D(2025, 10, 1)) == D(2025, 10, 9)


def test_add_is_inverse_of_between() -> None:
    day = D(2025, 1, 2)
    for n in range(1, 400, 7):
        assert CAL.workdays_between(day, CAL.add_workdays(day, n)) == n


def test_year_end_into_an_estimated_year() -> None:
    assert CAL.is_estimated(D(2027, 1, 4)) and not CAL.is_estimated(D(2026, 12, 31))
    assert not CAL.is_workday(D(2027, 1, 1))          # statutory New Year's Day
    assert CAL.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert CAL.workdays_between(D(2026, 12, 31), D(2027, 1, 8)) == 5


def test_shipped_schedule_agrees_with_holidays_library() -> None:
    """Our data entry of the State Council notices, checked day by day."""
    cn = holidays.country_holidays("CN", years=[2024, 2025, 2026])
    day = D(2024, 1, 1)
    while day <= D(2026, 12, 31):
        assert CAL.is_workday(day) == cn.is_working_day(day), day
        day += dt.timedelta(days=1)


def test_shipped_estimate_is_what_the_library_computes() -> None:
    """data/cn_statutory.txt (read instead of importing the library at start-up) holds, year
    by year over the calendar's default range, exactly the library's statutory holidays; a
    year outside the file is asked of the library."""
    from rectify_core.config import statutory
    from rectify_core.config.statutory import FIRST_YEAR, LAST_YEAR

    years = range(FIRST_YEAR, LAST_YEAR + 1)
    shipped = statutory.statutory(years)
    assert shipped == set(holidays.country_holidays("CN", years=list(years)))
    assert set(statutory._shipped()) == set(years) and len(shipped) > 15 * len(years)
    assert statutory.SHIPPED.read_text(encoding="utf-8") == statutory.text(FIRST_YEAR, LAST_YEAR)
    beyond = statutory.statutory([FIRST_YEAR - 5, 2030])
    assert beyond == set(holidays.country_holidays("CN", years=[FIRST_YEAR - 5, 2030]))
    assert D(FIRST_YEAR - 5, 10, 1) in beyond and D(2030, 10, 1) in beyond


def test_office_adds_next_year(tmp_path: Path) -> None:
    (tmp_path / "calendar.toml").write_text(
        '[years.2027]\noff = ["2027-02-05..2027-02-11"]\nwork = ["2027-02-13"]\n'
        '[days]\n"2026-12-31" = "off"\n', encoding="utf-8")
    cal = load_calendar(tmp_path)
    assert not cal.is_estimated(D(2027, 6, 1))
    assert cal.is_workday(D(2027, 2, 13)) and not cal.is_workday(D(2027, 2, 8))
    # an official year lists its own holidays: 01-01 is not off unless listed
    assert cal.is_workday(D(2027, 1, 1))
    assert not cal.is_workday(D(2026, 12, 31))


@pytest.mark.parametrize(("text", "key"), [
    ('[years.2027]\noff = ["2027-02-30"]\n', "years.2027.off"),
    ('[years.2027]\noff = ["2028-01-01"]\n', "years.2027"),
    ('[years.2027]\nholidays = []\n', "years.2027"),
    ('[weekends]\n', "weekends"),
    ('[days]\n"2027-01-05" = "holiday"\n', "days.2027-01-05"),
])
def test_bad_calendar_config(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "calendar.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_calendar(tmp_path)
    assert "calendar.toml" in str(info.value) and key in str(info.value)


def test_local_day_is_shanghai() -> None:
    late_utc = dt.datetime(2025, 9, 30, 17, 0, tzinfo=dt.UTC)   # 01:00 next day in Shanghai
    assert local_today(late_utc) == D(2025, 10, 1)
    assert local_datetime(D(2025, 10, 1), 9).astimezone(dt.UTC).hour == 1


def test_out_of_range_is_a_clear_error() -> None:
    small = WorkCalendar(load_schedule(OFFICIAL_DATA), 2024, 2026)
    with pytest.raises(Exception, match="超出工作日历范围"):
        small.is_workday(D(2030, 1, 1))


def test_every_day_is_what_the_rule_says(tmp_path: Path) -> None:
    """The calendar's arrays (built from a weekday pattern and its exceptions) against the
    rule, day by day over its whole range: a make-up working day wins, then a day off,
    then an estimated year's statutory holiday, then Monday to Friday."""
    (tmp_path / "calendar.toml").write_text(
        '[years.2027]\noff = ["2027-02-05..2027-02-11"]\nwork = ["2027-02-13"]\n'
        '[days]\n"2030-10-12" = "work"\n"2030-05-01" = "work"\n"2031-03-04" = "off"\n', encoding="utf-8")
    cal = load_calendar(tmp_path)
    from rectify_core.config.calendar import OFFICIAL_DATA, load_schedule

    schedule = load_schedule(OFFICIAL_DATA)
    load_schedule(tmp_path / "calendar.toml", schedule)
    estimated = [y for y in range(cal.first.year, cal.last.year + 1) if y not in schedule.years]
    statutory = set(holidays.country_holidays("CN", years=estimated))
    day, count = cal.first, 0
    while day <= cal.last:
        rule = (True if day in schedule.work else False if day in schedule.off else
                False if day.year not in schedule.years and day in statutory else day.weekday() < 5)
        assert cal.is_workday(day) == rule, day
        count += rule
        day += dt.timedelta(days=1)
    assert cal.workdays_between(cal.first, cal.last) == count - cal.is_workday(cal.first)
    assert cal.is_workday(D(2030, 10, 12)) and cal.is_workday(D(2030, 5, 1)) and not cal.is_workday(D(2031, 3, 4))
