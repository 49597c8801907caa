"""The Excel 台账 as the office hands it up: a title, the 填报 row, one row per item
filled by its light, a frozen header with filters, A4 landscape print setup, and a
统计 sheet. rectify's ledger importer reads it back to the same items."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rectify_core.documents.report import day_text
from rectify_core.ledger.view import RoundView, Row
from rectify_core.vocab import NO_LIGHT, DeadlineKind, ItemState, Light, light_label

COLUMNS = [("序号", 6), ("问题类别", 14), ("存在问题", 36), ("整改措施", 40), ("责任领导", 16), ("责任部门", 12),
           ("责任人", 10), ("整改时限", 14), ("延期后时限", 14), ("完成情况", 12), ("灯", 6), ("剩余工作日", 10),
           ("最新进展", 30), ("销号日期", 12), ("核验人", 10), ("佐证材料数", 10), ("回头看结果", 10)]
FILLS = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE", "blue": "BDD7EE"}
LIGHT_NAMES: dict[str | None, str] = {**{light.value: light.short for light in Light}, None: ""}
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
    return [row.no, row.aspect or "", row.title, row.measures, leader, row.department or "", row.owner or "",
            _deadline(row), row.extended_to or "", row.status_text or "", LIGHT_NAMES[row.light] if
            row.status != ItemState.DONE else "", row.workdays_left if row.workdays_left is not None else "",
            progress or "", row.closed_on if row.status == ItemState.DONE and row.closed_on else "",
            row.verified_by or "", row.evidence_count or "", row.lookback or ""]


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
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "整改台账"
    last = get_column_letter(len(COLUMNS))
    sheet.append([title_of(view)])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(name="方正小标宋简体", size=18)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([f"填报单位：{view.unit}（盖章）", None, None, None, None, None, None, None, None,
                  f"填报日期：{day_text(view.as_of)}"])
    sheet.append([name for name, _ in COLUMNS])
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
        head = sheet.cell(HEADER_ROW, col)
        head.font, head.border = Font(bold=True), border
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.fill = PatternFill("solid", fgColor="D9D9D9")
    for r, row in enumerate(view.rows, start=HEADER_ROW + 1):
        fill = PatternFill("solid", fgColor=FILLS[row.light]) if row.light in FILLS and \
            row.status != ItemState.DONE else None
        for c, value in enumerate(_values(row), start=1):
            cell = sheet.cell(r, c)
            _put(cell, value)
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if hasattr(value, "year"):
                cell.number_format = DATE_FORMAT
            if fill is not None:
                cell.fill = fill
    end = HEADER_ROW + len(view.rows)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(end, HEADER_ROW)}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"1:{HEADER_ROW}"
    _stats(book.create_sheet("统计"), view)
    if view.unlisted:
        _unlisted(book.create_sheet("本次台账未列出"), view)
    book.save(path)


def _unlisted(sheet: Any, view: RoundView) -> None:
    """Items the latest sheet no longer lists, by the number they had: still the round's
    until the clerk withdraws or merges them (a sheet of its own, so re-importing the
    台账 reads only the sheet's own rows)."""
    sheet.append(["原序号", "问题", "完成情况", "说明"])
    for row in view.unlisted:
        sheet.append([row.no, row.title, ItemState.label_of(row.status),
                      "本次台账未列出；如已不再整改，请在 rectify 中撤销或合并"])


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
