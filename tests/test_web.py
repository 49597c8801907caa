"""The personal pages behind each digest's link, over HTTP and in a real browser: a link
opens its holder's items only, every action is a transition with its event, the holders
index follows every change of owner or leader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from rectify_core.config.settings import load_settings
from rectify_core.delivery import links
from rectify_core.ledger import db, holders
from rectify_core.ledger.models import Item, ItemHolder, ItemRequest, Person, Unit, Upload
from tests.fixtures.web import (
    CHROMIUM,
    PDF,
    UNIT,
    World,
    _ledger,
    _post,
    in_thread,
    link_in,
    mail_to,
    notify,
    rectify_web,
)


def test_digest_link_opens_own_items_only(cli: Any, world: World) -> None:
    with rectify_web(world) as base:
        notify(cli, world, world.day)
        body = mail_to(world, "周敏")
        url = link_in(body)
        assert url.startswith(base)
        page = httpx.get(url)
        assert page.status_code == 200
        assert "政府采购制度执行不到位" in page.text and "行政执法案卷质量不高" in page.text
        assert "要素制约破解不到位" not in page.text  # 王芳's item
        other = httpx.get(link_in(mail_to(world, "王芳")))
        assert "要素制约破解不到位" in other.text and "政府采购制度执行不到位" not in other.text
        # a tampered token: one character of the signature, or the name in the payload
        version, payload, signature = url.rsplit("/", 1)[1].split(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        forged = links.issue(b"not-the-secret-0123456789", UNIT, "王芳", dt.datetime.now(dt.UTC))
        for bad in (f"{version}.{payload}.{flipped}", f"{forged.rsplit('.', 1)[0]}.{signature}"):
            refused = httpx.get(f"{base}/p/{bad}")
            assert refused.status_code == 403
            assert "链接无效" in refused.text and "政府采购" not in refused.text and "要素制约" not in refused.text
        for header in ("content-security-policy", "x-frame-options", "referrer-policy"):
            assert header in page.headers


def test_base_url_given_to_rectify_web_reaches_the_digests(cli: Any, world: World) -> None:
    """No web.toml: `rectify web --base-url` records its address, and the digests that
    `rectify notify` sends from another process link there."""
    assert not (world.config / "web.toml").exists()
    with rectify_web(world, flag=True) as base:
        notify(cli, world, world.day)
        url = link_in(mail_to(world, "周敏"))
        assert url.startswith(base + "/p/")
        assert "政府采购制度执行不到位" in httpx.get(url).text


def test_actions_are_transitions_with_events(world: World) -> None:
    with in_thread(world) as client:
        zhou, hu = world.link("周敏"), world.link("胡志云")
        item = world.item(1)
        assert _post(client, zhou, f"/items/{item.id}/ack", {}).status_code == 303
        done = _post(client, zhou, f"/items/{item.id}/progress", {"text": "已清查采购事项12项", "ongoing": "1"},
                     files=[("files", ("清查报告.pdf", PDF, "application/pdf"))])
        assert done.status_code == 303
        after = world.item(1)
        assert after.acknowledged_by == "周敏" and after.status == "ongoing" and after.progress == "已清查采购事项12项"
        # the file is stored by its hash, not by its name
        with db.transaction(world.engine) as s:
            upload = s.scalars(select(Upload)).one()
        stored = world.store / upload.sha256[:2] / upload.sha256
        assert stored.read_bytes() == PDF and not list(world.store.rglob("*.pdf"))
        # closure: asked by the owner, checked by the leader (the two-person rule)
        asked = _post(client, zhou, f"/items/{item.id}/closure", {"text": "已全部整改"},
                      files=[("files", ("整改报告.pdf", PDF, "application/pdf"))])
        assert asked.status_code == 303
        with db.transaction(world.engine) as s:
            request = s.scalars(select(ItemRequest)).one()
        leader_page = client.get(hu).text
        assert "销号申请" in leader_page and "核验通过" in leader_page
        assert client.get(f"{hu}/files/{upload.id + 1}").content == PDF  # the verifier opens the evidence
        assert _post(client, hu, f"/requests/{request.id}/decide", {"decision": "approve"}).status_code == 303
        assert world.item(1).status == "done"
    kinds = [(e.kind, e.actor, e.data.get("via")) for e in world.events() if e.item_id == item.id]
    assert ("acknowledged", "周敏", "web") in kinds and ("progress", "周敏", "web") in kinds
    assert ("closure_requested", "周敏", "web") in kinds and ("closed", "周敏", "web") in kinds
    closed = world.events("closed")[0]
    assert closed.data["verified_by"] == "胡志云" and closed.data["request"] == request.id


def test_the_web_and_the_cli_resolve_the_same_approvers(cli: Any, world: World) -> None:
    """A verifier the ledger recorded (not in contacts.toml) checks a closure on the web,
    as `show --json` says; the leader, whom the contacts alone would pick, may not."""
    with db.transaction(world.engine) as s:
        unit_id = s.scalars(select(Unit.id).where(Unit.name == UNIT)).one()
        s.add(Person(unit_id=unit_id, name="李静", role="verifier"))
    with in_thread(world) as client:
        zhou, li, hu = world.link("周敏"), world.link("李静"), world.link("胡志云")
        item = world.item(1)
        asked = _post(client, zhou, f"/items/{item.id}/closure", {"text": "已全部整改"},
                      files=[("files", ("整改报告.pdf", PDF, "application/pdf"))])
        assert asked.status_code == 303
        with db.transaction(world.engine) as s:
            rid = s.scalars(select(ItemRequest.id)).one()
        shown = cli(["--db", world.url, "--config", str(world.config), "show", "1", "--json"]).json()
        assert [r["deciders"] for r in shown["requests"]] == [["李静"]]
        assert f"/requests/{rid}/decide" not in client.get(hu).text
        assert f"/requests/{rid}/decide" in client.get(li).text
        refused = _post(client, hu, f"/requests/{rid}/decide", {"decision": "approve"})
        assert refused.status_code == 404 and world.item(1).status != "done"
        assert _post(client, li, f"/requests/{rid}/decide", {"decision": "approve"}).status_code == 303
    assert world.item(1).status == "done" and world.events("closed")[0].data["verified_by"] == "李静"


def test_ids_in_urls_are_bounded_before_the_database(world: World) -> None:
    """Any id a link holder can type (too large for the database, negative, not a number,
    encoded) is a "not found" page, never a server error."""
    ids = ["99999999999999999999", "9223372036854775808", "-1", "0", "1e3", "x" * 300, "1.5", "%00", "1%2F2"]
    with in_thread(world) as client:
        zhou = world.link("周敏")
        for raw in ids:
            for path in (f"{zhou}/items/{raw}", f"{zhou}/files/{raw}"):
                answer = client.get(path)
                assert answer.status_code in (404, 405), (path, answer.status_code)   # 405: a POST-only path
                assert "没有" in answer.text or answer.status_code == 405
            posted = client.post(f"{zhou}/requests/{raw}/decide", data={"decision": "approve"})
            assert posted.status_code in (403, 404), (raw, posted.status_code)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_browser_walks_the_whole_loop(cli: Any, world: World, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    evidence = tmp_path / "采购清查报告.pdf"
    evidence.write_bytes(PDF)
    cal = load_settings(world.config).calendar
    next_day = cal.add_workdays(world.day, 1)
    new_due = cal.add_workdays(next_day, 10)  # the next day is then a 临期提醒 day for the new date
    with rectify_web(world), sync_playwright() as p:
        notify(cli, world, world.day)
        zhou_url, hu_url = link_in(mail_to(world, "周敏")), link_in(mail_to(world, "胡志云"))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        errors: list[str] = []
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(zhou_url)
        card = page.locator(f"#item-{world.item(1).id}")
        card.get_by_role("button", name="已阅").click()
        page.wait_for_url("**?ok=ack*")
        assert "已确认已阅" in (page.text_content("body") or "")
        page.locator(f"#item-{world.item(1).id}").get_by_role("link", name="办理").click()
        page.wait_for_url(f"**/items/{world.item(1).id}")
        page.locator("summary", has_text="报送进展").click()
        page.get_by_label("进展情况").fill("已完成采购事项清查，正在修订制度")
        page.get_by_label("附件", exact=False).set_input_files(str(evidence))
        page.get_by_role("button", name="报送").click()
        page.wait_for_url("**?ok=progress*")
        assert "采购清查报告.pdf" in (page.text_content("body") or "")
        page.locator("summary", has_text="申请延期").click()
        page.get_by_label("申请延至").fill(new_due.isoformat())
        page.get_by_label("理由").fill("需财政部门配合")
        page.get_by_role("button", name="提交申请").click()
        page.wait_for_url("**?ok=extension*")
        assert "延期申请待审批" in (page.text_content("body") or "")
        page.screenshot(path=str(tmp_path / "owner.png"))
        leader = browser.new_page(viewport={"width": 390, "height": 844})
        leader.goto(hu_url)
        assert new_due.isoformat() in (leader.text_content("#decisions") or "")
        leader.locator("#decisions textarea[name=note]").fill("同意")
        leader.get_by_role("button", name="批准").click()
        leader.wait_for_url("**?ok=approved*")
        assert "已批准" in (leader.text_content("body") or "")
        assert not errors, errors
        browser.close()
    shown = cli(["--db", world.url, "--config", str(world.config), "show", "1", "--json"]).json()
    kinds = [e["kind"] for e in shown["events"]]
    for kind in ("acknowledged", "progress", "extension_requested", "extended"):
        assert kind in kinds, kinds
    assert shown["extended_to"] == new_due.isoformat()
    assert shown["progress_reports"][0]["evidence"][0]["name"] == "采购清查报告.pdf"
    assert all(e["data"].get("via") == "web" for e in shown["events"] if e["kind"] != "imported"
               and e["kind"] not in ("notified",))
    notify(cli, world, next_day)
    body = mail_to(world, "周敏")
    assert f"{new_due.year}年{new_due.month}月{new_due.day}日" in body
    assert "周敏已于" in body and "确认已阅" in body


def _holders(engine: Engine) -> list[tuple[int, str, str]]:
    with db.transaction(engine) as s:
        return sorted((h.item_id, h.role, h.name) for h in s.scalars(select(ItemHolder)))


def _recomputed(engine: Engine) -> list[tuple[int, str, str]]:
    with db.transaction(engine) as s:
        rows = [r for i in s.scalars(select(Item)) for r in holders.rows(i.id, i.owner, i.leader)]
    return sorted((r["item_id"], r["role"], r["name"]) for r in rows)


def test_holders_index_follows_imports_reassignments_and_undo(cli: Any, world: World, tmp_path: Path) -> None:
    db_args = ["--db", world.url, "--config", str(world.config)]
    assert _holders(world.engine) == _recomputed(world.engine) and len(_holders(world.engine)) == 6
    changed = tmp_path / "week2.csv"
    week2 = _ledger(world.day, load_settings(world.config).calendar).replace("刘立强,王芳", "刘立强,王芳、赵磊")
    changed.write_text(week2 + "4,新增问题,一是整改,胡志云,陈红,2027-03-31,未完成\n", encoding="utf-8")
    round_id = cli([*db_args, "rounds", "--json"]).json()[0]["id"]
    result = cli([*db_args, "import", str(changed), "--round", str(round_id)])
    assert result.code == 0, result.err
    assert {"赵磊", "陈红"} <= {name for _, _, name in _holders(world.engine)}
    assert _holders(world.engine) == _recomputed(world.engine)
    with in_thread(world) as client:
        assert "要素制约破解不到位" in client.get(world.link("赵磊")).text
    batches = cli([*db_args, "imports", "--json"]).json()
    undone = cli([*db_args, "imports", "undo", str(max(b["id"] for b in batches))])
    assert undone.code == 0, (undone.err, batches)
    assert _holders(world.engine) == _recomputed(world.engine)
    assert not {"陈红", "赵磊"} & {name for _, _, name in _holders(world.engine)}
    assert cli([*db_args, "reassign", "--from", "周敏", "--to", "孙丽", "--unit", UNIT]).code == 0
    assert _holders(world.engine) == _recomputed(world.engine)
    assert "周敏" not in {name for _, role, name in _holders(world.engine) if role == "owner"}
    with in_thread(world) as client:
        assert "政府采购制度执行不到位" in client.get(world.link("孙丽")).text
        assert "政府采购制度执行不到位" not in client.get(world.link("周敏")).text


def test_a_pages_dates_are_kept_for_the_day_and_follow_it() -> None:
    """Due dates are kept per day and settings by each worker: the next day, or settings
    read anew, start afresh, and a card's working days follow the day it is opened."""
    from rectify_core.web import portal

    settings = load_settings(None)
    wed, thu = dt.date(2026, 11, 25), dt.date(2026, 11, 26)
    assert portal.dates_on(wed, settings) is portal.dates_on(wed, settings)
    assert portal.dates_on(thu, settings) is not portal.dates_on(wed, settings)
    assert portal.dates_on(thu, load_settings(None)) is not portal.dates_on(thu, settings)
    fields = dict.fromkeys(portal._HeldRow._fields)
    row = portal._HeldRow(**{**fields, "id": 1, "round_id": 1, "ref": "1", "status": "open",
                             "deadline_kind": "dated", "deadline": dt.date(2026, 12, 4), "rebound_count": 0,
                             "role": "owner"})
    left = [portal.dates_on(day, settings).card(row, ["owner"]).left for day in (wed, thu, wed)]
    assert left == [7, 6, 7]  # 2026-12-04 is a Friday: 7 working days after Wednesday the 25th
