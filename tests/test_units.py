"""Many units, one office above them: county workbooks, units as first-class things,
each unit its own voice in digests, accounts for the clerk's pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from rectify_core.delivery.mailsink import MailSink
from tests.fixtures.channels import plain

TITLE = "2026年区委第一轮巡察反馈问题整改台账"
COUNTY = f"""{TITLE}
序号,被巡察单位,问题,责任领导,责任人,整改时限,完成情况,备注
{{rows}}
"""
ROWS_RESTART = """1,区交通运输局党组,政府采购制度执行不到位,胡志云,周敏,2026年11月20日,未完成,
2,区交通运输局党组,行政执法案卷质量不高,胡志云,王芳,2026年12月30日,整改中,已约谈
1,区审计局党组,审计整改跟踪不到位,张华,王芳,2026年11月30日,未完成,
2,区审计局党组,办公室用房超标,张华,刘洋,2026年12月15日,已完成,
3,区审计局党组,公务接待不规范,张华,刘洋,2026年12月31日,未完成,"""
ROWS_CONTINUOUS = ROWS_RESTART.replace("\n1,区审计局", "\n3,区审计局").replace("\n2,区审计局", "\n4,区审计局") \
    .replace("\n3,区审计局党组,公务", "\n5,区审计局党组,公务")


def county_csv(tmp_path: Path, rows: str = ROWS_RESTART, name: str = "全区台账.csv") -> Path:
    path = tmp_path / name
    path.write_text(COUNTY.format(rows=rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("rows", [ROWS_RESTART, ROWS_CONTINUOUS], ids=["restarting", "continuous"])
def test_a_unit_column_splits_the_workbook_into_a_round_per_unit(cli: Any, db_url: str, tmp_path: Path,
                                                                 rows: str) -> None:
    base = ["--db", db_url]
    path = county_csv(tmp_path, rows)
    dry = cli([*base, "import", str(path), "--dry-run"])
    assert dry.code == 0, dry.err
    assert "2 个被巡察单位" in dry.out and "区交通运输局党组" in dry.out and "区审计局党组" in dry.out
    assert cli([*base, "rounds", "--json"]).json() == []                     # a dry run writes nothing
    done = cli([*base, "import", str(path), "--json"])
    assert done.code == 0, done.err
    rounds = {r["unit"]: r for r in done.json()["rounds"]}
    assert {u: len(r["created"]) for u, r in rounds.items()} == {"区交通运输局党组": 2, "区审计局党组": 3}
    listed = cli([*base, "rounds", "--json"]).json()
    assert sorted((r["unit"], r["name"]) for r in listed) == [("区交通运输局党组", TITLE), ("区审计局党组", TITLE)]
    items = cli([*base, "items", "--json"]).json()
    assert sorted((i["unit"], i["title"]) for i in items)[0] == ("区交通运输局党组", "政府采购制度执行不到位")
    assert {i["extra"].get("备注") for i in items if i["title"] == "行政执法案卷质量不高"} == {"已约谈"}
    again = cli([*base, "import", str(path), "--json"]).json()                # a second import changes nothing
    assert all(r["batch"] is None for r in again["rounds"])
    text = cli([*base, "items"]).out
    assert "【区交通运输局党组】" in text and "【区审计局党组】" in text       # two 问题1, told apart
    one = cli([*base, "items", "--unit", "审计局", "--json"]).json()
    assert {i["unit"] for i in one} == {"区审计局党组"} and len(one) == 3
    checked = cli([*base, "check", "--date", "2026-12-01", "--unit", "审计局", "--json"]).json()
    assert checked and {c["unit"] for c in checked} == {"区审计局党组"}
    every = cli([*base, "check", "--date", "2026-12-01"]).out
    assert "区交通运输局党组 问题1" in every and "区审计局党组 问题" in every  # two units: each line names its own


def test_a_workbook_with_a_sheet_per_unit_imports_every_sheet(cli: Any, db_url: str, tmp_path: Path) -> None:
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["请按单位分别填写，每个单位一个工作表。"])
    for sheet_name, unit, titles in (("交通局", "区交通运输局党组", ["采购不规范", "执法不严"]),
                                     ("审计局", "区审计局党组", ["审计整改不到位"])):
        sheet = book.create_sheet(sheet_name)
        sheet.append([f"{unit}巡察反馈问题整改台账"])
        sheet.append(["序号", "问题", "责任领导", "责任人", "整改时限", "完成情况"])
        for n, title in enumerate(titles, 1):
            sheet.append([n, title, "张华", "刘洋", "2026年12月31日", "未完成"])
    stats = book.create_sheet("统计")
    stats.append(["单位", "问题数"])
    path = tmp_path / "分单位台账.xlsx"
    book.save(path)
    done = cli(["--db", db_url, "import", str(path)])
    assert done.code == 0, done.err
    assert "2 个被巡察单位" in done.out and "未导入的工作表（不是台账）：填表说明、统计" in done.out
    items = cli(["--db", db_url, "items", "--json"]).json()
    assert sorted((i["unit"], i["no"]) for i in items) == [("区交通运输局党组", 1), ("区交通运输局党组", 2),
                                                          ("区审计局党组", 1)]


def test_one_round_options_are_refused_for_several_units(cli: Any, db_url: str, tmp_path: Path) -> None:
    refused = cli(["--db", db_url, "import", str(county_csv(tmp_path)), "--round", "1"])
    assert refused.code != 0 and "2 个被巡察单位" in refused.err and "--round" in refused.err
    assert cli(["--db", db_url, "rounds", "--json"]).json() == []


def test_units_are_listed_and_edited(cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", str(county_csv(tmp_path))]).code == 0
    edit = cli([*base, "units", "edit", "审计局", "--office", "区审计局党组办公室", "--short-name", "审计局"])
    assert edit.code == 0 and "署名单位" in edit.out, edit.err
    found = {u["unit"]: u for u in cli([*base, "units", "--json"]).json()}
    assert found["区审计局党组"]["office"] == "区审计局党组办公室" and found["区审计局党组"]["short_name"] == "审计局"
    assert (found["区审计局党组"]["items"], found["区审计局党组"]["done"]) == (3, 1)
    assert found["区交通运输局党组"]["own_office"] is False and found["区交通运输局党组"]["rounds"] == 1
    unknown = cli([*base, "units", "edit", "区卫健局", "--office", "x"])
    assert unknown.code != 0 and "区卫健局" in unknown.err and "区审计局党组" in unknown.err


def test_namesakes_in_two_units_each_get_their_own_unit_signed_digest(cli: Any, db_url: str, tmp_path: Path,
                                                                      mail_sink: MailSink) -> None:
    base = ["--db", db_url, "--config", str(tmp_path / "cfg")]
    (tmp_path / "cfg").mkdir()
    assert cli([*base, "import", str(county_csv(tmp_path))]).code == 0
    assert cli([*base, "units", "edit", "区审计局党组", "--office", "区审计局党组巡察整改办公室"]).code == 0
    mail = f"mailto://127.0.0.1:{mail_sink.port}?from=rectify@localhost&to="
    (tmp_path / "cfg" / "contacts.toml").write_text(f"""
