"""The readers of tables: a CSV text's rows (its dialect sniffed, every row's width and
length bounded) and an .xlsx workbook's sheets (merged cells spread over their range, read
from the sheet's XML a block at a time), and a workbook's sheets told apart into ledgers
and sheets left aside. The table parser (importers.ledger) reads the rows they give."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from rectify_core.config.limits import Limits, limits
from rectify_core.errors import InputError, Problem
from rectify_core.identity import person_name
from rectify_core.importers.ledger import Row, find_header, header_score, parse_table
from rectify_core.importers.parsed import ParsedLedger
from rectify_core.importers.source import UNSAVED, Source


def one_unit(found: list[ParsedLedger], name: str, where: str) -> ParsedLedger:
    """The one unit's ledger a caller that reads one expects; several are refused in words."""
    if len(found) > 1:
        units = "、".join(p.unit for p in found)
        raise InputError(name, [Problem(where.strip(), f"包含 {len(found)} 个被巡察单位的台账（{units}），"
                                                              "请整体导入：每个被巡察单位各成一个轮次")])
    return found[0]


HEAD_LINES = 20


DELIMITERS = (",", "\t", ";")  # a comma, Excel's 文本（制表符分隔）and "Unicode 文本", a European CSV


def table_delimiter(text: str) -> str | None:
    """The delimiter under which a header row is found among the first lines read as a
    table (of several, the one that splits the header into most columns), or None: not a
    table. Only those lines are read, and a malformed quote there means "not a table": a
    report is never fed to the CSV reader."""
    head = "\n".join(text.splitlines()[:HEAD_LINES])
    best: tuple[int, str] | None = None
    for delimiter in DELIMITERS:
        try:
            rows = [(i, list(r)) for i, r in enumerate(csv.reader(io.StringIO(head), delimiter=delimiter), start=1)]
        except csv.Error:
            continue
        header = find_header(rows)
        if header is not None:
            width = sum(1 for cell in rows[header.row][1] if cell.strip())
            if best is None or width > best[0]:
                best = (width, delimiter)
    return best[1] if best else None



def _lines(text: str) -> Iterator[str]:
    """The text's lines as io.StringIO(text) gives them (split at "\n" only, kept), a
    line at a time: a StringIO holds a copy of the whole text at four bytes a character."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


def csv_rows(text: str, name: str, delimiter: str = ",") -> list[Row]:
    """Every row of a CSV text, within the row, column and cell limits."""
    lim = limits()
    csv.field_size_limit(lim.line_chars)
    reader = csv.reader(_lines(text), delimiter=delimiter)
    rows: list[Row] = []
    try:
        for row in reader:
            _check_row(row, len(rows) + 1, reader.line_num, name, lim)
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InputError(name, [Problem(f"第{reader.line_num}行", f"CSV 格式错误：{_csv_error(exc, lim)}")]) from None
    return rows


def _csv_error(exc: csv.Error, lim: Limits) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"单元格过长（{lim.describe('line_chars', ' 字')}），可能是引号未配对"
    return text


def _check_row(cells: list[Any], count: int, line: int, name: str, lim: Limits) -> None:
    if count > lim.rows:
        raise InputError(name, [Problem("", f"表格超过{lim.describe('rows', ' 行')}")])
    if len(cells) > lim.columns and any(c not in (None, "") for c in cells[lim.columns:]):
        raise InputError(name, [Problem(f"第{line}行", f"有 {len(cells)} 列，超过{lim.describe('columns', ' 列')}")])


def xlsx_rows(source: Source) -> Iterable[tuple[str, list[Row]]]:
    """Each worksheet's title and rows, as openpyxl reads them (dates as datetimes), with
    each merged range's value carried down to every row it spans (a 问题类别 merged over
    ten rows belongs to all ten). Rows are streamed within the row and column limits; the
    sheet's declared dimension is ignored (a 5 KB file may claim XFD1048576)."""
    from openpyxl import load_workbook

    lim = limits()
    try:
        book = load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
        formulas = (load_workbook(io.BytesIO(source.data), read_only=True, data_only=False)
                    if _has_formulas(source.data) else None)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError(source.name, [Problem("", f"Excel 文件已损坏或无法读取（{type(exc).__name__}）")]) from None
    for n, sheet in enumerate(book.worksheets):
        sheet.reset_dimensions()
        written = _formula_rows(formulas.worksheets[n]) if formulas is not None else iter(())
        rows: list[Row] = []
        try:
            for i, row in enumerate(sheet.iter_rows(values_only=True), 1):
                cells = _unsaved(list(row), next(written, None))
                _check_row(cells, i, i, f"{source.name} 工作表“{sheet.title}”", lim)
                rows.append((i, cells[:lim.columns]))
            merges = _merged_ranges(sheet)
        except InputError:
            raise
        except Exception as exc:  # a damaged sheet inside a valid archive
            raise InputError(source.name, [Problem(f"工作表“{sheet.title}”",
                                                   f"无法读取（{type(exc).__name__}）")]) from None
        yield sheet.title, _unmerge(rows, merges)


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet of the archive holds a formula (its XML an <f> element)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with zf.open(name) as f:
                    tail = b""
                    while block := f.read(1 << 20):
                        if b"<f>" in tail + block or b"<f " in tail + block:
                            return True
                        tail = block[-3:]
    return False


