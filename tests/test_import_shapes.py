"""The rest of what offices publish (issue 21): statuses in brackets, summaries worded as
items are, and the other shapes of reports and ledgers. Each fixture is written by the
test itself and round-trips: a second import changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rectify_core.importers import read_ledger
from rectify_core.importers.audit import audit_ledger


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def round_trips(cli: Any, db_url: str, path: Path) -> None:
    """Imported once, then again: the second import changes nothing."""
    assert cli(["--db", db_url, "import", str(path)]).code == 0
    again = cli(["--db", db_url, "import", str(path), "--json"])
    assert again.code == 0 and again.json()["batch"] is None, again.out


BRACKETS = """中共某县某局党组关于巡察整改进展情况的报告
2025年7月1日，县委第一巡察组向某县某局党组反馈了巡察意见。现将整改情况报告如下。
截至目前，反馈的5个问题已整改到位3个、持续整改1个、长期坚持1个。
一、党的建设方面
1.理论学习不深入（已完成）
整改措施：健全学习制度。
2.组织生活不规范【已完成】
整改措施：规范三会一课。
3.党建责任落实不到位[已整改到位]
整改措施：签订责任书。
二、作风建设方面
4.文山会海问题突出（持续整改）
整改措施：精简会议文件。
5.调查研究不够（长期坚持）
整改措施：建立调研制度。
"""


def test_a_status_in_brackets_after_the_title(cli: Any, db_url: str, tmp_path: Path) -> None:
    ledger = read_ledger(write(tmp_path, "括号状态.txt", BRACKETS))
    assert [(i.title, i.status) for i in ledger.items] == [
        ("理论学习不深入", "done"), ("组织生活不规范", "done"), ("党建责任落实不到位", "done"),
        ("文山会海问题突出", "ongoing"), ("调查研究不够", "ongoing")]
    assert [i.status_text for i in ledger.items][3:] == ["持续整改", "长期坚持"]
    audit = audit_ledger(ledger)
    assert not [f for f in audit.findings if f["kind"].startswith("count_")], audit.findings  # consistent
    assert (audit.claims["done"], audit.claims["ongoing"]) == (3, 1 + 1)
    round_trips(cli, db_url, tmp_path / "括号状态.txt")


def test_a_title_keeps_a_bracket_that_is_not_a_status(tmp_path: Path) -> None:
    text = BRACKETS.replace("1.理论学习不深入（已完成）", "1.理论学习不深入（第一议题制度）\n完成情况：已完成")
    item = read_ledger(write(tmp_path, "r.txt", text)).items[0]
    assert (item.title, item.status) == ("理论学习不深入（第一议题制度）", "done")


@pytest.mark.parametrize("summary, finding", [
    # "正在整改" where the items say 持续整改/长期坚持: nothing not yet done is miscounted
    ("截至目前，反馈的5个问题已完成3个，正在整改2个。", False),
    ("截至目前，反馈的5个问题已完成3个，持续整改1个，长期坚持1个。", False),
    ("截至目前，反馈的5个问题已完成4个，正在整改1个。", True),
])
def test_the_summary_is_read_with_the_items_own_words(tmp_path: Path, summary: str, finding: bool) -> None:
    text = BRACKETS.replace("截至目前，反馈的5个问题已整改到位3个、持续整改1个、长期坚持1个。", summary)
    audit = audit_ledger(read_ledger(write(tmp_path, "r.txt", text)))
    counts = [f for f in audit.findings if f["kind"].startswith("count_")]
    assert bool(counts) == finding, counts


OTHER_NUMBERING = """中共某县某局党组关于巡察整改进展情况的报告
2025年7月1日，县委第一巡察组向某县某局党组反馈了巡察意见。现将整改情况报告如下。
一、落实全面从严治党方面的问题
1、廉政风险排查不全面
整改措施：开展风险排查。
完成情况：已完成
2、警示教育不经常
整改措施：每季度开展警示教育。
完成情况：整改中
二、选人用人方面的问题
①干部档案管理不规范
整改措施：专项审核档案。
完成情况：已完成
②轮岗交流不到位
整改措施：制定轮岗计划。
完成情况：持续整改
三、作风建设方面的问题
第一，会议文件过多。整改措施：精简会议。目前已完成整改。
第二，调查研究不深入。整改措施：建立调研制度，现正在整改。
"""


def test_other_numbering_and_prose_items(cli: Any, db_url: str, tmp_path: Path) -> None:
    ledger = read_ledger(write(tmp_path, "编号.txt", OTHER_NUMBERING))
    assert [(i.no, i.aspect_no, i.title, i.status) for i in ledger.items] == [
        (1, 1, "廉政风险排查不全面", "done"), (2, 1, "警示教育不经常", "open"),
        (3, 2, "干部档案管理不规范", "done"), (4, 2, "轮岗交流不到位", "ongoing"),
        (5, 3, "会议文件过多", "done"), (6, 3, "调查研究不深入", "open")]
    assert [a.title for a in ledger.aspects] == ["落实全面从严治党方面的问题", "选人用人方面的问题",
                                                 "作风建设方面的问题"]
    round_trips(cli, db_url, tmp_path / "编号.txt")


DEADLINE_WORDS = """2025年区委巡察反馈问题整改台账
填报单位：某县某局党组（盖章） 填报日期：2025年11月20日
序号,问题,责任领导,责任人,整改时限,完成情况
1,会议文件过多,张华,刘洋,第三季度,未完成
2,调研不深入,张华,刘洋,年底前,未完成
3,制度执行不严,张华,刘洋,即日起,整改中
4,作风问题反弹,张华,刘洋,2025年12月底前完成并长期坚持,整改中
5,学习不深入,张华,刘洋,上半年,已完成
"""


def test_deadline_words_take_the_files_year_and_say_so(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "时限.csv", DEADLINE_WORDS)
    items = {i.no: i for i in read_ledger(path).items}
    assert (items[1].deadline_kind, str(items[1].deadline)) == ("dated", "2025-09-30")
    assert str(items[2].deadline) == "2025-12-31" and str(items[5].deadline) == "2025-06-30"
    assert (items[3].deadline_kind, items[3].deadline, items[3].immediate) == ("long_term", None, True)
    assert (items[4].deadline_kind, str(items[4].deadline)) == ("long_term", "2025-12-31")
    done = cli(["--db", db_url, "import", str(path)])
    assert done.code == 0, done.err
    assert "问题1的整改时限“第三季度”未写年份，按2025年理解为2025-09-30" in done.out
    round_trips(cli, db_url, path)


def test_a_yearless_deadline_with_no_year_anywhere_is_refused_in_words(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "无年份.csv", "序号,问题,责任人,整改时限,完成情况\n1,会议文件过多,刘洋,第三季度,未完成\n")
    refused = cli(["--db", db_url, "import", str(path)])
    assert refused.code != 0 and "第三季度" in refused.err and "没有写年份" in refused.err and "第2行" in refused.err
    assert cli(["--db", db_url, "rounds", "--json"]).json() == []


PREAMBLE_REPORT = """中共某县交通运输局党组关于巡察整改进展情况的报告
2025年6月10日至7月25日，县委第二巡察组对我局开展了为期45天的政治巡察。9月3日，县委第二巡察组向我局反馈了巡察意见。
一、党的建设方面
（1）理论学习不深入
整改措施：健全学习制度。
完成情况：已完成
中共某县交通运输局党组
2026年3月2日
"""


def test_the_preamble_names_the_inspector_and_a_yearless_feedback_date(cli: Any, db_url: str,
                                                                       tmp_path: Path) -> None:
    path = write(tmp_path, "报告.txt", PREAMBLE_REPORT)
    ledger = read_ledger(path)
    assert (ledger.inspector, ledger.unit) == ("县委第二巡察组", "某县交通运输局党组")
    assert str(ledger.feedback_date) == "2025-09-03"                      # before the report, so last year
    assert ledger.round_name == "县委第二巡察组巡察（2025-09-03反馈）"
    done = cli(["--db", db_url, "import", str(path)])
    assert done.code == 0 and "反馈日期“9月3日”未写年份，按报告日期理解为2025-09-03" in done.out, done.out


def test_a_visit_round_is_named_a_visit_and_a_traditional_copy_is_the_same_round(cli: Any, db_url: str,
                                                                                 tmp_path: Path) -> None:
    import opencc

    visit = (PREAMBLE_REPORT
             .replace("县委第二巡察组对我局开展了为期45天的政治巡察", "省委第三巡视组对我局开展了专项巡视")
             .replace("县委第二巡察组向我局反馈了巡察意见", "省委第三巡视组向我局反馈了巡视意见"))
    ledger = read_ledger(write(tmp_path, "巡视.txt", visit))
    assert ledger.inspector == "省委第三巡视组" and ledger.round_name.startswith("省委第三巡视组巡视")
    first = cli(["--db", db_url, "import", str(tmp_path / "巡视.txt"), "--json"]).json()
    traditional = write(tmp_path, "巡視（繁體）.txt", opencc.OpenCC("s2t").convert(visit))
    second = cli(["--db", db_url, "import", str(traditional), "--json"])
    assert second.code == 0, second.err
    assert second.json()["round_id"] == first["round_id"] and not second.json()["round_created"]


def test_copied_page_text_ends_the_last_item_at_the_site_footer(cli: Any, db_url: str, tmp_path: Path) -> None:
    page = (PREAMBLE_REPORT.replace("中共某县交通运输局党组\n2026年3月2日\n", "")
            + "分享到：微信 微博\n【打印本页】【关闭窗口】\n版权所有：某县人民政府办公室 主办单位：某县人民政府\n"
              "网站标识码：1234567890 备案号：某ICP备12345678号\n")
    ledger = read_ledger(write(tmp_path, "网页.txt", page))
    last = ledger.items[-1]
    assert (last.status, last.status_text) == ("done", "已完成")
    assert not any("ICP" in (i.status_text + (i.measures_text or "")) for i in ledger.items)
    round_trips(cli, db_url, tmp_path / "网页.txt")


def word_report(path: Path, categories: bool, two_level: bool = False) -> Path:
    """A Word report whose problems are in a table, the round's facts in the text around it."""
    from docx import Document

    doc = Document()
    doc.add_paragraph("中共某县交通运输局党组关于巡察整改情况的报告")
    doc.add_paragraph("2025年6月10日至7月25日，县委第二巡察组对某县交通运输局党组开展了巡察。"
                      "2025年8月20日，县委第二巡察组向某县交通运输局党组反馈了巡察意见。")
    doc.add_paragraph("党组书记陈学文同志切实履行第一责任人职责。")
    doc.add_paragraph("截至目前，反馈的3个问题已完成整改2个，正在整改1个。")
    rows = [("1", "理论学习不深入", "健全学习制度", "办公室", "2025年10月底", "已完成"),
            ("2", "组织生活不规范", "规范三会一课", "机关党委", "2025年11月底", "已完成"),
            ("3", "公务用车管理不规范", "清理车辆", "办公室", "2025年12月底", "整改中")]
    header = ["序号", "问题", "整改措施", "责任单位", "完成时限", "完成情况"]
    table = doc.add_table(rows=0, cols=6)
    if two_level:
        top = table.add_row().cells
        for c, text in enumerate(["序号", "问题", "整改措施", "责任主体", "整改时限", "整改情况"]):
            top[c].text = text
        below = table.add_row().cells
        for c, text in enumerate(["", "", "", "责任单位", "", "完成情况"]):
            below[c].text = text
        top[0].merge(below[0])
        top[1].merge(below[1])
    else:
        for c, text in enumerate(header):
            table.add_row() if c == 0 else None
            table.rows[-1].cells[c].text = text
    for n, row in enumerate(rows):
        if categories and n in (0, 2):
            cells = table.add_row().cells
            merged = cells[0].merge(cells[5])
            merged.text = "一、党的建设方面" if n == 0 else "二、作风建设方面"
        cells = table.add_row().cells
        for c, text in enumerate(row):
            cells[c].text = text
    doc.add_paragraph("中共某县交通运输局党组")
    doc.add_paragraph("2026年1月5日")
    doc.save(str(path))
    return path


