"""The weekly import from the browser: upload, the dry run in words, choices where the file
cannot decide, confirm once, undo; scoped to the account's unit, refused in words."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rectify_core.ledger.models import AdminAction, ImportBatch, Item
from rectify_core.web import staging
from tests.fixtures.web import CLERKS as PASSWORDS
from tests.fixtures.web import World, admin_login, form_of, in_thread
from tests.test_units import county_csv

HEAD = "序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n"


def _rows(world: World) -> list[str]:
    return (world.store.parent / "ledger.csv").read_text(encoding="utf-8").splitlines()[1:]


def _batches(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ImportBatch)).scalar() or 0)


def _upload(client: httpx.Client, name: str, body: bytes, **data: str) -> httpx.Response:
    token = form_of(client.get("/admin/import").text, "/admin/import")
    return client.post("/admin/import", data={**token, **data}, files={"file": (name, body, "text/csv")})


def _hidden(page: str, action: str, **chosen: str) -> dict[str, list[str]]:
    """Every field of the first form posting to `action`, as a browser sends it, with what
    the person chose (a field chosen replaces the form's own)."""
    start = page.index(f'action="{action}"')
    form = page[start:page.index("</form>", start)]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        if name not in chosen:
            fields.setdefault(name, []).append(html.unescape(value))
    return {**fields, **{k: [v] for k, v in chosen.items()}}


def _week2(world: World) -> bytes:
    """Next week's sheet: renumbered (3 first), row 2 dropped, row 1 reworded."""
    one, _, three = _rows(world)
    reworded = one.replace("政府采购制度执行不到位", "政府采购制度执行仍不到位")
    return (HEAD + "1," + three.split(",", 1)[1] + "\n2," + reworded.split(",", 1)[1] + "\n").encode()


def test_a_clerk_uploads_reads_the_changes_in_words_and_confirms_once(office: World) -> None:
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["cs"], "cs").status_code == 303
        before = _batches(office)
        named = _upload(client, "第二周台账.csv", _week2(office))               # another name: rectify asks
        assert named.status_code == 200 and "新的一轮巡察" in named.text and "的新版台账" in named.text
        round_id = re.findall(r'name="round" value="(\d+)"><button class="primary">', named.text)
        assert len(round_id) == 1
        tried = client.post("/admin/import/check", data=_hidden(named.text, "/admin/import/check", round=round_id[0]))
        assert tried.status_code == 200, tried.text
        page = tried.text
        assert "数据库尚未改动" in page and "测试局" in page
        assert "序号变化 2 条" in page and "本次台账未列出 1 条" in page
        assert "要素制约破解不到位" in page and "仍在提醒" in page                  # the dropped row, in words
        assert "政府采购制度执行不到位" in page or "仍" in page
        assert _batches(office) == before                                      # a dry run writes nothing
        fields = _hidden(page, "/admin/import/confirm")
        first = client.post("/admin/import/confirm", data=fields)
        again = client.post("/admin/import/confirm", data=fields)              # a double-submitted confirm
        assert first.status_code == 303 and "ok=" in first.headers["location"]
        assert again.status_code == 409 and "已经确认导入过" in again.text
        assert _batches(office) == before + 1
        listed = client.get(first.headers["location"]).text
        assert "已导入：导入批次" in listed and "第二周台账.csv" in listed
        with office.engine.connect() as conn:
            titles = dict(conn.execute(select(Item.no, Item.title).where(Item.no > 0)).all())
            journal = conn.execute(select(AdminAction.login, AdminAction.unit, AdminAction.what)).all()
        assert titles[1] == "行政执法案卷质量不高" and titles[2] == "政府采购制度执行仍不到位"
        assert [(j.login, j.unit) for j in journal] == [("cs", "测试局")] and "第二周台账.csv" in journal[0].what
    assert not any((office.store / staging.STAGED).iterdir())                  # nothing left aside


