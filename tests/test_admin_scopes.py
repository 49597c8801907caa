"""The clerk's pages for an office above many units: each clerk their own unit, the office
every unit and the county's files, a viewer only reading; passwords, sessions, forgeries."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from rectify_core.ledger.models import Item, ItemRequest, LinkRevocation, Round, Unit
from tests.fixtures.web import ADMIN, CHROMIUM, PDF, World, admin_login, form_of, in_thread, rectify_web
from tests.test_units import county_csv

PASSWORDS = {"jt": "jiaotong-clerk-2026", "sj": "shenji-clerk-2026!", "xcb": "county-office-2026",
             "ck": "read-only-viewer-2026"}


@pytest.fixture
def county(cli: Any, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Beside the world's 测试局, a county workbook of two more units, and an account each."""
    base = ["--db", world.url]
    assert cli([*base, "import", str(county_csv(tmp_path))]).code == 0
    for login, where in (("jt", ["--unit", "交通运输局"]), ("sj", ["--unit", "区审计局党组"]), ("xcb", ["--all"]),
                         ("ck", ["--all", "--role", "viewer"])):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORDS[login] + "\n"))
        added = cli([*base, "accounts", "add", login, *where, "--password-stdin"])
        assert added.code == 0, added.err
    return world


def _item(place: World, unit: str, no: int) -> int:
    with place.engine.connect() as conn:
        found = conn.execute(select(Item.id).join(Round).join(Unit).where(Unit.name == unit, Item.no == no)).scalar()
    assert found is not None
    return int(found)


def test_a_clerk_sees_and_acts_on_their_unit_only(county: World) -> None:
    audit_item = _item(county, "区审计局党组", 1)
    with in_thread(county) as client:
        assert admin_login(client, ADMIN).status_code == 403          # the bootstrap token: accounts exist now
        assert admin_login(client, PASSWORDS["jt"], "jt").status_code == 303
        page = client.get("/admin").text
        assert "政府采购制度执行不到位" in page and "审计整改跟踪不到位" not in page
        assert "行政执法案卷质量不高" in page and "要素制约破解不到位" not in page  # 交通's own item 2, not 测试局's
        assert client.get(f"/admin/items/{audit_item}").status_code == 404   # another unit's item by id
        own = client.get(f"/admin/items/{_item(county, '区交通运输局党组', 1)}")
        assert own.status_code == 200 and "政府采购制度执行不到位" in own.text and "导入" in own.text
        with county.engine.connect() as conn:
            audit_round = conn.execute(select(Round.id).join(Unit).where(Unit.name == "区审计局党组")).scalar()
        assert client.get(f"/admin/download/ledger.xlsx?round={audit_round}").status_code == 404
        for odd in ("99999999999999999999", "-1", "1e3", "%201", "x"):            # never every round's file
            assert client.get(f"/admin/download/ledger.xlsx?round={odd}").status_code == 404, odd
        book = load_workbook(io.BytesIO(client.get("/admin/download/ledger.xlsx").content))
        assert book.sheetnames[0] == "整改台账"                                # their one round, not the county's
        token = form_of(client.get("/admin").text, "/admin/links")
        forged = client.post("/admin/links", data={**token, "unit": "区审计局党组", "name": "王芳", "do": "revoke"})
        assert forged.status_code == 404
    with county.engine.connect() as conn:
        assert conn.execute(select(LinkRevocation.id)).first() is None          # nothing changed


