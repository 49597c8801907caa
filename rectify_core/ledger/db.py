"""Engine, sessions and migrations.

The caller owns the session: library functions take `*, session` and never commit
on their own, except the CLI edge and the flows, which decide transaction bounds.
"""

from __future__ import annotations

import fcntl
import os
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, any_, bindparam, create_engine, event, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rectify_core import HOME, masking
from rectify_core.errors import DatabaseError, RectifyError

MIGRATIONS = HOME / "migrations"
# the newest revision: revisions are numbered as their files are (0001_…, 0002_…)
HEAD = max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


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
    # WAL with synchronous=NORMAL: never corrupt, durable across a crash of the process;
    # after a power loss the last commits may roll back (a sent notice may then go again,
    # reported as a possible duplicate). Each commit no longer waits for the disk.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """Take the write lock at BEGIN: concurrent processes then wait (busy_timeout)
    instead of failing when a reading transaction later wants to write. A reader
    (`reader`) begins deferred: under WAL it reads a snapshot and never waits for a writer."""
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("rectify_read") else "BEGIN IMMEDIATE")


SUPPORTED = {"sqlite": ("pysqlite", ""), "postgresql": ("psycopg", "")}


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL; plain postgresql:// means psycopg 3.
    Any other database or driver is refused in words, before it is tried."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"数据库地址无法识别：{display_url(url)}") from exc
    masking.remember(parsed.password if isinstance(parsed.password, str) else None)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in SUPPORTED or (driver and driver not in SUPPORTED[backend]):
        raise DatabaseError(f"不支持的数据库类型“{parsed.drivername}”：rectify 支持 sqlite:///文件路径 与 "
                            "postgresql://用户@主机/库名（psycopg 3）")
    engine = create_engine(parsed, future=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, or one in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextmanager
def present(url: str, *, exclusive: bool = False) -> Iterator[None]:
    """While a long-running program (rectify web, notify, serve) uses the SQLite database
    at `url`, it holds a shared lock on a file beside it; a restore takes it exclusively
    and is refused while anyone holds it (`exclusive`). PostgreSQL answers the same
    question from its own list of connections."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock = path.with_name(path.name + ".inuse")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as held:
        try:
            fcntl.flock(held, (fcntl.LOCK_EX | fcntl.LOCK_NB) if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            raise DatabaseError("数据库正被其他程序使用（网页服务、提醒发送或定时任务正在运行）") from None
        yield


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
    integrity of every reference is checked before it commits.

    A database already at the newest revision is recognised by one SELECT, without
    loading Alembic: every command opens the database, and most find nothing to do."""
    if revision == "head" and not downgrade and current_revision(engine) == HEAD:
        return
    from alembic import command
    from alembic.config import Config

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
                if not sqlite:
                    # concurrent first runs (several workers) migrate one at a time; SQLite's
                    # BEGIN IMMEDIATE already serialises them
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                    put_back_after_killed_restore(conn)
                _check_known_revision(conn, revision)
                cfg.attributes["connection"] = conn
                (command.downgrade if downgrade else command.upgrade)(cfg, revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RectifyError("数据库迁移后发现无效的关联记录，已回滚")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


MIGRATION_LOCK = 0x72656374  # "rect": one advisory lock id for rectify's migrations
RESTORE_LOCK = 0x72657374  # "rest": held by a PostgreSQL restore for as long as it runs
BEFORE_RESTORE = "rectify_before_restore"  # the live schema, aside while a PostgreSQL restore runs


def put_back_after_killed_restore(conn: Connection) -> bool:
    """The live schema a killed PostgreSQL restore left aside, put back (what the restore
    had begun dropped) — unless a restore is running now. Whether one was put back."""
    if not conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": BEFORE_RESTORE}).scalar():
        return False
    if not conn.execute(text(f"SELECT pg_try_advisory_xact_lock({RESTORE_LOCK})")).scalar():
        return False  # a restore is at work: the schema aside is its own
    conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
    conn.execute(text(f"ALTER SCHEMA {BEFORE_RESTORE} RENAME TO public"))
    return True


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None (new, or not readable: the
    full migration then says what is wrong)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def known_revisions() -> set[str]:
    """Every schema revision this version of rectify can migrate from."""
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def _check_known_revision(conn: Any, target: str) -> None:
    """A database stamped by a newer rectify is refused, not half-understood."""
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(conn).get_current_revision()
    if current is not None and current not in known_revisions():
        raise DatabaseError(f"数据库的结构版本（{current}）比本程序新或不是 rectify 的数据库；"
                            "请升级 rectify 后再使用这个数据库")


CUT = "数据库服务器重启或中断了连接，本次运行已停止；再次运行即可继续（已发送的不会重发）"


def explain(exc: BaseException) -> str | None:
    """What a database driver's error means for a clerk, or None when it is not one of
    the known conditions (then it is a bug and keeps its traceback)."""
    text = str(getattr(exc, "orig", exc)).lower()
    for needle, meaning in (
        ("database is locked", "数据库正被其他程序占用（已锁定），请稍后再试"),
        ("readonly database", "数据库文件是只读的，请检查文件权限"),
        ("read-only", "数据库处于只读状态"),
        ("database or disk is full", "磁盘已满，数据库无法写入"),
        ("no space left", "磁盘已满，数据库无法写入"),
        # SQLite's answer when its WAL index or journal cannot grow on a full disk
        ("disk i/o error", "磁盘已满或磁盘读写出错，数据库无法写入（请检查磁盘空间）"),
        ("file is not a database", "数据库文件已损坏，或不是 SQLite 数据库"),
        ("malformed", "数据库文件已损坏"),
        ("unable to open database", "无法打开数据库文件（目录不存在或没有权限）"),
        ("connection refused", "无法连接数据库服务器（连接被拒绝）"),
        ("terminating connection", CUT),
        ("server closed the connection", CUT),
        ("could not translate host name", "无法连接数据库服务器（主机名无法解析）"),
        ("does not exist", "数据库或用户不存在"),
        ("password authentication failed", "数据库用户名或密码错误"),
        ("timeout", "连接数据库超时"),
    ):
        if needle in text:
            return meaning
    return None


def serialise(session: Session, key: str) -> None:
    """Transactions naming the same key run one after another: on PostgreSQL an advisory
    lock held to the end of the transaction; SQLite's write lock (BEGIN IMMEDIATE)
    already serialises every writer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def reader(engine: Engine) -> Engine:
    """The same engine for transactions that only read (pages): on SQLite they take no
    write lock, so a long daily run never keeps a page waiting."""
    return engine.execution_options(rectify_read=True)


GROWN_PAGES = 32  # pages (of 8 kB) a table may grow by, beyond a tenth, before it is re-analyzed


def refresh_statistics(engine: Engine, *tables: str) -> list[str]:
    """On PostgreSQL, ANALYZE each table that has grown by more than a tenth (and 32
    pages, some 1,000 rows) since it was last analyzed; returns those analyzed.

    Autovacuum would, a minute or more later. Until then the planner knows nothing of
    the new rows' values and scans whole tables where an index would do: delivery right
    after a first day's enqueue of 50,000 notices claimed and read every group by
    sequential scans, ten times slower. Growth is the table's size on disk against the
    pages counted at its last ANALYZE: exact at once, unlike the activity counters,
    which a backend reports up to a second late. SQLite plans by its indexes without
    statistics: nothing to do there."""
    if engine.dialect.name != "postgresql":
        return []
    analyzed = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            counted, now = connection.execute(
                text("SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int "
                     "FROM pg_class WHERE oid = to_regclass(:table)"), {"table": table}).one()
            if now - counted > max(GROWN_PAGES, counted // 10):
                connection.exec_driver_sql(f'ANALYZE "{table}"')
                analyzed.append(table)
    return analyzed


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a write of one statement that commits by itself: on PostgreSQL in
    autocommit (one round trip, not BEGIN, the statement and COMMIT); on SQLite a short
    BEGIN IMMEDIATE transaction (in-process, so nothing to save, and pysqlite keeps the
    transaction handling SQLAlchemy's recipe gives it)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection
    else:
        with engine.begin() as connection:
            yield connection


@contextmanager
def statements(engine: Engine) -> Iterator[Callable[[], AbstractContextManager[Connection]]]:
    """For a run of one-statement writes that each commit by themselves (`one_statement`):
    on PostgreSQL one autocommit connection is held for the run (no pool checkout per
    statement); on SQLite each still takes a short transaction of its own, so the write
    lock is never held between them."""
    if engine.dialect.name != "postgresql":
        yield lambda: one_statement(engine)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield lambda: nullcontext(connection)


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


IDS_AT_ONCE = 10_000  # ids bound in one statement: under SQLite's 32,766 parameters and PostgreSQL's 65,535


def id_chunks(ids: list[int], size: int = IDS_AT_ONCE) -> Iterator[list[int]]:
    """`ids` a statement's worth at a time (`IN` binds one parameter per id)."""
    return (ids[start:start + size] for start in range(0, len(ids), size))


def one_of(column: Any, values: list[Any], dialect: Any) -> Any:
    """`column IN values`. On PostgreSQL as `= ANY` of one array parameter: the statement's
    text is then the same whatever the number of values, so the driver parses it once and
    the server prepares it once (an IN list of a new length is a new statement to both)."""
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded with the engine on PostgreSQL

        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def common(condition: Any, dialect: str) -> Any:
    """`condition`, told to SQLite's planner as true of most rows (`likely`): without
    statistics (SQLite has none unless analysed) it takes any equality on an indexed column
    for a narrow one, and would read, say, every sent notice through the state's index
    rather than a few items' own notices through theirs."""
    return func.likely(condition) if dialect == "sqlite" else condition


def row_type(statement: Any, name: str) -> Any:
    """A plain named tuple of a statement's columns, for rows read many times each: a
    tuple's field costs a fifth of a SQLAlchemy Row's (build rows with `map(T._make, result)`)."""
    return namedtuple(name, [c.key for c in statement.selected_columns])

