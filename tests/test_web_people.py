"""/admin/people: a unit's clerk keeps the unit's people from the browser, sees who holds
open items but cannot be reached, fixes them and resends what the outbox gave up on.
Scoped like every write: another unit's person is not found, a viewer writes nothing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from rectify_core.ledger import db
from rectify_core.ledger.models import AdminAction, DirectoryPerson, ImUser, Notice
from tests.fixtures.web import CLERKS, UNIT, World, admin_login, form_of, in_thread, mail_to
from tests.test_people import _channels, _without


def _notify(cli: Any, world: World) -> int:
    return int(cli(["--db", world.url, "--config", str(world.config), "notify", "--date",
                    world.day.isoformat()]).code)


def _people(world: World) -> list[tuple[str, str | None, list[str]]]:
    with db.transaction(world.engine) as s:
        rows = s.scalars(select(DirectoryPerson).order_by(DirectoryPerson.id))
        return [(p.name, p.email, list(p.channels)) for p in rows]


def _dead(world: World, name: str) -> int:
    with db.transaction(world.engine) as s:
        return int(s.scalar(select(func.count()).select_from(Notice).where(Notice.recipient == name,
                                                                            Notice.state == "dead")) or 0)


def test_a_clerk_fixes_an_unreachable_holder_and_resends(cli: Any, office: World) -> None:
    _without(office, "王芳")
    _channels(office)
    assert _notify(cli, office) == 4 and _dead(office, "王芳") > 0
    with in_thread(office) as clerk:
        assert admin_login(clerk, CLERKS["cs"], "cs").status_code == 303
        page = clerk.get("/admin/people").text
        fix = page[page.index("需要处理"):page.index("<h2>人员")]
        assert "王芳" in fix and "人员名录中没有此人" in fix and "未送达" in fix
        assert "周敏" not in fix                                     # reached: nothing to fix
        assert 'disabled title="请先补全通知渠道"' in fix            # no resend before she is reachable
        new = re.search(r'href="(/admin/people/new\?[^"]*name=%E7%8E%8B%E8%8A%B3[^"]*)"', fix)
        assert new is not None
        form = clerk.get(new.group(1).replace("&amp;", "&")).text
        assert 'value="王芳"' in form and "按电子邮箱发送" in form
        wrong = clerk.post("/admin/people", data={**form_of(form, "/admin/people"), "name": "王芳",
                                                  "email": "wangfang@", "channels": "邮件", "title": "科长"})
        assert wrong.status_code == 409 and "电子邮箱“wangfang@”格式不对" in wrong.text
        assert 'value="科长"' in wrong.text and _people(office) == []  # typed values kept, nothing written
        done = clerk.post("/admin/people", data={**form_of(form, "/admin/people"), "name": "王芳",
                                                 "email": "wangfang@example.gov.cn", "channels": "邮件",
                                                 "roles": "owner"})
        assert done.status_code == 303 and _people(office) == [("王芳", "wangfang@example.gov.cn", ["邮件"])]
        page = clerk.get("/admin/people?ok=added").text
        assert "已添加人员" in page
        resend = clerk.post("/admin/people-resend", data={**form_of(page, "/admin/people-resend"),
                                                          "name": "王芳", "unit": UNIT})
        assert resend.status_code == 303 and _dead(office, "王芳") == 0
    assert _notify(cli, office) == 0
    assert "要素制约破解不到位" in mail_to(office, "王芳")
    with db.transaction(office.engine) as s:
        said = list(s.scalars(select(AdminAction.what).where(AdminAction.login == "cs")))
    assert "添加人员：王芳" in said and any(w.startswith("重发未送达的通知：王芳") for w in said)


def test_scoped_writes_other_units_people_and_viewers(cli: Any, office: World) -> None:
    _channels(office)
    url, config = office.url, str(office.config)
    assert cli(["--db", url, "units", "add", "区农业农村局党组"]).code == 0
    assert cli(["--db", url, "--config", config, "people", "add", "李明", "--unit", "区农业农村局党组",
                "--email", "liming@example.gov.cn", "--channel", "邮件"]).code == 0
    with db.transaction(office.engine) as s:
        other = s.scalar(select(DirectoryPerson.id).where(DirectoryPerson.name == "李明"))
    with in_thread(office) as clerk, in_thread(office) as viewer, in_thread(office) as county:
        assert admin_login(clerk, CLERKS["cs"], "cs").status_code == 303
        page = clerk.get("/admin/people").text
        assert "李明" not in page
        assert clerk.get(f"/admin/people/{other}").status_code == 404
        page = clerk.get("/admin/people/new").text                     # a form of the clerk's own: its token
        forged = clerk.post(f"/admin/people/{other}", data={**form_of(page, "/admin/people"), "name": "李明",
                                                           "email": "x@example.gov.cn", "channels": "邮件"})
        assert forged.status_code == 404
        removed = clerk.post(f"/admin/people/{other}", data={**form_of(page, "/admin/people"), "do": "remove"})
        assert removed.status_code == 404
        into = clerk.post("/admin/people", data={**form_of(page, "/admin/people"), "name": "张三",
                                                 "unit": "区农业农村局党组"})
        assert into.status_code == 303                                  # a clerk adds to their own unit only
        assert "张三" in clerk.get("/admin/people").text
        assert admin_login(viewer, CLERKS["ck"], "ck").status_code == 303
        seen = viewer.get("/admin/people").text
        assert "李明" in seen and "添加人员" not in seen
        assert viewer.get("/admin/people/new").status_code == 403
        refused = viewer.post("/admin/people", data={**form_of(viewer.get("/admin/units").text, "/admin/units"),
                                                     "name": "赵六"})
        assert refused.status_code == 403
        assert admin_login(county, CLERKS["xcb"], "xcb").status_code == 303
        listing = county.get("/admin/people", params={"unit": UNIT}).text
        assert "张三" in listing and "李明" not in listing
        blank = county.get("/admin/people/new").text
        twice = [county.post("/admin/people", data={**form_of(blank, "/admin/people"), "name": "区委巡察办",
                                                    "unit": "*", "roles": "inspection_office"}) for _ in range(2)]
        assert [r.status_code for r in twice] == [303, 409] and "全部单位已有同名人员" in twice[1].text
        with db.transaction(office.engine) as s:
            everyone = s.scalar(select(DirectoryPerson.id).where(DirectoryPerson.name == "区委巡察办"))
        mine = clerk.get("/admin/people").text
        assert "区委巡察办" in mine and f"/admin/people/{everyone}" not in mine  # seen, kept by the office
        assert clerk.get(f"/admin/people/{everyone}").status_code == 404
    with db.transaction(office.engine) as s:
        rows = {(p.name, p.unit_id is None, p.email) for p in s.scalars(select(DirectoryPerson))}
    assert rows == {("李明", False, "liming@example.gov.cn"), ("张三", False, None), ("区委巡察办", True, None)}
    with db.transaction(office.engine) as s:
        zhang = s.scalar(select(DirectoryPerson.unit_id).where(DirectoryPerson.name == "张三"))
        liming = s.scalar(select(DirectoryPerson.unit_id).where(DirectoryPerson.name == "李明"))
    assert zhang != liming


def test_editing_a_file_entry_keeps_its_way_of_reaching_them(cli: Any, office: World) -> None:
    _channels(office)
    with in_thread(office) as county:
        assert admin_login(county, CLERKS["xcb"], "xcb").status_code == 303
        page = county.get("/admin/people").text
        assert "（配置文件）" in page
        link = re.search(r'href="(/admin/people/new\?unit=%2A&amp;name=%E5%91%A8%E6%95%8F)"', page)
        assert link is not None
        form = county.get(link.group(1).replace("&amp;", "&")).text
        assert "保存后改由本系统保管" in form and 'value="zhoumin@example.gov.cn"' in form
        assert re.search(r'value="邮件" checked', form)                 # her file URL, as the named channel
        saved = county.post("/admin/people", data={**form_of(form, "/admin/people"), "name": "周敏", "unit": "*",
                                                   "email": "zhoumin@example.gov.cn", "channels": "邮件",
                                                   "mobile": "13800000009"})
        assert saved.status_code == 303
        assert "（配置文件）" not in county.get("/admin/people", params={"q": "周敏"}).text
    assert _notify(cli, office) == 0
    assert "政府采购制度执行不到位" in mail_to(office, "周敏")


def test_two_mobiles_answered_by_one_platform_account_are_told_to_the_office(cli: Any, office: World) -> None:
    with db.transaction(office.engine) as s:  # what two sends learned: the platform gave both one user id
        for mobile in ("13800000001", "13900000002"):
            s.add(ImUser(platform="wecomapp", account="ww1234", mobile=mobile, userid="zhangsan",
                         looked_up_at=dt.datetime.now(dt.UTC)))
        s.add(ImUser(platform="wecomapp", account="ww1234", mobile="13700000003", userid="lisi",
                     looked_up_at=dt.datetime.now(dt.UTC)))
    sent = cli(["--db", office.url, "--config", str(office.config), "notify", "--date", office.day.isoformat()])
    assert "企业微信账号 zhangsan 对应多个手机号（13800000001、13900000002）" in sent.err and "lisi" not in sent.err
    with in_thread(office) as county:
        assert admin_login(county, CLERKS["xcb"], "xcb").status_code == 303
        assert "企业微信账号 zhangsan 对应多个手机号" in county.get("/admin/people").text
