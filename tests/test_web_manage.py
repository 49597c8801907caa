"""The office's own pages: units added before their first ledger, accounts created with a
password shown once, reset and disabled, and the journal of web writes by unit and account."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from rectify_core.ledger.models import Unit
from tests.fixtures.web import CLERKS, World, admin_login, form_of, in_thread


def _password(page: str) -> str:
    found = re.findall(r'<code class="secret">([^<]+)</code>', page)
    assert len(found) == 1, page
    return str(found[0])


def test_the_office_adds_a_unit_and_its_clerk_who_signs_in_until_disabled(office: World) -> None:
    with in_thread(office) as client, in_thread(office) as clerk:
        assert admin_login(client, CLERKS["xcb"], "xcb").status_code == 303
        page = client.get("/admin/units").text
        added = client.post("/admin/units", data={**form_of(page, "/admin/units"), "name": "区农业农村局党组",
                                                  "short_name": "农业局"})
        assert added.status_code == 303
        again = client.post("/admin/units", data={**form_of(page, "/admin/units"), "name": "区农业农村局 党组"})
        assert again.status_code == 409 and "已有单位" in again.text
        page = client.get("/admin/units").text
        made = client.post("/admin/accounts", data={**form_of(page, "/admin/accounts"), "login": "ny",
                                                     "name": "李明", "role": "clerk", "unit": "区农业农村局党组"})
        assert made.status_code == 200 and "密码只显示这一次" in made.text
        first = _password(made.text)
        assert admin_login(clerk, first, "ny").status_code == 303
        assert "李明" not in clerk.get("/admin/units").text                   # a clerk: not the office's page
        assert clerk.get("/admin/units").status_code == 404
        assert clerk.get("/admin/audit").status_code == 404
        page = client.get("/admin/units").text
        off = client.post("/admin/accounts/ny", data={**form_of(page, "/admin/accounts/ny"), "do": "disable"})
        assert off.status_code == 303
        assert clerk.get("/admin").status_code == 401                          # the session ended
        assert admin_login(clerk, first, "ny").status_code == 403              # and it signs in no more
        page = client.get("/admin/units").text
        assert client.post("/admin/accounts/ny", data={**form_of(page, "/admin/accounts/ny"),
                                                       "do": "enable"}).status_code == 303
        reset = client.post("/admin/accounts/ny", data={**form_of(page, "/admin/accounts/ny"), "do": "reset"})
        second = _password(reset.text)
        assert second != first and admin_login(clerk, first, "ny").status_code == 403
        assert admin_login(clerk, second, "ny").status_code == 303
        journal = client.get("/admin/audit", params={"login": "xcb"}).text
        assert "添加单位：区农业农村局党组" in journal and "新建账号：ny" in journal and "停用 ny" in journal
        assert second not in journal and first not in journal                  # passwords are never journalled
        by_unit = client.get("/admin/audit", params={"unit": "区农业农村局党组"}).text
        assert "新建账号" in by_unit and "停用" not in by_unit


def test_units_add_on_the_command_line(cli: Any, world: World) -> None:
    done = cli(["--db", world.url, "units", "add", "区农业农村局党组", "--short-name", "农业局"])
    assert done.code == 0 and "已添加单位：区农业农村局党组" in done.out
    again = cli(["--db", world.url, "units", "add", " 区农业农村局党组 "])
    assert again.code == 1 and "已有单位“区农业农村局党组”" in again.err
    with world.engine.connect() as conn:
        assert conn.execute(select(Unit.short_name).where(Unit.name == "区农业农村局党组")).scalar() == "农业局"


def _titles(page: str) -> list[str]:
    return re.findall(r'<a href="/admin/items/\d+">([^<]+)</a>', page.split("问题清单")[1])


def test_the_ledger_list_filters_and_every_count_links_to_its_items(office: World) -> None:
    with in_thread(office) as client:
        assert admin_login(client, CLERKS["cs"], "cs").status_code == 303
        page = client.get("/admin").text
        assert sorted(_titles(page)) == sorted(["政府采购制度执行不到位", "要素制约破解不到位", "行政执法案卷质量不高"])
        red = re.search(r'<a href="(/admin\?[^"]*light=red[^"]*)">[^<]*(\d+)</a>', page)
        assert red is not None and red.group(2) == "1"
        assert _titles(client.get(red.group(1).replace("&amp;", "&")).text) == ["行政执法案卷质量不高"]
        assert sorted(_titles(client.get("/admin", params={"person": "周 敏"}).text)) == [
            "政府采购制度执行不到位", "行政执法案卷质量不高"]                    # spelling aside, as owner
        assert _titles(client.get("/admin", params={"person": "刘立强"}).text) == ["要素制约破解不到位"]  # as leader
        assert _titles(client.get("/admin", params={"state": "done"}).text) == []
        assert len(_titles(client.get("/admin", params={"state": "open"}).text)) == 3
        assert _titles(client.get("/admin", params={"offsheet": "1"}).text) == []
        assert client.get("/admin", params={"page_no": "99999999999", "person": "x" * 5000}).status_code == 200


def test_a_long_ledger_is_read_a_page_at_a_time(cli: Any, office: World, tmp_path: Any) -> None:
    rows = "\n".join(f"{n},第{n}个问题的标题,措施,胡志云,周敏,2027-06-30,未完成" for n in range(1, 231))
    sheet = tmp_path / "long.csv"
    sheet.write_text("序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n" + rows + "\n", encoding="utf-8")
    assert cli(["--db", office.url, "import", str(sheet), "--unit", "区农业农村局党组"]).code == 0
    with in_thread(office) as client:
        assert admin_login(client, CLERKS["xcb"], "xcb").status_code == 303
        seen: list[str] = []
        link: str | None = "/admin?unit=%E5%8C%BA%E5%86%9C%E4%B8%9A%E5%86%9C%E6%9D%91%E5%B1%80%E5%85%9A%E7%BB%84"
        while link:
            page = client.get(link).text
            seen += _titles(page)
            after = re.search(r'<a href="([^"]+)">下一页</a>', page)
            link = after.group(1).replace("&amp;", "&") if after else None
        assert len(seen) == 230 and len(set(seen)) == 230 and "第1个问题的标题" in seen and "第230个问题的标题" in seen
