"""People cells: the people a 责任人 / 责任领导 cell names, and what it names that is not a
person, which nobody is ever sent to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rectify_core.names import DEPARTMENT, PERSON, TITLE, parse_people, split_names


@pytest.mark.parametrize("cell, people", [
    ("张国强（牵头）李明", ["张国强", "李明"]),
    ("张国强 李明", ["张国强", "李明"]),
    ("王 五", ["王 五"]),  # kept as written: notices already know the person by it
    ("张 国 强", ["张 国 强"]),
    ("李明（副局长）", ["李明"]),
    ("李明副局长", ["李明"]),
    ("张华和李强", ["张华", "李强"]),
    ("刘和平", ["刘和平"]),
    ("周敏、王芳/胡志云", ["周敏", "王芳", "胡志云"]),
    ("周敏（配合）", ["周敏"]),
    ("欧阳晓明", ["欧阳晓明"]),
    ("买买提·艾力", ["买买提·艾力"]),
    ("王科", ["王科"]),
    ("办公室", []), ("各股室负责人", []), ("分管副局长", []), ("纪检组长", []), ("党政办", []),
    ("张局长", []), ("财务股、李明", ["李明"]),
])
def test_a_cell_names_its_people(cell: str, people: list[str]) -> None:
    assert split_names(cell) == people


def test_the_lead_and_the_title_are_read_apart_from_the_name() -> None:
    lead, other = parse_people("张国强（牵头）李明（副局长）")
    assert (lead.text, lead.lead, other.text, other.title) == ("张国强", True, "李明", "副局长")
    assert [(n.text, n.kind) for n in parse_people("办公室、分管副局长")] == [("办公室", DEPARTMENT),
                                                                       ("分管副局长", TITLE)]


GIVEN = "建国明华强伟芳敏军平丽静杰涛磊洋勇艳娟霞刚鹏辉玲桂英秀兰志红"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
DEPARTMENTS = ["办公室", "财务股", "纪检组", "党政办", "机关党委", "综合科", "执法大队", "人事教育科", "信息中心"]
TITLES = ["分管副局长", "各股室负责人", "局长", "相关负责人", "主要领导", "纪检组长", "办公室主任", "张局长"]
names = st.builds(lambda s, g: s + g, st.sampled_from(SURNAMES), st.text(GIVEN, min_size=1, max_size=2))
others = st.sampled_from(DEPARTMENTS + TITLES)
separators = st.sampled_from(["、", "，", ",", "/", "；", "\n", " "])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(names.map(lambda n: (n, True)), others.map(lambda o: (o, False))), min_size=1, max_size=5),
       st.data())
def test_the_splitter_never_yields_a_department_a_title_or_a_fragment(parts: list[tuple[str, bool]],
                                                                      data: Any) -> None:
    """Whatever a cell mixes, split_names gives exactly its people, whole and in order."""
    cell = ""
    for n, (text, _) in enumerate(parts):
        if n:
            separator = data.draw(separators)
            # a space is a separator between full names only; between anything else the
            # cell would be ambiguous to a person too
            if separator == " " and not (parts[n - 1][1] and parts[n][1]):
                separator = "、"
            cell += separator
        cell += text
        if parts[n][1] and data.draw(st.booleans()):
            cell += data.draw(st.sampled_from(["（牵头）", "（副局长）", "(配合)"]))
    found = split_names(cell)
    assert found == [text for text, person in parts if person]
    assert not set(found) & set(DEPARTMENTS + TITLES)
    assert all(kind == PERSON for kind in (n.kind for n in parse_people(cell) if n.text in found))


def test_a_cell_of_a_department_reaches_its_head_or_the_clerk_never_the_cell(cli: Any, db_url: str,
                                                                            tmp_path: Path) -> None:
    ledger = tmp_path / "台账.csv"
    ledger.write_text("序号,问题,责任领导,责任人,整改时限,完成情况\n"
                      "1,公务用车管理不规范,胡志云,办公室,2026年11月20日,未完成\n"
                      "2,档案管理不规范,胡志云,各股室负责人,2026年11月20日,未完成\n", encoding="utf-8")
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "contacts.toml").write_text("""
[[person]]
name = "陈主任"
unit = "台账"
roles = ["department_head"]
department = "办公室"
[[person]]
name = "联络员小李"
unit = "台账"
roles = ["clerk"]
""", encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    assert cli([*base, "import", str(ledger)]).code == 0
    plans = {p["no"]: p for p in cli([*base, "check", "--date", "2026-11-20", "--json"]).json()}
    told = {no: {(r["name"], r["role"]) for r in p["notify"]} for no, p in plans.items()}
    assert ("陈主任", "owner") in told[1] and "部门负责人" in str(plans[1]["notify"])
    assert ("联络员小李", "owner") in told[2] and "单位联络员" in str(plans[2]["notify"])
    assert not any(r["name"] in ("办公室", "各股室负责人") for p in plans.values() for r in p["notify"])
    audit = cli(["audit", str(ledger), "--json"]).json()
    said = " ".join(f["message"] for f in audit["findings"])
    assert "“办公室”是部门" in said and "“各股室负责人”是职务" in said