def _formula_rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
    sheet.reset_dimensions()
    return iter(sheet.iter_rows(values_only=True))


def _unsaved(cells: list[Any], written: tuple[Any, ...] | None) -> list[Any]:
    """The row's values, a formula the file has no saved value for marked UNSAVED."""
    if written is None:
        return cells
    return [UNSAVED if value is None and c < len(written) and isinstance(written[c], str)
            and written[c].startswith("=") else value for c, value in enumerate(cells)]


def _merged_ranges(sheet: Any) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of each merged range (read-only worksheets do
    not expose them)."""
    from openpyxl.utils.cell import range_boundaries

    with sheet.parent._archive.open(sheet._worksheet_path) as xml:
        refs = merge_refs(xml)
    ranges: list[tuple[int, int, int, int]] = []
    for ref in refs:
        try:
            bounds = range_boundaries(ref)
        except ValueError:
            continue  # not a range: nothing merged
        if None not in bounds:
            ranges.append(cast(tuple[int, int, int, int], bounds))
    return ranges


_MERGE_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\sref\s*=\s*([\"'])([^\"'<>]*)\1")
_BLOCK = 1 << 20


def merge_refs(xml: IO[bytes], block: int = _BLOCK) -> list[str]:
    """The `ref` of each mergeCell in a sheet's XML. They come after all of its rows (the
    schema's order), so the rows are only scanned for the first "mergeCell" as bytes, not
    parsed a second time (a second parse took 3 s of a 100,000-row sheet); cell text cannot
    hold it (a "<" in text is written &lt;)."""
    carry = b""
    while chunk := xml.read(block):
        data = carry + chunk
        at = data.find(b"mergeCell")
        if at >= 0:
            tail = data[max(0, at - 64):] + xml.read()
            return [ref.decode("utf-8", "replace") for _, ref in _MERGE_CELL.findall(tail)]
        carry = data[-64:]  # a tag cut between two blocks
    return []


def _unmerge(rows: list[Row], ranges: list[tuple[int, int, int, int]]) -> list[Row]:
    if not ranges:
        return rows
    by_number = {n: cells for n, cells in rows}
    for min_col, min_row, _, max_row in ranges:
        top = by_number.get(min_row)
        if top is None or min_col > len(top):
            continue
        value = top[min_col - 1]
        # down the rows only: a title merged across columns is still one title
        for r in range(min_row + 1, max_row + 1):
            cells = by_number.get(r)
            if cells is not None and min_col <= len(cells) and cells[min_col - 1] is None:
                cells[min_col - 1] = value
    return rows


# sheets that are not a unit's ledger, by name: a workbook's notes, statistics and summary,
# and the sheets rectify's own export adds
SKIPPED_SHEETS = re.compile(r"说明|填表|统计|汇总|图表|目录|封面|本次台账未列出")


@dataclass
class Workbook:
    """What a file holds: one ledger per inspected unit, and the sheets left aside."""

    ledgers: list[ParsedLedger]
    skipped: list[str]  # worksheets read as not a ledger (说明, 统计…)


def parse_workbook(source: Source, fallback: str) -> Workbook:
    """Every worksheet with a ledger's header row is a ledger (a workbook with a sheet per
    unit imports every one); a sheet without one, or named like 说明/统计/汇总 beside
    other ledger sheets, is left aside and named. A sheet's unit is what its title or a 被巡察单位 column says, else the
    sheet's name when there are several sheets."""
    return parse_sheets(list(xlsx_rows(source)), source, fallback)


