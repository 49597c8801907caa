"""rectify web: personal links from real digests, each action a lifecycle transition,
and every way in refused that should be. Real parts: `rectify web` as a process (or
the same app under uvicorn in a thread, where a test needs the clock), a real SMTP
sink, HTTP over loopback, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select

from rectify_core.config.calendar import local_today, wall_clock
from rectify_core.config.settings import load_settings
from rectify_core.config.web import ADMIN_ENV, SECRET_ENV, load_web
from rectify_core.delivery import links
from rectify_core.delivery.mailsink import MailSink, free_port
from rectify_core.errors import ConfigError
from rectify_core.ledger import db, holders
from rectify_core.ledger.models import Event, Item, ItemHolder, ItemRequest, LinkRevocation, Person, Unit, Upload
from rectify_core.ledger.office import Office
from rectify_core.web.app import create_app
from tests.fixtures.channels import plain, write_contacts
from tests.fixtures.databases import ROOT

SECRET = "web-test-secret-0123456789abcdef"
ADMIN = "clerk-admin-token-42"
UNIT = "测试局"
EMAIL = {"周敏": "zhoumin", "胡志云": "huzhiyun", "王芳": "wangfang", "刘立强": "liuliqiang"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class World:
    """One unit's ledger: 周敏 owns items 1 and 3, 王芳 item 2; 胡志云 leads 1 and 3,
    刘立强 leads 2. `day` is the first working day from today (the digests' day)."""

    url: str
    config: Path
    engine: Engine
    day: dt.date
    sink: MailSink
    store: Path

    def item(self, no: int) -> Item:
        with db.transaction(self.engine) as s:
            item = s.scalar(select(Item).where(Item.no == no))
            assert item is not None
            s.expunge(item)
            return item

    def events(self, kind: str | None = None) -> list[Event]:
        with db.transaction(self.engine) as s:
            query = select(Event).order_by(Event.id)
            return list(s.scalars(query.where(Event.kind == kind) if kind else query))

    def link(self, name: str, now: dt.datetime | None = None) -> str:
        return "/p/" + links.issue(SECRET.encode(), UNIT, name, now or dt.datetime.now(dt.UTC))


def _ledger(day: dt.date, cal: Any) -> str:
    soon = cal.add_workdays(day, 10)
    late = cal.add_workdays(day, -8)
    return ("序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n"
            f"1,政府采购制度执行不到位,一是清查采购事项,胡志云,周敏,{soon.isoformat()},未完成\n"
            f"2,要素制约破解不到位,一是梳理要素清单,刘立强,王芳,{soon.isoformat()},未完成\n"
            f"3,行政执法案卷质量不高,一是评查案卷,胡志云,周敏,{late.isoformat()},未完成\n")


@pytest.fixture
def world(cli: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv(ADMIN_ENV, ADMIN)
    with MailSink(tmp_path / "mail") as sink:
        config = write_contacts(tmp_path / "cfg", {n: [f"mailto://127.0.0.1:{sink.port}?from=rectify@localhost"
                                                      f"&to={box}@example.gov.cn"] for n, box in EMAIL.items()})
        for name in ("rules.toml", "calendar.toml"):
            shutil.copy(ROOT / "config" / name, config / name)
        settings = load_settings(config)
        day = settings.calendar.next_workday(local_today(dt.datetime.now(dt.UTC)))
        ledger = tmp_path / "ledger.csv"
        ledger.write_text(_ledger(day, settings.calendar), encoding="utf-8")
        assert cli(["--db", db_url, "import", str(ledger), "--unit", UNIT]).code == 0
        engine = db.make_engine(db_url)
        yield World(db_url, config, engine, day, sink, tmp_path / "uploads")
        engine.dispose()


def _base(world: World, port: int) -> None:
    """Point web.toml's base_url at `port`, keeping what a test set there."""
    path = world.config / "web.toml"
    kept = [line for line in (path.read_text(encoding="utf-8").splitlines() if path.exists() else [])
            if line.strip() and line.strip() != "[web]" and not line.startswith("base_url")]
    path.write_text("\n".join(["[web]", f'base_url = "http://127.0.0.1:{port}"', *kept]) + "\n", encoding="utf-8")


@contextlib.contextmanager
def rectify_web(world: World, flag: bool = False, workers: int = 1) -> Iterator[str]:
    """`rectify web` as its own process on a loopback port, as an office runs it; its
    address in web.toml, or (`flag`) given as --base-url only."""
    port = free_port()
    if not flag:
        _base(world, port)
    env = {**os.environ, SECRET_ENV: SECRET, ADMIN_ENV: ADMIN}
    env.pop(links.BASE_URL_ENV, None)
    address = ["--base-url", f"http://127.0.0.1:{port}"] if flag else []
    proc = subprocess.Popen([sys.executable, "-m", "flows", "--db", world.url, "--config", str(world.config),
                             "web", "--port", str(port), "--data-dir", str(world.store), "--workers", str(workers),
                             *address],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).text == "ok":
                    break
            if proc.poll() is not None:
                raise AssertionError(f"rectify web exited: {proc.communicate()}")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@contextlib.contextmanager
def in_thread(world: World, clock: Any = None) -> Iterator[httpx.Client]:
    """The same application under uvicorn in a thread, when a test sets the clock."""
    port = free_port()
    _base(world, port)
    settings = load_settings(world.config)
    office = Office(world.url, world.config, settings=settings, engine=world.engine, files=world.store,
                    clock=clock or wall_clock, migrated=True)
    app = create_app(office, secret=SECRET.encode(), admin_token=ADMIN)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


def notify(cli: Any, world: World, day: dt.date) -> None:
    result = cli(["--db", world.url, "--config", str(world.config), "notify", "--date", day.isoformat()])
    assert result.code == 0, result.err


def mail_to(world: World, name: str) -> str:
    """The plain text of the newest digest to `name`."""
    mails = [m for m in world.sink.messages if str(m["to"]).startswith(EMAIL[name] + "@")]
    assert mails, f"no mail to {name}"
    return str(plain(mails[-1]))


def link_in(text: str) -> str:
    found = re.findall(r"https?://127\.0\.0\.1:\d+/p/[A-Za-z0-9._-]+", text)
    assert len(found) == 1, text
    return str(found[0])


def form_of(page: str, action: str) -> dict[str, str]:
    """The CSRF field of the form posting to `action` (a form's action, or a button's
    formaction), or (for a form the page does not offer, such as another person's item)
    the page's own."""
    field = r'name="(csrf)" value="([^"]+)"'
    button = page.find(f'formaction="{action}"')
    if button >= 0:  # a button of a larger form (the list's 已阅): that form's field, before it
        return dict(re.findall(field, page[:button])[-1:])
    start = max(page.find(f' action="{action}"'), 0)
    return dict(re.findall(field, page[start:])[:1])


def admin_login(client: httpx.Client, password: str = ADMIN, login: str = "admin") -> httpx.Response:
    """Sign in to /admin as a person does: the login page's form, its CSRF token, the post.
    Without any account the bootstrap token signs in as the office (login: anything)."""
    token = form_of(client.get("/admin").text, "/admin/login")
    return client.post("/admin/login", data={**token, "login": login, "password": password})


# --- the kept check: a real digest's link opens that person's page, and only theirs ----

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


# --- every action through the HTTP forms ----------------------------------------------

def _post(client: httpx.Client, link: str, path: str, data: dict[str, str], files: Any = None) -> httpx.Response:
    page = client.get(link)
    assert page.status_code == 200, page.text
    action = f"{link}{path}"
    return client.post(action, data={**form_of(page.text, action), **data}, files=files)


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


# --- refusals: a clear page, the right status, nothing changed -------------------------

def _snapshot(world: World) -> tuple[int, int, int]:
    with db.transaction(world.engine) as s:
        return (s.scalar(select(func.count()).select_from(Event)) or 0,
                s.scalar(select(func.count()).select_from(ItemRequest)) or 0,
                s.scalar(select(func.count()).select_from(Upload)) or 0)


def test_expired_and_revoked_links_are_refused(cli: Any, world: World) -> None:
    old = world.link("周敏", dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    fresh = world.link("周敏")
    with in_thread(world) as client:
        expired = client.get(old)
        assert expired.status_code == 403 and "已过期" in expired.text and "政府采购" not in expired.text
        assert client.get(fresh).status_code == 200
        result = cli(["--db", world.url, "--config", str(world.config), "web", "revoke", "--person", "周敏",
                      "--unit", UNIT])
        assert result.code == 0, result.err
        revoked = client.get(fresh)
        assert revoked.status_code == 403 and "已被收回" in revoked.text
        later = world.link("周敏")
        assert client.get(later).status_code == 200  # the next digest's link works at once
        assert client.get(world.link("王芳")).status_code == 200  # and nobody else's was touched


def test_revocation_follows_the_person_not_the_spelling(cli: Any, world: World) -> None:
    """A link issued for "周 敏" (a space, a full-width letter case) is 周敏's: revoking 周敏
    stops it. Revoking someone rectify does not know is an error that changes nothing."""
    spaced = "/p/" + links.issue(SECRET.encode(), f" {UNIT} ", "周 敏", dt.datetime.now(dt.UTC))
    with in_thread(world) as client:
        assert client.get(spaced).status_code == 200
        base = ["--db", world.url, "--config", str(world.config), "web", "revoke"]
        assert cli([*base, "--person", "周敏", "--unit", UNIT]).code == 0
        assert client.get(spaced).status_code == 403
        for person, unit, words in (("周敌", UNIT, "没有名为“周敌”的人"),
                                    ("周敏", "测试局二", "没有名为“测试局二”的被巡察单位")):
            nobody = cli([*base, "--person", person, "--unit", unit])
            assert nobody.code != 0 and words in nobody.err and "已收回" not in nobody.out
        assert client.get(world.link("王芳")).status_code == 200
    with db.transaction(world.engine) as s:
        assert s.scalars(select(LinkRevocation.name)).all() == ["周敏"]


def test_a_token_with_an_absurd_issue_time_is_refused_not_crashed() -> None:
    import base64
    import hashlib
    import hmac
    import json

    for issued in (10**20, -(10**15), 2**63):
        payload = base64.urlsafe_b64encode(json.dumps({"u": UNIT, "n": "周敏", "i": issued, "k": "ab"})
                                           .encode()).decode().rstrip("=")
        signature = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), b"rectify-link.v1." + payload.encode(),
                                                      hashlib.sha256).digest()).decode().rstrip("=")
        with pytest.raises(links.LinkError):
            links.verify(SECRET.encode(), f"v1.{payload}.{signature}", dt.datetime.now(dt.UTC), 30)


