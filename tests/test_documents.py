"""What the office hands up: the progress report (txt, Markdown, Word), the Excel 台账 and
the dashboard; each read back by rectify's own importers, or by a real browser."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from rectify_flows.cli import DEMO_LEDGER
from tests.word import east_asia, mm

GOLDEN = Path(__file__).parent / "golden" / "demo-report.txt"
DAY = "2026-11-25"


@pytest.fixture
def ledger(cli: Any, db_url: str, tmp_path: Path) -> list[str]:
    """The demo ledger with one item closed in rectify and one progress report."""
    base = ["--db", db_url]
    assert cli([*base, "import", str(DEMO_LEDGER)]).code == 0
    assert cli([*base, "close", "1", "--evidence-text", "追回款项收据", "--by", "周敏", "--verified-by", "王敏",
                "--date", "2026-11-20"]).code == 0
    assert cli([*base, "progress", "3", "--text", "已取得建设用地批复，路基施工过半", "--by", "王芳",
                "--status", "阶段性完成", "--date", "2026-11-24"]).code == 0
    return base


def _items(cli: Any, url: str) -> list[tuple[Any, ...]]:
    return [(i["no"], i["status"], i["deadline"], i["deadline_kind"], i["leader"], i["leader_title"])
            for i in cli(["--db", url, "items", "--json"]).json()]


def test_report_text_of_the_demo_ledger(cli: Any, ledger: list[str], tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    assert cli([*ledger, "report", "--date", DAY, "-o", str(out)]).code == 0
    text = out.read_text(encoding="utf-8")
    if os.environ.get("RECTIFY_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["txt", "docx", "md"])
def test_report_round_trip(cli: Any, ledger: list[str], db_url: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    assert cli([*ledger, "report", "--date", DAY, "--format", fmt, "-o", str(out)]).code == 0
    if fmt == "md":
        assert out.read_text(encoding="utf-8").startswith("# 中共区交通运输局党组关于巡察整改进展情况的报告")
        return
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert cli(["--db", fresh, "import", str(out)]).code == 0
    assert _items(cli, fresh) == _items(cli, db_url)
    if fmt == "txt":
        audit = cli(["audit", str(out), "--json"]).json()
        assert audit["findings"] == [] and audit["claims"]["done"] == 2


def test_word_report_carries_the_official_format(cli: Any, ledger: list[str], tmp_path: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    out = tmp_path / "report.docx"
    assert cli([*ledger, "report", "--date", DAY, "-o", str(out)]).code == 0
    doc = Document(str(out))
    section = doc.sections[0]
    size = (section.page_width, section.page_height, section.top_margin, section.bottom_margin,
            section.left_margin, section.right_margin)
    # Word stores twentieths of a point: millimetres come back rounded to the twip
    assert [round(mm(v)) for v in size] == [210, 297, 37, 35, 28, 26]
    assert all(abs(mm(v) - round(mm(v))) < 0.05 for v in size)
    title, body = doc.paragraphs[0], doc.paragraphs[1]
    assert title.text.split("\n") == ["中共区交通运输局党组", "关于巡察整改进展情况的报告"]  # between words
    assert all(run.font.size == Pt(22) for run in title.runs)
    assert east_asia(title.runs[0]) == "方正小标宋简体"
    assert body.runs[0].font.size == Pt(16) and body.paragraph_format.line_spacing == Pt(28)
    assert east_asia(body.runs[0]) == "仿宋_GB2312"
    heading = next(p for p in doc.paragraphs if p.text == "一、总体情况")
    assert east_asia(heading.runs[0]) == "黑体"
    import zipfile

    with zipfile.ZipFile(out) as parts:  # the styles once (not again in Word 2010's stylesWithEffects)
        names = parts.namelist()
        assert "word/styles.xml" in names and not any("stylesWithEffects" in n for n in names)
        assert "stylesWithEffects" not in parts.read("[Content_Types].xml").decode()


def test_excel_export_fills_lights_and_round_trips(cli: Any, ledger: list[str], db_url: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    out = tmp_path / "台账.xlsx"
    assert cli([*ledger, "export", "--date", DAY, "-o", str(out)]).code == 0
    book = load_workbook(out)
    sheet = book["整改台账"]
    header = [c.value for c in sheet[3]]
    assert header[:10] == ["序号", "问题类别", "存在问题", "整改措施", "责任领导", "责任部门", "责任人", "整改时限",
                           "延期后时限", "完成情况"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=4)}
    # item 5 (due 2026-11-20) is overdue on the 25th: red; item 1 was closed: no fill
    assert rows[5][header.index("灯")].value == "红" and rows[5][0].fill.fgColor.rgb.endswith("FFC7CE")
    assert rows[1][header.index("核验人")].value == "王敏" and rows[1][0].fill.fill_type is None
    assert "路基施工过半" in rows[3][header.index("最新进展")].value
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref.startswith("A3")
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$3"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert "统计" in book.sheetnames and book["统计"]["A1"].value == "按方面"
    # a column empty in every row is hidden (not printed), unless the sheet is read by it
    empty = {name for c, name in enumerate(header) if all(r[c].value in (None, "") for r in rows.values())}
    hidden = {name for c, name in enumerate(header, 1) if sheet.column_dimensions[get_column_letter(c)].hidden}
    assert empty and hidden == empty - {"序号", "存在问题", "完成情况"}
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert cli(["--db", fresh, "import", str(out)]).code == 0
    assert _items(cli, fresh) == _items(cli, db_url)


def test_excel_never_writes_formulas(cli: Any, db_url: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "evil.csv"
    path.write_text("序号,问题,整改措施,责任人,整改时限\n1,=HYPERLINK(\"http://x\"),+cmd|' /C calc'!A0,@SUM(1),"
                    "2026年12月31日\n", encoding="utf-8")
    assert cli(["--db", db_url, "import", str(path)]).code == 0
    out = tmp_path / "out.xlsx"
    assert cli(["--db", db_url, "export", "--date", DAY, "-o", str(out)]).code == 0
    row = next(load_workbook(out)["整改台账"].iter_rows(min_row=4, max_row=4))
    assert [c.data_type for c in row[2:4]] == ["s", "s"] and row[2].value.startswith("=HYPERLINK")


def test_dashboard_is_offline_and_names_the_overdue_item(cli: Any, ledger: list[str], tmp_path: Path) -> None:
    out = tmp_path / "看板.html"
    assert cli([*ledger, "dashboard", "--date", DAY, "-o", str(out)]).code == 0
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "问题5：政府采购制度执行不到位" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert f">{DAY}<" in html                                   # the completion curve runs to its as-of day


# --- a real browser -----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of an 8-bit RGB(A) PNG (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def _screenshot(page: Path, png: Path) -> str:
    assert CHROMIUM is not None
    profile = png.parent / f"profile-{png.stem}"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
         "--window-size=1200,1400", f"--screenshot={png}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert png.exists(), proc.stderr[-2000:]
    return proc.stderr


def _console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line or "Failed to load resource" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_browser_renders_dashboard_and_digest(cli: Any, ledger: list[str], tmp_path: Path) -> None:
    from rectify_core.delivery.render import Line, render_digest

    dashboard = tmp_path / "dashboard.html"
    assert cli([*ledger, "dashboard", "--date", DAY, "-o", str(dashboard)]).code == 0
    import datetime as dt

    digest = tmp_path / "digest.html"
    lines = [Line("5", "政府采购制度执行不到位", "第三轮巡察", dt.date(2026, 11, 20), -3, "red", "逾期催办", "owner",
                  ("胡志云",), department="财务股", progress="已完成采购事项清查"),
             Line("2", "滨江路桥南交管站移交不实", "第三轮巡察", dt.date(2026, 12, 31), 25, "green", "督办通知",
                  "owner", ())]
    digest.write_text(render_digest("周敏", lines, dt.date(2026, 11, 25), "html")[0].body, encoding="utf-8")
    out_dir = Path(os.environ.get("RECTIFY_SCREENSHOTS", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    for page in (dashboard, digest):
        png = out_dir / f"{page.stem}.png"
        log = _screenshot(page, png)
        assert _console_errors(log) == []
        width, height, raw = _png_pixels(png)
        assert (width, height) == (1200, 1400)
        assert len(set(raw[i:i + 64] for i in range(0, len(raw), 4096))) > 20   # not blank


def _from_words(text: str) -> int:
    """The reading back of a Chinese numeral, written apart from the code under test."""
    digits = {c: n for n, c in enumerate("零一二三四五六七八九")}
    total, section, current = 0, 0, 0
    for ch in text:
        if ch in digits:
            current = digits[ch]
        elif ch in "十百千":
            section += (current or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            current = 0
        elif ch == "万":
            total, section, current = (total + section + current) * 10000, 0, 0
        else:
            raise AssertionError(text)
    return total + section + current


def test_a_count_of_any_size_is_written_in_chinese_numerals() -> None:
    """Headings and tables number units and problems past 99 (the bulletin crashed at 110)."""
    from rectify_core.numerals import cn_number

    words = {n: cn_number(n) for n in range(1, 10_001)}
    assert all(_from_words(w) == n for n, w in words.items())
    assert len(set(words.values())) == 10_000
    assert [words[n] for n in (10, 12, 101, 110, 1005, 1010, 10_000)] == [
        "十", "十二", "一百零一", "一百一十", "一千零五", "一千零一十", "一万"]
    assert cn_number(10_010) == "一万零一十" and cn_number(123_456) == "十二万三千四百五十六"
    assert not any("零零" in w or w.endswith("零") for w in words.values())


def test_the_report_states_what_was_withdrawn_or_merged_and_names_the_overdue(cli: Any, ledger: list[str],
                                                                              tmp_path: Path) -> None:
    assert cli([*ledger, "withdraw", "8", "--reason", "经巡察办同意不再列入台账", "--by", "王敏"]).code == 0
    assert cli([*ledger, "merge", "7", "--into", "2", "--by", "王敏"]).code == 0
    out = tmp_path / "report.txt"
    assert cli([*ledger, "report", "--date", DAY, "-o", str(out)]).code == 0
    text = out.read_text(encoding="utf-8")
    assert "已撤销，不再列入整改，理由：经巡察办同意不再列入台账。" in text
    assert "已并入问题2一并整改" in text
    assert "二是对已超过整改时限的1个问题（问题5“政府采购制度执行不到位”）" in text


def test_rows_written_into_the_saved_workbook_read_back_as_written(tmp_path: Path) -> None:
    """A sheet's kept rows (sheetrows) are SpreadsheetML written at save: text inline, never
    a formula, markup and spaces kept, characters a cell cannot hold dropped, numbers and
    dates as themselves, each cell its style, each row its height; rows after them none."""
    import datetime as dt

    from openpyxl import Workbook, load_workbook

    from rectify_core.documents.sheetrows import LaterSheetRows
    from rectify_core.documents.xlsx import Looks

    book, later = Workbook(write_only=True), LaterSheetRows()
    sheet = book.create_sheet("台账")
    looks = Looks(sheet)
    sheet.append(["标题"])
    values: list[list[object]] = [
        ["=SUM(A1:A3)", " 前后有空格 ", "A&B <公司>", "响\x07铃", dt.date(2026, 11, 20), 7, 0.5, ""],
        ["+86 138", "第一行\n第二行", "", "", dt.date(2000, 1, 1), -3, 2, "末"]]
    later.keep(sheet, 2, 8, ((20.5 + n, row, looks.look("FFC7CE" if n else None)) for n, row in enumerate(values)))
    book.create_sheet("其后")  # a sheet after the kept rows' sheet is written as it was
    path = tmp_path / "行.xlsx"
    later.save(book, path)
    read = load_workbook(path)
    got = [[c.value for c in row] for row in read["台账"].iter_rows(min_row=2)]
    as_read = [[v.replace("\x07", "") if isinstance(v, str) else v for v in row] for row in values]
    as_read = [[dt.datetime.combine(v, dt.time()) if isinstance(v, dt.date) else None if v == "" else v
                for v in row] for row in as_read]
    assert got == as_read
    cells = read["台账"]
    assert cells["A2"].data_type == "s" and cells["A2"].quotePrefix                # text, not a formula
    assert not cells["B2"].quotePrefix
    assert cells["E2"].number_format == 'yyyy"年"m"月"d"日"' and cells["A3"].fill.fgColor.rgb == "00FFC7CE"
    assert cells["B2"].border.left.style == "thin" and cells["B2"].alignment.wrap_text
    assert [cells.row_dimensions[r].height for r in (2, 3)] == [20.5, 21.5]
    assert cells["A1"].value == "标题" and cells.max_row == 3 and read.sheetnames == ["台账", "其后"]
    import zipfile

    with zipfile.ZipFile(path) as zf:                                         # spaces kept for Excel too
        assert '<t xml:space="preserve"> 前后有空格 </t>' in zf.read("xl/worksheets/sheet1.xml").decode()


_CELL = st.text(alphabet=st.sampled_from("aZ09.-% \t\u00a0—①中文，２"), max_size=20)


@given(st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=1, max_size=8), st.floats(40, 250))
@hyp_settings(max_examples=200, deadline=None)
def test_a_table_measures_each_cell_by_the_rule(rows: list[tuple[str, str, str]], total: float) -> None:
    """Column widths (the quick paths for plain ASCII and for each text measured once a
    column) are what the rule gives cell by cell: a character from U+2E80 on is a full em,
    any other half; a run of printable ASCII without spaces is never broken."""
    import re

    from rectify_core.documents import docx as word

    def width(text: str) -> float:
        wide = sum(ch > "\u2e7f" for ch in text)
        return wide * word.CJK_MM + (len(text) - wide) * word.HALF_MM

    def run(text: str) -> float:
        return max(map(len, re.findall(r"[\x21-\x7e]+", text)), default=0) * word.HALF_MM

    table = tuple(rows)
    got = word.column_widths(table, total)
    assert len(got) == 3 and all(w > 0 for w in got)
    for c in range(3):
        cells = [row[c] for row in table]
        header, widest, longest = width(cells[0]), max(map(width, cells)), max(map(run, cells))
        assert word._column(cells) == pytest.approx(
            (header, widest, longest, all(len(t) <= word.SHORT for t in cells)))
    # the page's width is filled, unless even each column's header and runs need more
    floor = sum(max(width(table[0][c]), max(run(r[c]) for r in table)) + word.PAD_MM for c in range(3))
    assert sum(got) == pytest.approx(max(total, floor))


def test_a_member_written_by_hand_is_deflated_at_rectifys_level(tmp_path: Path) -> None:
    """zipfile deflates a member made by hand at zlib's default, whatever level its ZipFile
    was given: `zipped.member` sets the level on the member itself (Python 3.11 to 3.13
    name that field differently)."""
    import zipfile
    import zlib

    from rectify_core.documents import zipped

    data = "".join(f'<c r="A{i}" s="{i % 7}"><t>{i * 7919 % 10007}</t></c>' for i in range(20_000)).encode()

    def deflated(level: int) -> int:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(packer.compress(data) + packer.flush())

    assert deflated(zipped.LEVEL) != deflated(6)  # (the data tells the levels apart)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as book, \
            book.open(zipped.member("part.xml", (2026, 12, 7, 0, 0, 0), 0o600 << 16), "w") as part:
        part.write(data)
    with zipfile.ZipFile(tmp_path / "a.zip") as book:
        assert book.getinfo("part.xml").compress_size == deflated(zipped.LEVEL)
        assert book.read("part.xml") == data


def test_a_word_document_takes_any_title_and_author(tmp_path: Path) -> None:
    """A document's core properties hold its title and author whatever they are: markup
    as text, characters XML cannot hold dropped, a title cut to the 255 characters a
    property holds (python-docx refused such a title); the title printed whole."""
    from docx import Document

    from rectify_core.documents.docx import write_docx
    from rectify_core.documents.report import Para

    title = "A&B <单位>\x07关于" + "很长的标题" * 60 + "的报告"
    path = tmp_path / "标题.docx"
    write_docx([Para("title", title), Para("body", "正文。")], path, author="甲&乙 <办>")
    read = Document(str(path))
    clean = title.replace("\x07", "")
    assert read.core_properties.title == clean[:255] and read.core_properties.author == "甲&乙 <办>"
    assert read.core_properties.last_modified_by == "甲&乙 <办>"
    assert read.paragraphs[0].text.replace("\n", "") == clean and read.paragraphs[1].text == "正文。"


def test_word_tables_of_every_width_carry_their_own_widths_and_words(tmp_path: Path) -> None:
    """A table's model is made once for its number of columns; every table written from
    it has its own grid and cell widths (the rule's, in twips) and its own words, a row
    shorter than the header with its last cells empty."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Mm

    from rectify_core.documents import docx as word
    from rectify_core.documents.report import Para

    tables = [(*(tuple(f"{n}-{r}-{c}" + "字" * ((r + c) % 5) for c in range(n)) for r in range(12)), ("短",))
              for n in (1, 2, 3, 5, 8, 3, 2)]
    path = tmp_path / "表.docx"
    word.write_docx([Para("title", "表")] + [Para("table", "", rows) for rows in tables], path)
    read = Document(str(path)).tables
    assert len(read) == len(tables)
    for table, rows in zip(read, tables, strict=True):
        n = len(rows[0])
        assert [tuple(c.text for c in row.cells) for row in table.rows] == [*rows[:-1], ("短", *[""] * (n - 1))]
        twips = [Mm(w).twips for w in word.column_widths(rows, word.TEXT_WIDTH_MM)]
        assert [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.gridCol_lst] == twips  # twips as written
        assert all([int(tc.find(f"{qn('w:tcPr')}/{qn('w:tcW')}").get(qn("w:w"))) for tc in tr.tc_lst] == twips
                   for tr in table._tbl.tr_lst)


def test_a_county_workbooks_sheets_are_named_once_each_as_excel_compares_names(tmp_path: Path) -> None:
    """Each round's sheet is named by its unit's short name, told apart by its round when
    that name is taken, whatever its case (Excel takes ABC and abc for one sheet); the
    sheets stand in the order made, and the 汇总 after them."""
    from openpyxl import Workbook, load_workbook

    from rectify_core.documents.xlsx import new_sheet, sheet_name

    used: set[str] = set()
    shorts = ["ABC", "abc", "单位[一]", "单位一", "Abc", "x" * 40]
    names = [sheet_name(short, n, used) for n, short in enumerate(shorts, 1)]
    assert names == ["ABC", "abc（2）", "单位一", "单位一（4）", "Abc（5）", "x" * 24]
    book = Workbook(write_only=True)
    for name in names:
        new_sheet(book, name).append([name])
    book.create_sheet("汇总")
    book.save(tmp_path / "b.xlsx")
    read = load_workbook(tmp_path / "b.xlsx")
    assert read.sheetnames == [*names, "汇总"]
    assert [read[name]["A1"].value for name in names] == names


def test_a_document_that_fails_midway_leaves_the_file_before_it_as_it_was(tmp_path: Path) -> None:
    """A Word file is written as its paragraphs are made (the bulletin reads the database
    meanwhile) and an Excel file as its rows are: either failing half-way leaves the file
    of that name written before as it was, and no scratch file beside it."""
    from openpyxl import Workbook

    from rectify_core.documents.docx import write_docx
    from rectify_core.documents.report import Para
    from rectify_core.documents.sheetrows import LaterSheetRows

    def failing() -> Iterator[Para]:
        yield Para("title", "通报")
        yield Para("table", "", (("序号", "问题"), *((str(n), "问题" * 50) for n in range(2000))))
        raise ConnectionError("数据库连接中断")

    word, sheet = tmp_path / "通报.docx", tmp_path / "台账.xlsx"
    word.write_bytes(b"the bulletin of last week")
    with pytest.raises(ConnectionError):
        write_docx(failing(), word, title="通报")
    sheet.write_bytes(b"last week's ledger")
    book, later = Workbook(write_only=True), LaterSheetRows()
    later.keep(book.create_sheet("台账"), 1, 2, [(None, ["1", "问题"], [0, 0])])

    def broken(xml: bytes, marker: Any, scratch: Any, out: Any) -> None:
        out.write(xml[:100])
        raise OSError("磁盘已满")

    later._write_sheet = broken  # type: ignore[method-assign]
    with pytest.raises(OSError):
        later.save(book, sheet)
    assert word.read_bytes() == b"the bulletin of last week" and sheet.read_bytes() == b"last week's ledger"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["台账.xlsx", "通报.docx"]


def test_a_county_workbook_has_more_sheets_than_the_process_may_open_files(tmp_path: Path) -> None:
    """openpyxl holds each write-only sheet's scratch file open until the sheet is closed; a
    county's 台账 has a sheet per unit, so a city's thousand units ran past a system's usual
    limit of open files (1,024) and the export crashed. Each sheet is closed once its rows are
    kept: 200 sheets are written whole by a process allowed 64 open files."""
    import sys

    from openpyxl import load_workbook

    code = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from openpyxl import Workbook
from rectify_core.documents.sheetrows import LaterSheetRows
from rectify_core.documents.xlsx import new_sheet
book, later = Workbook(write_only=True), LaterSheetRows()
for n in range(200):
    later.keep(new_sheet(book, f"单位{n}"), 1, 2, [(None, [f"单位{n}", n], [0, 0])])
later.save(book, Path(sys.argv[1]))
"""
    path = tmp_path / "全区台账.xlsx"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    read = load_workbook(path, read_only=True)
    assert read.sheetnames == [f"单位{n}" for n in range(200)]
    assert all([[c.value for c in row] for row in read[f"单位{n}"].iter_rows()] == [[f"单位{n}", n]]
               for n in (0, 99, 199))


def test_a_text_file_that_cannot_be_written_whole_leaves_the_one_before(tmp_path: Path) -> None:
    """The dashboard, a text report, an exported people list and the calendar in the
    config are written whole too: text that cannot be written (here a character UTF-8
    cannot hold, past a megabyte of good text) leaves the file before as it was."""
    from rectify_core import whole

    path = tmp_path / "calendar.toml"
    path.write_text("# 原有的日历配置\n", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        whole.write_text(path, "节假日\n" * 200_000 + "\ud800")
    assert path.read_text(encoding="utf-8") == "# 原有的日历配置\n"
    whole.write_text(path, "新的日历配置\n")
    assert path.read_text(encoding="utf-8") == "新的日历配置\n" and [p.name for p in tmp_path.iterdir()] == [path.name]
