"""Web pages and legacy workbooks: what offices publish on their sites and keep in old files.

- A saved web page (.html/.htm), and an OA system's table "saved as .xls" (HTML inside):
  parsed with lxml's HTML parser (never regular expressions). Navigation, share bars,
  headers and footers are dropped; a table with a ledger's header is the ledger (row and
  column spans spread to every cell they cover), else the article's text is the report.
- A legacy binary .xls (BIFF): read with xlrd, which reads .xls only; each sheet as the
  rows of a ledger. Other legacy Office files (.doc, .wps, .et) are refused in words.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rectify_core.config.limits import limits
from rectify_core.errors import InputError, Problem
from rectify_core.importers.ledger import Row, find_header, parse_table
from rectify_core.importers.report import add_facts, parse_report
from rectify_core.importers.source import Line, Source, decode, make_line
from rectify_core.importers.workbook import Workbook, parse_sheets

# what a page wraps its article in: dropped wholesale
_CHROME_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "button",
                "select", "svg", "template")
_CHROME_NAMES = re.compile(r"nav|menu|share|footer|foot|breadcrumb|crumb|header|head|sidebar|toolbar|copyright|"
                           r"banner|topbar|bottom|print|relate|comment|search|logo|qrcode|erweima", re.I)
_CONTENT_NAMES = re.compile(r"TRS_Editor|article|content|zoom|detail|main|text|body", re.I)
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "td", "th",
           "table", "dt", "dd", "blockquote", "pre")


def _document(source: Source) -> Any:
    from lxml import html

    text = decode(source.data, source.name)
    try:
        root = html.document_fromstring(text)
    except Exception as exc:  # lxml raises its own types for empty or broken documents
        raise InputError(source.name, [Problem("", f"网页文件无法解析（{type(exc).__name__}）")]) from None
    for element in list(root.iter(*_CHROME_TAGS)):
        element.drop_tree()
    for element in list(root.iter()):
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        if element.getparent() is not None and element.tag not in ("html", "body") \
                and _CHROME_NAMES.search(names) and not _CONTENT_NAMES.search(names):
            element.drop_tree()
    return root


def _text(element: Any) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


CELL_BUDGET = 2_000_000  # positions a page's table may fill once its merged cells are spread


def table_rows(table: Any, name: str) -> list[Row]:
    """A table's rows as a spreadsheet has them: a cell spanning rows or columns gives its
    text to every position it covers (a category row, a merged 责任领导). Bounded while it
    is built, never after: rows, columns and a cell's text by the import limits, a span by
    the rows that are there, and the positions filled by CELL_BUDGET (a page of cells each
    spanning 100 × 100 would otherwise fill gigabytes)."""
    lim = limits()
    grid: dict[tuple[int, int], str] = {}
    rows = [tr for tr in table.iter("tr") if _owner_table(tr) is table]
    if len(rows) > lim.rows:
        raise InputError(name, [Problem("", f"网页中的表格有 {len(rows)} 行，超过{lim.describe('rows', ' 行')}")])

    def refuse(r: int, what: str) -> InputError:
        return InputError(name, [Problem(f"表格第{r + 1}行", what)])

    for r, tr in enumerate(rows):
        c = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in grid:
                c += 1
            down, across = min(_span(cell, "rowspan"), len(rows) - r), _span(cell, "colspan")
            if c + across > lim.columns:
                raise refuse(r, f"超过{lim.describe('columns', ' 列')}")
            if len(grid) + down * across > CELL_BUDGET:
                raise refuse(r, f"合并单元格展开后超过 {CELL_BUDGET:,} 个单元格，不像整改台账，请检查文件")
            text = _text(cell)
            if len(text) > lim.line_chars:
                raise refuse(r, f"一个单元格有 {len(text)} 个字，超过{lim.describe('line_chars', ' 字')}")
            for dr in range(down):
                for dc in range(across):
                    grid[(r + dr, c + dc)] = text
            c += across
    width = max((c for _, c in grid), default=-1) + 1
    return [(r + 1, [grid.get((r, c)) or None for c in range(width)]) for r in range(len(rows))]


def _owner_table(tr: Any) -> Any:
    parent = tr.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _span(cell: Any, name: str) -> int:
    value = str(cell.get(name) or "1").strip()
    return min(int(value), 100) if value.isdigit() and int(value) > 0 else 1


def _article(root: Any) -> Any:
    """The element holding the article: the largest content-named block, else the body."""
    named = [e for e in root.iter() if _CONTENT_NAMES.search(f"{e.get('class') or ''} {e.get('id') or ''}")
             and e.tag not in ("html", "body")]
    best = max(named, key=lambda e: len(_text(e)), default=None)
    body = root.find("body")
    return best if best is not None and len(_text(best)) > 200 else (body if body is not None else root)


def _lines(element: Any) -> list[Line]:
    """The text of an element, a line per block (paragraph, line break, heading, row)."""
    from lxml import etree

    for block in element.iter(*_BLOCKS):
        block.tail = ("\n" + block.tail) if block.tail else "\n"
        if block.tag == "br":
            continue
        block.text = "\n" + (block.text or "")
    text = etree.tostring(element, method="text", encoding="unicode")
    return [make_line(line) for line in text.splitlines() if line.strip()]


def parse_html(source: Source, fallback: str) -> Workbook:
    root = _document(source)
    for n, table in enumerate(root.iter("table"), start=1):
        rows = table_rows(table, source.name)
        if find_header(rows) is None:
            continue
        ledgers = parse_table(rows, source, f"表格{n}", fallback)
        table.drop_tree()  # the rest of the page is the text around it
        lines = _lines(_article(root))
        for ledger in ledgers:
            add_facts(ledger, lines, fallback, line_word="行")
        return Workbook(ledgers, [])
    return Workbook([parse_report(_lines(_article(root)), source.name, source.sha256, fallback)], [])


# --- legacy binary workbooks (.xls) ----------------------------------------------------------

def parse_xls(source: Source, fallback: str) -> Workbook:
    """A legacy .xls: every sheet with a ledger's header, as .xlsx sheets are read."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=source.data, on_demand=True)
    except xlrd.XLRDError:
        raise InputError(source.name, [Problem("", "这是旧版 Office 文件（.doc/.wps/.et 等），无法读取，"
                                                   "请用 Word/WPS 另存为 .docx 或 .xlsx 后再导入")]) from None
    except Exception as exc:  # xlrd raises many types for damaged files
        damaged = f"旧版 Excel（.xls）文件已损坏或无法读取（{type(exc).__name__}）"
        raise InputError(source.name, [Problem("", damaged)]) from None
    return parse_sheets([(sheet.name, _xls_rows(book, sheet)) for sheet in book.sheets()], source, fallback)


def _xls_rows(book: Any, sheet: Any) -> list[Row]:
    import xlrd

    rows: list[Row] = []
    # down the rows only, as for .xlsx; a range is walked over the rows the sheet has, never
    # over its columns (a merged range can claim the whole sheet)
    merged = {(r, c0): (r0, c0) for r0, r1, c0, _ in sheet.merged_cells for r in range(r0, min(r1, sheet.nrows))}
    for r in range(sheet.nrows):
        cells: list[Any] = []
        for c in range(sheet.ncols):
            top = merged.get((r, c), (r, c))
            cell = sheet.cell(*top)
            if cell.ctype == xlrd.XL_CELL_DATE:
                cells.append(dt.datetime(*xlrd.xldate_as_tuple(cell.value, book.datemode)))
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                cells.append(None)
            else:
                cells.append(cell.value)
        rows.append((r + 1, cells))
    return rows

