"""Importers: any supported file -> ParsedLedger, format detected from content."""

from __future__ import annotations

import io
from pathlib import Path

from rectify_core.bulk import gc_paused
from rectify_core.errors import InputError, Problem
from rectify_core.importers.ledger import csv_rows, looks_like_csv, parse_rows, parse_xlsx
from rectify_core.importers.parsed import ParsedLedger
from rectify_core.importers.report import parse_report
from rectify_core.importers.source import Source, decode, make_line, open_source, text_lines

__all__ = ["ParsedLedger", "read_ledger"]


def _docx(source: Source, fallback: str) -> ParsedLedger:
    """A Word file is a report (paragraphs), unless it holds a ledger table."""
    from docx import Document

    try:
        document = Document(io.BytesIO(source.data))
    except Exception as exc:  # python-docx raises many types for damaged files
        raise InputError(source.name, [Problem("", f"Word 文件已损坏或无法读取（{type(exc).__name__}）")]) from None
    for n, table in enumerate(document.tables, start=1):
        rows = [(i, [c.text for c in row.cells]) for i, row in enumerate(table.rows, start=1)]
        try:
            return parse_rows(rows, source, f"表格{n}", fallback)
        except InputError as exc:
            if "找不到表头行" not in str(exc):
                raise
    lines = [make_line(line) for p in document.paragraphs for line in p.text.splitlines()]
    return parse_report(lines, source.name, source.sha256, fallback, line_word="段")


def read_ledger(path: Path, shown_name: str | None = None) -> ParsedLedger:
    """Read any supported file into a ParsedLedger; InputError names every problem."""
    with gc_paused():
        return _read(path, shown_name)


def _read(path: Path, shown_name: str | None) -> ParsedLedger:
    source = open_source(path, shown_name)
    fallback = path.stem
    if source.kind == "docx":
        return _docx(source, fallback)
    if source.kind == "xlsx":
        return parse_xlsx(source, fallback)
    text = decode(source.data, source.name)
    if looks_like_csv(text):
        return parse_rows(csv_rows(text, source.name), source, "", fallback)
    lines = text_lines(text, source.name)
    return parse_report(lines, source.name, source.sha256, fallback)
