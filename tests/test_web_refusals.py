"""What the web refuses, in a clear page with the right status and nothing changed:
expired, revoked and forged links, another person's item, missing CSRF tokens, oversize
uploads, decided requests, bad tries (rate-limited across workers), the clerk's sign-in,
and configuration that names the wrong key."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rectify_core.config.web import ADMIN_ENV, SECRET_ENV, load_web
from rectify_core.delivery import links
from rectify_core.delivery.mailsink import free_port
from rectify_core.errors import ConfigError
from rectify_core.ledger import db
from rectify_core.ledger.models import ItemRequest, LinkRevocation, Upload
from tests.fixtures.web import (
    ADMIN,
    SECRET,
    UNIT,
    World,
    _children,
    _post,
    _snapshot,
    admin_login,
    form_of,
    in_thread,
    rectify_web,
)


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


def test_logout_ends_the_session_and_every_copy_of_its_cookie(world: World) -> None:
    """A cookie copied before the clerk signed out opens nothing after (the session is
    ended on the server, not only forgotten by the browser); signing in again works."""
    with in_thread(world) as client:
        assert admin_login(client).status_code == 303
        copied = client.cookies.get("rectify_admin")
        assert copied and "行政执法案卷质量不高" in client.get("/admin").text
        token = form_of(client.get("/admin").text, "/admin/logout")
        assert client.post("/admin/logout", data=token).status_code == 303
        client.cookies.set("rectify_admin", copied)
        assert "登录名" in client.get("/admin").text                      # the copy opens nothing
        client.cookies.clear()
        assert admin_login(client).status_code == 303
        assert "行政执法案卷质量不高" in client.get("/admin").text           # a new session does


def test_an_admin_form_token_is_bound_to_its_session(world: World) -> None:
    """A CSRF token taken from one signed-in session does not post in the next one."""
    with in_thread(world) as client:
        assert admin_login(client).status_code == 303
        old = form_of(client.get("/admin").text, "/admin/logout")
        assert client.post("/admin/logout", data=old).status_code == 303
        assert admin_login(client).status_code == 303
        assert client.post("/admin/logout", data=old).status_code == 403          # the old session's token
        assert "行政执法案卷质量不高" in client.get("/admin").text                 # still signed in
        fresh = form_of(client.get("/admin").text, "/admin/logout")
        assert client.post("/admin/logout", data=fresh).status_code == 303
