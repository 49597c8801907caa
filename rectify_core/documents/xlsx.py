"""The Excel 台账 as the office hands it up: a title, the 填报 row, one row per item
filled by its light, a frozen header with filters, A4 landscape print setup, and a
统计 sheet. rectify's ledger importer reads it back to the same items."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rectify_core.config.scoring import MEASURES
from rectify_core.deadlines.due import left_text
from rectify_core.deadlines.scoring import UnitScore
from rectify_core.documents.report import day_text
from rectify_core.ledger.view import RoundView, Row
from rectify_core.refs import label as ref_label
from rectify_core.vocab import LIGHT_SHORT, NO_LIGHT, DeadlineKind, ItemState, Light, completion_rate, light_label

COLUMNS = [("序号", 6), ("问题类别", 14), ("存在问题", 36), ("整改措施", 40), ("责任领导", 16), ("责任部门", 12),
           ("责任人", 10), ("整改时限", 16), ("延期后时限", 16), ("完成情况", 12), ("灯", 6), ("剩余工作日", 14),
           ("最新进展", 30), ("销号日期", 16), ("核验人", 10), ("佐证材料数", 10), ("回头看结果", 10)]
FILLS = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE", "blue": "BDD7EE"}
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
HEADER_ROW = 3


def _deadline(row: Row) -> Any:
    if row.deadline_kind == DeadlineKind.IMMEDIATE and row.deadline is None:
        return DeadlineKind.IMMEDIATE.label
    if row.deadline_kind == DeadlineKind.LONG_TERM and row.deadline is None:
        return DeadlineKind.LONG_TERM.label
    return row.deadline or row.deadline_text or ""


def _values(row: Row) -> list[Any]:
    leader = f"{row.leader}（{row.leader_title}）" if row.leader and row.leader_title else row.leader or ""
    progress = f"{day_text(row.progress_on)}：{row.progress}" if row.progress and row.progress_on else row.progress
    return [int(row.ref), row.aspect or "", row.title, row.measures, leader, row.department or "", row.owner or "",
            _deadline(row), row.extended_to or "", row.status_text or "", LIGHT_SHORT[row.light] if
            row.status != ItemState.DONE else "", _left(row),
            progress or "", row.closed_on if row.status == ItemState.DONE and row.closed_on else "",
            row.verified_by or "", row.evidence_count or "", row.lookback or ""]


def _left(row: Row) -> str:
    """剩余工作日 as people read it (逾期N个工作日, never "-101"); nothing once done."""
    return "" if row.status == ItemState.DONE else left_text(row.workdays_left)


def _put(cell: Any, value: Any) -> None:
    """Text that begins like a formula (= + - @) is written as text, never a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
        from openpyxl.styles import Alignment

        cell.data_type = "s"
        cell.quotePrefix = True
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def title_of(view: RoundView) -> str:
    return view.name if "台账" in view.name else f"{view.unit}巡察反馈问题整改台账"


def write_xlsx(view: RoundView, path: Path) -> None:
    """One round's 台账: the ledger sheet, its 统计, and the items the sheet no longer lists."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "整改台账"
    ledger_sheet(sheet, view)
    _stats(book.create_sheet("统计"), view)
    if view.unlisted:
        _unlisted(book.create_sheet("本次台账未列出"), view)
    book.save(path)


def write_county_xlsx(views: list[RoundView], summary: list[Any], path: Path,
                      scores: list[UnitScore] | None = None) -> None:
    """Every round's 台账 on a sheet of its own, named by its unit's short name, then a 汇总
    sheet (per unit: total, done, ongoing, open, overdue, rate) and, given the units'
    结果考评, a 考评说明 sheet with every deduction. Re-imported, each sheet goes back to its
    own unit's round (the 汇总 and 考评说明 sheets are left aside)."""
    from openpyxl import Workbook

    book = Workbook()
    short = {f.unit: f.short_name for f in summary}
    used: set[str] = set()
    first = book.active
    assert first is not None
    for n, view in enumerate(views):
        name = sheet_name(short.get(view.unit, view.unit), view.id, used)
        sheet = first if n == 0 else book.create_sheet(name)
        sheet.title = name
        ledger_sheet(sheet, view)
    _summary(book.create_sheet("汇总") if views else first, summary)
    if scores is not None:
        _scores(book.create_sheet("考评说明"), scores)
    book.save(path)