@pytest.mark.parametrize("categories, two_level", [(False, False), (True, False), (True, True)],
                         ids=["plain", "category-rows", "two-level-header"])
def test_a_word_report_with_its_problems_in_a_table(cli: Any, db_url: str, tmp_path: Path, categories: bool,
                                                    two_level: bool) -> None:
    path = word_report(tmp_path / "整改报告.docx", categories, two_level)
    ledger = read_ledger(path)
    assert [(i.no, i.title, i.status, i.department) for i in ledger.items] == [
        (1, "理论学习不深入", "done", "办公室"), (2, "组织生活不规范", "done", "机关党委"),
        (3, "公务用车管理不规范", "open", "办公室")]
    assert (ledger.inspector, str(ledger.feedback_date), str(ledger.report_date)) == (
        "县委第二巡察组", "2025-08-20", "2026-01-05")
    assert ledger.unit == "某县交通运输局党组" and ledger.round_name == "县委第二巡察组巡察（2025-08-20反馈）"
    assert ("陈学文", "first_responsible") in ledger.people
    if categories:
        titles = {a.no: a.title for a in ledger.aspects}
        assert [titles[i.aspect_no] for i in ledger.items if i.aspect_no] == [
            "一、党的建设方面", "一、党的建设方面", "二、作风建设方面"]
    audit = audit_ledger(ledger)
    assert not [f for f in audit.findings if f["kind"] in ("no_summary",) or f["kind"].startswith("count_")]
    round_trips(cli, db_url, path)


