"""The people directory the units keep: rectify people from the command line, and the
digests it makes reachable (channels by configured name, addressed with each person's
email or mobile). SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rectify_core.ledger import db
from rectify_core.ledger.models import DirectoryPerson, Notice
from tests.fixtures.web import UNIT, World, mail_to, notify

TEMPLATE = "\"邮件\" = \"mailto://127.0.0.1:{port}?from=rectify@localhost&to={{email}}\"\n"


def _channels(world: World, extra: str = "") -> None:
    """A mail channel addressed to each person's email, and (`extra`) other channels."""
    path = world.config / "contacts.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n[channels]\n" + TEMPLATE.format(port=world.sink.port) + extra, encoding="utf-8")


def _without(world: World, name: str) -> None:
    """contacts.toml without `name`'s entry: they hold items nobody can reach them on."""
    path = world.config / "contacts.toml"
    blocks = path.read_text(encoding="utf-8").split("[[person]]")
    path.write_text("[[person]]".join(b for b in blocks if f'name = "{name}"' not in b), encoding="utf-8")


def _people(cli: Any, world: World, *args: str) -> Any:
    return cli(["--db", world.url, "--config", str(world.config), "people", *args])


def _count(world: World) -> int:
    with db.transaction(world.engine) as s:
        return int(s.scalar(select(func.count()).select_from(DirectoryPerson)) or 0)


def test_a_person_added_on_the_command_line_is_reached_by_the_channel_named(cli: Any, world: World) -> None:
    _without(world, "王芳")
    _channels(world)
    added = _people(cli, world, "add", "王芳", "--unit", UNIT, "--email", " wangfang@example.gov.cn ",
                    "--channel", "邮件", "--role", "owner", "--title", "科长", "--mobile", "138-0000-0001")
    assert added.code == 0 and f"已添加人员：王芳（{UNIT}）" in added.out, added.err
    listed = json.loads(_people(cli, world, "list", "--unit", "测试局", "--json").out)
    mine = [p for p in listed if p["name"] == "王芳"]
    assert mine == [{"name": "王芳", "unit": UNIT, "department": None, "title": "科长", "roles": ["owner"],
                     "email": "wangfang@example.gov.cn", "mobile": "13800000001", "channels": ["邮件"],
                     "supervisor": None, "source": "database"}]
    notify(cli, world, world.day)
    assert "要素制约破解不到位" in mail_to(world, "王芳")  # item 2 is hers: the digest went to her email


def test_wrong_entries_are_refused_in_words_and_nothing_is_written(cli: Any, world: World) -> None:
    _channels(world)
    wrong = _people(cli, world, "add", "李强", "--unit", UNIT, "--email", "li.qiang@", "--mobile", "1234",
                    "--channel", "钉钉", "--role", "department_head")
    assert wrong.code == 1 and "Traceback" not in wrong.err
    for said in ("电子邮箱“li.qiang@”格式不对", "手机号“1234”格式不对", "没有名为“钉钉”的通知渠道（可选：邮件）",
                 "部门负责人须写明所负责的部门"):
        assert said in wrong.err, wrong.err
    needs_email = _people(cli, world, "add", "李强", "--unit", UNIT, "--channel", "邮件")
    assert needs_email.code == 1 and "渠道“邮件”按电子邮箱发送，请填写电子邮箱" in needs_email.err
    assert _count(world) == 0
    first = _people(cli, world, "add", "陈学文", "--unit", UNIT, "--role", "first_responsible")
    assert first.code == 0
    second = _people(cli, world, "add", "李 强", "--unit", UNIT, "--role", "first_responsible")
    assert second.code == 1 and "第一责任人只能有一位：测试局已由“陈学文”担任" in second.err
    assert _people(cli, world, "add", "李强", "--unit", UNIT).code == 0
    clash = _people(cli, world, "add", "李 强", "--unit", UNIT)
    assert clash.code == 1 and "测试局已有同名人员“李强”" in clash.err
    nowhere = _people(cli, world, "add", "张三", "--unit", "没有的单位")
    assert nowhere.code == 1 and "没有名为“没有的单位”的被巡察单位" in nowhere.err
    assert _count(world) == 2


def test_edit_changes_only_what_is_given_and_takes_over_a_file_entry(cli: Any, world: World) -> None:
    _channels(world)
    assert _people(cli, world, "add", "李强", "--unit", UNIT, "--email", "li@example.gov.cn", "--channel", "邮件",
                   "--department", "办公室").code == 0
    edited = _people(cli, world, "edit", "李强", "--unit", UNIT, "--mobile", "13900000002", "--title", "主任")
    assert edited.code == 0 and "李强：手机号 （无） → 13900000002" in edited.out
    assert "李强：职务 （无） → 主任" in edited.out
    person = json.loads(_people(cli, world, "list", "--json").out)
    li = next(p for p in person if p["name"] == "李强")
    assert (li["department"], li["email"], li["channels"]) == ("办公室", "li@example.gov.cn", ["邮件"])
    # 周敏 comes from contacts.toml (serving every unit): an edit keeps her in the database from then on
    took = _people(cli, world, "edit", "周敏", "--unit", "*", "--title", "科员")
    assert took.code == 0, took.err
    zhou = next(p for p in json.loads(_people(cli, world, "list", "--json").out) if p["name"] == "周敏")
    assert zhou["source"] == "database" and zhou["title"] == "科员"
    notify(cli, world, world.day)  # her mailto URL from the file went with her: still reached
    assert "政府采购制度执行不到位" in mail_to(world, "周敏")
    gone = _people(cli, world, "remove", "李强", "--unit", UNIT)
    assert gone.code == 0
    assert not any(p["name"] == "李强" for p in json.loads(_people(cli, world, "list", "--json").out))


