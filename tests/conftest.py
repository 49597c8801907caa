"""Shared fixtures: a real SQLite file and a real, throwaway PostgreSQL server.

The PostgreSQL server is started once per test session when its binaries are on the
machine (initdb refuses root, so it runs as the `postgres` user). Without them the
PostgreSQL half of the database tests is skipped with the reason printed, unless
RECTIFY_REQUIRE_POSTGRES=1 (CI), which turns that into a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from rectify_core.ledger import db

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
SAMPLE = SAMPLES / "heshan-transport-2025-07-07.txt"
REQUIRE_PG = os.environ.get("RECTIFY_REQUIRE_POSTGRES") == "1"
# Prefect's temporary test server: no telemetry writes racing on its own SQLite file
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


class PgServer:
    """A PostgreSQL cluster in a temporary directory, on a loopback port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="rectify-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.dir)

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


_pg: PgServer | None = None
_pg_status = "not started"


def pytest_sessionstart(session: pytest.Session) -> None:
    global _pg, _pg_status
    bindir = _pg_bin()
    if bindir is None:
        _pg_status = "PostgreSQL binaries not found: the PostgreSQL run is skipped"
        return
    server = PgServer(bindir)
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = exc.stderr.decode(errors="replace") if isinstance(
            exc, subprocess.CalledProcessError) else str(exc)
        _pg_status = f"PostgreSQL failed to start: {detail.strip()[:500]}"
        return
    _pg = server
    _pg_status = f"PostgreSQL: throwaway server on 127.0.0.1:{server.port} ({bindir})"
    engine = db.make_engine(server.url())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE DATABASE rectify_template"))
    engine.dispose()
    template = db.make_engine(server.url("rectify_template"))
    db.migrate(template)
    template.dispose()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _pg is not None:
        _pg.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return _pg_status


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(_pg_status)


def _need_pg() -> PgServer:
    if _pg is None:
        if REQUIRE_PG:
            pytest.fail(f"RECTIFY_REQUIRE_POSTGRES=1 but {_pg_status}")
        pytest.skip(_pg_status)
    return _pg


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    engine.dispose()
    return path


_counter = iter(range(1, 1_000_000))


def _pg_database() -> Iterator[str]:
    server = _need_pg()
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = db.make_engine(server.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE rectify_template"))
    try:
        yield server.url(name)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "rectify.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite file only, for tests about behaviour that is not storage."""
    path = tmp_path / "rectify.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sample() -> Path:
    if not SAMPLE.exists():
        pytest.skip(f"sample report not found at {SAMPLE} (shared/samples is absent)")
    return SAMPLE


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        import json

        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the real CLI entry point in-process: cli(["--db", url, "items"])."""
    from rectify_flows.cli import main

    def run(args: list[str]) -> CliResult:
        capsys.readouterr()
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


# --- delivery: a real SMTP server and a real HTTP receiver, both on loopback ---------

import json as _json  # noqa: E402
import threading  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

from rectify_core.delivery.mailsink import MailSink  # noqa: E402


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as sink:
        yield sink


class Receiver:
    """Records every POST; answers with the status set for its path prefix."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status: dict[str, int] = {}
        # per path prefix, the statuses of the next requests in turn (then `status` applies)
        self.script: dict[str, list[int]] = {}
        self.delay = 0.0  # seconds before each answer: a slow channel
        self.hold_at: int | None = None  # the request (1-based) held unanswered until `release`
        self.held, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                with receiver.lock:
                    scripted = next((s for p, s in receiver.script.items() if parts.path.startswith(p) and s), None)
                    code = scripted.pop(0) if scripted else next(
                        (c for p, c in receiver.status.items() if parts.path.startswith(p)), 200)
                    receiver.requests.append({"path": parts.path, "query": parse_qs(parts.query),
                                              "body": _json.loads(body or b"null"), "status": code})
                    hold = len(receiver.requests) == receiver.hold_at
                if hold:
                    receiver.held.set()
                    receiver.release.wait(60)
                if receiver.delay:
                    import time as _t

                    _t.sleep(receiver.delay)
                reply = (b'{"errcode":0,"errmsg":"ok","code":0}' if code == 200
                         else b'{"errcode":93000,"errmsg":"invalid webhook url"}')
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An HTTP receiver, with Apprise's WeCom, DingTalk and Feishu plugins pointed at it
    instead of their public hosts (the only thing faked: what lives off this machine)."""
    from apprise.plugins.dingtalk import NotifyDingTalk
    from apprise.plugins.feishu import NotifyFeishu
    from apprise.plugins.wecombot import NotifyWeComBot

    rec = Receiver()
    base = f"http://127.0.0.1:{rec.port}"
    monkeypatch.setattr(NotifyWeComBot, "notify_url", base + "/wecom/send?key={key}")
    monkeypatch.setattr(NotifyDingTalk, "notify_url", base + "/dingtalk/send?access_token={token}")
    monkeypatch.setattr(NotifyFeishu, "notify_url", base + "/feishu/hook/{token}/")
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def write_contacts(directory: Path, people: dict[str, list[str]], admin: list[str] | None = None,
                   roles: dict[str, list[str]] | None = None) -> Path:
    """A config dir with contacts.toml: name -> channel URLs (and optional roles)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    if admin:
        lines += ["[admin]", 'name = "管理员"', f"notify = {_json.dumps(admin, ensure_ascii=False)}", ""]
    for name, urls in people.items():
        lines += ["[[person]]", f'name = "{name}"', f"notify = {_json.dumps(urls, ensure_ascii=False)}"]
        if roles and name in roles:
            lines.append(f"roles = {_json.dumps(roles[name])}")
        lines.append("")
    (directory / "contacts.toml").write_text("\n".join(lines), encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def harness() -> Iterator[None]:
    """One Prefect test server for the whole session (Prefect's own recommendation)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# --- a real Prefect server (its own database on the throwaway PostgreSQL) ---------------

import subprocess as _subprocess  # noqa: E402
import sys as _sys  # noqa: E402
import time as _time  # noqa: E402
import urllib.request as _urlrequest  # noqa: E402

BIN = Path(_sys.executable).parent


def _wait(check: Any, seconds: float, what: str) -> Any:
    deadline = _time.monotonic() + seconds
    while _time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception:  # not up yet
            pass
        _time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    pg = _need_pg()
    admin = db.make_engine(pg.url())
    name = f"prefect_{os.getpid()}_{free_port()}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/{name}",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    log = (tmp_path / "server.log").open("w")
    server = _subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=_subprocess.STDOUT)
    try:
        _wait(lambda: _urlrequest.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).status == 200,
              120, "prefect server")
        yield env
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


