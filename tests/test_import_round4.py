"""Importers, round four: formula cells saved without their values are named (never read
as empty), and the same file once opened and saved reads whole; UTF-16 text (Excel's
"Unicode 文本") and tab- or semicolon-separated tables are read as tables; a PDF is named."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

HEAD = ["序号", "问题", "责任领导", "责任人", "整改时限", "完成情况"]
SOFFICE = shutil.which("soffice")


def _formula_book(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEAD)
    sheet.append([1, "政府采购制度执行不到位", "胡志云", "周敏", "=DATE(2027,3,31)", '=IF(1>0,"已完成","未完成")'])
    sheet.append([2, "行政执法案卷质量不高", "胡志云", "王芳", "2027-06-30", "未完成"])
    book.save(path)  # openpyxl writes formulas without values, as programs do
    return path


def test_formulas_without_saved_values_are_named_not_read_as_empty(cli: Any, db_url: str, tmp_path: Path) -> None:
    book = _formula_book(tmp_path / "台账.xlsx")
    refused = cli(["--db", db_url, "import", str(book), "--unit", "测试局"])
    assert refused.code != 0 and "Traceback" not in refused.err
    assert "第2行“整改时限”列" in refused.err and "第2行“完成情况”列" in refused.err
    assert "打开该文件、保存后再导入" in refused.err and "第3行" not in refused.err
    assert cli(["--db", db_url, "items", "--json"]).json() == []           # nothing written
    if SOFFICE is None:
        return
    resaved = tmp_path / "resaved"
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--convert-to",
                    "xlsx", "--outdir", str(resaved), str(book)], check=True, capture_output=True, timeout=180)
    done = cli(["--db", db_url, "import", str(resaved / "台账.xlsx"), "--unit", "测试局"])
    assert done.code == 0, done.err
    first = next(r for r in cli(["--db", db_url, "items", "--json"]).json() if r["no"] == 1)
    assert (first["deadline"], first["status"]) == ("2027-03-31", "已完成")


@pytest.mark.parametrize("encoding,delimiter", [("utf-16", "\t"), ("utf-8", "\t"), ("utf-8", ";"),
                                                ("utf-16-be", ","), ("utf-32", "\t")])
def test_other_table_text_is_read_as_a_table(cli: Any, db_url: str, tmp_path: Path, encoding: str,
                                             delimiter: str) -> None:
    rows = [HEAD, ["1", "政府采购制度执行不到位", "胡志云", "周敏", "2027-03-31", "未完成"],
            ["2", "行政执法案卷质量不高", "胡志云", "王芳", "2027-06-30", "已完成"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # with its byte-order mark, as Windows writes it
    path = tmp_path / "台账.csv"
    path.write_bytes(data)
    done = cli(["--db", db_url, "import", str(path), "--unit", "测试局"])
    assert done.code == 0, done.err
    got = sorted((r["no"], r["title"], r["status"]) for r in cli(["--db", db_url, "items", "--json"]).json())
    assert got == [(1, "政府采购制度执行不到位", "未完成"), (2, "行政执法案卷质量不高", "已完成")]


def test_a_broken_utf16_file_and_a_pdf_are_refused_saying_what_to_do(cli: Any, sqlite_url: str,
                                                                     tmp_path: Path) -> None:
    broken = tmp_path / "台账.txt"
    broken.write_bytes(b"\xff\xfe" + "序号\t问题\n".encode("utf-16-le") + b"\x00\xd8\x41")  # a lone surrogate, cut
    refused = cli(["--db", sqlite_url, "import", str(broken)])
    assert refused.code != 0 and "UTF-16" in refused.err and "Traceback" not in refused.err
    pdf = tmp_path / "整改进展情况.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    refused = cli(["--db", sqlite_url, "import", str(pdf)])
    assert refused.code != 0 and "PDF" in refused.err and "Traceback" not in refused.err


def _weekly_book(path: Path, weeks: list[tuple[str, str, str]]) -> Path:
    """A workbook keeping each week's 台账 as a sheet: (sheet, 填报日期, item 1's status)."""
    book = Workbook()
    first = book.active
    assert first is not None
    for n, (name, day, status) in enumerate(weeks):
        sheet = first if n == 0 else book.create_sheet(name)
        sheet.title = name
        sheet.append(["区交通运输局党组巡察反馈问题整改台账"])
        sheet.append([f"填报日期：{day}"])
        sheet.append(HEAD)
        sheet.append([1, "政府采购制度执行不到位", "胡志云", "周敏", "2027-03-31", status])
        sheet.append([2, "行政执法案卷质量不高", "胡志云", "王芳", "2027-06-30", "未完成"])
    book.save(path)
    return path


def test_a_workbook_of_weeks_takes_the_latest_whatever_the_sheet_order(cli: Any, db_url: str,
                                                                        tmp_path: Path) -> None:
    newest_first = [("11月第2周", "2026年11月13日", "已完成"), ("11月第1周", "2026年11月6日", "未完成")]
    done = cli(["--db", db_url, "import", str(_weekly_book(tmp_path / "周报.xlsx", newest_first))])
    assert done.code == 0, done.err
    assert "11月第1周（同一台账的较早版本" in done.out + done.err
    items = {r["no"]: r for r in cli(["--db", db_url, "items", "--json"]).json()}
    assert len(items) == 2 and items[1]["status"] == "已完成"                    # never reopened by the older
    same_day = [("甲", "2026年11月13日", "已完成"), ("乙", "2026年11月13日", "未完成")]
    refused = cli(["--db", db_url, "import", str(_weekly_book(tmp_path / "同日.xlsx", same_day))])
    assert refused.code != 0 and "无法判断哪个最新" in refused.err and "Traceback" not in refused.err


@pytest.mark.parametrize("column", ["巡察反馈问题", "巡察发现问题", "审计发现问题", "问题表现", "具体问题",
                                    "存在的问题"])
def test_the_problem_column_is_found_by_its_head_noun(cli: Any, sqlite_url: str, tmp_path: Path,
                                                      column: str) -> None:
    path = tmp_path / "台账.csv"
    path.write_text(f"序号,问题类别,{column},责任人,整改时限,完成情况\n"
                    "1,作风建设,公务接待不规范,周敏,2027-03-31,部分整改\n", encoding="utf-8")
    done = cli(["--db", sqlite_url, "import", str(path), "--unit", "测试局"])
    assert done.code == 0, done.err
    [item] = cli(["--db", sqlite_url, "items", "--json"]).json()
    assert (item["title"], item["status"]) == ("公务接待不规范", "阶段性完成")


def test_without_a_ledger_sheet_the_error_names_the_sheet_that_looked_like_one(cli: Any, sqlite_url: str,
                                                                              tmp_path: Path) -> None:
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["请按要求填写"])
    sheet = book.create_sheet("整改台账")
    sheet.append(["序号", "整改措施", "责任领导", "责任人", "整改时限"])                  # no problem column
    sheet.append([1, "清查", "胡志云", "周敏", "2027-03-31"])
    book.save(tmp_path / "台账.xlsx")
    refused = cli(["--db", sqlite_url, "import", str(tmp_path / "台账.xlsx")])
    assert refused.code != 0 and "工作表“整改台账”" in refused.err and "填表说明" not in refused.err


def test_one_problem_over_several_rows_is_one_item_with_a_measure_each(cli: Any, db_url: str,
                                                                        tmp_path: Path) -> None:
    """序号 and 问题 merged down over a row per measure, each with its own 时限 and 完成情况:
    one item, the latest deadline, the weakest status, each measure dated by its row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["序号", "问题", "整改措施", "责任人", "整改时限", "完成情况"])
    sheet.append([1, "政府采购制度执行不到位", "清查采购项目", "周敏", "2026-12-31", "已完成"])
    sheet.append([None, None, "修订采购办法", "周敏", "2027-03-31", "正在整改"])
    sheet.append([None, None, "开展专题培训", "周敏", "2027-02-28", "已完成"])
    sheet.append([2, "行政执法案卷质量不高", "评查案卷", "王芳", "2027-06-30", "未完成"])
    sheet.merge_cells("A2:A4")
    sheet.merge_cells("B2:B4")
    book.save(tmp_path / "台账.xlsx")
    done = cli(["--db", db_url, "import", str(tmp_path / "台账.xlsx"), "--unit", "测试局"])
    assert done.code == 0, done.err
    items = {r["no"]: r for r in cli(["--db", db_url, "items", "--json"]).json()}
    assert sorted(items) == [1, 2]
    first = items[1]
    assert (first["deadline"], first["status"]) == ("2027-03-31", "未完成")
    assert [(m["date"], m["text"]) for m in first["measures"]] == [
        ("2026-12", "清查采购项目"), ("2027-03", "修订采购办法"), ("2027-02", "开展专题培训")]


