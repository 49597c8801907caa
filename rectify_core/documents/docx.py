"""Word output in the official document format (GB/T 9704-2012, 党政机关公文格式).

A4 paper, margins 37/35/28/26 mm; title in 方正小标宋简体 二号 centred; body in
仿宋_GB2312 三号 with a two-character first-line indent; level-one headings 黑体, level
two 楷体_GB2312, level three 仿宋 bold; fixed 28-point line spacing. Fonts are named
with their East Asian slot set, so Word and WPS substitute gracefully where a font is
missing (仿宋_GB2312 falls back to 仿宋, 方正小标宋 to 宋体).
"""

from __future__ import annotations

from pathlib import Path

from rectify_core.documents.report import Para

TITLE_FONT, BODY_FONT, H1_FONT, H2_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"
SIZE_TITLE, SIZE_BODY = 22, 16  # 二号, 三号 (points)
LINE_PT = 28


def _font(run: object, name: str, size: int, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name  # type: ignore[attr-defined]
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()  # type: ignore[attr-defined]
    for slot in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(slot), name)


def write_docx(paras: list[Para], path: Path) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, Pt(SIZE_BODY)
    for p in paras:
        para = doc.add_paragraph()
        fmt = para.paragraph_format
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(LINE_PT)
        fmt.space_before = fmt.space_after = Pt(0)
        run = para.add_run(p.text)
        if p.role == "title":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            fmt.line_spacing = Pt(LINE_PT * 1.5)
            _font(run, TITLE_FONT, SIZE_TITLE)
        elif p.role == "signature":
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _font(run, BODY_FONT, SIZE_BODY)
        else:
            fmt.first_line_indent = Pt(SIZE_BODY * 2)
            font, bold = {"h1": (H1_FONT, False), "h2": (H2_FONT, False), "h3": (BODY_FONT, True),
                          "item": (BODY_FONT, True)}.get(p.role, (BODY_FONT, False))
            _font(run, font, SIZE_BODY, bold)
    doc.save(str(path))
