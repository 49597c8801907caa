"""Decisions on a problem from its page: each the CLI's transition, with the account as the
actor of its event and a line in the office's journal; scoped, and refused in words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from rectify_core.ledger.models import AdminAction, Closure, Event, Item, Round
from tests.fixtures.web import CLERKS as PASSWORDS
from tests.fixtures.web import PDF, World, admin_login, form_of, in_thread
from tests.test_units import county_csv


def _ids(world: World) -> dict[str, int]:
    with world.engine.connect() as conn:
        return {t: i for i, t in conn.execute(select(Item.id, Item.title))}


def _post(client: httpx.Client, item: int, action: str, data: dict[str, str], files: Any = None) -> httpx.Response:
    page = client.get(f"/admin/items/{item}").text
    return client.post(f"/admin/items/{item}/{action}", data={**form_of(page, f"/admin/items/{item}/{action}"),
                                                              **data}, files=files)


def _drop_row_2(cli: Any, world: World, tmp_path: Path) -> None:
    lines = (world.store.parent / "ledger.csv").read_text(encoding="utf-8").splitlines()
    week2 = tmp_path / "w2" / "ledger.csv"
    week2.parent.mkdir()
    week2.write_text("\n".join([lines[0], lines[1], "2," + lines[3].split(",", 1)[1]]) + "\n", encoding="utf-8")
    assert cli(["--db", world.url, "import", str(week2), "--unit", "测试局"]).code == 0


def _state(world: World, title: str) -> tuple[str, list[tuple[str, str | None]]]:
    with world.engine.connect() as conn:
        item_id, status = conn.execute(select(Item.id, Item.status).where(Item.title == title)).one()
        events = [(str(k), a) for k, a in conn.execute(select(Event.kind, Event.actor).where(Event.item_id == item_id)
                                                 .order_by(Event.id))]
    return str(status), events


def test_an_off_sheet_item_is_withdrawn_merged_kept_and_reinstated_by_clicking(cli: Any, office: World,
                                                                               tmp_path: Path) -> None:
    _drop_row_2(cli, office, tmp_path)
    ids = _ids(office)
    dropped, kept = ids["要素制约破解不到位"], ids["政府采购制度执行不到位"]
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["cs"], "cs").status_code == 303
        page = client.get(f"/admin/items/{dropped}").text
        assert "本次台账未列出，仍在提醒" in page and f'<option value="{kept}">' in page   # merge offers a list
        done = _post(client, dropped, "withdraw", {"reason": "经巡察办同意不再列入"})
        assert done.status_code == 303 and "已撤销" in client.get(done.headers["location"]).text
        assert _state(office, "要素制约破解不到位")[0] == "withdrawn"
        assert _state(office, "要素制约破解不到位")[1][-1] == ("withdrawn", "cs（网页，账号 cs）")
        assert _post(client, dropped, "reinstate", {}).status_code == 303
        assert _post(client, dropped, "merge", {"into": str(kept)}).status_code == 303
        assert _state(office, "要素制约破解不到位")[0] == "merged"
        assert _post(client, dropped, "merge", {"into": str(kept)}).status_code == 409   # merged already
        assert _post(client, dropped, "reinstate", {}).status_code == 303
        assert _post(client, dropped, "keep", {"note": "仍需整改"}).status_code == 303
        assert _state(office, "要素制约破解不到位")[1][-1][0] == "kept"
        assert _post(client, kept, "keep", {}).status_code == 409                       # still on the sheet
    with office.engine.connect() as conn:
        lines = [w for (w,) in conn.execute(select(AdminAction.what).order_by(AdminAction.id))]
    assert len(lines) == 5 and "撤销（理由：经巡察办同意不再列入）" in lines[0] and "并入" in lines[2]


def test_progress_extension_and_a_closure_with_a_second_person(office: World) -> None:
    ids = _ids(office)
    item = ids["政府采购制度执行不到位"]                                           # owner 周敏, leader 胡志云
    later = (office.day + dt.timedelta(days=60)).isoformat()
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["cs"], "cs").status_code == 303
        page = client.get(f"/admin/items/{item}").text
        assert "<option>胡志云</option>" in page and "<option>王芳</option>" in page  # people offered, not typed
        done = _post(client, item, "progress", {"text": "已清查采购事项 12 件", "status": "ongoing"},
                     files={"files": ("清查.pdf", PDF, "application/pdf")})
        assert done.status_code == 303, done.text
        assert _state(office, "政府采购制度执行不到位")[0] == "ongoing"
        typed = _post(client, item, "extend", {"to": later, "reason": "需走采购程序", "approved_by": "某位领导"})
        assert typed.status_code == 409 and "请从列表中选择批准人" in typed.text
        assert _post(client, item, "extend", {"to": later, "reason": "需走采购程序",
                                              "approved_by": "胡志云"}).status_code == 303
        assert _state(office, "政府采购制度执行不到位")[1][-1] == ("extended", "胡志云")
        self_check = _post(client, item, "close", {"evidence_text": "制度已修订", "verified_by": "周敏"})
        assert self_check.status_code == 409 and "第二人" in self_check.text          # the owner verifies nothing
        closed = _post(client, item, "close", {"evidence_text": "制度已修订", "verified_by": "胡志云"},
                       files={"files": ("制度.pdf", PDF, "application/pdf")})
        assert closed.status_code == 303
    with office.engine.connect() as conn:
        closure = conn.execute(select(Closure).where(Closure.item_id == item)).one()
    assert closure.verified_by == "胡志云" and closure.closed_by == "cs（网页，账号 cs）"
    assert [e["kind"] for e in closure.evidence] == ["file", "text"]
    assert _state(office, "政府采购制度执行不到位")[0] == "done"


def test_a_forged_form_for_another_unit_and_a_viewers_write_change_nothing(cli: Any, office: World,
                                                                          tmp_path: Path) -> None:
    mine = _ids(office)["政府采购制度执行不到位"]                                   # 测试局's, before the county's
    assert cli(["--db", office.url, "import", str(county_csv(tmp_path))]).code == 0
    with office.engine.connect() as conn:
        other = conn.execute(select(Item.id).where(Item.title == "审计整改跟踪不到位")).scalar_one()
        before = conn.execute(select(Event.id).order_by(Event.id.desc())).scalars().first()
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["cs"], "cs").status_code == 303
        token = form_of(client.get(f"/admin/items/{mine}").text, f"/admin/items/{mine}/withdraw")
        assert client.get(f"/admin/items/{other}").status_code == 404
        forged = client.post(f"/admin/items/{other}/withdraw", data={**token, "reason": "伪造"})
        assert token and forged.status_code == 404
        bad_round = client.post(f"/admin/items/{other}/round", data={**token, "feedback_date": "2026-01-05"})
        assert bad_round.status_code == 404
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["ck"], "ck").status_code == 303
        page = client.get(f"/admin/items/{mine}").text
        assert "/withdraw" not in page and "销号</summary>" not in page               # a viewer is offered nothing
        token = form_of(page, f"/admin/items/{mine}")
        assert client.post(f"/admin/items/{mine}/close", data={**token, "evidence_text": "x",
                                                               "verified_by": "胡志云"}).status_code == 403
    with office.engine.connect() as conn:
        assert conn.execute(select(Event.id).order_by(Event.id.desc())).scalars().first() == before


def test_the_round_is_corrected_from_an_item(office: World) -> None:
    item = _ids(office)["政府采购制度执行不到位"]
    with in_thread(office) as client:
        assert admin_login(client, PASSWORDS["xcb"], "xcb").status_code == 303
        done = _post(client, item, "round", {"feedback_date": "2026-03-15", "first_responsible": "刘立强"})
        assert done.status_code == 303
        assert _post(client, item, "round", {"first_responsible": "张三"}).status_code == 409
    with office.engine.connect() as conn:
        rnd = conn.execute(select(Round.feedback_date, Round.first_responsible)).one()
        edited = conn.execute(select(Event.actor).where(Event.kind == "round_edited")).scalars().all()
    assert rnd == (dt.date(2026, 3, 15), "刘立强") and edited == ["xcb（网页，账号 xcb）"]