def test_another_persons_item_and_missing_csrf_change_nothing(world: World) -> None:
    with in_thread(world) as client:
        zhou, wang = world.link("周敏"), world.link("王芳")
        theirs = world.item(2).id  # 王芳's
        before = _snapshot(world)
        stolen = _post(client, zhou, f"/items/{theirs}/ack", {})
        assert stolen.status_code == 404 and "不在您的名下" in stolen.text
        mine = world.item(1).id
        client.get(zhou)
        no_csrf = client.post(f"{zhou}/items/{mine}/ack", data={})
        assert no_csrf.status_code == 403 and "表单已失效" in no_csrf.text
        page = client.get(wang).text  # a real CSRF token, but of another link
        other = form_of(page, f"{wang}/items/{theirs}/ack")
        cross = client.post(f"{zhou}/items/{mine}/ack", data=other)
        assert cross.status_code == 403
        cookieless = httpx.post(f"{client.base_url}{zhou}/items/{mine}/ack", data=form_of(client.get(zhou).text,
                                                                                        f"{zhou}/items/{mine}/ack"))
        assert cookieless.status_code == 403
        assert _snapshot(world) == before and world.item(1).acknowledged_on is None


def test_oversize_and_disallowed_uploads_are_refused(world: World) -> None:
    (world.config / "web.toml").write_text('[web]\nmax_upload_mb = 1\nmax_files = 1\n', encoding="utf-8")
    with in_thread(world) as client:
        zhou, mine = world.link("周敏"), world.item(1).id
        before = _snapshot(world)
        cases = [
            ("huge.pdf", b"%PDF-" + b"0" * (3 * 2**20), 413, "过大"),           # past the whole-body cap
            ("big.pdf", b"%PDF-" + b"0" * (2**20 + 10), 413, "文件过大"),        # past the per-file cap
            ("run.exe", b"MZ\x90\x00", 415, "不接受这种文件"),
            ("fake.pdf", b"<script>alert(1)</script>", 415, "内容与类型不符"),
            ("../../etc/passwd.png", b"\x89PNG\r\n\x1a\n" + b"x" * 10, 303, ""),  # a name is never a path
        ]
        for name, content, status, words in cases:
            response = _post(client, zhou, f"/items/{mine}/progress", {"text": "进展"},
                             files=[("files", (name, content, "application/octet-stream"))])
            assert response.status_code == status, (name, response.text[:300])
            assert words in response.text
            if status != 303:
                assert _snapshot(world) == before
        with db.transaction(world.engine) as s:
            assert s.scalars(select(Upload.name)).one() == "passwd.png"
        assert not (world.store / "passwd.png").exists()
        assert {p.name for p in world.store.rglob("*") if p.is_file()} == {
            __import__("hashlib").sha256(b"\x89PNG\r\n\x1a\n" + b"x" * 10).hexdigest()}


