"""What we hand up, printed the way people meet it: the Word and Excel outputs rendered to
PDF by LibreOffice headless (Debian's libreoffice-writer-nogui / -calc-nogui, which
.ci/run installs) and read back as printed pages with poppler's pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.word import east_asia, mm

SOFFICE = shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(SOFFICE is None or PDFTOTEXT is None,
                                reason="LibreOffice or poppler-utils not installed (.ci/run installs them)")

LONG = ("一是全面清查2024年以来的政府采购项目，逐项核对采购方式、审批程序和合同履行情况，"
        "对未按规定执行的项目建立问题清单；"
        "二是修订完善《政府采购内部控制管理办法》，明确采购需求论证、采购方式选择和验收管理的责任分工；"
        "三是组织财务、业务科室开展政府采购专题培训，邀请财政部门专家解读最新政策，切实提高依法采购意识和能力。")
LEDGER = f"""2026年区委第一轮巡察反馈问题整改台账
序号,被巡察单位,问题类别,问题,整改措施,责任领导,责任人,整改时限,完成情况,备注
1,区交通运输局党组,一、落实全面从严治党方面,政府采购制度执行不到位，部分项目未按规定采购,{LONG},胡志云,周敏,2026年11月20日,未完成,已约谈相关责任人
2,区交通运输局党组,一、落实全面从严治党方面,行政执法案卷质量不高,规范执法案卷,胡志云,王芳,2026年12月30日,整改中,
1,区审计局党组,二、党的建设方面,审计整改跟踪不到位,建立审计整改台账,张华,王芳,2026年11月30日,未完成,
2,区审计局党组,二、党的建设方面,办公室用房超标,腾退超标用房,张华,刘洋,2026年12月15日,已完成,
"""
DAY = "2026-12-28"


def to_pdf(path: Path) -> Path:
    out = path.parent / "pdf"
    subprocess.run([str(SOFFICE), "--headless", f"-env:UserInstallation=file://{path.parent / 'lo-profile'}",
                    "--convert-to", "pdf", "--outdir", str(out), str(path)], check=True, capture_output=True,
                   timeout=180)
    return out / f"{path.stem}.pdf"


def pages(pdf: Path, raw: bool = False) -> list[str]:
    """The printed pages' text: laid out as on paper, or (`raw`) in drawing order, where a
    cell's wrapped lines follow each other."""
    text = subprocess.run([str(PDFTOTEXT), "-raw" if raw else "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return [p for p in text.split("\f") if p.strip()]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_size(pdf: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    found = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info)
    assert found is not None, info
    return float(found[1]), float(found[2])


@pytest.fixture
def county(cli: Any, sqlite_url: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "全区台账.csv"
    path.write_text(LEDGER, encoding="utf-8")
    base = ["--db", sqlite_url]
    assert cli([*base, "import", str(path), "--date", "2026-11-20"]).code == 0
    office = "区交通运输局党组巡察整改工作领导小组办公室"
    assert cli([*base, "units", "edit", "交通运输局", "--office", office]).code == 0
    return base


def test_the_county_workbook_prints_every_cell_whole(cli: Any, county: list[str], tmp_path: Path) -> None:
    out = tmp_path / "全区台账.xlsx"
    assert cli([*county, "export", "--date", DAY, "-o", str(out)]).code == 0
    pdf = to_pdf(out)
    printed = pages(pdf)
    width, height = page_size(pdf)
    assert (round(width), round(height)) == (1191, 842)                  # A3 landscape
    assert len(printed) >= 3 and f"共 {len(printed)} 页" in printed[0]    # page numbers on every page
    assert all(f"第 {n} 页" in page for n, page in enumerate(printed, 1))
    everything = flat("".join(pages(pdf, raw=True)))
    assert flat(LONG) in everything                                      # wrapped, never cut to one line
    assert "已约谈相关责任人" in everything                                  # the office's own column kept
    assert "逾期26个工作日" in everything and not re.search(r"(?<![\d年月])-\d+", "".join(printed))
    assert "区交通运输局党组" in flat(printed[0]) and "区审计局党组" in flat(printed[1])
    summary = next(flat(p) for p in pages(pdf, raw=True) if "合计" in p)  # 汇总: a row per unit, then the total
    scored = flat(pages(pdf, raw=True)[-1])  # 考评说明: a row per deduction, the rule in words
    assert "名次被巡察单位得分等次问题扣分项扣分说明" in scored
    assert "逾期26个工作日（整改时限2026-11-20），扣3分" in scored
    assert "区交通运输局党组2002" in summary and "区审计局党组2101" in summary and "合计4103" in summary
    assert "延期后时限" not in everything                                  # empty for the round: not printed


def test_the_bulletin_and_the_report_print_with_page_numbers(cli: Any, county: list[str], tmp_path: Path) -> None:
    from docx import Document

    bulletin = tmp_path / "通报.docx"
    assert cli([*county, "bulletin", "--date", DAY, "-o", str(bulletin)]).code == 0
    report = tmp_path / "报告.docx"
    assert cli([*county, "report", "--round", "1", "--date", DAY, "-o", str(report)]).code == 0
    for path in (bulletin, report):
        pdf = to_pdf(path)
        printed = pages(pdf)
        width, height = page_size(pdf)
        assert (round(width), round(height)) == (595, 842)                # A4 portrait
        for n, page in enumerate(printed, 1):
            assert re.search(rf"—\s*{n}\s*—", page), page[-200:]           # GB/T 9704: — 1 —
    text = flat("".join(pages(to_pdf(bulletin), raw=True)))
    ranking = text[text.index("名次被巡察单位问题数"):text.index("二、逾期未完成问题")]
    assert ranking.index("1区审计局党组") < ranking.index("2区交通运输局党组")  # 50% before 0%
    assert "50.0%" in ranking and "0.0%" in ranking
    assert "政府采购制度执行不到位" in text and "26个工作日" in text
    document = Document(str(bulletin))
    assert document.core_properties.author == "巡察整改工作办公室"           # the sender's office, not python-docx
    from docx.shared import Pt

    number, title, to, body = document.paragraphs[:4]                   # 文号, title, 主送, the text
    assert number.text == "〔2026〕　号" and to.text == "各被巡察单位党组织："
    assert east_asia(title.runs[0]) == "方正小标宋简体"
    assert east_asia(body.runs[0]) == "仿宋_GB2312"
    assert body.runs[0].font.size == Pt(16) and body.paragraph_format.line_spacing == Pt(28)
    section = document.sections[0]
    assert abs(mm(section.top_margin) - 37) < 0.1 and abs(mm(section.left_margin) - 28) < 0.1
    lines = [line.strip() for line in pages(to_pdf(report))[0].splitlines() if line.strip()]
    assert lines[:2] == ["中共区交通运输局党组", "关于巡察整改进展情况的报告"], lines[:3]  # no word cut
    own = Document(str(report))
    assert own.core_properties.author == "区交通运输局党组巡察整改工作领导小组办公室"
    headings = [p.text for p in own.paragraphs if p.text.startswith("（")]
    assert headings and all("（一）一、" not in h for h in headings) and "（一）落实全面从严治党方面" in headings


def test_the_bulletin_fits_its_page_with_short_names_and_its_addressees(cli: Any, county: list[str],
                                                                        tmp_path: Path) -> None:
    """Short names where set, cells such as 26个工作日 and the units' names on one line, the
    主送 line, the 文号 and 抄送 from [sender]: read back from the page LibreOffice prints."""
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "contacts.toml").write_text('[sender]\noffice = "区委巡察办"\nto = "各被巡察单位党组（党委）"\n'
                                          'cc = "区委巡察工作领导小组成员"\nnumber = "区巡办〔2026〕8号"\n',
                                          encoding="utf-8")
    assert cli([*county, "units", "edit", "区审计局党组", "--short-name", "审计局"]).code == 0
    bulletin = tmp_path / "通报.docx"
    assert cli([*county, "--config", str(config), "bulletin", "--date", DAY, "-o", str(bulletin)]).code == 0
    printed = pages(to_pdf(bulletin))
    lines = [line.strip() for page in printed for line in page.splitlines() if line.strip()]
    assert [flat(line) for line in lines[:3]] == ["区巡办〔2026〕8号", "关于巡察整改工作进展情况的通报",
                                                  "各被巡察单位党组（党委）："]
    assert any(flat(line).startswith("抄送：区委巡察工作领导小组成员") for line in lines[-4:]), lines[-4:]
    table = "\n".join(printed)
    assert re.search(r"\b1\s+审计局\s+2\s+1\s", table), table[:1500]           # the short name, one line
    assert re.search(r"2\s+区交通运输局\s+2\s", table), table                    # its short name, whole
    assert not re.search(r"个工作\s*$", table, re.M) and not re.search(r"^\s*日\s*$", table, re.M)


def test_every_sheet_of_a_rounds_export_prints_whole(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    """台账, 统计 and 本次台账未列出: each page numbered 第N页 共M页, the 统计 with its row
    labels and every column on one page's width (it printed in two halves), titled."""
    from rectify_flows.cli import DEMO_LEDGER

    base = ["--db", sqlite_url]
    assert cli([*base, "import", str(DEMO_LEDGER)]).code == 0
    lines = DEMO_LEDGER.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("8,")]                  # row 8 off the sheet now
    (tmp_path / "w2").mkdir()
    (tmp_path / "w2" / DEMO_LEDGER.name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    assert cli([*base, "import", str(tmp_path / "w2" / DEMO_LEDGER.name)]).code == 0
    out = tmp_path / "台账.xlsx"
    assert cli([*base, "export", "--date", DAY, "-o", str(out)]).code == 0
    printed = pages(to_pdf(out))
    total = len(printed)
    for n, page in enumerate(printed, 1):
        assert re.search(rf"第\s*{n}\s*页，共\s*{total}\s*页", page), page[-300:]
    stats = [page for page in printed if "按方面" in page]
    assert len(stats) == 1 and "合计" in stats[0] and "按责任人" in stats[0] and "整改情况统计" in stats[0]
    assert any("本次台账未列出的问题" in page and "原8" in flat(page) for page in printed)


def test_a_long_table_written_row_by_row_prints_every_row_as_its_first(tmp_path: Path) -> None:
    """A table's rows are written from its model's (not held as python-docx's tree): each
    made as the first, its words as they were given (a tab,
    line breaks, a leading space, characters XML cannot hold dropped, markup as text)."""
    from docx import Document

    from rectify_core.documents.docx import write_docx
    from rectify_core.documents.report import Para

    tricky = ["A&B <公司> \"引号\"", " 前有空格", "甲\t乙", "第一行\n第二行", "控制\x07字符\x1b", "]]>结尾"]
    rows = [(f"问题{n}", tricky[n % len(tricky)] if n % 7 == 0 else f"第{n}个逾期问题的标题", f"责任人{n % 9}",
             "2026-11-20", f"{n}个工作日") for n in range(1, 121)]
    head = ("序号", "问题", "责任人", "整改时限", "已逾期")
    path = tmp_path / "长表.docx"
    write_docx([Para("title", "长表"), Para("table", "", (head, *rows)), Para("body", "表后正文。")], path)
    document = Document(str(path))
    table = document.tables[0]
    clean = [tuple(v.replace("\x07", "").replace("\x1b", "") for v in row) for row in rows]
    assert [tuple(c.text for c in r.cells) for r in table.rows] == [head, *clean]
    first = [c._tc for c in table.rows[1].cells]
    for row in table.rows[2:]:  # every later row made as the first: cell and run properties alike
        for tc, model in zip((c._tc for c in row.cells), first, strict=True):
            assert tc.tcPr is not None and model.tcPr is not None and tc.tcPr.xml == model.tcPr.xml
            run, model_run = tc.p_lst[0].r_lst[0].rPr, model.p_lst[0].r_lst[0].rPr
            assert run is not None and model_run is not None and run.xml == model_run.xml
    assert document.paragraphs[-1].text == "表后正文。"                          # the text goes on after it
    printed = flat("".join(pages(to_pdf(path), raw=True)))
    # every row printed, in order (a title may wrap: its first characters follow its number)
    at = [printed.index(flat(f"问题{n}{title}")[:len(f"问题{n}") + 3]) for n, (_, title, *_) in enumerate(clean, 1)]
    assert at == sorted(at)
    words = ("A&B <公司> \"引号\"", "前有空格", "甲乙", "第一行第二行", "控制字符", "]]>结尾")
    assert all(flat(t) in printed for t in words)


def test_paragraphs_written_into_the_file_keep_their_place_and_their_look(tmp_path: Path) -> None:
    """Paragraphs are written from their role's model: among headings, tables and
    paragraphs of other roles (a first of its kind, a line with a break) each stands where
    it was given, looking as the first of its kind."""
    from docx import Document

    from rectify_core.documents.docx import write_docx
    from rectify_core.documents.report import Para

    paras = [Para("title", "顺序测试"), Para("h1", "一、第一部分")]
    for n in range(1, 61):
        paras.append(Para("h2" if n % 10 == 1 else "body", f"第{n}段：A&B <正文> 文字"))
        if n % 20 == 0:
            paras.append(Para("table", "", (("序号", "问题"), (str(n), f"表中{n}"), (str(n + 1), f"表中{n + 1}"))))
        if n % 25 == 0:
            paras.append(Para("body", f"第{n}段之后\n换行的一段"))
    paras.append(Para("signature", "巡察整改工作办公室"))
    path = tmp_path / "顺序.docx"
    write_docx(paras, path)
    document = Document(str(path))
    body = [p.text for p in document.paragraphs if p.text]
    assert body == [p.text for p in paras if p.role != "table"]                    # every paragraph, in order
    model = next(p for p in document.paragraphs if p.text.startswith("第2段："))
    bodies = [p for p in document.paragraphs if "段：" in p.text and int(p.text[1:p.text.index("段")]) % 10 != 1]
    assert len(bodies) == 54 and all(_xml(p._p.pPr) == _xml(model._p.pPr) and
                                     _xml(p.runs[0]._r.rPr) == _xml(model.runs[0]._r.rPr) for p in bodies)
    kinds = [child.tag.rsplit("}", 1)[1] for child in document.element.body]
    assert kinds.count("tbl") == 3 and "later" not in kinds                       # no marker left behind
    printed = flat("".join(pages(to_pdf(path), raw=True)))
    at = [printed.index(flat(t)) for t in ("第19段", "第20段", "表中20", "第21段", "第25段之后", "第26段", "第60段")]
    assert at == sorted(at)


def _xml(element: Any) -> str:
    return "" if element is None else str(element.xml)
