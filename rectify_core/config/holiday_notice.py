"""The State Council's yearly holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知) read
into the days off and make-up working days the calendar takes. The notice keeps one form:

    一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
    五、端午节：6月19日（周五）至21日（周日）放假，共3天。
    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
            2月14日（周六）、2月28日（周六）上班。

Each weekday written in brackets is checked against the date: a notice of another year, or
a misprint, is refused rather than written into the calendar."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from rectify_core.errors import RectifyError

_YEAR = re.compile(r"(\d{4})\s*年\s*(?:部分)?节假日")
_WEEKDAYS = "一二三四五六日"
_BRACKET = r"(?:[（(](?P<{name}>[^）)]*)[）)])?"
_DAY = r"(?:(?P<{m}>\d{{1,2}})\s*月)?\s*(?P<{d}>\d{{1,2}})\s*日\s*" + _BRACKET
_LINE = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．]\s*(?P<name>[^：:]{1,8})[：:](?P<rest>.*)$")
_OFF = re.compile(_DAY.format(m="m1", d="d1", name="w1") + r"(?:\s*至\s*" + _DAY.format(m="m2", d="d2", name="w2")
                  + r")?\s*放假")
_WORK = re.compile(_DAY.format(m="m", d="d", name="w") + r"(?=\s*(?:[、,，]|上班))")


@dataclass
class Notice:
    """What a notice says of one year."""

    year: int
    off: dict[str, list[dt.date]] = field(default_factory=dict)  # holiday -> its days off
    work: dict[str, list[dt.date]] = field(default_factory=dict)  # holiday -> its make-up working days

    def as_toml(self) -> str:
        """The year as calendar.toml's [years.YYYY], ranges written A..B."""
        off = [_span(days) for days in self.off.values()]
        work = [d.isoformat() for days in self.work.values() for d in days]
        return (f"\n[years.{self.year}]  # 国务院办公厅关于{self.year}年部分节假日安排的通知\n"
                f"off = {json.dumps(off)}\nwork = {json.dumps(work)}\n")  # a JSON list of strings is TOML too


def _span(days: list[dt.date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()}..{days[-1].isoformat()}"


def _weekday_ok(day: dt.date, bracket: str | None) -> bool:
    """The weekday a bracket names (周X / 星期X), if it names one, is the date's."""
    found = re.search(r"(?:周|星期)([一二三四五六日天])", bracket or "")
    return found is None or _WEEKDAYS.index(found[1].replace("天", "日")) == day.weekday()


def _date(year: int, month: str | None, day: str, last_month: int | None, where: str) -> dt.date:
    try:
        return dt.date(year, int(month) if month else (last_month or 0), int(day))
    except ValueError:
        raise RectifyError(f"{where}：日期“{month or ''}月{day}日”无效") from None


def parse_notice(text: str) -> Notice:
    """The notice's year and, for each holiday, its days off and make-up working days; a
    clear error when the text is not such a notice or a weekday disagrees with its date."""
    year_match = _YEAR.search(text)
    if year_match is None:
        raise RectifyError("找不到“YYYY年部分节假日安排”：这不像国务院办公厅的节假日安排通知")
    notice = Notice(int(year_match[1]))
    for raw in re.split(r"\n+", text):
        line = _LINE.match(raw.strip())
        if line is None or "放假" not in line["rest"]:
            continue
        name, rest = line["name"].strip(), line["rest"]
        off = _OFF.search(rest)
        if off is None:
            continue
        first = _date(notice.year, off["m1"], off["d1"], None, name)
        last = _date(notice.year, off["m2"] or str(first.month), off["d2"], first.month, name) if off["d2"] else first
        if not (_weekday_ok(first, off["w1"]) and _weekday_ok(last, off["w2"])) or last < first:
            raise RectifyError(f"{name}：{first.month}月{first.day}日至{last.month}月{last.day}日与括号中的星期不符，"
                               f"可能不是{notice.year}年的通知")
        notice.off[name] = [first + dt.timedelta(n) for n in range((last - first).days + 1)]
        work_part = rest[off.end():]
        days = []
        for m in _WORK.finditer(work_part):
            day = _date(notice.year, m["m"], m["d"], first.month, name)
            if not _weekday_ok(day, m["w"]):
                raise RectifyError(f"{name}：{day.month}月{day.day}日与括号中的星期不符")
            days.append(day)
        if days and "上班" in work_part:
            notice.work[name] = days
    if not notice.off:
        raise RectifyError(f"没有读到任何“…放假”的安排：请确认这是{notice.year}年节假日安排通知的正文")
    return notice