def test_the_office_sees_every_unit_and_downloads_the_county(county: World) -> None:
    with in_thread(county) as client:
        assert admin_login(client, PASSWORDS["xcb"], "xcb").status_code == 303
        page = client.get("/admin").text
        assert "审计整改跟踪不到位" in page and "政府采购制度执行不到位" in page and "要素制约破解不到位" in page
        only = client.get("/admin", params={"unit": "区审计局党组"}).text
        assert "审计整改跟踪不到位" in only and "要素制约破解不到位" not in only
        book = load_workbook(io.BytesIO(client.get("/admin/download/ledger.xlsx").content))
        assert book.sheetnames[-2:] == ["汇总", "考评说明"] and len(book.sheetnames) == 5
        units = [row[0] for row in book["汇总"].iter_rows(min_row=2, values_only=True)]
        assert units == ["区交通运输局党组", "区审计局党组", "测试局", "合计"]
        board = client.get("/admin/download/dashboard.html").text
        assert "各单位排名" in board and "全部3个被巡察单位" in board
        report = client.get("/admin/download/report.docx")
        assert report.status_code == 200 and report.content[:4] == b"PK\x03\x04"
        from docx import Document

        assert Document(io.BytesIO(report.content)).paragraphs[1].text == "关于巡察整改工作进展情况的通报"


def test_a_viewer_only_reads(county: World) -> None:
    with in_thread(county) as client:
        assert admin_login(client, PASSWORDS["ck"], "ck").status_code == 303
        page = client.get("/admin").text
        assert "审计整改跟踪不到位" in page and 'action="/admin/links"' not in page
        token = form_of(page, "/admin/logout")
        refused = client.post("/admin/links", data={**token, "unit": "测试局", "name": "王芳", "do": "revoke"})
        assert refused.status_code == 403
        assert client.post("/admin/logout", data=token).status_code == 303       # signing out is not a change


