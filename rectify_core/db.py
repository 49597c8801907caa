"""Engine, sessions and migrations.

The caller owns the session: library functions take `*, session` and never commit
on their own, except the CLI edge and the flows, which decide transaction bounds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from rectify_core.errors import RectifyError

MIGRATIONS = Path(__file__).parent / "migrations"


def default_database_path() -> Path:
    """Per-user SQLite file: $XDG_DATA_HOME/rectify/rectify.db (~/.local/share/...)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rectify" / "rectify.db"


def database_url(explicit: str | None = None) -> str:
    """--db wins, then RECTIFY_DATABASE_URL, then the per-user SQLite file."""
    url = explicit or os.environ.get("RECTIFY_DATABASE_URL")
    if url:
        return url
    path = default_database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy's recipe: let SQLAlchemy emit BEGIN itself (see _sqlite_begin)
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """Take the write lock at BEGIN: concurrent processes then wait (busy_timeout)
    instead of failing when a reading transaction later wants to write."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; plain postgresql:// means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise RectifyError(f"数据库地址无法识别：{display_url(url)}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, future=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<无效地址>"


def migrate(engine: Engine, revision: str = "head", downgrade: bool = False) -> None:
    """Bring the schema to `revision` (idempotent).

    On SQLite, Alembic rebuilds a table to alter it, which foreign keys forbid while
    rows refer to it; SQLite only honours `PRAGMA foreign_keys` outside a transaction,
    so it is switched off on the raw connection around the migration, and the
    integrity of every reference is checked before it commits."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        assert raw is not None
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                (command.downgrade if downgrade else command.upgrade)(cfg, revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RectifyError("数据库迁移后发现无效的关联记录，已回滚")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, rollback: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. With `rollback`
    (a dry run) nothing is ever committed."""
    with session_factory(engine)() as session:
        session.begin()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        if rollback:
            session.rollback()
        else:
            session.commit()