def test_a_request_is_decided_once(world: World) -> None:
    with in_thread(world) as client:
        zhou, hu = world.link("周敏"), world.link("胡志云")
        item = world.item(1)
        to = (item.deadline or world.day) + dt.timedelta(days=20)
        asked = _post(client, zhou, f"/items/{item.id}/extension", {"to": to.isoformat(), "reason": "需协调财政部门"})
        assert asked.status_code == 303
        with db.transaction(world.engine) as s:
            rid = s.scalars(select(ItemRequest.id)).one()
        page = client.get(hu).text
        token = form_of(page, f"{hu}/requests/{rid}/decide")
        # the owner cannot approve their own request
        own = _post(client, zhou, f"/requests/{rid}/decide", {"decision": "approve"})
        assert own.status_code == 404
        first = client.post(f"{hu}/requests/{rid}/decide", data={**token, "decision": "approve"})
        assert first.status_code == 303
        before = _snapshot(world)
        second = client.post(f"{hu}/requests/{rid}/decide", data={**token, "decision": "approve"})
        assert second.status_code in (404, 409)
        assert _snapshot(world) == before
        after = world.item(1)
        assert after.extended_to == to and after.extension_count == 1
        assert len(world.events("extended")) == 1


def test_bad_tokens_are_rate_limited(world: World) -> None:
    (world.config / "web.toml").write_text('[web]\nfailed_per_10min = 3\n', encoding="utf-8")
    with in_thread(world) as client:
        for _ in range(3):
            assert client.get("/p/v1.e30.AAAA").status_code == 403
        assert client.get("/p/v1.e30.AAAA").status_code == 429
        assert client.get(world.link("周敏")).status_code == 429  # the whole client waits


