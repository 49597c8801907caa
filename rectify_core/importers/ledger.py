"""The table parser for ledgers (台账): find the title block and the header row by column
names, then read one item per row. The rows come from the readers (importers.workbook for
CSV and .xlsx, importers.html for web pages and .xls)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from rectify_core.bulk import gc_paused
from rectify_core.deadlines.datetext import DateTextError, cn_int, find_dates, numeric_date
from rectify_core.errors import InputError, Problem
from rectify_core.importers import parallel
from rectify_core.importers.fields import COMPUTED, LABEL_TO_FIELD, SYNONYMS, apply_field, finish_item
from rectify_core.importers.parsed import ParsedHeading, ParsedItem, ParsedLedger, ParsedMeasure
from rectify_core.importers.source import UNSAVED, Source
from rectify_core.text import normalise
from rectify_core.vocab import RANK

Row = tuple[int, list[Any]]
COLUMN_LABEL = {name: labels[0] for name, labels in SYNONYMS.items()}
_TITLE_UNIT = re.compile(r"^(?P<unit>.+?)(?:关于)?(?:落实)?(?:(?:中央|省|市|区|县)委)?(?:第.+?巡察组)?巡[察视]")
# the 填报 line under a ledger's title: 填报单位：XX（盖章） 填报日期：2026年11月20日 （填表人：…）
_META = re.compile(r"(填报单位|填报日期|填表日期|填报时间|填表人|填报人|审核人|联系人|联系电话)\s*[:：]?")
_SEAL = re.compile(r"[(（]\s*(?:盖章|公章|签章|章)\s*[)）]")


@dataclass
class TitleBlock:
    """What the rows above a ledger's header say: its title, unit and report date."""

    title: str = ""
    unit: str | None = None
    report_date: dt.date | None = None


def _meta_fields(text: str) -> dict[str, str]:
    marks = list(_META.finditer(text))
    return {m[1]: text[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(text)].strip(" ：:，,;；")
            for i, m in enumerate(marks)}


def _day(text: str) -> dt.date | None:
    try:
        day = numeric_date(text)
        days = [d for d in find_dates(text, None) if len(d.start) == 10]
    except DateTextError:
        return None
    return day or (dt.date.fromisoformat(days[0].start) if days else None)


def title_block(rows: list[Row]) -> TitleBlock:
    """Title rows are joined into the round's name; a 填报 row gives unit and date instead."""
    block = TitleBlock()
    titles: list[str] = []
    for _, cells in rows:
        pairs = [p for c in cells if (p := _pair(c))[0]]
        text, orig = " ".join(w for w, _ in pairs), " ".join(o for _, o in pairs)
        if not text:
            continue
        if _META.search(text):
            fields = _meta_fields(text)
            unit = _SEAL.sub("", fields.get("填报单位", "")).strip()
            if unit and not block.unit:
                start = text.find(unit)
                block.unit = orig[start:start + len(unit)]
            when = fields.get("填报日期") or fields.get("填表日期") or fields.get("填报时间")
            block.report_date = block.report_date or (_day(when) if when else None)
        else:
            titles.append(orig)
    block.title = "".join(titles)
    return block


def _header_name(cell: Any) -> str | None:
    text = re.sub(r"\s+", "", normalise(str(cell))) if cell is not None else ""
    if not text:
        return None
    # a header may carry a note in brackets: 整改时限(截止日期)
    head = text.split("(", 1)[0]
    found = LABEL_TO_FIELD.get(head)
    if found is None and head.endswith(_PROBLEM_NOUNS) and len(head) <= 12:
        return "title"  # 巡察反馈问题, 审计发现问题, 问题表现, 具体问题, 存在的问题: the problem by its head noun
    return found


_PROBLEM_NOUNS = ("问题", "问题表现", "具体表现", "问题描述", "问题内容")  # not 问题类别/类型/来源: those end otherwise


