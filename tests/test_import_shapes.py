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
