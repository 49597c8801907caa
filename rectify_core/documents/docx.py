"""Word output in the official document format (GB/T 9704-2012, 党政机关公文格式).

A4 paper, margins 37/35/28/26 mm; title in 方正小标宋简体 二号 centred; body in
仿宋_GB2312 三号 with a two-character first-line indent; level-one headings 黑体, level
two 楷体_GB2312, level three 仿宋 bold; fixed 28-point line spacing. Fonts are named
with their East Asian slot set, so Word and WPS substitute gracefully where a font is
missing (仿宋_GB2312 falls back to 仿宋, 方正小标宋 to 宋体).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rectify_core.documents import wordxml
from rectify_core.documents.report import Para, title_lines

TITLE_FONT, BODY_FONT, H1_FONT, H2_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"
SIZE_TITLE, SIZE_BODY, SIZE_TABLE = 22, 16, 12  # 二号, 三号, 小四 (points)
PAGE_FONT, SIZE_PAGE = "宋体", 14  # the page number: 四号 宋体
LINE_PT = 28


ROLES = ("title", "number", "signature", "plain", "body", "h1", "h2", "h3", "item", "field")  # a paragraph's looks


def _font(run: Any, name: str, size: int, bold: bool = False) -> None:
    """A run's font, its East Asian slot too."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(slot), name)


def write_docx(paras: Iterable[Para], path: Path, author: str | None = None, title: str | None = None) -> None:
    """The paragraphs as a Word document: GB/T 9704 page, fonts and spacing, the page
    number as "— 1 —" in the footer, and `author` (the office that signs) as its author,
    `title` as its title (else its title paragraph's: the paragraphs are then read first).
    Written from the model document (wordxml), each paragraph as it comes: time and memory
    linear in its words."""
    model = _model()
    if title is None:
        paras = list(paras)
        title = next((p.text for p in paras if p.role == "title"), "")
    model.write(path, _body(model, paras), title, author or "")


def _body(model: wordxml.Model, paras: Iterable[Para], per_chunk: int = 500) -> Iterator[str]:
    """The document's body as chunks of XML: each paragraph its role's look with its words
    (a title in lines that break between words), each table followed by an empty paragraph."""
    chunk: list[str] = []
    for p in paras:
        if p.role == "table":
            yield "".join(chunk)
            chunk.clear()
            columns = len(p.rows[0]) if p.rows else 1
            widths = column_widths(p.rows, TEXT_WIDTH_MM)
            yield from model.table(columns).xml(p.rows, [_twips(w) for w in widths])
            chunk.append("<w:p/>")
            continue
        look = model.looks.get(p.role, model.looks["body"])
        chunk.append(look.xml(title_lines(p.text) if p.role == "title" else [p.text]))
        if len(chunk) >= per_chunk:
            yield "".join(chunk)
            chunk.clear()
    yield "".join(chunk)


def _twips(mm: float) -> int:
    from docx.shared import Mm

    return int(Mm(mm).twips)


@functools.cache
def _model() -> wordxml.Model:
    """The model document, made once a process by python-docx: the page, a paragraph of
    each role, and (asked for) a table of each width."""
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE

    doc = Document()
    _lean(doc)
    _page(doc, wordxml.TITLE, wordxml.AUTHOR)
    grid = doc.part.get_style_id("Table Grid", WD_STYLE_TYPE.TABLE)  # type: ignore[no-untyped-call]
    looks = {role: _paragraph(doc, role)._p for role in ROLES}
    blank = (wordxml.SLOT,)
    return wordxml.Model.of(doc, looks, lambda columns: _made_table(doc, (blank * columns,) * 2, columns,
                                                                  [10.0] * columns, grid))


def _paragraph(doc: Any, role: str) -> Any:
    """A paragraph of `role`'s look, its one run's words wordxml.SLOT."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.shared import Pt

    para = doc.add_paragraph()
    fmt = para.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(LINE_PT)
    fmt.space_before = fmt.space_after = Pt(0)
    run = para.add_run(wordxml.SLOT)
    if role == "title":  # (its lines each a run of this look, all but the last ending in a break)
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fmt.line_spacing = Pt(LINE_PT * 1.5)
        _font(run, TITLE_FONT, SIZE_TITLE)
    elif role in ("signature", "number", "plain"):  # signed right, 文号 centred, 主送 and 抄送 unindented
        para.alignment = {"signature": WD_ALIGN_PARAGRAPH.RIGHT, "number": WD_ALIGN_PARAGRAPH.CENTER,
                          "plain": WD_ALIGN_PARAGRAPH.LEFT}[role]
        _font(run, BODY_FONT, SIZE_BODY)
    else:
        fmt.first_line_indent = Pt(SIZE_BODY * 2)
        font, bold = {"h1": (H1_FONT, False), "h2": (H2_FONT, False), "h3": (BODY_FONT, True),
                      "item": (BODY_FONT, True)}.get(role, (BODY_FONT, False))
        _font(run, font, SIZE_BODY, bold)
    return para


STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _lean(doc: Any) -> None:
    """Without the template's stylesWithEffects part: a copy of its styles that only Word
    2010 read (later Word, WPS and LibreOffice read styles.xml), 438 KB of XML that every
    document written would otherwise carry, serialise and compress."""
    for rId, rel in list(doc.part.rels.items()):
        if rel.reltype == STYLES_WITH_EFFECTS:
            doc.part.drop_rel(rId)


def _page(doc: Any, title: str, author: str | None) -> None:
    """A4 with GB/T 9704 margins, the page number in the footer, 仿宋 三号 as the normal
    style, and the document's title and author (the office that signs)."""
    from docx.shared import Mm, Pt

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28 - 7)  # the number sits 7 mm below the text block
    _page_number(section.footer.paragraphs[0])
    props = doc.core_properties
    props.author = props.last_modified_by = author or ""
    props.title = title
    props.comments = ""
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, Pt(SIZE_BODY)


