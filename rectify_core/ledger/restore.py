"""Restoring a backup (see `backup`): into an empty database, or over one that holds data
only when forced, after that one is itself backed up. Nothing is touched until the
whole backup has been read and checked."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from rectify_core.errors import DatabaseError, RefusedError
from rectify_core.ledger import db, uploads
from rectify_core.ledger.backup import (
    DIALECT_NAMES,
    FILES,
    MEMBER,
    Taken,
    dialect_of,
    opened,
    pg_env,
    pg_tool,
    run_pg,
    take,
)
from rectify_core.ledger.models import Base

IN_USE = "；请先停止正在使用它的 rectify web、serve 和 Prefect 工作进程，再恢复"


@dataclass(frozen=True)
class Restored:
    source: Path
    manifest: dict[str, Any]
    files: int                # files put back into the store (those already there are not counted)
    safety: Taken | None      # the backup of what the database held before, when forced over data
    upgraded_from: str | None  # the backup's schema revision, when the migrations brought it up


def holdings(url: str) -> int:
    """How many rounds and items the database at `url` holds (0: new or empty)."""
    path = db.sqlite_path(url)
    if dialect_of(url) == "sqlite" and (path is None or not path.exists() or path.stat().st_size == 0):
        return 0
    engine = db.make_engine(url)
    try:
        with db.reader(engine).connect() as conn:
            if not inspect(conn).has_table("items"):
                return 0
            return int(conn.execute(text("SELECT (SELECT count(*) FROM rounds) + (SELECT count(*) FROM items)"))
                       .scalar_one())
    finally:
        engine.dispose()


def _refuse_in_use(url: str) -> None:
    path = db.sqlite_path(url)
    if path is not None:
        if path.exists():
            _into_sqlite(path, None)
        return
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            others = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalar_one()
    finally:
        engine.dispose()
    if others:
        raise DatabaseError(f"数据库正被其他程序使用（{others} 个连接），未恢复{IN_USE}")


def _into_sqlite(target: Path, copy: Path | None) -> None:
    """Copy the database `copy` into `target`, page by page under SQLite's own locks;
    refused while another process writes. Without `copy`, only that check."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source, dest = sqlite3.connect(str(copy) if copy else ":memory:"), sqlite3.connect(str(target), timeout=3)
    try:
        dest.execute("BEGIN EXCLUSIVE")  # nobody writing now, or refused before anything changes
        dest.rollback()
        if copy is not None:
            source.backup(dest)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseError(f"数据库正被其他程序使用（已锁定），未恢复{IN_USE}") from None
        raise DatabaseError(db.explain(exc) or f"无法写入数据库：{exc}") from None
    finally:
        source.close()
        dest.close()


def _into_pg(url: str, copy: Path) -> None:
    restore_tool = pg_tool("pg_restore")
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:  # what an earlier schema or a forced restore leaves
            Base.metadata.drop_all(conn, checkfirst=True)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
    database = pg_env(url)["PGDATABASE"]
    try:
        run_pg([restore_tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                      f"--dbname={database}", str(copy)], url, "pg_restore 恢复")
    except DatabaseError:
        db.migrate(db.make_engine(url))  # an empty, usable schema rather than none
        raise


def _check(manifest: dict[str, Any], url: str, source: Path) -> None:
    dialect = dialect_of(url)
    if manifest.get("dialect") != dialect:
        made = DIALECT_NAMES.get(str(manifest.get("dialect")), str(manifest.get("dialect")))
        raise RefusedError(f"{source} 是 {made} 数据库的备份，不能恢复到 {DIALECT_NAMES[dialect]} 数据库；"
                           f"请恢复到一个 {made} 数据库")
    revision = manifest.get("revision")
    if revision is not None and revision not in db.known_revisions():
        raise RefusedError(f"{source} 由更新版本的 rectify 生成（数据库结构 {revision}），本程序无法恢复；"
                           "请升级 rectify 后再恢复")


def restore(url: str, source: Path, files_root: Path, *, force: bool, now: dt.datetime,
            safety_dir: Path) -> Restored:
    """Restore the backup `source` into the database at `url` and the store `files_root`."""
    with opened(source) as (zf, manifest):
        _check(manifest, url, source)
        held = holdings(url)
        if held and not force:
            raise RefusedError(f"目标数据库已有数据（轮次和问题共 {held} 条），未恢复",
                               hint="确需覆盖请加 --force：会先把当前数据库备份一份，再恢复")
        dialect = dialect_of(url)
        _refuse_in_use(url)
        safety = (take(url, files_root, safety_dir / f"rectify-before-restore-{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}"
                                                   ".zip", now) if held else None)
        with tempfile.TemporaryDirectory(prefix=".rectify-restore-") as scratch:
            copy = Path(scratch) / MEMBER[dialect]
            with zf.open(MEMBER[dialect]) as member, copy.open("wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
            if dialect == "sqlite":
                target = db.sqlite_path(url)
                if target is None:
                    raise DatabaseError("不能恢复到内存中的数据库")
                _into_sqlite(target, copy)
            else:
                _into_pg(url, copy)
        engine = db.make_engine(url)
        try:
            db.migrate(engine)  # an older schema brought up to this version's
        finally:
            engine.dispose()
        put = 0
        for name in zf.namelist():
            sha = name.removeprefix(FILES)
            if name.startswith(FILES) and not uploads.path_of(files_root, sha).exists():
                with zf.open(name) as f:
                    uploads.keep_stream(f, files_root)
                put += 1
    revision = manifest.get("revision")
    return Restored(source, manifest, put, safety, revision if revision != db.HEAD else None)