def test_wrong_passwords_say_nothing_and_a_new_password_ends_sessions(cli: Any, county: World,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with in_thread(county) as client, httpx.Client(base_url=str(client.base_url)) as other:
        wrong_password = admin_login(client, "not-the-password-at-all", "jt")
        wrong_login = admin_login(client, PASSWORDS["jt"], "nobody")
        assert wrong_password.status_code == wrong_login.status_code == 403
        assert re.sub(r'value="[^"]+"', "", wrong_password.text) == re.sub(r'value="[^"]+"', "", wrong_login.text)
        assert "登录名或密码不正确" in wrong_login.text
        assert admin_login(other, PASSWORDS["jt"], "jt").status_code == 303
        assert "政府采购制度执行不到位" in other.get("/admin").text
        monkeypatch.setattr("sys.stdin", io.StringIO("a-brand-new-password-2027\n"))
        assert cli(["--db", county.url, "accounts", "passwd", "jt", "--password-stdin"]).code == 0
        assert "登录名" in other.get("/admin").text                              # the old session ended
        assert admin_login(other, "a-brand-new-password-2027", "jt").status_code == 303


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_browser_clerk_and_office_pages_and_a_download(county: World, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with in_thread(county) as client, sync_playwright() as p:
        base = str(client.base_url)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        clerk = browser.new_page(viewport={"width": 1366, "height": 768})  # a laptop
        clerk.goto(f"{base}/admin")
        clerk.fill("input[name=login]", "sj")
        clerk.fill("input[name=password]", PASSWORDS["sj"])
        clerk.get_by_role("button", name="登录").click()
        clerk.wait_for_url(f"{base}/admin")
        rows = clerk.locator("table.ledger tbody tr")
        assert rows.count() == 3 and "区审计局党组" in (rows.first.text_content() or "")
        lines = clerk.locator("table.ledger tbody tr td.nowrap").first.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length }")
        assert lines == 1                                                        # a date on one line
        clerk.get_by_role("link", name="审计整改跟踪不到位").click()
        clerk.wait_for_url("**/admin/items/*")
        assert "全过程记录" in (clerk.text_content("body") or "")
        office = browser.new_page(viewport={"width": 1366, "height": 768})
        office.goto(f"{base}/admin")
        office.fill("input[name=login]", "xcb")
        office.fill("input[name=password]", PASSWORDS["xcb"])
        office.get_by_role("button", name="登录").click()
        office.wait_for_url(f"{base}/admin")
        assert office.locator("table.ledger tbody tr").count() == 8
        office.select_option("select[name=unit]", "区交通运输局党组")
        office.get_by_role("button", name="筛选").click()
        office.wait_for_url("**unit=*")
        assert office.locator("table.ledger tbody tr").count() == 2
        office.select_option("select[name=unit]", "")
        office.get_by_role("button", name="筛选").click()
        office.wait_for_url("**unit=&*")
        with office.expect_download() as got:
            office.get_by_role("link", name="全部整改台账及汇总（Excel）").click()
        saved = tmp_path / "下载.xlsx"
        got.value.save_as(saved)
        assert load_workbook(saved).sheetnames[-2:] == ["汇总", "考评说明"]
        phone = browser.new_page(viewport={"width": 390, "height": 844})       # the office on a phone
        phone.goto(f"{base}/admin")
        phone.fill("input[name=login]", "xcb")
        phone.fill("input[name=password]", PASSWORDS["xcb"])
        phone.get_by_role("button", name="登录").click()
        phone.wait_for_url(f"{base}/admin")
        phone.get_by_role("link", name="结果考评").click()
        phone.wait_for_url("**/admin/scores")
        ranked = phone.locator("table tbody tr")
        assert ranked.count() == 3 and "区审计局党组" in (phone.text_content("table") or "")
        assert phone.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")  # no sideways page
        browser.close()


def test_off_sheet_items_are_listed_marked_and_counted_alike(cli: Any, county: World, tmp_path: Path) -> None:
    """测试局's next sheet drops its row 2: /admin lists it as 原2, marked, and counts it as
    `units` does; a link is issued only for a person rectify knows in a unit the account holds."""
    lines = (tmp_path / "ledger.csv").read_text(encoding="utf-8").splitlines()
    week2 = tmp_path / "w2" / "ledger.csv"
    week2.parent.mkdir()
    week2.write_text("\n".join([lines[0], lines[1], "2," + lines[3].split(",", 1)[1]]) + "\n", encoding="utf-8")
    assert cli(["--db", county.url, "import", str(week2), "--unit", "测试局"]).code == 0
    counted = {u["unit"]: u["items"] for u in cli(["--db", county.url, "units", "--json"]).json()}
    with in_thread(county) as client:
        assert admin_login(client, PASSWORDS["xcb"], "xcb").status_code == 303
        page = client.get("/admin", params={"unit": "测试局"}).text
        assert "要素制约破解不到位" in page and ">原2<" in page and "（本次台账未列出）" in page
        assert page.count('href="/admin/items/') == counted["测试局"] == 3
        token = form_of(page, "/admin/links")
        issued = client.post("/admin/links", data={**token, "unit": "测试局", "name": "王芳", "do": "issue"})
        assert issued.status_code == 200 and "/p/" in issued.text and "未完成的问题 1 个" in issued.text
        typo = client.post("/admin/links", data={**token, "unit": "测试局", "name": "王方", "do": "issue"})
        assert typo.status_code == 404 and "王芳" in typo.text and "/p/" not in typo.text
    with in_thread(county) as client:
        assert admin_login(client, PASSWORDS["jt"], "jt").status_code == 303
        token = form_of(client.get("/admin").text, "/admin/links")
        forged = client.post("/admin/links", data={**token, "unit": "测试局", "name": "王芳", "do": "issue"})
        assert forged.status_code == 404 and "/p/" not in forged.text and "王芳" not in forged.text


def test_the_office_sees_the_scores_and_a_clerk_does_not(county: World) -> None:
    with in_thread(county) as client:
        assert admin_login(client, PASSWORDS["jt"], "jt").status_code == 303
        assert "/admin/scores" not in client.get("/admin").text
        refused = client.get("/admin/scores")
        assert refused.status_code == 404 and "巡察办" in refused.text
    with in_thread(county) as client:
        assert admin_login(client, PASSWORDS["xcb"], "xcb").status_code == 303
        assert "/admin/scores" in client.get("/admin").text
        shown = client.get("/admin/scores")
        assert shown.status_code == 200
        rows = re.findall(r"<tr><td class=\"num\">([^<]*)</td><td>([^<]*)</td><td class=\"num\">([^<]*)</td>"
                          r"<td>([^<]*)</td>", shown.text)
        units = {u for _, u, _, _ in rows}
        assert {"区交通运输局党组", "区审计局党组", "测试局"} <= units
        assert all(grade in ("好", "较好", "一般", "差", "不评") for _, _, _, grade in rows)


def test_a_link_a_clerk_is_shown_reads_and_reports_but_never_decides(county: World) -> None:
    """The clerk who issues 胡志云's link holds it: with it they may not verify the closure
    周敏 asked for (the two-person rule is not one person's); 胡志云's own delivered link may."""
    item_id = _item(county, "测试局", 1)
    with in_thread(county) as client:
        zhou, hu = county.link("周敏"), county.link("胡志云")
        asked_page = client.get(zhou).text
        action = f"{zhou}/items/{item_id}/closure"
        asked = client.post(action, data={**form_of(asked_page, action), "text": "已全部整改"},
                            files=[("files", ("整改报告.pdf", PDF, "application/pdf"))])
        assert asked.status_code == 303
        assert admin_login(client, PASSWORDS["xcb"], "xcb").status_code == 303
        token = form_of(client.get("/admin").text, "/admin/links")
        issued = client.post("/admin/links", data={**token, "unit": "测试局", "name": "胡志云", "do": "issue"})
        shown = re.search(r"<code>https?://[^/]+(/p/[^<]+)</code>", issued.text)
        assert shown is not None and "须由本人使用督办通知中收到的链接办理" in issued.text
        by_hand = shown.group(1)
        page = client.get(by_hand).text
        assert "销号申请" in page and "核验通过" not in page and "只能查看和报送" in page
        with county.engine.connect() as conn:
            request_id = conn.execute(select(ItemRequest.id)).scalar_one()
        forged = client.post(f"{by_hand}/requests/{request_id}/decide",
                             data={**form_of(page, by_hand), "decision": "approve"})
        assert forged.status_code == 403 and _status(county, item_id) == "open"
        own = client.get(hu).text
        decide = f"{hu}/requests/{request_id}/decide"
        decided = client.post(decide, data={**form_of(own, decide), "decision": "approve"})
        assert decided.status_code == 303 and _status(county, item_id) == "done"


def _status(place: World, item_id: int) -> str:
    with place.engine.connect() as conn:
        return str(conn.execute(select(Item.status).where(Item.id == item_id)).scalar_one())


def test_behind_an_https_proxy_every_cookie_is_secure(county: World) -> None:
    """`rectify web --proxy` behind a local reverse proxy that terminates TLS: the CSRF and
    session cookies carry Secure (a browser never sends them over plain http); without the
    proxy's word they do not, so plain local use still signs in."""
    with rectify_web(county, proxy=True) as base:
        via_tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        with httpx.Client(base_url=base, headers=via_tls) as tls, httpx.Client(base_url=base) as plain:
            login = tls.get("/admin")
            assert all("Secure" in c for c in login.headers.get_list("set-cookie")) and login.headers.get_list(
                "set-cookie")
            token = form_of(login.text, "/admin/login")
            jar = "; ".join(f"{k}={v}" for k, v in login.cookies.items())  # what a browser over TLS sends back
            signed = tls.post("/admin/login", data={**token, "login": "xcb", "password": PASSWORDS["xcb"]},
                              headers={"Cookie": jar})
            cookies = signed.headers.get_list("set-cookie")
            assert signed.status_code == 303 and cookies and all("Secure" in c for c in cookies), cookies
            assert not any("Secure" in c for c in plain.get("/admin").headers.get_list("set-cookie"))
