import datetime as dt

import pytest

from rectify_core.deadlines.datetext import (
    DateTextError,
    cn_int,
    find_dates,
    find_figures,
    parse_deadline,
)


@pytest.mark.parametrize(("text", "value"), [
    ("37", 37), ("三十七", 37), ("十", 10), ("十五", 15), ("二十", 20), ("一百零五", 105),
    ("两", 2), ("四", 4),
])
def test_cn_int(text: str, value: int) -> None:
    assert cn_int(text) == value


def test_cn_int_rejects_words() -> None:
    with pytest.raises(ValueError):
        cn_int("若干")


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2025年3月组织学习", "2025-03", None),
    ("2025年3-5月开展巡察", "2025-03", "2025-05"),
    ("2025年3月-5月开展培训", "2025-03", "2025-05"),
    ("2025年1-5月对在建项目", "2025-01", "2025-05"),
    ("2025年6月13日召开会议", "2025-06-13", None),
    ("对2024下半年开工项目", "2024-07", "2024-12"),
    ("2025年6月23日至6月27日组织培训", "2025-06-23", "2025-06-27"),
    ("2025年第二季度", "2025-04", "2025-06"),
])
def test_find_dates_first(text: str, start: str, end: str | None) -> None:
    first = find_dates(text, None)[0]
    assert (first.start, first.end) == (start, end)


def test_yearless_date_takes_year_from_context() -> None:
    assert find_dates("9月3日召开专题会", 2025)[0].start == "2025-09-03"
    # the nearest earlier mention wins over the context year
    later = find_dates("2024年11月清查，12月5日追回", 2025)
    assert [m.start for m in later] == ["2024-11", "2024-12-05"]


def test_yearless_date_without_context_is_skipped() -> None:
    assert find_dates("9月3日召开专题会", None) == []


def test_impossible_day_is_an_error() -> None:
    with pytest.raises(DateTextError, match="2025年2月30日"):
        find_dates("于2025年2月30日完成", None)


@pytest.mark.parametrize(("text", "kind", "date"), [
    ("2025年8月底前", "dated", dt.date(2025, 8, 31)),
    ("2026年6月30日", "dated", dt.date(2026, 6, 30)),
    ("2024年2月底", "dated", dt.date(2024, 2, 29)),
    ("2025年12月", "dated", dt.date(2025, 12, 31)),
    ("2025年上半年", "dated", dt.date(2025, 6, 30)),
    ("2025年底", "dated", dt.date(2025, 12, 31)),
    ("立行立改", "immediate", None),
    ("长期坚持", "long_term", None),
])
def test_parse_deadline(text: str, kind: str, date: dt.date | None) -> None:
    deadline = parse_deadline(text, None)
    assert (deadline.kind, deadline.date) == (kind, date)


def test_unreadable_deadline() -> None:
    with pytest.raises(DateTextError, match="尽快"):
        parse_deadline("尽快", 2025)


def test_figures_keep_money_and_percentages() -> None:
    figures = find_figures("共计54410元，完成建安产值约1950万元，占12.3%，开展巡察12次")
    assert [(f["value"], f["unit"]) for f in figures] == [
        (54410, "元"), (1950, "万元"), (12.3, "%")]


def test_a_yearless_month_takes_the_files_year_and_a_long_term_item_keeps_its_milestone() -> None:
    from rectify_core.deadlines.datetext import parse_deadline

    assert (parse_deadline("12月底前", 2026).date, parse_deadline("12月底前", 2026).assumed_year) == (
        dt.date(2026, 12, 31), 2026)
    assert parse_deadline("6月底前完成", 2027).date == dt.date(2027, 6, 30)
    with pytest.raises(DateTextError, match="没有写年份"):
        parse_deadline("12月底前", None)
    with pytest.raises(DateTextError, match="月份不存在"):
        parse_deadline("13月底前", 2026)
    milestone = parse_deadline("长期坚持并于2026年底见成效", None)
    assert (milestone.kind, milestone.date) == ("long_term", dt.date(2026, 12, 31))
