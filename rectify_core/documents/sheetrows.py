"""A worksheet's long run of rows written straight into the saved workbook: openpyxl, even
write-only, makes an object a cell and spends some 20 µs writing each (a county's 台账 is
two million cells), so a ledger sheet's item rows are kept aside as a marker row, and
written as SpreadsheetML text in the marker's place when the file is saved — each cell with
the style id its look was given in the workbook's own style table, strings inline as
openpyxl writes them. The rows are made into that text when they are kept, onto one scratch
file (as openpyxl's write-only sheets are), so the caller need not hold them until the
workbook is saved: memory does not grow with the sheets; time is linear in the cells.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from rectify_core.documents.zipped import rewritten, text_element, xml_text
from rectify_core.whole import replacing

FORMULA_START = "=+-@"  # text beginning so is marked as text (a spreadsheet would take it for a formula)


class Look(NamedTuple):
    """A row's style ids by what each cell holds: text or nothing, a date, text that begins
    like a formula."""

    plain: int
    dated: int
    quoted: int


# a row: its height in points (None: the default), its cells' values, and their style ids:
# one a cell, or a Look that picks each cell's by what it holds (most rows: no list a row)
SheetRow = tuple[float | None, list[Any], "list[int] | Look"]
_BY_LOOK = itertools.repeat(None)  # the style "given" for each cell of a row styled by its Look
_EPOCH = dt.date(1899, 12, 30)  # a spreadsheet's day 0 (its day 1 is 1900-01-01; 60 is the leap day it invents)


class LaterSheetRows:
    """Rows of the workbook's sheets, made into SpreadsheetML as they are kept (onto one
    scratch file) and put into their sheets at `save`."""

    def __init__(self) -> None:
        self._token = f"rectify-later-rows-{uuid.uuid4().hex}"
        self._scratch: IO[bytes] | None = None
        self._kept: list[tuple[int, int]] = []  # each keep's bytes on the scratch file: (start, end)

    def keep(self, sheet: Any, first: int, columns: int, rows: Iterable[SheetRow]) -> None:
        """`rows` follow the sheet's last row, numbered from `first`, `columns` cells wide at
        most; nothing may be appended after them, nor the sheet set up further: it is closed
        (openpyxl holds a write-only sheet's scratch file open until then, and a county's
        workbook has a sheet per unit: thousands of open files, past a system's limit). The
        rows are read now, so what they were made from may go."""
        sheet.append([f"{self._token}-{len(self._kept)}"])
        sheet.close()
        if self._scratch is None:
            self._scratch = tempfile.TemporaryFile()  # noqa: SIM115 - closed by save
        start = self._scratch.tell()
        for chunk in _rows_xml(rows, first, columns):
            self._scratch.write(chunk.encode("utf-8"))
        self._kept.append((start, self._scratch.tell()))

    def save(self, book: Any, path: Path) -> None:
        """The workbook saved to `path`, every kept row written in at its sheet's marker."""
        try:
            scratch = self._scratch
            if scratch is None:
                with replacing(path) as made:
                    book.save(made)
                return
            marker = re.compile(rb'<row r="\d+"><c r="A\d+" t="inlineStr"><is><t>' + self._token.encode()
                                + rb'-(\d+)</t></is></c></row>')
            rewritten(book.save, path, lambda name: name.startswith("xl/worksheets/"),
                      lambda xml, out: self._write_sheet(xml, marker, scratch, out))
        finally:
            if self._scratch is not None:
                self._scratch.close()

    def _write_sheet(self, xml: bytes, marker: re.Pattern[bytes], scratch: IO[bytes], out: IO[bytes]) -> None:
        at = 0
        for found in marker.finditer(xml):
            out.write(xml[at:found.start()])
            start, end = self._kept[int(found[1])]
            scratch.seek(start)
            while start < end:
                block = scratch.read(min(COPY_BLOCK, end - start))
                out.write(block)
                start += len(block)
            at = found.end()
        out.write(xml[at:])


COPY_BLOCK = 2**20


def _letters(n: int) -> str:
    """The column letters of column `n` (1: A, 27: AA)."""
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _rows_xml(rows: Iterable[SheetRow], first: int, columns: int, per_chunk: int = 500) -> Iterator[str]:
    letters = [_letters(c) for c in range(1, columns + 1)]
    out: list[str] = []
    for number, (height, cells, styles) in enumerate(rows, first):
        out.append(f'<row r="{number}" ht="{height:g}" customHeight="1">' if height is not None
                   else f'<row r="{number}">')
        by_look = isinstance(styles, Look)
        plain, dated, quoted = styles if by_look else (0, 0, 0)
        for letter, value, given in zip(letters, cells, _BY_LOOK if by_look else styles, strict=False):
            # text inline (never a formula) and an empty cell with its style only: most
            # cells, so written here; numbers and dates by _cell
            if value is None or value == "":
                out.append(f'<c r="{letter}{number}" s="{plain if given is None else given}"/>')
            elif isinstance(value, str):
                style = given if given is not None else quoted if value[0] in FORMULA_START else plain
                # printable text holds no whitespace but the space, and most has no &<>: as
                # it is (the one check text_element would make, then its element, inline)
                text = (f"<t>{value}</t>" if value.isprintable() and value[0] != " " and value[-1] != " " and
                        "&" not in value and "<" not in value and ">" not in value
                        else text_element("t", xml_text(value)))
                out.append(f'<c r="{letter}{number}" s="{style}" t="inlineStr"><is>{text}</is></c>')
            else:
                style = given if given is not None else dated if isinstance(value, dt.date) else plain
                out.append(_cell(f"{letter}{number}", value, style))
        out.append("</row>")
        if len(out) >= per_chunk * 20:
            yield "".join(out)
            out.clear()
    yield "".join(out)


def _cell(ref: str, value: Any, style: int) -> str:
    """A number or a date (other cells are written by `_rows_xml`) as openpyxl writes it:
    its serial."""
    if isinstance(value, bool):
        return f'<c r="{ref}" s="{style}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        serial = (value - _EPOCH).days
        return f'<c r="{ref}" s="{style}" t="n"><v>{serial - 1 if 0 < serial <= 60 else serial}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}" s="{style}" t="n"><v>{value!r}</v></c>'
    raise TypeError(f"a ledger cell holds text, a number or a date, not {type(value).__name__}")
