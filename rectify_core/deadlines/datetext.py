"""Dates and numbers as Chinese reports write them.

Pure functions over NFKC-normalised text (half-width digits and punctuation).
A measure date is kept at the precision written: "YYYY-MM" or "YYYY-MM-DD".
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import sys
from dataclasses import dataclass
from typing import NamedTuple

from rectify_core.vocab import DeadlineKind

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_NUMERAL = "零〇一二两三四五六七八九十百"


class DateTextError(ValueError):
    """A date that is written but does not exist, such as 2025年2月30日."""


def cn_int(text: str) -> int:
    """'37' / '三十七' / '十' / '一百零五' -> int. Raises ValueError on anything else."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(ch not in CN_NUMERAL for ch in text):
        raise ValueError(f"not a number: {text!r}")
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = CN_DIGITS[ch]
    return total + current


def _check_day(year: int, month: int, day: int, raw: str) -> str:
    try:
        return sys.intern(dt.date(year, month, day).isoformat())  # a ledger repeats its dates
    except ValueError as exc:
        raise DateTextError(f"日期“{raw}”不存在") from exc


def _month(year: int, month: int, raw: str) -> str:
    if not 1 <= year <= 9999:
        raise DateTextError(f"日期“{raw}”中的年份不存在")
    if not 1 <= month <= 12:
        raise DateTextError(f"日期“{raw}”中的月份不存在")
    return sys.intern(f"{year:04d}-{month:02d}")


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


class DateMention(NamedTuple):
    """A date found in running text: start (and end for ranges) as ISO strings. A named
    tuple: a large ledger's measures make hundreds of thousands of these."""

    start: str
    end: str | None
    raw: str
    year: int


_DIGIT = re.compile(r"\d")
_Y = r"(?:(?P<y>\d{4})\s*年)"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("day_range", re.compile(_Y + r"?(?P<m>\d{1,2})\s*月(?P<d>\d{1,2})\s*日\s*[-—~至到]\s*"
                                  r"(?:(?P<m2>\d{1,2})\s*月)?(?P<d2>\d{1,2})\s*日")),
    ("day", re.compile(_Y + r"?(?P<m>\d{1,2})\s*月(?P<d>\d{1,2})\s*日")),
    ("month_range", re.compile(_Y + r"(?P<m>\d{1,2})\s*月?\s*[-—~至到]\s*(?P<m2>\d{1,2})\s*月")),
    ("half", re.compile(r"(?P<y>\d{4})\s*年?\s*(?P<h>上|下)半年")),
    ("quarter", re.compile(_Y + r"第?(?P<q>[一二三四1-4])\s*季度")),
    ("month", re.compile(_Y + r"(?P<m>\d{1,2})\s*月")),
    ("year_end", re.compile(r"(?P<y>\d{4})\s*年\s*(?:底|末)")),
]
# what each pattern cannot match without: one mark of every group (most text lacks most)
_RANGE = ("-", "—", "~", "至", "到")
_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "day_range": (("日",), _RANGE), "day": (("日",),), "month_range": (("月",), _RANGE), "half": (("半年",),),
    "quarter": (("季度",),), "month": (("月",),), "year_end": (("底", "末"),)}


def _may_match(kind: str, text: str) -> bool:
    for marks in _NEEDS[kind]:
        for mark in marks:
            if mark in text:
                break
        else:
            return False
    return True


def _mention(kind: str, m: re.Match[str], year: int) -> DateMention:
    raw = m.group(0)
    y = int(m["y"]) if m["y"] else year
    if kind == "day":
        return DateMention(_check_day(y, int(m["m"]), int(m["d"]), raw), None, raw, y)
    if kind == "day_range":
        start = _check_day(y, int(m["m"]), int(m["d"]), raw)
        m2 = int(m["m2"]) if m["m2"] else int(m["m"])
        return DateMention(start, _check_day(y, m2, int(m["d2"]), raw), raw, y)
    if kind == "month_range":
        return DateMention(_month(y, int(m["m"]), raw), _month(y, int(m["m2"]), raw), raw, y)
    if kind == "half":
        first = 1 if m["h"] == "上" else 7
        return DateMention(_month(y, first, raw), _month(y, first + 5, raw), raw, y)
    if kind == "quarter":
        q = cn_int(m["q"])
        return DateMention(_month(y, 3 * q - 2, raw), _month(y, 3 * q, raw), raw, y)
    if kind == "year_end":
        return DateMention(_month(y, 12, raw), None, raw, y)
    return DateMention(_month(y, int(m["m"]), raw), None, raw, y)


def find_dates(text: str, context_year: int | None) -> list[DateMention]:
    """Every date mentioned in `text`, in order. Year-less dates take the year of the
    nearest earlier mention, else `context_year`; without either they are skipped."""
    if not _DIGIT.search(text):  # every pattern needs a digit: most text has none
        return []
    found: list[tuple[int, int, str, re.Match[str]]] = []
    for kind, pattern in _PATTERNS:
        if not _may_match(kind, text):
            continue
        for m in pattern.finditer(text):
            found.append((m.start(), m.end(), kind, m))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    result: list[DateMention] = []
    taken_until = -1
    year = context_year
    for start, end, kind, m in found:
        if start < taken_until:
            continue
        if not m["y"] and year is None:  # every pattern has the year group
            continue
        mention = _mention(kind, m, year if year is not None else 0)
        result.append(mention)
        year = mention.year
        taken_until = end
    return result