TWO_LEVEL = """2025年巡察反馈问题整改台账
序号,问题,整改措施,责任主体,,,整改时限,整改情况,
,,,责任领导,责任部门,责任人,,完成情况,完成时间
1,理论学习不深入,健全学习制度,张华,办公室,刘洋,2025年12月31日,已完成,2025年11月20日
2,组织生活不规范,规范三会一课,张华,机关党委,王芳,2026年3月31日,整改中,
"""


def test_a_two_level_header_is_read_as_one(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "两级表头.csv", TWO_LEVEL)
    first, second = read_ledger(path).items
    assert (first.leader, first.department, first.owner) == ("张华", "办公室", "刘洋")
    assert str(first.deadline) == "2025-12-31"                  # 完成时间 is when it was done, not the deadline
    assert (first.status, first.measures_text) == ("done", "健全学习制度")  # 整改情况 is the status's parent
    assert first.extra == {"完成时间": "2025年11月20日"} and second.status == "open"
    round_trips(cli, db_url, path)


ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>关于巡察整改进展情况的通报</title>
<script>var x = "问题1：不是问题";</script><style>.a{}</style></head><body>
<div class="header"><a href="/">首页</a> <a href="/xxgk">信息公开</a></div>
<div class="nav"><ul><li>机构概况</li><li>政务公开</li></ul></div>
<div class="breadcrumb">当前位置：首页 &gt; 巡察整改</div>
<div class="TRS_Editor">
<p>中共某县交通运输局党组关于巡察整改进展情况的通报</p>
<p>2025年6月10日至7月25日，县委第二巡察组对某县交通运输局党组开展了巡察。2025年8月20日，县委第二巡察组向某县交通运输局党组反馈了巡察意见。</p>
<p>一、党的建设方面</p>
<p>（1）理论学习不深入</p><p>整改措施：健全学习制度。</p><p>完成情况：已完成</p>
<p>（2）组织生活不规范</p><p>整改措施：规范三会一课。<br>完成情况：整改中</p>
</div>
<div class="share">分享到：微信 微博</div>
<div class="footer"><p>版权所有：某县人民政府 网站标识码：1234567890 某ICP备12345678号</p></div>
</body></html>"""

OA_TABLE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>
<table border="1">
<tr><td colspan="6">某县交通运输局党组巡察反馈问题整改台账</td></tr>
<tr><th>序号</th><th>问题</th><th>整改措施</th><th>责任领导</th><th>责任人</th><th>完成情况</th></tr>
<tr><td colspan="6">一、党的建设方面</td></tr>
<tr><td>1</td><td>理论学习不深入</td><td>健全学习制度</td><td rowspan="2">张华</td><td>刘洋</td><td>已完成</td></tr>
<tr><td>2</td><td>组织生活不规范</td><td>规范三会一课</td><td>王芳</td><td>整改中</td></tr>
<tr><td colspan="6">二、作风建设方面</td></tr>
<tr><td>3</td><td>公务用车管理不规范</td><td>清理车辆</td><td>李强</td><td>周敏</td><td>未完成</td></tr>
</table></body></html>"""


