"""One validation layer between a parsed file and the database: what either database
would refuse (or SQLite would silently accept and PostgreSQL refuse) becomes a line or
row error here, the same on both."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rectify_core.config.limits import Limits, limits
from rectify_core.errors import InputError, Problem
from rectify_core.importers.parsed import ParsedItem, ParsedLedger
from rectify_core.ledger.models import Item, Round, Unit

MAX_ITEM_NO = 2**31 - 1  # the database column is a 32-bit integer
# NUL cannot be stored by PostgreSQL; other C0 controls are never meant in a ledger
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ITEM_TEXT = {"title": "问题内容", "status_text": "完成情况", "deadline_text": "整改时限", "leader": "责任领导",
              "leader_title": "领导职务", "department": "责任部门", "owner": "责任人", "measures_text": "整改措施"}


def _length(model: Any, column: str) -> int | None:
    return getattr(model.__table__.c[column].type, "length", None)


def _text(value: str | None, label: str, limit: int | None) -> str | None:
    if not value:
        return None
    if _CONTROL.search(value):
        return f"{label}中含有控制字符（如 NUL），请删去后重新导入"
    if limit is not None and len(value) > limit:
        return f"{label}有 {len(value)} 个字，超过该项允许的 {limit} 个字"
    return None


def _date(value: dt.date | None, label: str, lim: Limits) -> str | None:
    if value is not None and not lim.first_year <= value.year <= lim.last_year:
        return f"{label} {value.isoformat()} 超出支持的日期范围（{lim.first_year}–{lim.last_year} 年）"
    return None


_ITEM_LIMITS = [(attr, label, _length(Item, attr)) for attr, label in _ITEM_TEXT.items()]


def _item(item: ParsedItem, lim: Limits) -> list[str]:
    found = [] if 0 < item.no <= MAX_ITEM_NO else [f"问题编号 {item.no} 超出范围（1–{MAX_ITEM_NO}）"]
    for attr, label, length in _ITEM_LIMITS:
        found.append(_text(getattr(item, attr), label, length) or "")
    for text in [*item.evidence, *(m.text for m in item.measures), *item.extra.values(), *item.extra]:
        found.append(_text(text, "单元格", None) or "")
    found.append(_date(item.deadline, "整改时限", lim) or "")
    return [f for f in found if f]


def check(ledger: ParsedLedger) -> None:
    """Raise InputError naming every value the database could not keep as it is."""
    lim = limits()
    problems: list[Problem] = []
    texts = ((ledger.unit, "被巡察单位名称", _length(Unit, "name")),
             (ledger.round_name, "轮次名称", _length(Round, "name")),
             (ledger.inspector, "巡察组名称", _length(Round, "inspector")))
    dates = ((ledger.feedback_date, "反馈日期"), (ledger.report_date, "填报日期"),
             (ledger.inspection_start, "巡察开始日期"), (ledger.inspection_end, "巡察结束日期"))
    messages = [_text(*t) for t in texts] + [_date(d, label, lim) for d, label in dates]
    problems += [Problem("", m) for m in messages if m]
    for name, _ in ledger.people:
        if message := _text(name, "人员姓名", 100):
            problems.append(Problem("", message))
    for item in ledger.items:
        problems += [Problem(item.where, f"问题{item.no}：{m}") for m in _item(item, lim)]
    if problems:
        raise InputError(ledger.source_name, problems)
