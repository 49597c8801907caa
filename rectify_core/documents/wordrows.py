"""A Word document's long runs written straight into the saved file: python-docx holds a
document as one XML tree (a county bulletin naming 30,000 overdue items peaked at 1 GB and
spent most of its time building and serialising that tree; a unit's report of a thousand
problems is some six thousand paragraphs), so

- a long table keeps its header and first row in the tree, a marker after them, and every
  later row is written from its first row's XML (every cell's properties, paragraph
  properties and run fonts) with its own words in;
- a run of paragraphs made like an earlier one of their kind (its properties and run, with
  other words) is a marker in the tree, and each is written from that paragraph's XML;

as text into word/document.xml when the file is saved. Memory is what the words take;
time is linear in the rows and paragraphs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from pathlib import Path
from typing import IO, Any

from rectify_core.documents.zipped import NOT_XML, rewritten, text_element

STREAM_NS = "urn:rectify:word-rows"
_MARK = re.compile(rb'<rows:later xmlns:rows="urn:rectify:word-rows" n="(\d+)"/>')
_SLOT = "\ue000"  # a cell's words in a row's template (split there once: never in the words)
_BREAK = re.compile("([\t\r\n])")


class LaterBlocks:
    """The document's long tables' rows and its runs of copied paragraphs, kept aside until
    `save` (each a block of XML written at its marker)."""

    def __init__(self, grid_style: str | None = None) -> None:
        self.grid_style = grid_style  # the document's id of the bordered table style
        self.models: dict[tuple[int, int], Any] = {}  # (columns, rows made) -> the first such table's XML
        self._blocks: list[Callable[[], Iterator[str]]] = []
        self._paragraphs: dict[int, tuple[str, str]] = {}  # a look (its run's id) -> the XML around its words
        self._open: list[str] | None = None  # the run of paragraphs being kept, as XML

    def keep(self, table: Any, rows: tuple[tuple[str, ...], ...]) -> None:
        """Rows to follow the table's last row (a row built like the rows after its header),
        written by `save` from that row's XML."""
        from docx.oxml.ns import qn

        self.close()
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
            _emptied(runs[0], n)
        parts = _parts(template)
        table._tbl.append(self._mark(table._tbl))
        self._blocks.append(lambda: _rows_xml(parts, rows))

    def paragraph(self, body: Any, look: tuple[Any, Any], text: str) -> None:
        """A paragraph made like an earlier one (`look`: its properties and its run) holding
        `text` (one line, no tab, no space at either end), written by `save` where it
        stands among the document's other paragraphs."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        props, run = look
        around = self._paragraphs.get(id(run))
        if around is None:
            model = OxmlElement("w:p")
            if props is not None:
                model.append(deepcopy(props))
            made = deepcopy(run)
            _emptied(made, 0)
            model.append(made)
            before, after = _parts(model)
            around = self._paragraphs[id(run)] = (before, after)
        if self._open is None:
            block: list[str] = []
            sect = body.find(qn("w:sectPr"))
            mark = self._mark(body)
            if sect is not None:
                sect.addprevious(mark)
            else:
                body.append(mark)
            self._blocks.append(lambda: iter(["".join(block)]))
            self._open = block
        self._open.append(f"{around[0]}{_words(text)}{around[1]}")

    def close(self) -> None:
        """Whatever the document adds next stands after the paragraphs kept so far."""
        self._open = None

    def _mark(self, parent: Any) -> Any:
        return parent.makeelement(f"{{{STREAM_NS}}}later", {"n": str(len(self._blocks))}, nsmap={"rows": STREAM_NS})

    def save(self, document: Any, path: Path) -> None:
        """The document saved to `path`, every kept block written in at its marker."""
        if not self._blocks:
            document.save(str(path))
            return
        rewritten(lambda scratch: document.save(str(scratch)), path, lambda name: name == "word/document.xml",
                  self._write_document)

    def _write_document(self, xml: bytes, out: IO[bytes]) -> None:
        at = 0
        for found in _MARK.finditer(xml):
            out.write(xml[at:found.start()])
            for chunk in self._blocks[int(found[1])]():
                out.write(chunk.encode("utf-8"))
            at = found.end()
        out.write(xml[at:])


def _emptied(run: Any, n: int) -> None:
    """`run` holding only its properties and slot `n` for its words."""
    from docx.oxml.ns import qn

    for child in list(run):
        if child.tag != qn("w:rPr"):
            run.remove(child)
    text = run.makeelement(qn("w:t"), {})
    text.text = f"{_SLOT}{n}{_SLOT}"
    run.append(text)


def _parts(element: Any) -> list[str]:
    """An element's XML split where its runs' words go."""
    from lxml import etree

    return re.split(f"<w:t>{_SLOT}\\d+{_SLOT}</w:t>", _local(etree.tostring(element, encoding="unicode")))


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
    if value.isprintable():  # no tab, break or character XML cannot hold: most cells
        return _t(value) if value else ""
    text = NOT_XML.sub("", value)
    if "\t" not in text and "\n" not in text and "\r" not in text:
        return _t(text) if text else ""
    return "".join("<w:tab/>" if piece == "\t" else "<w:br/>" if piece in ("\r", "\n") else _t(piece)
                   for piece in _BREAK.split(text) if piece)


def _t(text: str) -> str:
    return text_element("w:t", text)
