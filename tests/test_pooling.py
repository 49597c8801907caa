"""Channels keep one connection per sending thread (keep-alive), as a session would, with
the environment's proxies still applied and no cookie carried from one message to the
next. Real HTTP servers on loopback; real Apprise plugins."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rectify_core.delivery import pooling
from rectify_core.delivery.channels import send


class KeepAlive:
    """An HTTP/1.1 server that keeps connections open, counts them, records each request
    (its target, its Cookie header) and sets a cookie on every answer."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server.lock:
                    server.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.lock:
                    server.requests.append({"target": self.path, "cookie": self.headers.get("Cookie"),
                                            "body": json.loads(body or b"null")})
                self.send_response(200)
                self.send_header("Set-Cookie", "session=abc; Path=/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def keepalive() -> Iterator[KeepAlive]:
    server = KeepAlive()
    yield server
    server.httpd.shutdown()


@pytest.fixture(autouse=True)
def _fresh_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads the environment afresh (a process reads it once a host)."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    pooling._environment.cache_clear()
    yield
    pooling._environment.cache_clear()


def test_one_thread_sends_on_one_connection_without_cookies(keepalive: KeepAlive) -> None:
    for i in range(5):
        assert send(f"json://127.0.0.1:{keepalive.port}/hook", f"标题{i}", f"正文{i}").ok
    assert [r["body"]["title"] for r in keepalive.requests] == [f"标题{i}" for i in range(5)]
    assert keepalive.connections == 1
    assert [r["cookie"] for r in keepalive.requests] == [None] * 5


def test_threads_have_connections_of_their_own(keepalive: KeepAlive) -> None:
    def three() -> None:
        for _ in range(3):
            assert send(f"json://127.0.0.1:{keepalive.port}/hook", "标题", "正文").ok

    threads = [threading.Thread(target=three) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(keepalive.requests) == 6
    assert keepalive.connections == 2


def test_the_environment_proxy_still_carries_the_message(keepalive: KeepAlive,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # the receiver stands in for an office's HTTP proxy: it is asked for the absolute URL
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{keepalive.port}")
    assert send("json://hooks.example.gov.cn/notify", "标题", "正文").ok
    assert keepalive.requests[0]["target"] == "http://hooks.example.gov.cn/notify"


def test_no_proxy_and_a_calls_own_proxies_win(keepalive: KeepAlive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert send(f"json://127.0.0.1:{keepalive.port}/direct", "标题", "正文").ok
    assert keepalive.requests[-1]["target"] == "/direct"
    pooling._environment.cache_clear()
    monkeypatch.delenv("NO_PROXY")
    answer = pooling.request("POST", "http://hooks.example.gov.cn/own", data=b"{}", timeout=5,
                             proxies={"http": f"http://127.0.0.1:{keepalive.port}"})
    assert answer.status_code == 200
    assert keepalive.requests[-1]["target"] == "http://hooks.example.gov.cn/own"