@dataclass(frozen=True)
class Header:
    row: int  # index in the rows of its last row (the items start below)
    columns: dict[str, int]  # field -> column
    extra: dict[int, str]  # column -> header as written, for columns rectify has no field for
    first: int = -1  # index of its first row (two-level headers), -1: the same as `row`

    @property
    def top(self) -> int:
        return self.row if self.first < 0 else self.first


def find_header(rows: list[Row]) -> Header | None:
    """The header row: the first (within 15) naming the problem and another column. A
    two-level header (责任主体 over 责任领导/责任部门/责任人, 整改情况 over 完成情况/完成时间) is
    read as one: a child's name wins over its parent's, and the items start below both."""
    for idx, (_, cells) in enumerate(rows[:15]):
        columns = _columns(cells)
        if "title" in columns and len(columns) >= 2:
            below = rows[idx + 1][1] if idx + 1 < len(rows) else []
            if _is_second_level(below):
                return _combined(idx, cells, below)
            used = set(columns.values())
            extra = {col: _pair(cell)[1] for col, cell in enumerate(cells)
                     if col not in used and _pair(cell)[0] and _pair(cell)[1] not in COMPUTED}
            return Header(idx, columns, extra)
    return None


def header_score(rows: list[Row]) -> int:
    """How much the first rows look like a ledger's header: the most column names one names."""
    return max((len(_columns(cells)) for _, cells in rows[:15]), default=0)


def _columns(cells: list[Any]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for col, cell in enumerate(cells):
        name = _header_name(cell)
        if name and name not in columns:
            columns[name] = col
    return columns


def _is_second_level(below: list[Any]) -> bool:
    """`below` is part of the header: it names two columns or more (children under their
    parents, or the header itself repeated by cells merged down). No item row does."""
    return sum(1 for cell in below if _header_name(cell)) >= 2


def _combined(first: int, top: list[Any], below: list[Any]) -> Header:
    columns: dict[str, int] = {}
    extra: dict[int, str] = {}
    for col in range(max(len(top), len(below))):
        parent = top[col] if col < len(top) else None
        child = below[col] if col < len(below) else None
        name = _header_name(child) or _header_name(parent)
        if name and name not in columns:
            columns[name] = col
        elif (label := _pair(child)[1] or _pair(parent)[1]) and label not in COMPUTED:
            extra[col] = label
    return Header(first + 1, columns, extra, first)


SHORT = 32


def _pair(value: Any) -> tuple[str, str]:
    """A cell as (working copy, as written)."""
    if value is None or value == UNSAVED:
        return "", ""
    if type(value) is str:  # most cells, as CSV gives them all
        orig = value.strip()
    else:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, dt.datetime):
            value = value.date()
        orig = str(value).strip()
    if len(orig) <= SHORT:  # names, departments, statuses, deadlines: one copy, however many rows repeat them
        orig = sys.intern(orig)
    return normalise(orig), orig


def _cell_text(value: Any) -> str:
    return _pair(value)[0]


EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL = range(1, 2958466)  # Excel's own range: 1900-01-01 .. 9999-12-31


