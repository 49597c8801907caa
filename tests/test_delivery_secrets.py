"""Secrets in delivery: webhook keys and SMTP passwords never reach the database, the
outbox, an error or a log line, however they are spelled; TLS set up as the default does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from rectify_core.delivery.mailsink import MailSink
from tests.deliveries import (
    SECRET,
    mail,
    run_day,
    setup_db,
)
from tests.fixtures.channels import Receiver, write_contacts


def test_secrets_appear_nowhere(cli: Any, sqlite_url: str, tmp_path: Path, receiver: Receiver,
                                mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    monkeypatch.setenv("RECTIFY_TEST_KEY", SECRET)
    receiver.status["/wecom"] = 400                              # a failure, with its error text
    config = write_contacts(tmp_path / "cfg", {
        "周敏": ["wecombot://${RECTIFY_TEST_KEY}"],
        "胡志云": ["dingtalk://${RECTIFY_TEST_KEY}@${RECTIFY_TEST_KEY}/"],
        "王芳": [mail(mail_sink, "王芳")],
    }, admin=[mail(mail_sink, "刘立强")])
    caplog.set_level(logging.DEBUG)
    result = cli(["--db", sqlite_url, "--config", str(config), "notify", "--date", "2026-11-25"])
    assert result.code == 4 and "周敏" in result.out            # the failure is reported...
    assert receiver.at("/dingtalk") and receiver.at("/wecom")  # ...and the key was really used
    listed = cli(["--db", sqlite_url, "outbox", "--json"])
    everything = result.out + result.err + listed.out + listed.err + caplog.text
    everything += "".join(m.as_string() for m in mail_sink.messages)
    with engine.connect() as conn:
        meta = MetaData()
        meta.reflect(conn)
        for table in meta.tables.values():
            everything += repr(conn.execute(select(table)).all())
    assert SECRET not in everything
    zhou = [n for n in listed.json() if n["recipient"] == "周敏"]
    assert zhou and all(n["state"] == "dead" and "error=400" in n["last_error"] for n in zhou)


def test_ledger_text_cannot_inject_markup(sqlite_url: str, tmp_path: Path, receiver: Receiver) -> None:
    hostile = ("1,\"会议费[点我](http://evil.example) ![图](http://x) # 大标题\n> 请忽略以上提醒\",胡志云,周敏,"
               "2026年11月30日,未完成\n")
    engine = setup_db(sqlite_url, tmp_path, "序号,问题,责任领导,责任人,整改时限,完成情况\n" + hostile)
    config = write_contacts(tmp_path / "cfg", {"周敏": ["dingtalk://SECRET0001@TOKEN0001/"],
                                               "胡志云": ["wecombot://KEY-0002"]})
    run_day(engine, config)
    ding = receiver.at("/dingtalk")[0]["body"]["markdown"]["text"]
    assert "\\[点我\\]\\(http://evil\\.example\\)" in ding and "](http" not in ding
    assert "\\!\\[图\\]" in ding and "\\# 大标题" in ding and "\n> 请忽略" not in ding
    wecom = receiver.at("/wecom")[0]["body"]["text"]["content"]
    assert "\n> 请忽略" not in wecom and "大标题 > 请忽略以上提醒" in wecom


def test_a_secret_with_delimiters_stays_whole_and_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import unquote, urlsplit

    from rectify_core.delivery.channels import expand, send
    from rectify_core.masking import Redactor

    secret = "p@ss:w/rd#Secret1"
    redactor = Redactor()
    url = expand("mailtos://rectify:${SMTP_PASS}@127.0.0.1:1?to=a@example.gov.cn", redactor,
                 {"SMTP_PASS": secret})
    parts = urlsplit(url)
    assert unquote(parts.password or "") == secret and parts.hostname == "127.0.0.1"
    leak = "login failed for ss:w/rd#Secret1 and p%40ss%3Aw%2Frd%23Secret1 and rd#Secret1"
    cleaned = redactor(leak)
    assert "Secret1" not in cleaned and "w/rd" not in cleaned
    result = send("mailtos://rectify:${SMTP_PASS}@127.0.0.1:1?to=a@example.gov.cn", "t", "b",
                  {"SMTP_PASS": secret})
    assert not result.ok and "Secret1" not in result.error and "p@ss" not in result.error


def test_apprise_smtp_tls_context_is_lazy_but_the_same() -> None:
    """Apprise's SMTP controller gets a TLS context that loads the CA certificates only
    when a connection is secured (a plain relay pays nothing), with the default's checks."""
    import ssl

    from rectify_core.delivery.channels import _load_apprise

    _load_apprise()
    import apprise.plugins.email.smtp

    tls: Any = vars(apprise.plugins.email.smtp)["ssl"]  # the module apprise reads its TLS from

    context = tls.create_default_context()
    default = ssl.create_default_context()
    assert context.verify_mode == default.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and context.minimum_version == default.minimum_version
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded yet
    context._ready()  # what wrap_socket does first
    assert context.cert_store_stats() == default.cert_store_stats()
    unverified = tls.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    unverified._ready()
    assert unverified.cert_store_stats()["x509_ca"] == 0  # not verifying: nothing to load
    assert tls.CERT_NONE is ssl.CERT_NONE


def test_secrets_never_reach_a_debug_log(sqlite_url: str, tmp_path: Path, receiver: Receiver,
                                         mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host sets the root logger to DEBUG: Apprise then logs channel URLs as it loads
    them and passwords as it fails to log in. Every secret is masked in every record."""
    import io

    token, password = "tok-Secret-7f3a9c21", "pw:Secret@99x"
    monkeypatch.setenv("RECTIFY_TEST_TOKEN", token)
    monkeypatch.setenv("RECTIFY_TEST_PASS", password)
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {
        "周敏": [f"json://127.0.0.1:{receiver.port}/hook/${{RECTIFY_TEST_TOKEN}}"],
        "胡志云": [f"mailto://rectify:${{RECTIFY_TEST_PASS}}@127.0.0.1:{mail_sink.port}"
                f"?from=rectify@localhost&to=huzhiyun@example.gov.cn"],
        "王芳": [mail(mail_sink, "王芳")]})
    stream = io.StringIO()
    handler, root = logging.StreamHandler(stream), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        run_day(engine, config)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    logged = stream.getvalue()
    assert "127.0.0.1" in logged and len(logged.splitlines()) > 10   # DEBUG logging really ran
    assert token not in logged and "Secret" not in logged and "7f3a9c21" not in logged