def test_an_ambiguous_pair_is_asked_and_imported_as_chosen(cli: Any, office: World, tmp_path: Path) -> None:
    rows = _rows(office)
    extra = HEAD + "\n".join(rows) + "\n4,政府采购制度落实不到位,一是梳理制度,刘立强,王芳,2030-03-01,未完成\n"
    sheet = tmp_path / "w1" / "ledger.csv"
    sheet.parent.mkdir()
    sheet.write_text(extra, encoding="utf-8")
    assert cli(["--db", office.url, "import", str(sheet), "--unit", "测试局"]).code == 0
    body = (HEAD + "1," + rows[2].split(",", 1)[1] + "\n2,"
            + rows[0].split(",", 1)[1].replace("政府采购制度执行不到位", "政府采购制度执行落实不到位") + "\n").encode()
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["cs"], "cs").status_code == 303
        asked = _upload(client, "ledger.csv", body)
        assert asked.status_code == 200 and "请确认以下问题的对应关系" in asked.text
        assert "文件第2条" in asked.text and 'value="1"' in asked.text and 'value="4"' in asked.text
        chosen = client.post("/admin/import/check", data=_hidden(asked.text, "/admin/import/check", **{"pick-2": "4"}))
        assert chosen.status_code == 200 and "数据库尚未改动" in chosen.text, chosen.text
        done = client.post("/admin/import/confirm", data=_hidden(chosen.text, "/admin/import/confirm"))
        assert done.status_code == 303
    with office.engine.connect() as conn:
        titles = {t: no for no, t in conn.execute(select(Item.no, Item.title))}
    assert titles["政府采购制度执行落实不到位"] == 2                                 # the chosen item took the row
    assert titles["政府采购制度执行不到位"] < 0 and titles["要素制约破解不到位"] < 0  # the rest are off-sheet


def test_another_units_file_a_viewer_and_an_oversized_file_are_refused(office: World, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = _batches(office)
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["cs"], "cs").status_code == 303
        other = _upload(client, "全区台账.csv", county_csv(tmp_path).read_bytes())
        assert other.status_code == 409 and "不是本单位（测试局）的" in other.text
        forged = _upload(client, "ledger.csv", _week2(office), unit="区审计局党组")
        assert forged.status_code == 404
        monkeypatch.setenv("RECTIFY_IMPORT_MAX_MB", "1")
        big = _upload(client, "ledger.csv", HEAD.encode() + b"1," + b"x" * (2 * 2**20))
        assert big.status_code == 413 and "导入文件不超过 1 MB" in big.text
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["ck"], "ck").status_code == 303
        token = form_of(client.get("/admin/imports").text, "/admin/imports")
        viewer = client.post("/admin/import", data={"csrf": token.get("csrf", "")},
                             files={"file": ("ledger.csv", _week2(office), "text/csv")})
        assert viewer.status_code == 403
    assert _batches(office) == before
    staged = office.store / staging.STAGED
    assert not staged.exists() or not any(staged.iterdir())                   # nothing left aside


def test_the_office_undoes_a_batch_from_the_list_with_the_same_guard(office: World) -> None:
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["xcb"], "xcb").status_code == 303
        tried = _upload(client, "ledger.csv", _week2(office), unit="测试局")
        assert tried.status_code == 200, tried.text
        done = client.post("/admin/import/confirm", data=_hidden(tried.text, "/admin/import/confirm"))
        batch = int(done.headers["location"].rsplit("=", 1)[1])
        listed = client.get("/admin/imports").text
        undone = client.post(f"/admin/imports/{batch}/undo", data=form_of(listed, f"/admin/imports/{batch}/undo"))
        assert undone.status_code == 303
        assert f"已撤销导入批次 {batch}" in client.get(undone.headers["location"]).text
        twice = client.post(f"/admin/imports/{batch}/undo", data=form_of(listed, f"/admin/imports/{batch}/undo"))
        assert twice.status_code == 409 and "撤销过" in twice.text
    with office.engine.connect() as conn:
        titles = dict(conn.execute(select(Item.no, Item.title)).all())
    assert titles[1] == "政府采购制度执行不到位" and titles[2] == "要素制约破解不到位"  # as before the import