def _deadline(item: ParsedItem, value: Any, year: int | None, problems: list[Problem], where: str) -> None:
    """A 整改时限 cell: a date cell, an Excel serial number, or text in any written form."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        item.deadline, item.deadline_kind, item.deadline_text = value, "dated", value.isoformat()
        return
    work, orig = _pair(value)
    if (isinstance(value, int | float) and not isinstance(value, bool)) or re.fullmatch(r"\d{5}", work):
        serial = float(work)
        if serial.is_integer() and int(serial) in _SERIAL and not re.fullmatch(r"\d{8}", work):
            item.deadline = EXCEL_EPOCH + dt.timedelta(days=int(serial))
            item.deadline_kind, item.deadline_text = "dated", orig
            return
    apply_field(item, "deadline", work, year, problems, where, original=orig)


def _read_item(no: int, where: str, line: int, cells: dict[str, Any], extra: dict[str, Any], aspect_no: int | None,
               year: int | None, problems: list[Problem]) -> ParsedItem:
    for name in [n for n, value in cells.items() if value == UNSAVED]:
        problems.append(Problem(f"{where}“{COLUMN_LABEL.get(name, name)}”列",
                                "是公式，但文件保存时没有保存计算结果：请在 Excel 或 WPS 中打开该文件、保存后再导入"))
        cells[name] = None
    item = ParsedItem(no=no, title=_pair(cells.get("title"))[1], where=where, line=line, aspect_no=aspect_no)
    for name in ("measures", "leader", "department", "owner", "status", "evidence"):
        if name in cells:
            work, orig = _pair(cells[name])
            apply_field(item, name, work, year, problems, f"{where}“{COLUMN_LABEL[name]}”列", original=orig)
    if "deadline" in cells:
        _deadline(item, cells["deadline"], year, problems, f"{where}“整改时限”列")
    item.extra = {label: orig for label, value in extra.items() if (orig := _pair(value)[1])}
    finish_item(item)
    return item


def _item_no(raw: Any, fallback: int) -> int | None:
    text = _cell_text(raw).rstrip(".、")
    if not text:
        return fallback
    try:
        no = cn_int(text)
    except ValueError:
        return None
    return no if 0 < no < 2**31 else None


# rows under the table that are not items: they end it
_FOOTER = re.compile(r"^(?:注|备注|说明|附注|填表说明|填表人|填报人|制表人?|审核人?|审批人|负责人|联系人|联系电话|"
                     r"单位负责人|分管领导|主要领导|签字|日期)\s*[:：\d.、]")


def _is_footer(raw: list[Any]) -> bool:
    first = next((t for c in raw if c not in (None, "") and (t := _cell_text(c))), "")
    return bool(_FOOTER.match(first))


def parse_table(rows: list[Row], source: Source, where_prefix: str, fallback: str) -> list[ParsedLedger]:
    """Rows with their spreadsheet row numbers -> one ParsedLedger per inspected unit (a
    被巡察单位 column splits a county's workbook; without one, the whole table is one
    unit's), or every problem at once. Numbers may run on or restart per unit. The item
    rows are consumed: a large sheet's cells are let go as its items are made."""
    header = find_header(rows)
    if header is None:
        raise InputError(source.name, [Problem(where_prefix.strip(), (
            "找不到表头行：前 15 行中没有同时包含“问题”（或问题描述、存在问题）"
            "和其他列名（如整改措施、责任领导、整改时限、完成情况）的行"))])
    block = title_block(rows[:header.top])
    title = block.title
    years = [m.year for m in find_dates(normalise(title), None)] or (
        [block.report_date.year] if block.report_date else [])
    table = _Table(header, years[0] if years else None, where_prefix, [])
    unit = block.unit or (m["unit"] if (m := _TITLE_UNIT.match(title)) else None)
    groups = _by_unit(rows[header.row + 1:], header, table)
    del rows[header.row + 1:]  # the groups hold the item rows now, and let each go once read
    ledgers = []
    for name, group in groups.items():
        ledger = ParsedLedger(source_name=source.name, sha256=source.sha256, unit=name or unit or fallback,
                              round_name=title or fallback, unit_found=bool(name or unit),
                              report_date=block.report_date)
        _read_rows(ledger, group, table)
        ledgers.append(ledger)
    if not any(ledger.items for ledger in ledgers) and not table.problems:
        table.problems.append(Problem(where_prefix.strip(), "表头下面没有任何问题行"))
    if table.problems:
        raise InputError(source.name, table.problems)
    return ledgers


@dataclass
class _Table:
    header: Header
    year: int | None
    where_prefix: str
    problems: list[Problem]
    categories: dict[int, str] = field(default_factory=dict)  # line -> the category a row across names


# a row across the table naming a category: 一、…方面 / （二）…问题 / …方面存在的问题
_CATEGORY = re.compile(r"^(?:[一二三四五六七八九十]+\s*[、.]|\(\s*[一二三四五六七八九十]+\s*\))"
                       r"|方面(?:的|存在的)?问题?$")


def category_of(raw: list[Any], header: Header) -> str | None:
    """The category a row across the table names (a merged row 一、…方面 in a Word or
    Excel table), or None for an item row."""
    number = raw[header.columns["no"]] if "no" in header.columns and header.columns["no"] < len(raw) else None
    if isinstance(number, int | float) or (isinstance(number, str) and number.strip().rstrip(".、").isdigit()):
        return None  # an item row: most rows, answered without reading the others
    texts = {text for c in raw if c is not None and (text := str(c).strip())}
    if len(texts) != 1:
        return None
    text = texts.pop()
    return text if _CATEGORY.search(normalise(text)) else None


def _by_unit(rows: list[Row], header: Header, table: _Table) -> dict[str, list[Row]]:
    """The item rows, grouped by the 被巡察单位 column in order of first appearance (a blank
    cell continues the unit above: a merged cell saved as CSV); all under "" without one.
    A category row across the table is kept in the group, for the rows below it."""
    groups: dict[str, list[Row]] = {}
    col, current = header.columns.get("unit"), ""
    for line, raw in rows:
        if _is_footer(raw):
            break
        cells = [raw[c] if c < len(raw) else None for n, c in header.columns.items() if n != "unit"]
        if not any(v is not None and str(v).strip() for v in cells):
            continue
        if (category := category_of(raw, header)) is not None:
            table.categories[line] = category
            groups.setdefault(current, []).append((line, raw))
            continue
        if col is not None:
            current = _pair(raw[col] if col < len(raw) else None)[1] or current
            if not current:
                table.problems.append(Problem(f"{table.where_prefix}第{line}行", "缺少被巡察单位"))
                continue
        groups.setdefault(current, []).append((line, raw))
    return groups or {"": []}


def _read_rows(ledger: ParsedLedger, rows: list[Row], table: _Table) -> None:
    """One unit's item rows into `ledger`; numbers are checked within the unit. Rows are
    numbered and placed under their aspects first, in order; then each is read into an
    item, a large table's by several processes (importers.parallel), and every problem is
    reported in the order of the rows, as one pass would have."""
    columns, problems = table.header.columns, table.problems
    seen: dict[int, int] = {}
    aspects: dict[str, int] = {}
    category = ""
    jobs: list[_Job] = []
    said: list[Problem | int] = []  # a row's problem found here, or the job whose problems are said there
    number, aspect = columns.get("no"), columns.get("aspect")
    title_col = columns.get("title")
    for line, raw in rows:
        if (named := table.categories.get(line)) is not None:
            category = named
            continue
        if jobs and _continues(raw, jobs[-1], number, title_col):
            jobs[-1][4].append((line, raw))  # one problem over several rows: a measure of its own
            continue
        where = f"{table.where_prefix}第{line}行"
        no = _item_no(_cell(raw, number), len(jobs) + 1)
        if no is None:
            said.append(Problem(where, f"无法识别的序号“{_pair(_cell(raw, number))[1]}”"))
            continue
        if no in seen:
            unit = f"（{ledger.unit}）" if "unit" in columns else ""
            said.append(Problem(where, f"序号 {no} 与第{seen[no]}行重复{unit}"))
            continue
        seen[no] = line
        said.append(len(jobs))
        jobs.append((no, line, raw, _aspect(ledger, aspects, _pair(_cell(raw, aspect))[1] or category, line), []))
    rows.clear()  # the jobs hold the item rows now, and each chunk is let go once read
    reading = _Reading(columns, table.header.extra, table.year, table.where_prefix)
    count, chunks = len(jobs), [jobs[start:start + _CHUNK] for start in range(0, len(jobs), _CHUNK)]
    del jobs
    read = [found for chunk in parallel.map_chunks(_read_chunk, chunks, count, reading) for found in chunk]
    ledger.items.extend(item for item, _ in read)
    for entry in said:
        problems.extend([entry] if isinstance(entry, Problem) else read[entry][1])


def _cell(raw: list[Any], col: int | None) -> Any:
    return raw[col] if col is not None and col < len(raw) else None


# number, line, the row's cells, aspect number, and the rows that continue the same problem
_Job = tuple[int, int, list[Any], int | None, list[tuple[int, list[Any]]]]


def _continues(raw: list[Any], last: _Job, number: int | None, title: int | None) -> bool:
    """The row goes on with the problem above: its 序号 and 问题 blank under it, or the same
    as its own (cells merged down, carried to every row they span)."""
    no, text = _cell_text(_cell(raw, number)), _cell_text(_cell(raw, title))
    if not no and not text:
        return any(_cell_text(c) for c in raw)
    above = last[2]
    return bool(text) and no == _cell_text(_cell(above, number)) and text == _cell_text(_cell(above, title))
_CHUNK = 2000  # rows read together, here or by another process


@dataclass(frozen=True)
class _Reading:
    """What reading any row of a table needs to know of the table."""

    columns: dict[str, int]
    extra: dict[int, str]
    year: int | None
    where_prefix: str


def _read_chunk(jobs: list[_Job], reading: _Reading) -> list[tuple[ParsedItem, list[Problem]]]:
    """Rows into items, each with the problems found reading it (many small objects and
    no cycles: the cyclic collector is paused)."""
    found = []
    with gc_paused():
        for no, line, raw, aspect_no, more in jobs:
            where = f"{reading.where_prefix}第{line}行"
            cells = {name: raw[col] if col < len(raw) else None for name, col in reading.columns.items()}
            extra = {label: raw[col] if col < len(raw) else None for col, label in reading.extra.items()}
            problems: list[Problem] = []
            item = _read_item(no, where, line, cells, extra, aspect_no, reading.year, problems)
            for next_line, next_raw in more:
                cells = {name: next_raw[col] if col < len(next_raw) else None
                         for name, col in reading.columns.items() if name not in ("no", "title")}
                _fold(item, _read_item(no, f"{reading.where_prefix}第{next_line}行", next_line, cells, {}, aspect_no,
                                       reading.year, problems))
            if not item.title:
                problems.append(Problem(where, "缺少问题内容"))
            found.append((item, problems))
    return found


def _fold(item: ParsedItem, more: ParsedItem) -> None:
    """A further row of the same problem into it: its measures (each with its own date,
    the row's deadline where the text gives none), the latest deadline, the weakest status."""
    dated = more.deadline.isoformat()[:7] if more.deadline else None
    if item.measures and dated and item.deadline and all(m.date is None for m in item.measures):
        item.measures = [ParsedMeasure(item.deadline.isoformat()[:7], m.date_end, m.text) for m in item.measures]
    item.measures = [*item.measures, *(ParsedMeasure(m.date or dated, m.date_end, m.text) for m in more.measures)]
    item.measures_text = "\n".join(t for t in (item.measures_text, more.measures_text) if t) or None
    if more.deadline and (item.deadline is None or more.deadline > item.deadline):
        item.deadline, item.deadline_kind, item.deadline_text = more.deadline, more.deadline_kind, more.deadline_text
    if more.status_text and RANK.get(more.status, 0) < RANK.get(item.status, 0):
        item.status, item.status_text = more.status, more.status_text


def _aspect(ledger: ParsedLedger, aspects: dict[str, int], name: str, line: int) -> int | None:
    if not name:
        return None
    if name not in aspects:
        aspects[name] = len(aspects) + 1
        ledger.aspects.append(ParsedHeading(no=aspects[name], title=name,
                                            label=str(aspects[name]), line=line))
    return aspects[name]
