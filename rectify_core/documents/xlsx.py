"""The Excel 台账 as the office hands it up: a title, the 填报 row, one row per item
filled by its light, a frozen header with filters, A4 landscape print setup, and a
统计 sheet. rectify's ledger importer reads it back to the same items."""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from rectify_core.config.scoring import MEASURES
from rectify_core.deadlines.due import left_text
from rectify_core.deadlines.scoring import UnitScore
from rectify_core.documents.report import day_text
from rectify_core.documents.sheetrows import LaterSheetRows, Look, SheetRow
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


class Looks:
    """Each look a cell of the workbook's kept rows can have (a ledger cell's border and
    wrap, its light's fill, a date's format, text kept as text; the header's; the
    考评说明's wrapped words), made once for the workbook and known by its style id: those
    rows are written with the ids (sheetrows), not as openpyxl cells."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        self.sheet = sheet  # any sheet of the workbook: the style table is the workbook's
        # every look in the style table now: the rows are written after it is
        ids = {(fill, date, quoted): int(self._look(fill, date, quoted).style_id)
               for fill in (None, *FILLS.values()) for date in (False, True) for quoted in (False, True)}
        self.looks = {fill: Look(ids[fill, False, False], ids[fill, True, False], ids[fill, False, True])
                      for fill in (None, *FILLS.values())}
        head = self._look(None, False, False)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.fill = PatternFill("solid", fgColor="D9D9D9")
        self.head = int(head.style_id)
        words = self._bare()
        words.alignment = Alignment(wrap_text=True, vertical="top")
        self.wrapped = int(words.style_id)
        bold = self._bare()
        bold.font = Font(bold=True)
        self.bold = int(bold.style_id)

    def look(self, fill: str | None) -> Look:
        """A ledger row's looks, filled by `fill`: a date formatted as one, text that begins
        like a formula (= + - @) marked as text (sheetrows picks each cell's)."""
        return self.looks[fill]

    def _bare(self) -> Any:
        from openpyxl.cell import WriteOnlyCell

        return WriteOnlyCell(self.sheet)

    def _look(self, fill: str | None, date: bool, quoted: bool) -> Any:
        from openpyxl.styles import Alignment, Border, PatternFill, Side

        model = self._bare()
        thin = Side(style="thin", color="999999")
        model.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        model.alignment = Alignment(wrap_text=True, vertical="top")
        if fill is not None:
            model.fill = PatternFill("solid", fgColor=fill)
        if date:
            model.number_format = DATE_FORMAT
        model.quotePrefix = quoted
        return model


def bold(sheet: Any, values: list[Any]) -> list[Any]:
    """A header row of bold cells for `sheet` (a write-only sheet styles cells as it writes)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def title_of(view: RoundView) -> str:
    return view.name if "台账" in view.name else f"{view.unit}巡察反馈问题整改台账"


def write_xlsx(view: RoundView, path: Path) -> None:
    """One round's 台账: the ledger sheet, its 统计, and the items the sheet no longer lists."""
    from openpyxl import Workbook

    book, later = Workbook(write_only=True), LaterSheetRows()
    sheet = book.create_sheet("整改台账")
    looks = Looks(sheet)
    ledger_sheet(sheet, view, later, looks)
    _stats(book.create_sheet("统计"), view, later, looks)
    if view.unlisted:
        _unlisted(book.create_sheet("本次台账未列出"), view)
    later.save(book, path)


def write_county_xlsx(views: Iterable[RoundView], short: Mapping[str, str], summary: Callable[[], list[Any]],
                      path: Path, scores: list[UnitScore] | None = None) -> None:
    """Every round's 台账 on a sheet of its own, named by its unit's short name (`short`),
    then a 汇总 sheet (per unit: total, done, ongoing, open, overdue, rate; `summary()`, asked
    once every round's sheet is made) and, given the units' 结果考评, a 考评说明 sheet with
    every deduction. Re-imported, each sheet goes back to its own unit's round (the 汇总 and
    考评说明 sheets are left aside). Written streaming: `views` are taken one at a time, each
    sheet goes to disk row by row."""
    from openpyxl import Workbook

    book, later = Workbook(write_only=True), LaterSheetRows()
    used: set[str] = set()
    looks: Looks | None = None
    for view in views:
        sheet = new_sheet(book, sheet_name(short.get(view.unit, view.unit), view.id, used))
        looks = looks or Looks(sheet)
        ledger_sheet(sheet, view, later, looks)
    _summary(book.create_sheet("汇总"), summary())
    if scores is not None:
        sheet = book.create_sheet("考评说明")
        _scores(sheet, scores, later, looks or Looks(sheet))
    later.save(book, path)


def _scores(sheet: Any, scores: list[UnitScore], later: LaterSheetRows, looks: Looks) -> None:
    """One row per deduction, by rank: the unit's score and grade, the item, the measure,
    the points and the words that explain them (a unit without deductions: one row)."""
    print_whole(sheet, "结果考评说明", header_rows="1:1")  # (before the first row: a write-only sheet's top)
    for column, width in zip("ABCDEFGH", (6, 28, 8, 8, 10, 14, 8, 80), strict=True):
        sheet.column_dimensions[column].width = width

    def rows() -> Iterator[SheetRow]:
        yield None, ["名次", "被巡察单位", "得分", "等次", "问题", "扣分项", "扣分", "说明"], [looks.bold] * 8
        for s in scores:
            head = [s.rank or "—", s.unit, "—" if s.score is None else s.score, s.grade]
            lines: list[tuple[Any, ...]] = [(ref_label(d.ref), MEASURES[d.measure][0], d.points, d.text)
                                            for d in s.deductions]
            for *line, words in lines or [("", "", "", "无扣分")]:
                yield None, [*head, *line, words], [0] * 7 + [looks.wrapped]

    later.keep(sheet, 1, 8, rows())


def new_sheet(book: Any, name: str) -> Any:
    """A new last sheet of `book` named `name`, already unique in it (`sheet_name`):
    openpyxl checks a new sheet's name against every sheet's, which made a county's
    workbook quadratic in its units (5,000 sheets: 6 s), so it is shown none to check."""
    sheets, book._sheets = book._sheets, []
    try:
        sheet = book.create_sheet(name)
    finally:
        sheets += book._sheets
        book._sheets = sheets
    return sheet


def sheet_name(short: str, round_id: int, used: set[str]) -> str:
    r"""A worksheet name Excel accepts (31 characters, none of []:*?/\), unique in the book
    as Excel compares names, whatever their case (`used`: the names so far, lower-cased)."""
    base = re.sub(r"[\[\]:*?/\\]", "", short)[:24] or "台账"
    name = base if base.lower() not in used else f"{base}（{round_id}）"
    used.add(name.lower())
    return name


def _summary(sheet: Any, summary: list[Any]) -> None:
    print_whole(sheet, "各单位整改情况汇总", header_rows="1:1")
    sheet.column_dimensions["A"].width = 30
    sheet.append(bold(sheet, ["被巡察单位", "问题总数", ItemState.DONE.label, ItemState.ONGOING.label,
                              ItemState.OPEN.label, "逾期", "完成率"]))
    for f in summary:
        sheet.append([f.unit, f.items, f.done, f.ongoing, f.open, f.overdue, f"{f.rate}%"])
    total = [sum(getattr(f, k) for f in summary) for k in ("items", "done", "ongoing", "open", "overdue")]
    sheet.append(["合计", *total, f"{completion_rate(total[1], total[0])}%"])


def ledger_sheet(sheet: Any, view: RoundView, later: LaterSheetRows, looks: Looks) -> None:
    """One round's ledger on a write-only `sheet`: title, 填报 row, header, a row per item
    filled by its light; wrapped text in rows tall enough to show it whole; columns empty
    for the whole round hidden (so not printed); A3 landscape, the header repeated on every
    page. The item rows are made one by one into SpreadsheetML (`later`): the view may go
    once its sheet is made."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    extra = extra_columns(view)
    columns = COLUMNS + [(label, 16) for label in extra]
    rooms = [max(w - 1.5, 1.0) for _, w in columns]  # a cell's width for its text, in characters
    listed = view.listed
    values = [_row_values(row, extra) for row in listed]  # (a round's rows: read twice, made once)
    filled = _filled(values, len(columns))
    for col, (name, width) in enumerate(columns, start=1):
        dimension = sheet.column_dimensions[get_column_letter(col)]
        dimension.width = width
        dimension.hidden = not filled[col - 1] and bool(listed) and name not in KEPT
    last = get_column_letter(len(columns))
    print_whole(sheet, "", a3=True, header_rows=f"1:{HEADER_ROW}")  # (its own title row is printed on each page)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    title = WriteOnlyCell(sheet, title_of(view))
    title.font, title.alignment = Font(name="方正小标宋简体", size=18), Alignment(horizontal="center")
    sheet.append([title])
    sheet.merged_cells.add(f"A1:{last}1")
    sheet.append([f"填报单位：{view.unit}（盖章）", None, None, None, None, None, None, None, None,
                  f"填报日期：{day_text(view.as_of)}"])
    end = HEADER_ROW + len(listed)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(end, HEADER_ROW)}"

    def rows() -> Iterator[SheetRow]:
        yield None, [name for name, _ in columns], [looks.head] * len(columns)
        for row, cells in zip(listed, values, strict=True):
            fill = FILLS.get(row.light or "") if row.status != ItemState.DONE else None
            yield row_height(cells, rooms), cells, looks.look(fill)

    later.keep(sheet, HEADER_ROW, len(columns), rows())


def _row_values(row: Row, extra: list[str]) -> list[Any]:
    return _values(row) + [dict(row.extra).get(label, "") for label in extra] if extra else _values(row)


def _filled(rows: list[list[Any]], width: int) -> list[bool]:
    """Which columns hold something in some row's values (a write-only sheet sets its
    columns before its first row, so this is read first): column by column, each read
    until its first value (most columns: the first row's; an empty one: every row's)."""
    return [any(values[c] not in ("", None) for values in rows if c < len(values)) for c in range(width)]


PAGE_FOOTER = "第 &P 页，共 &N 页"


def print_whole(sheet: Any, title: str, *, a3: bool = False, header_rows: str | None = None) -> None:
    """Every sheet prints whole (called before a write-only sheet's first row): landscape,
    all its columns on the page's width (pages run down, never across), its header rows on
    every page, a title above and the page numbers below."""
    from openpyxl.worksheet.worksheet import Worksheet

    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A3 if a3 else Worksheet.PAPERSIZE_A4
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


class _Wide(dict[int, str]):
    """str.translate's table: a character's width class ("w": wide or full-width), found
    once per character."""

    def __missing__(self, char: int) -> str:
        self[char] = found = "w" if unicodedata.east_asian_width(chr(char)) in "WF" else "n"
        return found


_WIDE = _Wide()


def _display_width(text: str) -> float:
    wide = text.translate(_WIDE).count("w")
    return 2.0 * wide + 1.1 * (len(text) - wide)


def row_height(values: list[Any], rooms: list[float]) -> float:
    """Points tall enough for the longest wrapped cell of the row (a spreadsheet program
    does not grow rows by itself when it opens a file); `rooms`: each column's width for
    text, in characters."""
    lines = 1
    for value, room in zip(values, rooms, strict=False):
        if not isinstance(value, str) or (len(value) * 2.0 <= room and "\n" not in value):
            continue  # one line, however wide its characters
        if "\n" in value:
            tall = sum(max(1, math.ceil(_display_width(part) / room)) for part in value.split("\n"))
        else:  # (most: one paragraph)
            tall = math.ceil(_display_width(value) / room)
        if tall > lines:
            lines = tall
    return min(LINE_PT * lines + 4, 409.0)  # 409 points: a row's limit


def _unlisted(sheet: Any, view: RoundView) -> None:
    """Items the latest sheet no longer lists, by the number they had: still the round's
    until the clerk withdraws or merges them (a sheet of its own, so re-importing the
    台账 reads only the sheet's own rows)."""
    print_whole(sheet, f"{view.unit} 本次台账未列出的问题", header_rows="1:1")
    for column, width in zip("ABCD", (8, 50, 12, 50), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append(["原序号", "问题", "完成情况", "说明"])
    for row in view.unlisted:
        sheet.append([row.ref, row.title, ItemState.label_of(row.status),
                      "本次台账未列出；如已不再整改，请在 rectify 中撤销或合并"])


def _stats(sheet: Any, view: RoundView, later: LaterSheetRows, looks: Looks) -> None:
    """The round's counts by light and done, by aspect, by department and by person (rows
    written with the ledger's, not as openpyxl cells: a round names many people)."""
    columns = [*(light.label for light in Light), NO_LIGHT, ItemState.DONE.label]

    def block(title: str, key: Callable[[Row], str | None]) -> Iterator[SheetRow]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for row in view.rows:
            kind = ItemState.DONE.label if row.status == ItemState.DONE else light_label(row.light)
            counts[key(row) or "（未注明）"][kind] += 1
        yield None, [title, *columns, "合计"], [looks.bold] * (len(columns) + 2)
        for name, c in counts.items():
            yield None, [name, *(c[column] for column in columns), sum(c.values())], Look(0, 0, 0)
        yield None, [], []

    print_whole(sheet, f"{view.unit} 整改情况统计")
    sheet.column_dimensions["A"].width = 40
    later.keep(sheet, 1, len(columns) + 2, itertools.chain(block("按方面", lambda r: r.aspect),
                                                           block("按责任部门", lambda r: r.department),
                                                           block("按责任人", lambda r: r.owner)))