TEXT_WIDTH_MM = 210 - 28 - 26  # the text block of an A4 page with GB/T 9704 margins


CJK_MM, HALF_MM, PAD_MM = 4.4, 3.0, 4.5  # a character of 小四, a half-width one, a cell's padding
SHORT = 16  # characters: a cell this short is printed on one line when the table has room


_WIDE = re.compile("[^\x00-\u2e7f]")  # a character printed a full em wide (CJK and after)
_UNBROKEN = re.compile(r"[\x21-\x7e]+")  # a figure or a date: never broken across lines


def _width_mm(text: str) -> float:
    if text.isascii():
        return len(text) * HALF_MM
    wide = _WIDE.subn("", text)[1]
    return wide * CJK_MM + (len(text) - wide) * HALF_MM


def _longest_run(text: str) -> int:
    """Characters in the longest run that is never broken across lines."""
    if text.isascii() and text.isprintable() and " " not in text:
        return len(text)
    return max(map(len, _UNBROKEN.findall(text)), default=0)


def _column(cells: list[str]) -> tuple[float, float, float, bool]:
    """A column's header width, its widest cell, its longest unbroken run (millimetres) and
    whether every cell is short; each distinct text measured once (a column repeats names,
    dates and day counts)."""
    seen: dict[str, tuple[float, int]] = {}
    for text in cells:
        if text not in seen:
            seen[text] = (_width_mm(text), _longest_run(text))
    measured = seen.values()
    return (seen[cells[0]][0], max(w for w, _ in measured), max(r for _, r in measured) * HALF_MM,
            max(map(len, seen)) <= SHORT)


def column_widths(rows: tuple[tuple[str, ...], ...], total: float) -> list[float]:
    """Millimetres per column: each at least its header (on one line) and its longest
    unbreakable run (a figure such as 33.3%, a date); what is left goes to the columns
    whose text is wider than that (long titles wrap within their share)."""
    if not rows:
        return [total]
    columns = range(len(rows[0]))
    stats = [_column([row[c] if c < len(row) else "" for row in rows]) for c in columns]  # (a short row: empty cells)
    widest_cell = [widest for _, widest, _, _ in stats]
    loose = [max(header, run) + PAD_MM for header, _, run, _ in stats]
    # short cells (a unit's name, 10个工作日, a date) on one line, when the page has room:
    # every column that has only such cells, else all but the widest of them
    whole = [max(loose[c], widest_cell[c] + PAD_MM) if stats[c][3] else loose[c] for c in columns]
    widest = max(columns, key=lambda c: whole[c] - loose[c])
    least = next((t for t in (whole, [loose[c] if c == widest else whole[c] for c in columns], loose)
                  if sum(t) <= total), loose)
    need = [max(0.0, min(widest_cell[c] + PAD_MM, 70.0) - least[c]) for c in columns]
    spare = max(total - sum(least), 0.0)
    return [least[c] + (spare * need[c] / sum(need) if sum(need) else spare / len(least)) for c in columns]


def _page_number(paragraph: Any) -> None:
    """— 1 —: the page number (a PAGE field) between dashes, 宋体 四号, centred."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("— "), PAGE_FONT, SIZE_PAGE)
    run = paragraph.add_run()
    _font(run, PAGE_FONT, SIZE_PAGE)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._element.append(char)
        elif text == "PAGE":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = " PAGE "
            run._element.append(instr)
        else:
            shown = OxmlElement("w:t")
            shown.text = text
            run._element.append(shown)
    _font(paragraph.add_run(" —"), PAGE_FONT, SIZE_PAGE)


def _made_table(doc: Any, made: tuple[tuple[str, ...], ...], columns: int, widths: list[float],
                grid_style: str | None) -> Any:
    """A bulletin's table made by python-docx: a bold header row, 仿宋 小四, every cell
    bordered (the model's: wordxml writes every table from it)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    table = doc.add_table(rows=len(made), cols=columns)
    table._tbl.tblStyle_val = grid_style  # "Table Grid", its id looked up once
    table.autofit = False
    for c, width in enumerate(widths):
        table.columns[c].width = Mm(width)  # the grid, which LibreOffice and WPS follow
    for r, (row, values) in enumerate(zip(table.rows, made, strict=True)):
        for c, (cell, value) in enumerate(zip(row.cells, values, strict=False)):
            cell.width = Mm(widths[c])
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER if r == 0 or c > 0 else WD_ALIGN_PARAGRAPH.LEFT
            _font(para.add_run(value), BODY_FONT, SIZE_TABLE, bold=r == 0)
    return table