@dataclass(frozen=True)
class Deadline:
    kind: str  # immediate | dated | long_term
    date: dt.date | None
    immediate: bool = False  # 即日起: from now on, and ongoing
    assumed_year: int | None = None  # 第三季度, 年底前: no year written, this one taken


# a period without its year: 第三季度, 上半年, 年底前 (the year is the report's, said so)
_YEARLESS = re.compile(r"^(?:在|于)?(?:第?(?P<q>[一二三四1-4])季度|(?P<h>上|下)半年|(?P<end>年底|年末|年内|全年))"
                       r"(?:末|底)?(?:前|之前|以前)?(?:完成)?(?:(?:并|后)?(?P<long>长期坚持|持续推进|常态化推进))?$")
_QUARTER = {"一": 3, "二": 6, "三": 9, "四": 12, "1": 3, "2": 6, "3": 9, "4": 12}


# numeric dates as ledgers write them: 2026-12-31, 2026/12/31, 2026.12.31, 20261231
_NUMERIC_DAY = re.compile(r"(?<![\d.])(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?![\d.])")
_COMPACT_DAY = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_NUMERIC_MONTH = re.compile(r"(?<![\d.])(\d{4})\s*[-/.]\s*(\d{1,2})(?![\d./-])")


def numeric_date(text: str) -> dt.date | None:
    """The last full numeric date in `text` (YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYYMMDD);
    None when there is none; DateTextError when it does not exist."""
    found = list(_NUMERIC_DAY.finditer(text)) or list(_COMPACT_DAY.finditer(text))
    if not found:
        return None
    m = found[-1]
    y, mo, d = int(m[1]), int(m[3] if m.re is _NUMERIC_DAY else m[2]), int(m[4] if m.re is _NUMERIC_DAY else m[3])
    return dt.date.fromisoformat(_check_day(y, mo, d, m[0]))


def parse_deadline(text: str, context_year: int | None) -> Deadline:
    """See `_parse_deadline`; a ledger's deadlines repeat (a few dates over thousands of
    rows), so each distinct one is read once."""
    return _parse_deadline(text, context_year)


_YEARLESS_MONTH = re.compile(r"^(?:于|在)?(\d{1,2})\s*月(?:份)?(?:底|末|份)?(?:前|以前|之前)?(?:完成(?:整改)?)?$")


@functools.lru_cache(maxsize=4096)
def _parse_deadline(text: str, context_year: int | None) -> Deadline:
    """整改时限 text -> Deadline. '2025年8月底前' means 2025-08-31, a bare month its
    last day, a half year or quarter its last day; numeric forms (2025-08-31, 2025/8/31,
    2025.8.31, 20250831, 2025-08) likewise. Raises DateTextError when unreadable."""
    clean = text.strip().rstrip("。;；").rstrip(".")
    if DeadlineKind.IMMEDIATE.label in clean or clean in ("立即整改", "即知即改"):
        return Deadline("immediate", None)
    if clean.startswith(("即日起", "从即日起", "自即日起", "即时起")):  # from now on, and ongoing: never a date
        return Deadline("long_term", None, immediate=True)
    if m := _YEARLESS.match(clean):
        if context_year is None:
            raise DateTextError(f"整改时限“{text.strip()}”没有写年份，文件中也找不到可参照的年份，请写明年份")
        month = _QUARTER[m["q"]] if m["q"] else 6 if m["h"] == "上" else 12
        kind = "long_term" if m["long"] else "dated"
        return Deadline(kind, month_end(context_year, month), assumed_year=context_year)
    if m := _YEARLESS_MONTH.match(clean):  # 12月底前: the file's year, as 年底前 takes it (and said)
        if context_year is None:
            raise DateTextError(f"整改时限“{text.strip()}”没有写年份，文件中也找不到可参照的年份，请写明年份")
        _month(context_year, int(m[1]), m[0])  # a month that does not exist is refused in words
        return Deadline("dated", month_end(context_year, int(m[1])), assumed_year=context_year)
    day = numeric_date(clean)
    if day is not None:
        return Deadline("dated", day)
    if (m := _NUMERIC_MONTH.search(clean)) and not find_dates(clean, context_year):
        _month(int(m[1]), int(m[2]), m[0])
        return Deadline("dated", month_end(int(m[1]), int(m[2])))
    mentions = find_dates(clean, context_year)
    if "长期" in clean or ("持续" in clean and not mentions):
        if mentions:  # 2025年12月底前完成并长期坚持, 长期坚持并于2026年底见成效: the stated date stays, to check by
            return Deadline("long_term", _last_day(mentions[-1]))
        return Deadline("long_term", None)
    if not mentions:
        raise DateTextError(f"无法识别的整改时限“{text.strip()}”")
    return Deadline("dated", _last_day(mentions[-1]))


def _last_day(mention: DateMention) -> dt.date:
    """The day a mention ends on: its own day, or its month's last."""
    iso = mention.end or mention.start
    return dt.date.fromisoformat(iso) if len(iso) == 10 else month_end(int(iso[:4]), int(iso[5:7]))


_FIGURE = re.compile(r"(?P<v>\d+(?:\.\d+)?)\s*(?P<u>万元|亿元|元|%|公里)")


def find_figures(text: str) -> list[dict[str, object]]:
    """Amounts and progress figures worth keeping: money, percentages, lengths."""
    if "元" not in text and "%" not in text and "公里" not in text:
        return []
    out: list[dict[str, object]] = []
    for m in _FIGURE.finditer(text):
        value = float(m["v"])
        out.append({"value": int(value) if value.is_integer() else value, "unit": m["u"], "text": m.group(0)})
    return out