[sender]
office = "区委巡察工作领导小组办公室"
[[person]]
name = "王芳"
unit = "区交通运输局党组"
notify = ["{mail}wf-jt@example.gov.cn"]
[[person]]
name = "王芳"
unit = "区审计局党组"
notify = ["{mail}wf-sj@example.gov.cn"]
""", encoding="utf-8")
    sent = cli([*base, "notify", "--date", "2026-12-28"])
    assert "王芳（区交通运输局党组）" in sent.out and "王芳（区审计局党组）" in sent.out, sent.out
    bodies = {str(m["to"]).split("@")[0]: plain(m)
              for m in mail_sink.messages}
    assert "区交通运输局党组巡察整改事项" in bodies["wf-jt"] and "区委巡察工作领导小组办公室" in bodies["wf-jt"]
    assert "区审计局党组巡察整改事项" in bodies["wf-sj"] and "区审计局党组巡察整改办公室" in bodies["wf-sj"]
    assert "行政执法案卷质量不高" in bodies["wf-jt"] and "审计整改跟踪不到位" not in bodies["wf-jt"]
    assert "同时告知：无" not in bodies["wf-sj"]
    outbox = cli([*base, "outbox", "--unit", "审计局", "--json"]).json()
    assert outbox and {n["unit"] for n in outbox} == {"区审计局党组"}


def test_a_digest_of_several_units_groups_them(tmp_path: Path) -> None:
    from rectify_core.delivery.render import Addressee, Line, render_digest

    day = dt.date(2026, 12, 1)
    lines = [Line("1", "甲问题", "轮次", day, -3, "red", "逾期催办", "inspection_office", (), unit="区审计局党组",
                  key=(1, None)),
             Line("1", "乙问题", "轮次", day, 5, "yellow", "临期提醒", "inspection_office", (), unit="区交通运输局党组",
                  key=(2, None))]
    text = render_digest(Addressee("区委巡察办", role="inspection_office", office="区委巡察办"), lines, day,
                         "text")[0].body
    assert "2个被巡察单位的巡察整改事项" in text
    assert text.index("区交通运输局党组") < text.index("区审计局党组")          # grouped by unit
    assert "被巡察单位：区审计局党组" in text


@pytest.mark.parametrize("password, words", [("short", "至少 12 个字符"), ("aaaaaaaaaaaaaa", "过于简单")])
def test_accounts_refuse_weak_passwords_and_duplicates(cli: Any, db_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, password: str,
                                                       words: str) -> None:
    import io

    base = ["--db", db_url]
    assert cli([*base, "import", str(county_csv(tmp_path))]).code == 0

    def add(*args: str, secret: str) -> Any:
        monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
        return cli([*base, "accounts", "add", *args, "--password-stdin"])

    weak = add("jt", "--unit", "交通运输局", secret=password)
    assert weak.code != 0 and words in weak.err
    assert add("jt", "--unit", "交通运输局", secret="jiaotong-clerk-2026").code == 0
    again = add("jt", "--all", secret="another-password-2026")
    assert again.code != 0 and "已存在" in again.err
    nowhere = add("wj", "--unit", "区卫健局", secret="weijian-clerk-2026")
    assert nowhere.code != 0 and "区卫健局" in nowhere.err
    listed = cli([*base, "accounts", "--json"]).json()
    assert [(a["login"], a["role"], a["unit"]) for a in listed] == [("jt", "clerk", "区交通运输局党组")]
    assert "jiaotong-clerk-2026" not in str(listed)