def parse_sheets(sheets: list[tuple[str, list[Row]]], source: Source, fallback: str) -> Workbook:
    """Worksheets (title, rows) -> their ledgers and the sheets left aside."""
    tables = [title for title, rows in sheets if find_header(rows) is not None]
    # a sheet named like 统计/汇总 is a ledger only when no other sheet is one
    ledger_sheets = [title for title in tables if not SKIPPED_SHEETS.search(title)] or tables
    read: list[tuple[str, ParsedLedger]] = []
    for title, rows in sheets:
        if title in ledger_sheets:
            read += [(title, ledger) for ledger in parse_table(rows, source, f"工作表“{title}”",
                                                                title if len(ledger_sheets) > 1 else fallback)]
    if not read:
        best = max(sheets, key=lambda sheet: header_score(sheet[1]), default=None)
        if best is not None:  # the sheet that looks most like a ledger says what is missing
            parse_table(best[1], source, f"工作表“{best[0]}”", fallback)
        raise InputError(source.name, [Problem("", "工作簿中没有台账工作表")])
    kept, older = latest_versions(read, source.name)
    return Workbook([ledger for _, ledger in kept],
                    [title for title, _ in sheets if title not in ledger_sheets] + older)


def _same_ledger(a: ParsedLedger, b: ParsedLedger) -> bool:
    """Two sheets that are versions of one ledger: the same unit, and the same round (by
    its key) or most of the same problems."""
    if person_name(a.unit) != person_name(b.unit):
        return False
    if a.feedback_date is not None and a.feedback_date == b.feedback_date:
        return True
    titles = [{person_name(i.title) for i in ledger.items} for ledger in (a, b)]
    return bool(titles[0] and titles[1]) and len(titles[0] & titles[1]) >= 0.5 * min(map(len, titles))


def latest_versions(read: list[tuple[str, ParsedLedger]], name: str) -> tuple[list[tuple[str, ParsedLedger]],
                                                                               list[str]]:
    """Of sheets that are versions of one ledger (a workbook keeping each week's 台账 as a
    sheet, in any order), the one with the latest 填报日期, the others named as skipped;
    refused when their dates cannot tell which is the latest. Other sheets pass as they are."""
    kept: list[tuple[str, ParsedLedger]] = []
    older: list[str] = []
    for title, ledger in read:
        twin = next((n for n, (_, k) in enumerate(kept) if _same_ledger(k, ledger)), None)
        if twin is None:
            kept.append((title, ledger))
            continue
        other_title, other = kept[twin]
        before, after = other.report_date, ledger.report_date
        if before is None or after is None or before == after:
            raise InputError(name, [Problem(f"工作表“{other_title}”与“{title}”",
                                            "是同一台账的不同版本，但填报日期无法判断哪个最新：请只保留最新的一个"
                                            "工作表（或在标题下写明“填报日期：年月日”）后再导入")])
        newer, skipped = ((title, ledger), kept[twin]) if after > before else (kept[twin], (title, ledger))
        kept[twin] = newer
        older.append(f"{skipped[0]}（同一台账的较早版本，填报日期 {skipped[1].report_date}；"
                     f"按最新的“{newer[0]}”导入）")
    return kept, older
