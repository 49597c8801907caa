"""Importers: any supported file -> ParsedLedger, format detected from content."""

from __future__ import annotations

import io
from pathlib import Path

from rectify_core.bulk import gc_paused
from rectify_core.errors import InputError, Problem
from rectify_core.importers.audit import LISTS_SOME, read_claims
from rectify_core.importers.html import parse_html, parse_xls
from rectify_core.importers.ledger import parse_table
from rectify_core.importers.numbering import Numbered, numbered_texts
from rectify_core.importers.parsed import ParsedLedger
from rectify_core.importers.report import add_facts, parse_report
from rectify_core.importers.source import Source, decode, make_line, open_source, text_lines
from rectify_core.importers.workbook import Workbook, csv_rows, one_unit, parse_workbook, table_delimiter

__all__ = ["ParsedLedger", "Workbook", "read_ledger", "read_workbook"]


def _docx(source: Source, fallback: str) -> Workbook:
    """A Word file is a report (paragraphs), unless it holds a ledger table."""
    from docx import Document

    try:
        document = Document(io.BytesIO(source.data))
    except Exception as exc:  # python-docx raises many types for damaged files
        raise InputError(source.name, [Problem("", f"Word 文件已损坏或无法读取（{type(exc).__name__}）")]) from None
    numbered = Numbered(document)
    lines = [make_line(line) for text in numbered_texts(document, numbered) for line in text.splitlines()]
    for n, table in enumerate(document.tables, start=1):
        rows = [(i, [numbered.cell(c) for c in row.cells]) for i, row in enumerate(table.rows, start=1)]
        try:
            ledgers = parse_table(rows, source, f"表格{n}", fallback)
        except InputError as exc:
            if "找不到表头行" not in str(exc):
                raise
            continue
        for ledger in ledgers:  # the round's facts and summary are in the text around the table
            add_facts(ledger, lines, fallback)
        return Workbook(ledgers, [])
    return Workbook([parse_report(lines, source.name, source.sha256, fallback, line_word="段")], [])


def read_ledger(path: Path, shown_name: str | None = None) -> ParsedLedger:
    """Read a file of one unit's ledger; InputError names every problem (a file of several
    units' ledgers among them: `read_workbook` reads those)."""
    return one_unit(read_workbook(path, shown_name).ledgers, shown_name or path.name, "")


def read_workbook(path: Path, shown_name: str | None = None) -> Workbook:
    """Read any supported file: one ledger per inspected unit it holds (a county's
    workbook holds several), and the worksheets left aside."""
    with gc_paused():
        book = _read(path, shown_name)
    for ledger in book.ledgers:
        _check_count(ledger)
    return book


def _check_count(ledger: ParsedLedger) -> None:
    """Said at import, not only by `audit`: a document whose own summary counts other than
    the problems read (a sub-point taken for a problem, or a problem missed)."""
    claimed = read_claims(ledger.summary).get("items")
    text = " ".join(t for _, t in ledger.summary)
    if isinstance(claimed, int) and claimed != len(ledger.items) and not LISTS_SOME.search(text):
        ledger.notes.append(f"文件自述反馈问题{claimed}个，读出{len(ledger.items)}个：请核对"
                            "（rectify audit 可逐项比对）")


def _read(path: Path, shown_name: str | None) -> Workbook:
    source = open_source(path, shown_name)
    fallback = path.stem
    if source.kind == "docx":
        return _docx(source, fallback)
    if source.kind == "xlsx":
        return parse_workbook(source, fallback)
    if source.kind == "ole":
        return parse_xls(source, fallback)
    if source.kind == "html":
        return parse_html(source, fallback)
    if source.kind == "pdf":
        from rectify_core.importers.pdf import parse_pdf  # pdfplumber loads only for a PDF

        return parse_pdf(source, fallback)
    text = decode(source.data, source.name)
    if (delimiter := table_delimiter(text)) is not None:
        rows = csv_rows(text, source.name, delimiter)
        del text  # the rows hold what is needed of it: a large file is not kept twice
        return Workbook(parse_table(rows, source, "", fallback), [])
    lines = text_lines(text, source.name)
    return Workbook([parse_report(lines, source.name, source.sha256, fallback)], [])
