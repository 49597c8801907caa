"""A Word document written as text from a model. python-docx makes, once a process, a model
document: its page, footer, styles and properties, one paragraph of each look the documents
use, and a table of each width asked for. Every document is then the model's parts with a
body of its own, each paragraph its look's XML with its own words in, each table its
model's with its own column widths and words, written straight into the file's
word/document.xml.

python-docx, asked to make each document, parsed its template's 350 KB of styles, built
one XML tree of the whole document, serialised it and zipped it (a unit's report of two
hundred problems: 37 ms, 1,400 paragraphs; a county bulletin naming 30,000 overdue items
peaked at 1 GB). Written from the model, a document costs what its words take: time and
memory linear in its paragraphs and rows, the same XML part for part."""

from __future__ import annotations

import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from rectify_core.documents import zipped
from rectify_core.documents.zipped import NOT_XML, XML_ESCAPE, text_element
from rectify_core.whole import replacing

SLOT = "\ue000"  # where a model's words go (a private-use character: never in the words)
TITLE, AUTHOR = "\ue001", "\ue002"  # where the core properties' title and author go
DOCUMENT, CORE = "word/document.xml", "docProps/core.xml"
TITLE_LIMIT = 255  # characters a core property holds
_WORDS = f"<w:t>{SLOT}</w:t>"
_BREAK = re.compile("([\t\r\n])")
_GRID_WIDTH = re.compile(r'(?<=<w:gridCol w:w=")\d+(?=")')
_CELL_SLOT = re.compile(r'(?<=<w:tcW w:type="dxa" w:w=")\d+(?=")|' + _WORDS)


@dataclass(frozen=True)
class Look:
    """A paragraph's XML around its runs, and a run's around its words."""

    opening: str  # <w:p> and its properties
    run: str  # <w:r> and its properties
    run_end: str
    closing: str

    @classmethod
    def of(cls, xml: str) -> Look:
        before, after = _split(xml, _WORDS, 2)
        at = before.rindex("<w:r>")
        end = after.index("</w:r>") + len("</w:r>")
        return cls(before[:at], before[at:], after[:end], after[end:])

    def xml(self, lines: Iterable[str]) -> str:
        """A paragraph of one run for each line, each but the last ending in a line break
        (a title's lines); one line: the common paragraph, its breaks and tabs as Word's."""
        runs = list(lines)
        last = len(runs) - 1
        return (self.opening + "".join(self.run + words(line) + ("<w:br/>" if n < last else "") + self.run_end
                                       for n, line in enumerate(runs)) + self.closing)


@dataclass(frozen=True)
class Table:
    """A table's XML with slots: its grid's column widths, each row's cells' widths and words
    (the header row's look, then every other row's)."""

    grid: list[str]  # the XML up to its rows, split where each column's width goes
    header: list[str]  # a row, split where each cell's width and then its words go
    row: list[str]

    def xml(self, rows: tuple[tuple[str, ...], ...], twips: list[int], per_chunk: int = 500) -> Iterator[str]:
        """The table's XML in chunks of rows, each cell `twips` wide."""
        widths = [str(w) for w in twips]
        yield _filled(self.grid, widths)
        for start in range(0, len(rows), per_chunk):
            chunk = []
            for n, values in enumerate(rows[start:start + per_chunk], start):
                slots: list[str] = []
                for c, width in enumerate(widths):
                    slots += (width, words(values[c]) if c < len(values) else "")
                chunk.append(_filled(self.header if n == 0 else self.row, slots))
            yield "".join(chunk)
        yield "</w:tbl>"