def test_the_stylesheet_caches_and_downloads_leave_nothing_behind(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with in_thread(world) as client:
        css = client.get("/static/app.css")
        assert css.headers.get_list("cache-control") == ["max-age=3600"]
        assert client.get("/").headers["cache-control"] == "no-store"
        assert admin_login(client).status_code == 303
        assert client.get("/admin/download/ledger.xlsx").status_code == 200
        assert client.get("/admin/download/dashboard.html").status_code == 200
    assert list(scratch.iterdir()) == []                                  # each download's folder removed


def test_bad_tries_count_across_workers(world: World) -> None:
    """Two workers (two applications over one database, as `rectify web --workers 2`
    runs): bad links and wrong admin tokens from one client count together."""
    (world.config / "web.toml").write_text('[web]\nfailed_per_10min = 4\n', encoding="utf-8")
    with in_thread(world) as first, in_thread(world) as second:
        for client in (first, second, first):
            assert client.get("/p/v1.e30.AAAA").status_code == 403
        assert admin_login(second, "wrong-token-wrong-token").status_code == 403
        assert first.get("/p/v1.e30.AAAA").status_code == 429          # the fifth try, wherever it lands
        assert admin_login(second).status_code == 429


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
            for c in (task / "children").read_text().split()]


def test_two_worker_processes_share_one_limit(world: World) -> None:
    """`rectify web --workers 2`, the real thing: every request on a fresh connection,
    so the kernel spreads them over both workers; the fifth bad try is refused wherever
    it lands, and hostile URLs never reach a 5xx."""
    (world.config / "web.toml").write_text('[web]\nfailed_per_10min = 4\n', encoding="utf-8")
    with rectify_web(world, workers=2) as base:
        server = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                      and f"--port\x00{base.rsplit(':', 1)[1]}\x00".encode() in (p / "cmdline").read_bytes())
        assert len(_children(server)) >= 2                                  # a supervisor and its workers
        link = base + world.link("王芳")
        assert httpx.get(link).status_code == 200
        for path in (f"/items/{10**30}", "/items/-1", "/items/%00", "/items/1e9", "/items/%EF%BC%91",
                     "/" + "x" * 5000, "/items/1/" + "y" * 300):
            assert httpx.get(link + path).status_code in (404, 405)             # bounded, never a 5xx
        bad = ["/p/v1.e30.AAAA", "/p/" + "A" * 20000, "/p/%ff%fe", link.removeprefix(base)[:-3] + "xyz"]
        assert [httpx.get(base + path).status_code for path in bad] == [403] * 4
        assert httpx.get(link).status_code == 429                           # the fifth try, whichever worker
        assert httpx.post(f"{base}/admin/login", data={"token": ADMIN}).status_code == 429


