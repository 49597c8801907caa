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

from rectify_core import db

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
SAMPLE = SAMPLES / "heshan-transport-2025-07-07.txt"
REQUIRE_PG = os.environ.get("RECTIFY_REQUIRE_POSTGRES") == "1"


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
    from rectify_core.cli import main

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