def _scores(sheet: Any, scores: list[UnitScore]) -> None:
    """One row per deduction, by rank: the unit's score and grade, the item, the measure,
    the points and the words that explain them (a unit without deductions: one row)."""
    from openpyxl.styles import Alignment, Font

    sheet.append(["名次", "被巡察单位", "得分", "等次", "问题", "扣分项", "扣分", "说明"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for s in scores:
        head = [s.rank or "—", s.unit, "—" if s.score is None else s.score, s.grade]
        lines: list[tuple[Any, ...]] = [(ref_label(d.ref), MEASURES[d.measure][0], d.points, d.text)
                                        for d in s.deductions]
        for line in lines or [("", "", "", "无扣分")]:
            sheet.append([*head, *line])
    for column, width in zip("ABCDEFGH", (6, 28, 8, 8, 10, 14, 8, 80), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=8, max_col=8):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    print_whole(sheet, "结果考评说明", header_rows="1:1")


def sheet_name(short: str, round_id: int, used: set[str]) -> str:
    r"""A worksheet name Excel accepts (31 characters, none of []:*?/\), unique in the book."""
    base = re.sub(r"[\[\]:*?/\\]", "", short)[:24] or "台账"
    name = base if base not in used else f"{base}（{round_id}）"
    used.add(name)
    return name


def _summary(sheet: Any, summary: list[Any]) -> None:
    from openpyxl.styles import Font

    sheet.title = "汇总"
    sheet.append(["被巡察单位", "问题总数", ItemState.DONE.label, ItemState.ONGOING.label, ItemState.OPEN.label,
                  "逾期", "完成率"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for f in summary:
        sheet.append([f.unit, f.items, f.done, f.ongoing, f.open, f.overdue, f"{f.rate}%"])
    total = [sum(getattr(f, k) for f in summary) for k in ("items", "done", "ongoing", "open", "overdue")]
    sheet.append(["合计", *total, f"{completion_rate(total[1], total[0])}%"])
    sheet.column_dimensions["A"].width = 30
    print_whole(sheet, "各单位整改情况汇总", header_rows="1:1")


def ledger_sheet(sheet: Any, view: RoundView) -> None:
    """One round's ledger on `sheet`: title, 填报 row, header, a row per item filled by its
    light; wrapped text in rows tall enough to show it whole; columns empty for the whole
    round hidden (so not printed); A3 landscape, the header repeated on every page."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    columns = COLUMNS + [(label, 16) for label in extra_columns(view)]
    last = get_column_letter(len(columns))
    sheet.append([title_of(view)])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(name="方正小标宋简体", size=18)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([f"填报单位：{view.unit}（盖章）", None, None, None, None, None, None, None, None,
                  f"填报日期：{day_text(view.as_of)}"])
    sheet.append([name for name, _ in columns])
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
        head = sheet.cell(HEADER_ROW, col)
        head.font, head.border = Font(bold=True), border
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.fill = PatternFill("solid", fgColor="D9D9D9")
    filled = [False] * len(columns)
    for r, row in enumerate(view.listed, start=HEADER_ROW + 1):
        fill = PatternFill("solid", fgColor=FILLS[row.light]) if row.light in FILLS and \
            row.status != ItemState.DONE else None
        values = _values(row) + [dict(row.extra).get(label, "") for label in extra_columns(view)]
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(r, c)
            _put(cell, value)
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            filled[c - 1] = filled[c - 1] or value not in ("", None)
            if hasattr(value, "year"):
                cell.number_format = DATE_FORMAT
            if fill is not None:
                cell.fill = fill
        sheet.row_dimensions[r].height = row_height(values, [w for _, w in columns])
    for c, used in enumerate(filled, start=1):
        if not used and view.listed and columns[c - 1][0] not in KEPT:
            sheet.column_dimensions[get_column_letter(c)].hidden = True
    end = HEADER_ROW + len(view.listed)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(end, HEADER_ROW)}"
    print_whole(sheet, "", a3=True, header_rows=f"1:{HEADER_ROW}")  # (its own title row is printed on each page)


PAGE_FOOTER = "第 &P 页，共 &N 页"


def print_whole(sheet: Any, title: str, *, a3: bool = False, header_rows: str | None = None) -> None:
    """Every sheet prints whole: landscape, all its columns on the page's width (pages run
    down, never across), its header rows on every page, a title above and the page numbers
    below."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A3 if a3 else sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if header_rows:
        sheet.print_title_rows = header_rows
    if title:
        sheet.oddHeader.center.text = title.replace("&", "&&")
    sheet.oddFooter.center.text = PAGE_FOOTER
KEPT = {"序号", "存在问题", "完成情况"}  # shown even when empty: a sheet is read by them
LINE_PT = 14.5  # one line of 11-point text


def extra_columns(view: RoundView) -> list[str]:
    """The office's own columns (备注…), in the order their sheet had them."""
    seen: dict[str, None] = {}
    for row in view.rows:
        for label, _ in row.extra:
            seen.setdefault(label, None)
    return [label for label in seen if label not in {name for name, _ in COLUMNS}]


def _display_width(text: str) -> float:
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.1 for ch in text)


def row_height(values: list[Any], widths: list[int]) -> float:
    """Points tall enough for the longest wrapped cell of the row (a spreadsheet program
    does not grow rows by itself when it opens a file)."""
    lines = 1
    for value, width in zip(values, widths, strict=False):
        text = value if isinstance(value, str) else ""
        room = max(width - 1.5, 1.0)
        lines = max(lines, sum(max(1, math.ceil(_display_width(part) / room)) for part in text.split("\n")))
    return min(LINE_PT * lines + 4, 409.0)  # 409 points: a row's limit


def _unlisted(sheet: Any, view: RoundView) -> None:
    """Items the latest sheet no longer lists, by the number they had: still the round's
    until the clerk withdraws or merges them (a sheet of its own, so re-importing the
    台账 reads only the sheet's own rows)."""
    sheet.append(["原序号", "问题", "完成情况", "说明"])
    for row in view.unlisted:
        sheet.append([row.ref, row.title, ItemState.label_of(row.status),
                      "本次台账未列出；如已不再整改，请在 rectify 中撤销或合并"])
    for column, width in zip("ABCD", (8, 50, 12, 50), strict=True):
        sheet.column_dimensions[column].width = width
    print_whole(sheet, f"{view.unit} 本次台账未列出的问题", header_rows="1:1")


def _stats(sheet: Any, view: RoundView) -> None:
    from openpyxl.styles import Font

    def block(title: str, key: Any) -> None:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for row in view.rows:
            kind = ItemState.DONE.label if row.status == ItemState.DONE else light_label(row.light)
            counts[key(row) or "（未注明）"][kind] += 1
        columns = [*(light.label for light in Light), NO_LIGHT, ItemState.DONE.label]
        sheet.append([title, *columns, "合计"])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for name, c in counts.items():
            sheet.append([name, *(c[column] for column in columns), sum(c.values())])
        sheet.append([])

    sheet.column_dimensions["A"].width = 40
    block("按方面", lambda r: r.aspect)
    block("按责任部门", lambda r: r.department)
    block("按责任人", lambda r: r.owner)
    print_whole(sheet, f"{view.unit} 整改情况统计")