def test_import_and_export_travel_by_channel_name(cli: Any, world: World, tmp_path: Path) -> None:
    _channels(world, "\"督办平台\" = \"json://127.0.0.1:9/hook?m={mobile}\"\n")
    port = world.sink.port
    source = tmp_path / "people.toml"
    source.write_text(f"""
[[person]]
name = "孙丽"
unit = "{UNIT}"
roles = ["leader"]
notify = ["mailto://127.0.0.1:{port}?from=rectify@localhost&to=sunli%40example.gov.cn", "督办平台"]
mobile = "13700000003"

[[person]]
name = "赵磊"
unit = "{UNIT}"
notify = ["mailto://mail.other.gov.cn?to=zhaolei@other.gov.cn"]

[[person]]
name = "钱七"
unit = "别的局"
notify = ["督办平台"]
mobile = "13700000004"
""", encoding="utf-8")
    brought = _people(cli, world, "import", str(source))
    assert brought.code == 0, brought.err
    assert "已导入 1 人" in brought.out and "未导入 2 人" in brought.out
    assert "赵磊（测试局）：通知地址 mailto://mail.other.gov.cn 不是已配置的渠道" in brought.out
    assert "钱七（别的局）：单位“别的局”尚未添加" in brought.out
    again = _people(cli, world, "import", str(source))
    assert "已导入 0 人；已在数据库中、保持不变 1 人" in again.out
    exported = _people(cli, world, "export")
    assert 'notify = ["邮件", "督办平台"]' in exported.out and 'email = "sunli@example.gov.cn"' in exported.out
    assert "mailto" not in exported.out
    written = tmp_path / "out.toml"
    assert _people(cli, world, "export", str(written)).code == 0
    assert _people(cli, world, "remove", "孙丽", "--unit", UNIT).code == 0
    assert _people(cli, world, "import", str(written)).code == 0  # what export writes, import reads back whole
    sun = next(p for p in json.loads(_people(cli, world, "list", "--json").out) if p["name"] == "孙丽")
    assert (sun["email"], sun["mobile"], sun["channels"], sun["roles"]) == (
        "sunli@example.gov.cn", "13700000003", ["邮件", "督办平台"], ["leader"])


def test_an_import_with_a_wrong_person_writes_nobody(cli: Any, world: World, tmp_path: Path) -> None:
    _channels(world)
    source = tmp_path / "people.toml"
    source.write_text(f"""
[[person]]
name = "孙丽"
unit = "{UNIT}"
email = "sunli@example.gov.cn"
notify = ["邮件"]

[[person]]
name = "赵磊"
unit = "{UNIT}"
notify = ["邮件"]
""", encoding="utf-8")
    refused = _people(cli, world, "import", str(source))
    assert refused.code == 1 and "赵磊（测试局）" in refused.err and "请填写电子邮箱" in refused.err
    assert "数据库未作任何改动" in refused.err and _count(world) == 0
    broken = tmp_path / "broken.toml"
    broken.write_text('[[person]]\nname = "孙丽"\nmobile = "12"\n', encoding="utf-8")
    bad = _people(cli, world, "import", str(broken))
    assert bad.code == 1 and "person[0].mobile" in bad.err and _count(world) == 0


def test_a_person_without_a_channel_is_given_up_on_and_their_notices_are_counted(cli: Any, world: World) -> None:
    _without(world, "王芳")
    sent = cli(["--db", world.url, "--config", str(world.config), "notify", "--date", world.day.isoformat()])
    assert sent.code == 4 and "王芳" in sent.out and "未配置任何通知渠道（见人员名录）" in sent.out
    with db.transaction(world.engine) as s:
        dead = s.scalar(select(func.count()).select_from(Notice).where(Notice.recipient == "王芳",
                                                                        Notice.state == "dead"))
    assert dead and dead > 0


def test_namesakes_in_two_units_are_two_people(cli: Any, world: World) -> None:
    _channels(world)
    assert cli(["--db", world.url, "units", "add", "区农业农村局党组"]).code == 0
    for unit, box in ((UNIT, "wangfang"), ("区农业农村局党组", "wangfang2")):
        assert _people(cli, world, "add", "王芳", "--unit", unit, "--department", "办公室", "--email",
                       f"{box}@example.gov.cn", "--channel", "邮件").code == 0
    both = {p["unit"]: p for p in json.loads(_people(cli, world, "list", "--json").out) if p["name"] == "王芳"}
    assert {u: p["email"] for u, p in both.items() if u != "*"} == {
        UNIT: "wangfang@example.gov.cn", "区农业农村局党组": "wangfang2@example.gov.cn"}
    assert _people(cli, world, "remove", "王芳", "--unit", "区农业农村局党组").code == 0
    left = [p for p in json.loads(_people(cli, world, "list", "--json").out) if p["name"] == "王芳"]
    assert [(p["unit"], p["email"]) for p in left if p["unit"] != "*"] == [(UNIT, "wangfang@example.gov.cn")]
