"""Parser for published progress reports (整改进展情况报告 / 通报).

A line-by-line state machine. Headings give aspects (方面) and topics; item markers
open an item; labelled fields fill it; the closing sections end the item list.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rectify_core.datetext import DateTextError, cn_int, find_dates
from rectify_core.errors import InputError, Problem
from rectify_core.importers.fields import REPORT_FIELDS, apply_field, finish_item
from rectify_core.importers.parsed import ParsedHeading, ParsedItem, ParsedLedger

CN = "一二三四五六七八九十百零〇两"
_SECTION = re.compile(rf"^([{CN}]+)\s*[、.]\s*(.*)$")
_PAREN_CN = re.compile(rf"^\(\s*([{CN}]+)\s*\)\s*[、.]?\s*(.*)$")
_TOPIC = re.compile(r"^(\d{1,3})\s*[.、]\s*(?!\d)(.*)$")
_ITEM_WORD = re.compile(rf"^问题\s*([{CN}]+|\d+)\s*[:.、]\s*(.*)$")
_ITEM_PAREN = re.compile(r"^\(\s*(\d{1,3})\s*\)\s*[、.]?\s*(.*)$")
_CLOSING = re.compile(r"下一步|下步|下阶段|今后|工作打算|工作安排|工作计划|存在的困难")
_FIELD = re.compile(
    "(" + "|".join(sorted(map(re.escape, REPORT_FIELDS), key=len, reverse=True)) + r")\s*[:]"
)
_SUMMARY = re.compile(r"\d+\s*个(?:方面|问题)|[已完成整改正在阶段性]+[^,。;]*?\d+\s*个|完成率")
_PERIOD = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:至|-|—)\s*(?:(\d{4})年)?"
                     r"(\d{1,2})月(\d{1,2})日[,\s]*(?P<who>[^,。]*?巡察组)对(?P<unit>[^,。]+?)开展")
_FEEDBACK = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日[,\s]*[^,。]*?巡察组[^,。]*?反馈")
_AS_OF = re.compile(r"截至\s*(\d{4})年(\d{1,2})月(\d{1,2})日")
_DATE_LINE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_FIRST = re.compile(r"(?:党组|党委|党工委)书记(?:、[^,，。]{1,8}?)?(?P<name>[\u4e00-\u9fa5]{2,3}?)"
                    r"(?=同志|坚决|带头|切实|主动|认真|亲自|履行|扛|作为|是|为)[^。]{0,30}第一责任人")
_SIGNATURE = re.compile(r"(党组|党委|党工委|党总支|党支部|委员会|局|办公室)$")


@dataclass
class _State:
    source: str
    ledger: ParsedLedger
    line_word: str = "行"
    problems: list[Problem] = field(default_factory=list)
    item: ParsedItem | None = None
    field_name: str | None = None
    field_text: list[str] = field(default_factory=list)
    field_line: int = 0
    line_no: int = 0
    in_items: bool = False
    done: bool = False
    aspect_no: int | None = None
    topic_no: int | None = None
    year: int | None = None


def _date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _flush_field(s: _State) -> None:
    if s.item is not None and s.field_name is not None:
        apply_field(s.item, s.field_name, "".join(s.field_text), s.year, s.problems,
                    f"第{s.field_line}{s.line_word}")
    s.field_name, s.field_text = None, []


def _close_item(s: _State) -> None:
    _flush_field(s)
    if s.item is not None:
        finish_item(s.item)
        first = next((i for i in s.ledger.items if i.no == s.item.no), None)
        if first is not None:
            s.problems.append(Problem(s.item.where, f"问题编号{s.item.no}重复（{first.where}已有）"))
        s.ledger.items.append(s.item)
    s.item = None


def _open_item(s: _State, no_text: str, title: str, line_no: int, running: bool) -> None:
    """`running`: "(1)" items restart under each topic, so they are numbered across
    the report in order of appearance."""
    _close_item(s)
    where = f"第{line_no}{s.line_word}"
    try:
        no = len(s.ledger.items) + 1 if running else cn_int(no_text)
    except ValueError:
        s.problems.append(Problem(where, f"无法识别的问题编号“{no_text}”"))
        return
    title = title.strip()
    s.item = ParsedItem(no=no, title=title, where=where, line=line_no,
                        aspect_no=s.aspect_no, topic_no=s.topic_no)
    if not title:
        s.problems.append(Problem(where, f"问题{no}缺少问题内容"))


def _add_text(s: _State, text: str) -> None:
    """Text inside an item: labelled fields, or a continuation of the open field.
    An unlabelled line right after the title is taken as the measures."""
    assert s.item is not None
    pos = 0
    for m in _FIELD.finditer(text):
        before = text[pos:m.start()].strip(" ;；")
        if before:
            _continue(s, before)
        _flush_field(s)
        s.field_name, s.field_line = REPORT_FIELDS[m.group(1)], s.line_no
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        _continue(s, rest)


def _continue(s: _State, text: str) -> None:
    if s.field_name is None:
        s.field_name, s.field_line = "measures", s.line_no
    s.field_text.append(text)


def _heading(s: _State, kind: str, no_text: str, title: str, line_no: int) -> None:
    _close_item(s)
    no = cn_int(no_text)
    label = f"({no_text})" if kind == "aspect" else f"{no_text}."
    heading = ParsedHeading(no=no, title=title.strip(), label=label, line=line_no,
                            aspect_no=s.aspect_no if kind == "topic" else None)
    if kind == "aspect":
        s.ledger.aspects.append(heading)
        s.aspect_no, s.topic_no = no, None
    else:
        s.ledger.topics.append(heading)
        s.topic_no = no
    s.in_items = True


def _preamble(s: _State, text: str, line_no: int) -> None:
    ledger = s.ledger
    if (m := _PERIOD.search(text)) and ledger.inspection_start is None:
        ledger.inspection_start = _date(m[1], m[2], m[3])
        ledger.inspection_end = _date(m[4] or m[1], m[5], m[6])
        ledger.inspector, ledger.unit = m["who"].strip(), m["unit"].strip()
    if (m := _FEEDBACK.search(text)) and ledger.feedback_date is None:
        ledger.feedback_date = _date(m[1], m[2], m[3])
    if (m := _AS_OF.search(text)) and ledger.as_of is None:
        ledger.as_of = _date(m[1], m[2], m[3])
    if (m := _FIRST.search(text)) and not ledger.people:
        ledger.people.append((m["name"], "first_responsible"))
    if _SUMMARY.search(text) and ("问题" in text or "整改" in text):
        ledger.summary.append((line_no, text))
    for mention in find_dates(text, None)[-1:]:
        s.year = mention.year


def _line(s: _State, text: str, line_no: int, paren_items: bool) -> None:
    s.line_no = line_no
    if (m := _SECTION.match(text)) and not text.startswith("问题"):
        if _CLOSING.search(m[2]) and s.in_items:
            _close_item(s)
            s.done = True
        elif "方面" in m[2]:
            _heading(s, "aspect", m[1], m[2], line_no)
        else:
            _close_item(s)
        return
    if m := _PAREN_CN.match(text):
        _heading(s, "aspect", m[1], m[2], line_no)
        return
    if m := _ITEM_WORD.match(text):
        _open_item(s, m[1], m[2], line_no, running=False)
        s.in_items = True
        return
    if paren_items and (m := _ITEM_PAREN.match(text)):
        _open_item(s, m[1], m[2], line_no, running=True)
        s.in_items = True
        return
    m = _TOPIC.match(text)
    if m and ((s.item is None and s.aspect_no is not None) or _is_topic(m[2])):
        _heading(s, "topic", m[1], m[2], line_no)
        return
    if s.item is not None:
        _add_text(s, text)
    elif not s.in_items:
        _preamble(s, text, line_no)


def _is_topic(text: str) -> bool:
    return text.startswith("关于") or text.endswith(("方面", "问题", "问题的整改"))


def _trailer(s: _State, lines: list[str]) -> None:
    """Signature and date at the end: the unit's full name and the report date."""
    tail = [t for t in lines[-6:] if t]
    for i, text in enumerate(tail):
        if m := _DATE_LINE.match(text):
            s.ledger.report_date = _date(m[1], m[2], m[3])
            if i > 0 and _SIGNATURE.search(tail[i - 1]):
                s.ledger.unit = re.sub(r"^中共", "", tail[i - 1])