REPORT = """2024年9月6日至11月20日，区委第三巡察组对区测试局党组开展了巡察。
2025年1月7日，巡察组向区测试局党组反馈了巡察意见。
一、组织整改落实情况
截至2025年6月30日，巡察反馈的{count}个问题，已整改完成1个，阶段性完成整改1个。
二、集中整改期内整改进展情况
（一）关于作风建设方面
{first}政府采购制度执行不到位
整改情况：
{a}清查追回违规款项54410元。
{b}修订完善采购管理办法。
完成情况：已完成
{second}公务接待不规范
整改情况：
{a}规范接待清单。
{b}开展专项检查。
完成情况：阶段性完成
"""


@pytest.mark.parametrize("first,second,a,b", [("（1）", "（2）", "①", "②"), ("1.", "2.", "（1）", "（2）"),
                                              ("问题1：", "问题2：", "1.", "2.")])
def test_sub_points_under_a_label_stay_with_their_problem(cli: Any, sqlite_url: str, tmp_path: Path,
                                                         first: str, second: str, a: str, b: str) -> None:
    path = tmp_path / "进展.txt"
    path.write_text(REPORT.format(count=2, first=first, second=second, a=a, b=b), encoding="utf-8")
    done = cli(["--db", sqlite_url, "import", str(path)])
    assert done.code == 0, done.err
    assert "读出" not in done.out + done.err
    items = sorted((r["no"], r["title"], r["status"]) for r in cli(["--db", sqlite_url, "items", "--json"]).json())
    assert items == [(1, "政府采购制度执行不到位", "已完成"), (2, "公务接待不规范", "阶段性完成")]


