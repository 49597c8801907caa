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
