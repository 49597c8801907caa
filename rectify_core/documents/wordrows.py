"""A Word table's rows written straight into the saved file: python-docx holds a document
as one XML tree (a county bulletin naming 30,000 overdue items peaked at 1 GB and spent
most of its time building and serialising that tree), so a long table keeps its header
and first row in the tree, a marker after them, and every later row is written as text
into word/document.xml when the file is saved: each row from its first row's XML (every
cell's properties, paragraph properties and run fonts), with its own words in.

Memory is what the rows' words take; time is linear in the rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import IO, Any

from rectify_core.documents.zipped import rewritten

STREAM_NS = "urn:rectify:word-rows"
_MARK = re.compile(rb'<rows:later xmlns:rows="urn:rectify:word-rows" n="(\d+)"/>')
_SLOT = "\ue000"  # a cell's words in a row's template (split there once: never in the words)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BREAK = re.compile("([\t\r\n])")


class LaterRows:
    """The rows of the document's long tables kept aside until `save`."""

    def __init__(self, grid_style: str | None = None) -> None:
        self.grid_style = grid_style  # the document's id of the bordered table style
        self.models: dict[tuple[int, int], Any] = {}  # (columns, rows made) -> the first such table's XML
        self._tables: list[tuple[list[str], tuple[tuple[str, ...], ...]]] = []

    def keep(self, table: Any, rows: tuple[tuple[str, ...], ...]) -> None:
        """Rows to follow the table's last row (a row built like the rows after its header),
        written by `save` from that row's XML."""
        from docx.oxml.ns import qn

        if not rows:
            return
        template = deepcopy(table._tbl.tr_lst[-1])
        for n, tc in enumerate(template.iter(qn("w:tc"))):
            paragraphs = tc.findall(qn("w:p"))
            for extra in paragraphs[1:]:
                tc.remove(extra)
            runs = paragraphs[0].findall(qn("w:r"))
            for extra in runs[1:]:
                paragraphs[0].remove(extra)
            run = runs[0]
            for child in list(run):
                if child.tag != qn("w:rPr"):
                    run.remove(child)
            text = run.makeelement(qn("w:t"), {})
            text.text = f"{_SLOT}{n}{_SLOT}"
            run.append(text)
        from lxml import etree

        xml = _local(etree.tostring(template, encoding="unicode"))
        parts = re.split(f"<w:t>{_SLOT}\\d+{_SLOT}</w:t>", xml)  # a cell's run content goes between
        mark = table._tbl.makeelement(f"{{{STREAM_NS}}}later", {"n": str(len(self._tables))},
                                      nsmap={"rows": STREAM_NS})
        table._tbl.append(mark)
        self._tables.append((parts, rows))

    def save(self, document: Any, path: Path) -> None:
        """The document saved to `path`, every kept row written in at its table's marker."""
        if not self._tables:
            document.save(str(path))
            return
        rewritten(lambda scratch: document.save(str(scratch)), path, lambda name: name == "word/document.xml",
                  self._write_document)

    def _write_document(self, xml: bytes, out: IO[bytes]) -> None:
        at = 0
        for found in _MARK.finditer(xml):
            out.write(xml[at:found.start()])
            parts, rows = self._tables[int(found[1])]
            for chunk in _rows_xml(parts, rows):
                out.write(chunk.encode("utf-8"))
            at = found.end()
        out.write(xml[at:])


def _local(xml: str) -> str:
    """A row's XML without the namespace declarations lxml puts on a lone element: the
    document's root declares them all."""
    head_end = xml.index(">")
    return re.sub(r' xmlns:\w+="[^"]*"', "", xml[:head_end]) + xml[head_end:]


def _rows_xml(parts: list[str], rows: tuple[tuple[str, ...], ...], per_chunk: int = 500) -> Iterator[str]:
    for start in range(0, len(rows), per_chunk):
        out: list[str] = []
        for row in rows[start:start + per_chunk]:
            out.append(parts[0])
            for n, after in enumerate(parts[1:]):
                out.append(_words(row[n]) if n < len(row) else "")
                out.append(after)
        yield "".join(out)


def _words(value: str) -> str:
    """A cell's words as run content, as python-docx writes them: text in w:t (kept as it
    is when it starts or ends with a space), a tab a w:tab, a line break a w:br; characters
    XML cannot hold dropped."""
    text = _NOT_XML.sub("", value)
    if not text:
        return ""
    if "\t" not in text and "\n" not in text and "\r" not in text:
        return _t(text)
    return "".join("<w:tab/>" if piece == "\t" else "<w:br/>" if piece in ("\r", "\n") else _t(piece)
                   for piece in _BREAK.split(text) if piece)


def _t(text: str) -> str:
    escaped = text.translate(_ESCAPE)
    return f'<w:t xml:space="preserve">{escaped}</w:t>' if text.strip() != text else f"<w:t>{escaped}</w:t>"