def test_a_count_that_disagrees_with_the_documents_own_summary_is_said_at_import(cli: Any, sqlite_url: str,
                                                                                tmp_path: Path) -> None:
    path = tmp_path / "进展.txt"
    path.write_text(REPORT.format(count=3, first="（1）", second="（2）", a="一是", b="二是"), encoding="utf-8")
    done = cli(["--db", sqlite_url, "import", str(path)])
    assert done.code == 0 and "文件自述反馈问题3个，读出2个" in done.out + done.err, done.out + done.err


def test_no_import_lowers_a_status_without_saying_so(cli: Any, db_url: str, tmp_path: Path) -> None:
    """A status an earlier sheet set (not a person) is not lowered by a later one either:
    the import keeps it, records the disagreement and says so."""
    rows = [HEAD, ["1", "政府采购制度执行不到位", "胡志云", "周敏", "2027-03-31", "已完成"]]
    for week, status in (("w1", "已完成"), ("w2", "未完成")):
        rows[1][5] = status
        path = tmp_path / week / "台账.csv"
        path.parent.mkdir()
        path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
        done = cli(["--db", db_url, "import", str(path), "--unit", "测试局"])
        assert done.code == 0, done.err
    assert "警告" in done.out and "已完成" in done.out and "未完成" in done.out
    [item] = cli(["--db", db_url, "items", "--json"]).json()
    assert item["status"] == "已完成"


def test_half_width_stops_end_the_preambles_sentences(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    """"开展了巡察.2025年1月7日…反馈": the feedback day is the second date, not the first
    day of the inspection (which became the feedback date and the round's key)."""
    text = REPORT.format(count=2, first="（1）", second="（2）", a="一是", b="二是").replace(
        "开展了巡察。\n2025年1月7日", "开展了巡察.2025年1月7日")
    path = tmp_path / "进展.txt"
    path.write_text(text, encoding="utf-8")
    assert cli(["--db", sqlite_url, "import", str(path)]).code == 0
    [round_] = cli(["--db", sqlite_url, "rounds", "--json"]).json()
    assert round_["feedback_date"] == "2025-01-07", round_


def test_problems_after_the_end_of_the_list_are_never_dropped_silently(cli: Any, sqlite_url: str,
                                                                      tmp_path: Path) -> None:
    """A county 通报 of two units: the second unit's problems after the first unit's closing
    summary were dropped without a word; now the import is refused, naming where."""
    first = REPORT.format(count=2, first="问题1：", second="问题2：", a="一是", b="二是")
    second = ("截至2025年6月30日，巡察反馈的2个问题已整改完成1个，阶段性完成整改1个。\n区审计局党组\n"
              "问题1：审计整改跟踪不到位\n整改情况：已建立台账。\n完成情况：已完成\n")
    path = tmp_path / "通报.txt"
    path.write_text(first + second, encoding="utf-8")
    refused = cli(["--db", sqlite_url, "import", str(path)])
    assert refused.code != 0 and "又出现编号的问题“问题1：审计整改跟踪不到位”" in refused.err, refused.err
    assert cli(["--db", sqlite_url, "items", "--json"]).json() == []


def test_the_audit_compares_only_what_a_report_says_it_lists(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    """"已完成的不再逐项列出": the total and the done are not in the text, so they are not
    compared; what it lists is (and the import does not warn of the count)."""
    text = REPORT.format(count=5, first="（1）", second="（2）", a="一是", b="二是").replace(
        "已整改完成1个，阶段性完成整改1个。", "已整改完成4个，阶段性完成整改1个，已完成的不再逐项列出。").replace(
        "完成情况：已完成", "完成情况：阶段性完成", 1)
    text = text.replace("阶段性完成整改1个", "阶段性完成整改2个")
    path = tmp_path / "进展.txt"
    path.write_text(text, encoding="utf-8")
    done = cli(["--db", sqlite_url, "import", str(path)])
    assert done.code == 0 and "读出" not in done.out + done.err, done.out + done.err
    audit = cli(["--db", sqlite_url, "audit", str(path), "--json"])
    kinds = {f["kind"] for f in audit.json()["findings"]}
    assert not kinds & {"count_items", "count_done", "count_rate"}, kinds