@dataclass
class Model:
    """Everything a document takes from the model: its parts (but the body and the core
    properties) in the model's order, the body's beginning and end, the core properties
    with their slots, each look by name, and the tables made so far by their width."""

    parts: list[tuple[str, bytes]]
    head: str
    tail: str
    core: str
    looks: dict[str, Look]
    table_xml: Callable[[int], str]  # the XML of a model table `columns` wide (made by python-docx)
    tables: dict[int, Table] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, doc: Any, looks: dict[str, Any], made_table: Callable[[int], Any]) -> Model:
        """The model of python-docx's `doc`, whose body holds the paragraphs of `looks` (each
        with one run whose words are SLOT; taken out of it), its core properties' title
        TITLE and author AUTHOR; `made_table(columns)` adds a table to it of a header and
        one row, SLOT in every cell."""
        from docx.opc.oxml import serialize_part_xml

        body = doc.element.body
        found = {name: Look.of(_local(p)) for name, p in looks.items()}
        for p in looks.values():
            body.remove(p)

        def table(columns: int) -> str:
            tbl = made_table(columns)._tbl
            tbl.getparent().remove(tbl)
            return _local(tbl)

        saved = BytesIO()
        doc.save(saved)
        head, tail = _split(serialize_part_xml(doc.element).decode(), "<w:body>", 2)
        with zipfile.ZipFile(saved) as source:
            parts = [(name, source.read(name)) for name in source.namelist()]
        core = next(data for name, data in parts if name == CORE).decode()
        return cls(parts, head + "<w:body>", tail, core, found, table)

    def table(self, columns: int) -> Table:
        with self._lock:  # (python-docx's model document is not to be changed by two threads)
            made = self.tables.get(columns)
            if made is None:
                xml = self.table_xml(columns)
                rows_at = xml.index("<w:tr>")
                grid, (header, row) = xml[:rows_at], _rows(xml[rows_at:])
                made = self.tables[columns] = Table(_pieces(_GRID_WIDTH, grid, columns),
                                                    _pieces(_CELL_SLOT, header, 2 * columns),
                                                    _pieces(_CELL_SLOT, row, 2 * columns))
            return made

    def write(self, path: Path, body: Iterable[str], title: str, author: str) -> None:
        """The document: the model's parts, `body` (chunks of XML) in its document part, its
        core properties' title and author (text a property holds); in `path`'s place once
        whole."""
        now = time.localtime(time.time())[:6]
        with replacing(path) as made, zipfile.ZipFile(made, "w", zipfile.ZIP_DEFLATED,
                                                             compresslevel=zipped.LEVEL) as zf:
            for name, data in self.parts:
                member = zipped.member(name, now, 0o600 << 16)
                if name == DOCUMENT:
                    with zf.open(member, "w", force_zip64=True) as out:
                        out.write(self.head.encode())
                        for chunk in body:
                            out.write(chunk.encode())
                        out.write(self.tail.encode())
                elif name == CORE:
                    zf.writestr(member, self.core.replace(TITLE, _property(title))
                                .replace(AUTHOR, _property(author)).encode())
                else:
                    zf.writestr(member, data)


def words(value: str) -> str:
    """Words as a run's content, as python-docx writes them: text in w:t (kept as it is when
    it starts or ends with a space), a tab a w:tab, a line break a w:br; characters XML
    cannot hold dropped."""
    if value.isprintable():  # no tab, break or character XML cannot hold: most words
        return _t(value) if value else ""
    text = NOT_XML.sub("", value)
    if "\t" not in text and "\n" not in text and "\r" not in text:
        return _t(text) if text else ""
    return "".join("<w:tab/>" if piece == "\t" else "<w:br/>" if piece in ("\r", "\n") else _t(piece)
                   for piece in _BREAK.split(text) if piece)


def _t(text: str) -> str:
    return text_element("w:t", text)


def _property(value: str) -> str:
    return NOT_XML.sub("", value)[:TITLE_LIMIT].translate(XML_ESCAPE)


def _filled(pieces: list[str], slots: list[str]) -> str:
    out = [pieces[0]]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out += (slot, piece)
    return "".join(out)


def _pieces(slot: re.Pattern[str], xml: str, slots: int) -> list[str]:
    pieces = slot.split(xml)
    if len(pieces) != slots + 1:
        raise ValueError(f"a model table's XML has {len(pieces) - 1} slots, not {slots}")
    return pieces


def _rows(xml: str) -> tuple[str, str]:
    """A model table's two rows (the XML from its first row on)."""
    second = xml.index("<w:tr>", 1)
    return xml[:second], xml[second:xml.rindex("</w:tbl>")]


def _split(xml: str, at: str, parts: int) -> list[str]:
    found = xml.split(at)
    if len(found) != parts:
        raise ValueError(f"the model's XML has {len(found) - 1} of {at}, not {parts - 1}")
    return found


def _local(element: Any) -> str:
    """An element's XML without the namespace declarations lxml puts on a lone element: the
    document's root declares them all."""
    from lxml import etree

    xml: str = etree.tostring(element, encoding="unicode")
    head_end = xml.index(">")
    return re.sub(r' xmlns:\w+="[^"]*"', "", xml[:head_end]) + xml[head_end:]
