"""PDF reports and ledgers: the text layer in reading order (pdfplumber over pdfminer.six),
each page's running header, footer and page number dropped, through the same parsers as a
Word file: a table with a ledger's header is a ledger, else the text is a report. A PDF
without a text layer (a scan), an encrypted one or one of too many pages is refused with
what to do."""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

from rectify_core.errors import InputError, Problem
from rectify_core.importers.ledger import find_header, parse_table
from rectify_core.importers.report import add_facts, parse_report
from rectify_core.importers.source import Source, make_line
from rectify_core.importers.workbook import Workbook

MAX_PAGES = 300  # a progress report or a county's ledger runs to tens of pages
_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?"
                          r"|\d+\s*/\s*\d+|\d+)\s*$")


# a PDF's text layer spaces CJK from digits and Latin (2026 年 12 月): spaces beside a CJK
# character or full-width punctuation are not the writer's
_WIDE = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{_WIDE}])\s+|\s+(?=[{_WIDE}])")


def _tidy(text: str) -> str:
    return _CJK_SPACE.sub("", text).strip()


def _paragraphs(lines: list[dict[str, Any]]) -> list[str]:
    """A page's lines with the lines a paragraph wrapped onto joined again: a line that runs
    to the right edge continues on the next when that one starts at the left margin (a new
    paragraph is indented, a heading or a numbered line starts its own)."""
    lines = [ln for ln in lines if ln["text"].strip()]
    if not lines:
        return []
    left, right = min(ln["x0"] for ln in lines), max(ln["x1"] for ln in lines)
    out: list[str] = []
    wrapped = False
    for ln in lines:
        text = _tidy(ln["text"])
        if wrapped and out and ln["x0"] - left < 4:
            out[-1] += text
        else:
            out.append(text)
        wrapped = right - ln["x1"] < 36  # within two characters of body text of the edge (justified CJK)
    return out


def _refuse(source: Source, said: str) -> InputError:
    return InputError(source.name, [Problem("", said)])


def _open(source: Source) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        return pdfplumber.open(io.BytesIO(source.data))
    except PDFPasswordIncorrect:
        raise _refuse(source, "PDF 文件已加密（需要密码才能打开）：请取消加密后另存一份再导入") from None
    except (PDFSyntaxError, Exception) as exc:  # pdfminer raises many kinds for damaged files
        if "password" in str(exc).lower() or "encrypt" in type(exc).__name__.lower():
            raise _refuse(source, "PDF 文件已加密：请取消加密后另存一份再导入") from None
        raise _refuse(source, f"PDF 文件已损坏或无法读取（{type(exc).__name__}）") from None


def _page_lines(pages: list[list[str]]) -> list[str]:
    """Every page's lines, without the running header and footer (a line that starts or
    ends most pages alike) and page numbers."""
    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({line for line in (lines[:1] + lines[-1:]) if line})
    running = {line for line, n in edges.items() if len(pages) > 2 and n > len(pages) / 2}
    out = []
    for lines in pages:
        out += [line for n, line in enumerate(lines)
                if not ((n in (0, len(lines) - 1) and line in running) or _PAGE_NUMBER.match(line))]
    return out


def parse_pdf(source: Source, fallback: str) -> Workbook:
    with _open(source) as pdf:
        if len(pdf.pages) > MAX_PAGES:
            raise _refuse(source, f"PDF 共 {len(pdf.pages)} 页，超过 {MAX_PAGES} 页：请只导出整改报告或台账所在的页")
        texts, tables = [], []
        for page in pdf.pages:
            texts.append(_paragraphs(page.extract_text_lines()))
            tables += [table for table in page.extract_tables() if table]
    if not any(texts):
        raise _refuse(source, "PDF 没有文字层（可能是扫描件）：请先做文字识别（OCR），或导入原始的 Word/Excel 文件")
    lines = [make_line(line) for line in _page_lines(texts)]
    rows: list[tuple[int, list[Any]]] = []
    for table in tables:  # a table over several pages, its header repeated on each: read once
        for row in table:
            cells = [_tidy(cell or "") for cell in row]
            if not rows or cells != rows[0][1]:
                rows.append((len(rows) + 1, cells))
    if rows and find_header(rows) is not None:
        ledgers = parse_table(rows, source, "PDF 表格", fallback)
        for ledger in ledgers:
            add_facts(ledger, lines, fallback)
        return Workbook(ledgers, [])
    return Workbook([parse_report(lines, source.name, source.sha256, fallback, line_word="行")], [])
