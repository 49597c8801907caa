"""Ledgers (台账) as .xlsx and .csv: header discovery, synonyms, date cells."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from rectify_core.importers import read_ledger
from rectify_core.vocab import DONE, ONGOING, OPEN

HEADER = ["序号", "问题类别", "存在问题", "整改举措", "牵头领导", "责任科室", "具体责任人",
          "完成时限", "整改状态", "佐证材料"]
ROWS = [
    [1, "财务管理", "票据与附件金额不符", "2025年3月组织培训", "胡志云（副局长）", "财务股", "周敏",
     dt.datetime(2025, 8, 31), "已整改", "培训签到表；清查报告"],
    [2, "财务管理", "公务接待不规范", "健全财务制度", "胡志云", "财务股", "周敏",
     "2025年9月底前", "整改中", None],
    [3, "党的建设", "主题党日不扎实", "制定主题党日制度", "陈学文", "机关党委", "孙丽",
     "长期坚持", "持续推进", None],
]


def _xlsx(path: Path, rows: list[list[object]], title: str | None = "区交通运输局党组巡察整改台账") -> Path:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_with_merged_title_and_date_cells(tmp_path: Path) -> None:
    ledger = read_ledger(_xlsx(tmp_path / "ledger.xlsx", ROWS))
    assert ledger.unit == "区交通运输局党组"
    assert ledger.round_name == "区交通运输局党组巡察整改台账"
    items = {i.no: i for i in ledger.items}
    assert items[1].deadline == dt.date(2025, 8, 31) and items[1].deadline_kind == "dated"
    assert items[1].status == DONE and items[1].status_text == "已整改"
    assert items[1].evidence == ["培训签到表", "清查报告"]
    assert (items[1].leader, items[1].leader_title) == ("胡志云", "副局长")
    assert (items[1].department, items[1].owner) == ("财务股", "周敏")
    assert items[2].deadline == dt.date(2025, 9, 30) and items[2].status == OPEN
    assert items[3].deadline_kind == "long_term" and items[3].status == ONGOING
    assert [a.title for a in ledger.aspects] == ["财务管理", "党的建设"]
    assert [i.aspect_no for i in ledger.items] == [1, 1, 2]


def test_xlsx_rows_are_spreadsheet_rows(tmp_path: Path) -> None:
    ledger = read_ledger(_xlsx(tmp_path / "ledger.xlsx", ROWS))
    assert [i.line for i in ledger.items] == [3, 4, 5]


def test_csv_gbk_without_title_row(tmp_path: Path) -> None:
    lines = [",".join([*HEADER[:3], "整改时限", "完成情况"]),
             "1,财务管理,票据与附件金额不符,2025年8月底前,已完成整改",
             "2,财务管理,公务接待不规范,2026年6月30日,正在整改"]
    path = tmp_path / "台账.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    ledger = read_ledger(path)
    assert [(i.no, i.deadline, i.status) for i in ledger.items] == [
        (1, dt.date(2025, 8, 31), DONE), (2, dt.date(2026, 6, 30), OPEN)]
    assert ledger.unit == "台账"


def test_column_synonyms(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("编号,问题描述,整改措施,分管领导,责任处室,责任人,整改期限,整改进展\n"
                    "7,会议过多,精简会议,王五,办公室,张三,2025年10月,已销号\n", encoding="utf-8")
    item = read_ledger(path).items[0]
    assert (item.no, item.title, item.leader, item.department, item.owner) == (
        7, "会议过多", "王五", "办公室", "张三")
    assert (item.deadline, item.status) == (dt.date(2025, 10, 31), DONE)


def test_rows_without_number_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("问题,完成情况\n甲问题,已完成\n\n乙问题,未完成\n", encoding="utf-8")
    assert [(i.no, i.title) for i in read_ledger(path).items] == [(1, "甲问题"), (2, "乙问题")]


def test_items_with_nothing_there_share_one_empty_value_that_cannot_change(tmp_path: Path) -> None:
    """A large ledger's items mostly have no evidence, figures, notes or extra columns:
    one shared empty value each, which refuses a change that would be every item's."""
    ledger = read_ledger(_xlsx(tmp_path / "ledger.xlsx", ROWS))
    second, third = ledger.items[1], ledger.items[2]
    assert second.evidence == [] and second.evidence is third.evidence
    assert second.extra == {} and second.extra is third.extra
    changes: list[Callable[[], object]] = [lambda: second.evidence.append("整改报告"),
                                           lambda: second.notes.extend(["说明"]),
                                           lambda: second.extra.update({"备注": "无"}),
                                           lambda: second.figures.insert(0, {})]
    for change in changes:
        with pytest.raises(TypeError):
            change()
    assert third.evidence == [] and third.notes == [] and third.extra == {} and third.figures == []
    assert ledger.items[0].evidence == ["培训签到表", "清查报告"]


def test_merged_ranges_are_found_as_openpyxl_finds_them(tmp_path: Path) -> None:
    """A sheet's merged ranges, read by scanning its XML after the rows, are the ranges
    openpyxl itself reports (cells merged down and across, single and many)."""
    from openpyxl import load_workbook

    from rectify_core.importers.workbook import _merged_ranges

    book = Workbook()
    sheet = book.active
    for n in range(1, 400):
        sheet.append([n, f"类别{n // 50}", f"问题{n}", "措施", "张三"])
    for top in range(2, 390, 50):
        sheet.merge_cells(start_row=top, start_column=2, end_row=top + 49, end_column=2)
    sheet.merge_cells("D5:E7")
    sheet.merge_cells("A1:E1")
    path = tmp_path / "merged.xlsx"
    book.save(path)
    expected = sorted(r.bounds for r in load_workbook(path).active.merged_cells.ranges)
    assert len(expected) == 10
    assert sorted(_merged_ranges(load_workbook(path, read_only=True).active)) == expected


@pytest.mark.parametrize("block", [7, 50, 1 << 20])
def test_merge_refs_with_a_namespace_prefix_and_tags_cut_between_blocks(block: int) -> None:
    import io

    from rectify_core.importers.workbook import merge_refs

    rows = "".join(f'<x:row r="{n}"><x:c r="A{n}" t="s"><x:v>{n}</x:v></x:c></x:row>' for n in range(1, 60))
    xml = ('<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           f"<x:sheetData>{rows}</x:sheetData><x:mergeCells count=\"3\"><x:mergeCell ref=\"A1:C1\"/>"
           "<x:mergeCell  ref = 'B2:B9' /><x:mergeCell other=\"1\" ref=\"D4:E5\"></x:mergeCell></x:mergeCells>"
           "<x:pageMargins left=\"0.7\"/></x:worksheet>").encode()
    assert merge_refs(io.BytesIO(xml), block) == ["A1:C1", "B2:B9", "D4:E5"]
    assert merge_refs(io.BytesIO(xml.split(b"<x:mergeCells")[0] + b"</x:worksheet>"), block) == []