def parse_report(lines: list[str], source: str, sha256: str, fallback_name: str,
                 line_word: str = "行") -> ParsedLedger:
    """Lines of a report (normalised) -> ParsedLedger, or InputError with every problem."""
    ledger = ParsedLedger(source_name=source, sha256=sha256, unit="", round_name="")
    s = _State(source=source, ledger=ledger, line_word=line_word)
    paren_items = not any(_ITEM_WORD.match(t) for t in lines)
    for idx, text in enumerate(lines, start=1):
        if not text or s.done:
            continue
        try:
            _line(s, text, idx, paren_items)
        except DateTextError as exc:
            s.problems.append(Problem(f"第{idx}{line_word}", str(exc)))
    _close_item(s)
    _trailer(s, lines)
    _name_round(ledger, fallback_name)
    if not ledger.items and not s.problems:
        s.problems.append(Problem("", "未识别出任何问题条目（应有“问题1：”或“（1）”等编号）"))
    if s.problems:
        raise InputError(source, s.problems)
    return ledger


def _name_round(ledger: ParsedLedger, fallback: str) -> None:
    ledger.unit_found = bool(ledger.unit)
    ledger.unit = ledger.unit or fallback
    if ledger.inspector and ledger.feedback_date:
        ledger.round_name = f"{ledger.inspector}巡察（{ledger.feedback_date.isoformat()}反馈）"
    elif ledger.inspector:
        ledger.round_name = f"{ledger.inspector}巡察"
    else:
        ledger.round_name = f"巡察整改（{fallback}）"
