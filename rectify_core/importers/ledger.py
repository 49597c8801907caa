"""Parser for ledgers (台账) as .xlsx or .csv: find the header row by column names,
then read one item per row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rectify_core.datetext import cn_int, find_dates
from rectify_core.errors import InputError, Problem
from rectify_core.importers.fields import LABEL_TO_FIELD, apply_field, finish_item
from rectify_core.importers.parsed import ParsedHeading, ParsedItem, ParsedLedger
from rectify_core.importers.source import Source, decode, normalise

Row = tuple[int, list[Any]]
_TITLE_UNIT = re.compile(r"^(?P<unit>.+?)(?:关于)?(?:落实)?(?:(?:中央|省|市|区|县)委)?(?:第.+?巡察组)?巡[察视]")
# the 填报 line under a ledger's title: 填报单位：XX（盖章） 填报日期：2026年11月20日 （填表人：…）
_META = re.compile(r"(填报单位|填报日期|填表日期|填报时间|填表人|填报人|审核人|联系人|联系电话)\s*[:：]?")
_SEAL = re.compile(r"[(（]\s*(?:盖章|公章|签章|章)\s*[)）]")
_NUMERIC_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


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
    m = _NUMERIC_DATE.search(text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    days = [d for d in find_dates(text, None) if len(d.start) == 10]
    return dt.date.fromisoformat(days[0].start) if days else None


def title_block(rows: list[Row]) -> TitleBlock:
    """Title rows are joined into the round's name; a 填报 row gives unit and date instead."""
    block = TitleBlock()
    titles: list[str] = []
    for _, cells in rows:
        text = " ".join(t for c in cells if (t := _cell_text(c)))
        if not text:
            continue
        if _META.search(text):
            fields = _meta_fields(text)
            unit = _SEAL.sub("", fields.get("填报单位", "")).strip()
            block.unit = block.unit or unit or None
            when = fields.get("填报日期") or fields.get("填表日期") or fields.get("填报时间")
            block.report_date = block.report_date or (_day(when) if when else None)
        else:
            titles.append(text)
    block.title = "".join(titles)
    return block


def _header_name(cell: Any) -> str | None:
    text = re.sub(r"\s+", "", normalise(str(cell))) if cell is not None else ""
    if not text:
        return None
    # a header may carry a note in brackets: 整改时限(截止日期)
    return LABEL_TO_FIELD.get(text.split("(", 1)[0])


def find_header(rows: list[Row]) -> tuple[int, dict[str, int]] | None:
    for idx, (_, cells) in enumerate(rows[:15]):
        columns: dict[str, int] = {}
        for col, cell in enumerate(cells):
            name = _header_name(cell)
            if name and name not in columns:
                columns[name] = col
        if "title" in columns and len(columns) >= 2:
            return idx, columns
    return None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalise(str(value)).strip()


def _deadline(item: ParsedItem, value: Any, year: int | None, problems: list[Problem]) -> None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        item.deadline, item.deadline_kind, item.deadline_text = value, "dated", value.isoformat()
    else:
        apply_field(item, "deadline", _cell_text(value), year, problems)


def _read_item(no: int, where: str, line: int, cells: dict[str, Any], aspect_no: int | None,
               year: int | None, problems: list[Problem]) -> ParsedItem:
    item = ParsedItem(no=no, title=_cell_text(cells.get("title")), where=where, line=line,
                      aspect_no=aspect_no)
    for name in ("measures", "leader", "department", "owner", "status", "evidence"):
        if name in cells:
            apply_field(item, name, _cell_text(cells[name]), year, problems)
    if "deadline" in cells:
        _deadline(item, cells["deadline"], year, problems)
    finish_item(item)
    return item


def _item_no(raw: Any, fallback: int) -> int | None:
    text = _cell_text(raw).rstrip(".、")
    if not text:
        return fallback
    try:
        return cn_int(text)
    except ValueError:
        return None


def parse_rows(rows: list[Row], source: Source, where_prefix: str, fallback: str) -> ParsedLedger:
    """Rows with their spreadsheet row numbers -> ParsedLedger, or every problem at once."""
    header = find_header(rows)
    if header is None:
        raise InputError(source.name, [Problem(where_prefix.strip(), (
            "找不到表头行：前 15 行中没有同时包含“问题”（或问题描述、存在问题）"
            "和其他列名（如整改措施、责任领导、整改时限、完成情况）的行"))])
    header_idx, columns = header
    block = title_block(rows[:header_idx])
    title = block.title
    years = [m.year for m in find_dates(title, None)] or ([block.report_date.year] if block.report_date else [])
    year = years[0] if years else None
    unit = block.unit or (m["unit"] if (m := _TITLE_UNIT.match(title)) else None)
    ledger = ParsedLedger(source_name=source.name, sha256=source.sha256, unit=unit or fallback,
                          round_name=title or fallback, unit_found=unit is not None,
                          report_date=block.report_date)
    problems: list[Problem] = []
    seen: dict[int, int] = {}
    aspects: dict[str, int] = {}
    for line, raw in rows[header_idx + 1:]:
        cells = {name: raw[col] if col < len(raw) else None for name, col in columns.items()}
        if not any(_cell_text(v) for v in cells.values()):
            continue
        where = f"{where_prefix}第{line}行"
        no = _item_no(cells.get("no"), len(ledger.items) + 1)
        if no is None:
            problems.append(Problem(where, f"无法识别的序号“{_cell_text(cells.get('no'))}”"))
            continue
        if no in seen:
            problems.append(Problem(where, f"序号 {no} 与第{seen[no]}行重复"))
            continue
        seen[no] = line
        aspect_no = _aspect(ledger, aspects, _cell_text(cells.get("aspect")), line)
        item = _read_item(no, where, line, cells, aspect_no, year, problems)
        if not item.title:
            problems.append(Problem(where, "缺少问题内容"))
        ledger.items.append(item)
    if not ledger.items and not problems:
        problems.append(Problem(where_prefix.strip(), "表头下面没有任何问题行"))
    if problems:
        raise InputError(source.name, problems)
    return ledger


def _aspect(ledger: ParsedLedger, aspects: dict[str, int], name: str, line: int) -> int | None:
    if not name:
        return None
    if name not in aspects:
        aspects[name] = len(aspects) + 1
        ledger.aspects.append(ParsedHeading(no=aspects[name], title=name,
                                            label=str(aspects[name]), line=line))
    return aspects[name]


def csv_rows(source: Source) -> list[Row]:
    text = decode(source.data, source.name)
    return [(i, list(r)) for i, r in enumerate(csv.reader(io.StringIO(text)), start=1)]


def xlsx_rows(source: Source) -> Iterable[tuple[str, list[Row]]]:
    """Each worksheet's title and rows, as openpyxl reads them (dates as datetimes)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError(source.name, [Problem("", f"Excel 文件已损坏或无法读取（{type(exc).__name__}）")]) from None
    for sheet in book.worksheets:
        yield sheet.title, [(i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), 1)]


def parse_xlsx(source: Source, fallback: str) -> ParsedLedger:
    """The first worksheet that has a header row is the ledger."""
    first_error: InputError | None = None
    for title, rows in xlsx_rows(source):
        try:
            return parse_rows(rows, source, f"工作表“{title}”", fallback)
        except InputError as exc:
            if find_header(rows) is not None:
                raise
            first_error = first_error or exc
    raise first_error or InputError(source.name, [Problem("", "工作簿中没有工作表")])



