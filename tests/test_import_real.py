"""Importers against the layouts offices really publish. Every fixture is written here
(no published document is copied into the repository); each class of layout from the
field has its own test, and every fixture imports twice with nothing changed the
second time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rectify_core.deadlines.datetext import DateTextError, parse_deadline
from rectify_core.errors import InputError
from rectify_core.importers import read_ledger
from rectify_core.importers.audit import audit_ledger
from rectify_core.importers.parsed import ParsedLedger

HEADER = "序号,问题类别,存在问题,整改措施,责任领导,责任部门,责任人,整改时限,完成情况,备注"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(tmp_path: Path, name: str, text: str) -> ParsedLedger:
    return read_ledger(write(tmp_path, name, text))


# --- ledgers ---------------------------------------------------------------------------

def test_ledger_dates_in_every_written_form(tmp_path: Path) -> None:
    rows = ["某县文旅局巡察整改台账", HEADER,
            "1,作风建设,差旅费报销不规范,清退,张建国,财务股,李娜,2026/12/31,未完成,",
            "2,作风建设,公车使用登记不全,补登,张建国,办公室,李娜,2026.10.31,未完成,",
            "3,作风建设,会议费超标,清退,张建国,财务股,李娜,2026-09-30,未完成,",
            "4,作风建设,接待无公函,整改,张建国,办公室,李娜,20261130,未完成,",
            "5,作风建设,资产账实不符,盘点,张建国,财务股,李娜,46022,未完成,",
            "6,作风建设,制度不健全,修订,张建国,办公室,李娜,2026年11月底前,未完成,"]
    ledger = read(tmp_path, "dates.csv", "\n".join(rows) + "\n")
    assert [i.deadline for i in ledger.items] == [
        dt.date(2026, 12, 31), dt.date(2026, 10, 31), dt.date(2026, 9, 30), dt.date(2026, 11, 30),
        dt.date(2025, 12, 31), dt.date(2026, 11, 30)]


def test_an_impossible_ledger_date_names_the_cell(tmp_path: Path) -> None:
    rows = ["台账", HEADER, "1,作风,问题甲,措施,张建国,办公室,李娜,2026/2/30,未完成,"]
    path = write(tmp_path, "bad.csv", "\n".join(rows))
    with pytest.raises(InputError) as exc:
        read_ledger(path)
    assert "第3行“整改时限”列" in str(exc.value) and "2026/2/30" in str(exc.value)


def test_rows_under_the_table_end_it(tmp_path: Path) -> None:
    rows = ["某县文旅局巡察整改台账", HEADER,
            "1,作风建设,差旅费报销不规范,清退,张建国,财务股,李娜,2026年12月31日,未完成,",
            ",,,,,,,,,",
            "2,作风建设,公车使用登记不全,补登,张建国,办公室,李娜,2026年12月31日,已完成,",
            ",,,,,,,,,",
            "注：完成情况按“已完成、阶段性完成、未完成”填写,,,,,,,,,",
            "填表人：王小红,,,联系电话：0737-1234567,,,,,,"]
    ledger = read(tmp_path, "footer.csv", "\n".join(rows) + "\n")
    assert [i.no for i in ledger.items] == [1, 2]


def test_extra_columns_are_kept_and_text_is_stored_as_written(tmp_path: Path) -> None:
    rows = ["某县水利局巡察整改台账", HEADER,
            "1,河湖管理,落实“河长制”“田长制”不到位（履职不力）,召开专题会议；建立台账,张建国,河湖股,李娜,"
            "2026年12月31日,正在整改,已报县河长办"]
    item = read(tmp_path, "extra.csv", "\n".join(rows) + "\n").items[0]
    assert item.title == "落实“河长制”“田长制”不到位（履职不力）"
    assert item.measures_text == "召开专题会议；建立台账"
    assert item.extra == {"备注": "已报县河长办"}


def _xlsx(tmp_path: Path, merged_category: bool = True) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["某县卫健局巡察整改台账"])
    sheet.merge_cells("A1:J1")
    sheet.append(["填报单位：某县卫生健康局党组（盖章）", None, None, None, "填报日期：2026年11月20日"])
    sheet.append(HEADER.split(","))
    categories = ["党的建设"] * 3 + ["财务管理"] * 2
    for n in range(1, 6):
        sheet.append([n, categories[n - 1] if n in (1, 4) or not merged_category else None, f"问题{n}的描述",
                      "措施", "张建国", "办公室", "李娜", dt.datetime(2026, 12, 31), "未完成", None])
    if merged_category:
        sheet.merge_cells("B4:B6")
        sheet.merge_cells("B7:B8")
    sheet.append(["注：本表每月报送一次"])
    out = tmp_path / "merged.xlsx"
    book.save(out)
    return out


def test_merged_category_cells_reach_every_row(tmp_path: Path) -> None:
    ledger = read_ledger(_xlsx(tmp_path))
    titles = {h.no: h.title for h in ledger.aspects}
    assert [titles[i.aspect_no] for i in ledger.items if i.aspect_no] == ["党的建设"] * 3 + ["财务管理"] * 2
    assert (ledger.unit, ledger.report_date) == ("某县卫生健康局党组", dt.date(2026, 11, 20))
    assert ledger.round_name == "某县卫健局巡察整改台账"


# --- reports ---------------------------------------------------------------------------

PREAMBLE = ("根据市委统一部署，2025年3月10日至5月20日，市委第二巡察组对区某局党组进行了巡察。"
            "2025年6月18日，市委常委、市纪委书记张某同志带队向区某局党组反馈了巡察意见。")

TWO_PART = f"""中共区某局党组关于巡察整改进展情况的通报
{PREAMBLE}现将整改进展情况通报如下。
一、提高政治站位，强化整改责任
（一）加强组织领导。成立整改工作领导小组，由局党组书记、局长王某某同志担任组长，认真履行第一责任人责任。
（二）细化整改措施。截至2026年2月28日，巡察反馈的2个方面4个问题，已完成整改2个，基本完成取得阶段性成果并持续整改问题2个。
二、问题整改情况
（一）关于“学习贯彻党的创新理论不深入”方面
（1）落实立德树人根本任务。一是2025年7月修订学习制度。二是2025年8月开展专题培训。
完成情况：已完成
（2）理论学习流于形式。
整改措施：2025年9月起实行学习考勤。
责任领导：王某某
整改时限：2025年12月31日
完成情况：基本完成取得阶段性成果并持续整改
（二）关于“落实全面从严治党责任不到位”方面
（3）“三重一大”制度执行不严。
整改措施：2025年7月修订议事规则。
完成情况：已完成
（4）廉政风险排查不全面。
整改措施：2025年10月开展排查。
完成情况：阶段性完成
截至2026年2月28日，巡察反馈的2个方面4个问题，已完成整改2个，基本完成取得阶段性成果并持续整改问题2个。
中共区某局党组
2026年3月2日
"""


def test_two_part_report(tmp_path: Path) -> None:
    ledger = read(tmp_path, "two-part.txt", TWO_PART)
    assert [a.title for a in ledger.aspects] == ["关于“学习贯彻党的创新理论不深入”方面",
                                                 "关于“落实全面从严治党责任不到位”方面"]
    assert [(i.no, i.status) for i in ledger.items] == [(1, "done"), (2, "ongoing"), (3, "done"), (4, "ongoing")]
    assert ledger.items[3].measures_text == "2025年10月开展排查。"          # the closing summary is not swallowed
    assert ("王某某", "first_responsible") in ledger.people
    assert (ledger.unit, ledger.inspector) == ("区某局党组", "市委第二巡察组")
    assert ledger.feedback_date == dt.date(2025, 6, 18)
    assert ledger.report_date == dt.date(2026, 3, 2)
    audit = audit_ledger(ledger)
    assert audit.claims["aspects"] == 2 and audit.claims["ongoing"] == 2
    assert audit.findings == [] or all(f["kind"] == "missing_measures" for f in audit.findings)


def test_measures_on_the_items_own_line(tmp_path: Path) -> None:
    item = read(tmp_path, "two-part.txt", TWO_PART).items[0]
    assert item.title == "落实立德树人根本任务"
    assert [m.text for m in item.measures] == ["2025年7月修订学习制度。", "2025年8月开展专题培训。"]
    assert [m.date for m in item.measures] == ["2025-07", "2025-08"]


def test_a_summary_mismatch_in_the_new_phrasing_is_reported(tmp_path: Path) -> None:
    # the count sits inside the organisational part, in the 基本完成取得阶段性成果 phrasing
    wrong = TWO_PART.replace("持续整改问题2个。\n二、问题整改情况", "持续整改问题3个。\n二、问题整改情况")
    audit = audit_ledger(read(tmp_path, "wrong.txt", wrong))
    assert [f["message"] for f in audit.findings if f["kind"] == "count_ongoing"] == [
        "摘要称阶段性完成3个，但正文中有2个（问题2、4）"]


@pytest.mark.parametrize("preamble, inspector, unit, feedback", [
    ("2025年4月1日至5月30日，省委第三巡视组对某市某局党组开展了专项巡视。2025年7月2日，省委第三巡视组向某市某局党组反馈了巡视意见。",
     "省委第三巡视组", "某市某局党组", dt.date(2025, 7, 2)),
    ("根据区委部署，区委第一巡察组于2025年3月对区某中心党支部实施了巡察。2025年5月6日，巡察组向区某中心党支部反馈了巡察意见。",
     "区委第一巡察组", "区某中心党支部", dt.date(2025, 5, 6)),
])
def test_preamble_wordings(tmp_path: Path, preamble: str, inspector: str, unit: str, feedback: dt.date) -> None:
    text = f"{preamble}\n一、关于“作风建设”方面\n问题1：会议费超标。\n整改情况：清退。\n完成情况：已完成\n"
    ledger = read(tmp_path, "preamble.txt", text)
    assert (ledger.inspector, ledger.unit, ledger.feedback_date) == (inspector, unit, feedback)
    assert "巡" in ledger.round_name and feedback.isoformat() in ledger.round_name


def test_a_title_fragment_is_not_a_person(tmp_path: Path) -> None:
    text = ("2025年6月18日，巡察组向区某局党组反馈了巡察意见。局党委书记、局长切实履行第一责任人职责。\n"
            "一、关于“作风建设”方面\n问题1：会议费超标。\n整改情况：清退。\n完成情况：已完成\n")
    ledger = read(tmp_path, "fragment.txt", text)
    assert not [n for n, role in ledger.people if role == "first_responsible"]
    assert any(f["kind"] == "not_a_name" for f in audit_ledger(ledger).findings)


def test_traditional_characters(tmp_path: Path) -> None:
    text = ("2025年6月18日，巡察組向區某局黨組反饋了巡察意見。\n一、關於“作風建設”方面\n問題1：會議費超標。\n"
            "整改情況：2025年7月清退。\n整改時限：2025年12月31日\n完成情況：階段性完成\n")
    ledger = read(tmp_path, "trad.txt", text)
    item = ledger.items[0]
    assert (item.status, item.deadline) == ("ongoing", dt.date(2025, 12, 31))
    assert item.title == "會議費超標。" and item.status_text == "階段性完成"   # stored as written


def test_word_report_with_two_parts(tmp_path: Path) -> None:
    from tests.reports import docx_of

    ledger = read_ledger(docx_of(TWO_PART, tmp_path / "two-part.docx"))
    assert len(ledger.items) == 4 and len(ledger.aspects) == 2
    assert ledger.items[0].title == "落实立德树人根本任务"


# --- the round trip: every fixture imports, and again with nothing changed ----------------

FIXTURES = {
    "two-part.txt": TWO_PART,
    "ledger.csv": "\n".join(["某县文旅局巡察整改台账", "填报单位：某县文旅局党组（盖章）,,填报日期：2026年11月20日",
                             HEADER,
                             "1,作风建设,差旅费（含“会议费”）报销不规范,清退,张建国,财务股,李娜,2026/12/31,正在整改,备注甲",
                             "注：本表每月报送"]) + "\n",
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_round_trip(cli: Any, db_url: str, tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, FIXTURES[name])
    first = cli(["--db", db_url, "import", str(path), "--json"])
    assert first.code == 0, first.err
    again = cli(["--db", db_url, "import", str(path), "--json"]).json()
    assert again["created"] == [] and again["updated"] == [] and again["disagreements"] == []
    shown = cli(["--db", db_url, "show", "1"]).out
    if name == "ledger.csv":
        assert "备注：备注甲" in shown and "差旅费（含“会议费”）报销不规范" in shown


def test_merged_xlsx_round_trip(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = _xlsx(tmp_path)
    assert cli(["--db", db_url, "import", str(path)]).code == 0
    again = cli(["--db", db_url, "import", str(path), "--json"]).json()
    assert again["created"] == [] and again["updated"] == []


# --- the date reader ---------------------------------------------------------------------

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
FORMS: list[Callable[[dt.date], str]] = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year}年{d.month}月{d.day}日前",
    lambda d: f"{d.year}／{d.month}／{d.day}",            # full-width, as typed in Word
]


@settings(max_examples=300, deadline=None)
@given(day=days, form=st.sampled_from(range(len(FORMS))))
def test_every_valid_date_reads_back_as_itself(tmp_path_factory: Any, day: dt.date, form: int) -> None:
    from rectify_core.text import normalise

    assert parse_deadline(normalise(FORMS[form](day)), None).date == day


@settings(max_examples=300, deadline=None)
@given(year=st.integers(0, 9999), month=st.integers(0, 99), day=st.integers(0, 99),
       sep=st.sampled_from(["-", "/", ".", "年"]))
def test_impossible_dates_are_errors_never_crashes(year: int, month: int, day: int, sep: str) -> None:
    text = f"{year:04d}{sep}{month}{'月' if sep == '年' else sep}{day}{'日' if sep == '年' else ''}"
    try:
        valid = dt.date(year, month, day)
    except ValueError:
        valid = None
    try:
        read = parse_deadline(text, None).date
    except DateTextError:
        read = None
    assert read == valid



def test_owner_or_leader_that_is_a_title_is_flagged(tmp_path: Path) -> None:
    rows = ["台账", HEADER, "1,作风,问题甲,措施,局长,办公室,李娜,2026年12月31日,未完成,",
            "2,作风,问题乙,措施,张建国,财务股,财务股,2026年12月31日,未完成,"]
    findings = audit_ledger(read(tmp_path, "titles.csv", "\n".join(rows) + "\n")).findings
    # every holder that is not a person is listed: a title, and a department as the owner
    listed = [f["message"].split("（")[0] for f in findings if f["kind"] == "not_a_person"]
    assert listed == ["问题1的责任领导“局长”是职务，不是具体人员", "问题2的责任人“财务股”是部门，不是具体人员"]