def test_clerk_page_needs_the_admin_token(world: World) -> None:
    with in_thread(world) as client:
        assert "登录名" in client.get("/admin").text
        assert client.post("/admin/login", data={"login": "admin", "password": ADMIN}).status_code == 403  # no CSRF
        assert admin_login(client, "wrong").status_code == 403
        assert client.get("/admin/download/ledger.xlsx").status_code == 403
        assert admin_login(client).status_code == 303
        page = client.get("/admin", params={"light": "red"})
        assert "行政执法案卷质量不高" in page.text and "要素制约破解不到位" not in page.text
        xlsx = client.get("/admin/download/ledger.xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:4] == b"PK\x03\x04"
        docx = client.get("/admin/download/report.docx")
        assert docx.status_code == 200 and docx.content[:4] == b"PK\x03\x04"
        token = form_of(client.get("/admin").text, "/admin/links")
        issued = client.post("/admin/links", data={**token, "unit": UNIT, "name": "王芳", "do": "issue"})
        link = re.search(r"<code>(https?://[^<]+)</code>", issued.text)
        assert issued.status_code == 200 and link is not None
        assert "要素制约破解不到位" in client.get(link.group(1)).text  # the link a clerk hands on opens
        revoke = client.post("/admin/links", data={**token, "unit": UNIT, "name": "王芳", "do": "revoke"})
        assert revoke.status_code == 303
        assert client.get(link.group(1)).status_code == 403
    with db.transaction(world.engine) as s:
        assert s.scalars(select(LinkRevocation.name)).all() == ["王芳"]


def test_logout_carries_its_csrf_token(world: World) -> None:
    """A page elsewhere cannot sign the clerk out: logout, like every admin form, needs
    the CSRF token bound to the admin session."""
    with in_thread(world) as client:
        assert admin_login(client).status_code == 303
        assert client.post("/admin/logout", data={}).status_code == 403
        assert "行政执法案卷质量不高" in client.get("/admin").text           # still signed in
        token = form_of(client.get("/admin").text, "/admin/logout")
        assert client.post("/admin/logout", data=token).status_code == 303
        assert "登录名" in client.get("/admin").text


# --- the whole loop in a real browser, from a real mail ---------------------------------

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


# --- the holders index follows every change of owner or leader ------------------------

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


# --- configuration refused in words ----------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ('[web]\nbase_url = "rectify.example.gov.cn"\n', "web.base_url"),
    ("[web]\nlink_days = 0\n", "web.link_days"),
    ('[web]\nallowed = ["exe"]\n', "web.allowed"),
    ("[web]\nlinkdays = 30\n", "web.linkdays"),
])
def test_bad_web_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "web.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_web(tmp_path)
    assert key in str(caught.value) and "web.toml" in str(caught.value)


def test_a_short_admin_token_is_refused(cli: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv(ADMIN_ENV, "letmein")
    result = cli(["--db", sqlite_url, "web", "--port", str(free_port())])
    assert result.code == 1 and ADMIN_ENV in result.err and "16" in result.err and "letmein" not in result.err


def test_web_needs_its_secret(cli: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    result = cli(["--db", sqlite_url, "web", "--port", str(free_port())])
    assert result.code == 1 and SECRET_ENV in result.err and "Traceback" not in result.err
    monkeypatch.setenv(SECRET_ENV, "short")
    assert cli(["--db", sqlite_url, "web", "link", "--person", "周敏", "--unit", UNIT]).code == 1


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
