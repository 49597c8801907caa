"""Word's automatic numbering: an official template numbers 一、（一）1.（1） through
numbering.xml, so the paragraphs' text carries no number; rectify renders the numbers as
Word shows them (levels, formats, starts, restarts) before reading the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml import parse_xml

from rectify_core.numerals import cn_number

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
LEVELS = (("chineseCounting", "%1、"), ("chineseCounting", "（%2）"), ("decimal", "%3."), ("decimal", "（%4）"))


def _numbered(path: Path, paragraphs: list[tuple[int | None, str]]) -> Path:
    """A .docx whose paragraphs at a level are numbered by Word's list numbering only."""
    document = Document()
    numbering = document.part.numbering_part.element
    levels = "".join(f'<w:lvl w:ilvl="{n}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                     f'<w:lvlText w:val="{text}"/></w:lvl>' for n, (fmt, text) in enumerate(LEVELS))
    numbering.insert(0, parse_xml(f'<w:abstractNum {W} w:abstractNumId="90">{levels}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {W} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for level, text in paragraphs:
        paragraph = document.add_paragraph(text)
        if level is not None:
            ppr = paragraph._p.get_or_add_pPr()
            ppr.append(parse_xml(f'<w:numPr {W}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))
    document.save(str(path))
    return path


def test_chinese_counting_as_word_writes_it() -> None:
    assert [cn_number(n) for n in (1, 9, 10, 11, 20, 21, 99)] == ["一", "九", "十", "十一", "二十", "二十一", "九十九"]


def test_a_report_numbered_by_word_reads_as_on_screen(cli: Any, db_url: str, tmp_path: Path) -> None:
    report = _numbered(tmp_path / "进展.docx", [
        (None, "2024年9月6日至11月20日，区委第三巡察组对区测试局党组开展了巡察。"),
        (None, "2025年1月7日，巡察组向区测试局党组反馈了巡察意见。"),
        (0, "组织整改落实情况"),
        (None, "截至2025年6月30日，巡察反馈的2个方面3个问题，已整改完成2个，阶段性完成整改1个。"),
        (0, "集中整改期内整改进展情况"),
        (1, "关于作风建设方面"),
        (2, "关于“公务接待不规范”方面"),
        (3, "接待清单不完整"), (None, "整改情况：已规范接待清单。"), (None, "完成情况：已完成"),
        (3, "超标准接待"), (None, "整改情况：已追回超标费用。"), (None, "完成情况：已完成"),
        (1, "关于党组织建设方面"),
        (2, "关于“组织生活不严肃”方面"),
        (3, "组织生活会流于形式"), (None, "整改情况：已重新召开。"), (None, "完成情况：阶段性完成"),
    ])
    done = cli(["--db", db_url, "import", str(report)])
    assert done.code == 0, done.err
    items = sorted((r["no"], r["title"], r["status"], r["aspect_no"]) for r in
                   cli(["--db", db_url, "items", "--json"]).json())
    assert items == [(1, "接待清单不完整", "已完成", 1), (2, "超标准接待", "已完成", 1),
                     (3, "组织生活会流于形式", "阶段性完成", 2)]


def test_numbering_through_styles_that_loop_ends(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    """Two styles based on each other (a damaged template): the numbering lookup stops, and
    the report still reads by its written numbers."""
    document = Document()
    styles = document.styles.element
    for name, base in (("LoopA", "LoopB"), ("LoopB", "LoopA")):
        styles.append(parse_xml(f'<w:style {W} w:type="paragraph" w:styleId="{name}"><w:name w:val="{name}"/>'
                                f'<w:basedOn w:val="{base}"/></w:style>'))
    for line in ("问题1：接待清单不完整", "整改情况：已规范。", "完成情况：已完成"):
        document.add_paragraph(line, style="LoopA")
    path = tmp_path / "进展.docx"
    document.save(str(path))
    done = cli(["--db", sqlite_url, "import", str(path), "--unit", "测试局"])
    assert done.code == 0, done.err
    assert [(r["no"], r["status"]) for r in cli(["--db", sqlite_url, "items", "--json"]).json()] == [(1, "已完成")]


def test_a_table_whose_numbers_word_writes_reads_them(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    """A Word table whose 序号 column is Word's numbering, from 5 (a sheet continued)."""
    document = Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(f'<w:abstractNum {W} w:abstractNumId="91"><w:lvl w:ilvl="0">'
                                  '<w:start w:val="5"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1"/>'
                                  '</w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {W} w:numId="91"><w:abstractNumId w:val="91"/></w:num>'))
    rows = [("序号", "问题", "责任人", "整改时限", "完成情况"),
            ("", "政府采购制度执行不到位", "周敏", "2027年3月31日", "已完成"),
            ("", "行政执法案卷质量不高", "王芳", "2027年6月30日", "未完成")]
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            paragraph = table.rows[r].cells[c].paragraphs[0]
            paragraph.text = value
            if r and c == 0:
                ppr = paragraph._p.get_or_add_pPr()
                ppr.append(parse_xml(f'<w:numPr {W}><w:ilvl w:val="0"/><w:numId w:val="91"/></w:numPr>'))
    path = tmp_path / "台账.docx"
    document.save(str(path))
    done = cli(["--db", sqlite_url, "import", str(path), "--unit", "测试局"])
    assert done.code == 0, done.err
    assert sorted((r["no"], r["title"]) for r in cli(["--db", sqlite_url, "items", "--json"]).json()) == [
        (5, "政府采购制度执行不到位"), (6, "行政执法案卷质量不高")]