def test_a_saved_web_page_keeps_the_article_and_drops_the_chrome(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "通报.html", ARTICLE)
    ledger = read_ledger(path)
    assert [(i.title, i.status) for i in ledger.items] == [("理论学习不深入", "done"), ("组织生活不规范", "open")]
    assert (ledger.inspector, str(ledger.feedback_date)) == ("县委第二巡察组", "2025-08-20")
    assert not any("ICP" in (i.status_text or "") or "分享" in (i.measures_text or "") for i in ledger.items)
    round_trips(cli, db_url, path)


def test_an_oa_table_saved_as_xls_is_read_as_a_table(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "台账导出.xls"
    path.write_text(OA_TABLE, encoding="utf-8")
    ledger = read_ledger(path)
    assert [(i.no, i.title, i.leader, i.owner, i.status) for i in ledger.items] == [
        (1, "理论学习不深入", "张华", "刘洋", "done"), (2, "组织生活不规范", "张华", "王芳", "open"),
        (3, "公务用车管理不规范", "李强", "周敏", "open")]
    titles = {a.no: a.title for a in ledger.aspects}
    assert [titles[i.aspect_no] for i in ledger.items if i.aspect_no] == ["一、党的建设方面"] * 2 + ["二、作风建设方面"]
    assert ledger.unit == "某县交通运输局党组"
    round_trips(cli, db_url, path)


SOFFICE = __import__("shutil").which("soffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed (.ci/run installs it)")
def test_a_legacy_xls_is_read_and_a_legacy_doc_is_refused_in_words(cli: Any, db_url: str, tmp_path: Path) -> None:
    import subprocess

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["某县某局党组巡察整改台账"])
    sheet.append(["序号", "问题", "责任领导", "责任人", "整改时限", "完成情况"])
    sheet.append([1, "理论学习不深入", "张华", "刘洋", "2025年12月31日", "已完成"])
    sheet.append([2, "组织生活不规范", "张华", "王芳", "2026年3月31日", "整改中"])
    book.save(tmp_path / "旧台账.xlsx")
    word = word_report(tmp_path / "旧报告.docx", categories=False)
    for source, target in ((tmp_path / "旧台账.xlsx", "xls"), (word, "doc")):
        subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--convert-to",
                        target, "--outdir", str(tmp_path / "old"), str(source)], check=True, capture_output=True,
                       timeout=180)
    xls = tmp_path / "old" / "旧台账.xls"
    assert xls.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"                  # a real BIFF file
    items = read_ledger(xls).items
    assert [(i.no, i.title, str(i.deadline), i.status) for i in items] == [
        (1, "理论学习不深入", "2025-12-31", "done"), (2, "组织生活不规范", "2026-03-31", "open")]
    round_trips(cli, db_url, xls)
    refused = cli(["--db", db_url, "import", str(tmp_path / "old" / "旧报告.doc")])
    assert refused.code != 0 and "另存为 .docx 或 .xlsx" in refused.err and "Traceback" not in refused.err
