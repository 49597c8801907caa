"""Restoring a backup (see `backup`): into an empty database, or over one that holds data
only when forced, after that one is itself backed up. Nothing is touched until the
whole backup has been read and checked."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from rectify_core.errors import DatabaseError, RectifyError, RefusedError, writing
from rectify_core.ledger import db, uploads
from rectify_core.ledger import restore_checks as checks
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
    scratch_in,
    take,
)

IN_USE = "；请先停止正在使用它的 rectify web、serve 和 Prefect 工作进程，再恢复"


@dataclass(frozen=True)
class Restored:
    source: Path
    manifest: dict[str, Any]
    files: int                # files put back into the store (those already there are not counted)
    safety: Taken | None      # the backup of what the database held before, when forced over data
    upgraded_from: str | None  # the backup's schema revision, when the migrations brought it up
    held: int = 0             # notices waiting or being sent in the backup, held until released
    counts: dict[str, int] = field(default_factory=dict)  # rounds, items, events really restored


def holdings(url: str) -> int:
    """How many rounds and items the database at `url` holds (0: new or empty)."""
    path = db.sqlite_path(url)
    if dialect_of(url) == "sqlite" and (path is None or not path.exists() or path.stat().st_size == 0):
        return 0
    engine = db.make_engine(url)
    try:
        if dialect_of(url) == "postgresql":  # a restore killed half-way: the live data first back in place
            with engine.begin() as conn:
                conn.execute(text(f"SELECT pg_advisory_xact_lock({db.MIGRATION_LOCK})"))
                db.put_back_after_killed_restore(conn)
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


OLD = db.BEFORE_RESTORE
SCRATCH = ".rectify-restore-"


def _into_pg(url: str, copy: Path, source: Path, manifest: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """pg_restore into a fresh schema while the live one waits aside under another name;
    the fresh one is checked, migrated and its notices held, and only then is the old one
    dropped. Any failure drops the fresh one and puts the live one back as it was; a
    restore killed half-way is put back by the next program that opens the database
    (db.migrate), the advisory lock telling it that no restore runs any more."""
    restore_tool = pg_tool("pg_restore")
    engine = db.make_engine(url)
    guard = engine.connect()
    try:
        guard.execute(text(f"SELECT pg_advisory_lock({db.RESTORE_LOCK})"))
        guard.commit()
        with engine.begin() as conn:
            conn.execute(text(f"SELECT pg_advisory_xact_lock({db.MIGRATION_LOCK})"))
            db.put_back_after_killed_restore(conn)  # (ours: we hold the lock)
            conn.execute(text(f"ALTER SCHEMA public RENAME TO {OLD}"))
            conn.execute(text("CREATE SCHEMA public"))
        try:
            run_pg([restore_tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                    f"--dbname={pg_env(url)['PGDATABASE']}", str(copy)], url, "pg_restore 恢复")
            with engine.connect() as conn:
                if problem := checks.pg_problem(conn, "public"):
                    raise checks.refuse(source, problem)
            return _settle(engine, source, manifest, drop_old=True)
        except BaseException:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text(f"ALTER SCHEMA {OLD} RENAME TO public"))
            raise
    finally:
        guard.close()
        engine.dispose()


def _settle(engine: Engine, source: Path, manifest: dict[str, Any],
            drop_old: bool = False) -> tuple[int, dict[str, int]]:
    """Migrate the restored database, check its shape and that it holds what the manifest
    says, hold its waiting notices, in the transaction that (on PostgreSQL) also drops the
    old schema."""
    db.migrate(engine)
    with engine.begin() as conn:
        if problem := checks.shape_problem(conn):
            raise checks.refuse(source, problem)
        counts = {k: int(conn.execute(text(f"SELECT count(*) FROM {k}")).scalar_one())
                  for k in ("rounds", "items", "events")}
        if any(counts[k] != manifest[k] for k in counts):
            raise checks.refuse(source, "数据库的内容与清单不符（轮次、问题或记录的数目不同），文件已被改动")
        held = checks.hold_notices(conn)
        if drop_old:
            conn.execute(text(f"DROP SCHEMA {OLD} CASCADE"))
    return held, counts


def _check(manifest: dict[str, Any], url: str, source: Path) -> None:
    dialect = dialect_of(url)
    if manifest.get("dialect") != dialect:
        made = DIALECT_NAMES.get(str(manifest.get("dialect")), str(manifest.get("dialect"))[:20])
        raise RefusedError(f"{source} 是 {made} 数据库的备份，不能恢复到 {DIALECT_NAMES[dialect]} 数据库；"
                           f"请恢复到一个 {made} 数据库")
    revision = manifest.get("revision")
    if revision is not None and revision not in db.known_revisions():
        raise RefusedError(f"{source} 由更新版本的 rectify 生成（数据库结构 {revision[:20]}），本程序无法恢复；"
                           "请升级 rectify 后再恢复")


def _scratch(url: str) -> tempfile.TemporaryDirectory[str]:
    """Where the backup's database is built aside: beside a SQLite file (its disk), else
    the temporary folder."""
    path = db.sqlite_path(url)
    return scratch_in(path.parent if path is not None else Path(tempfile.gettempdir()), SCRATCH)


def _put_files(zf: zipfile.ZipFile, manifest: dict[str, Any], files_root: Path, added: list[str]) -> None:
    """The backup's files into the store (the manifest's, checked already); each one added
    is noted in `added` as it lands, so a failure can take them out again."""
    with writing(files_root, "恢复"):
        for member in manifest["members"]:
            sha = member["name"].removeprefix(FILES)
            if member["name"].startswith(FILES) and not uploads.path_of(files_root, sha).exists():
                with zf.open(member["name"]) as f:
                    try:
                        uploads.keep_stream(f, files_root)
                    except uploads.UploadRefused as exc:
                        raise RectifyError(f"{str(exc).split('，')[0]}，恢复未能把文件放回 {files_root}，"
                                           "数据库未作任何改动；请腾出空间后重试") from None
                added.append(sha)


def restore(url: str, source: Path, files_root: Path, *, force: bool, now: dt.datetime,
            safety_dir: Path) -> Restored:
    """Restore the backup `source` into the database at `url` and the store `files_root`:
    everything checked, the database built aside, the files put back, then one switch. A
    failure at any point leaves the live database and its files as they were."""
    with opened(source) as (zf, manifest):
        _check(manifest, url, source)
        held = holdings(url)
        if held and not force:
            raise RefusedError(f"目标数据库已有数据（轮次和问题共 {held} 条），未恢复",
                               hint="确需覆盖请加 --force：会先把当前数据库备份一份，再恢复")
        dialect = dialect_of(url)
        _refuse_in_use(url)
        with db.present(url, exclusive=True), _scratch(url) as scratch:
            copy = Path(scratch) / MEMBER[dialect]
            with writing(copy.parent, "恢复"), zf.open(MEMBER[dialect]) as member, copy.open("wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
            if dialect == "sqlite" and (problem := checks.sqlite_copy_problem(copy)):
                raise checks.refuse(source, problem)
            stamp = f"{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}"
            safety = take(url, files_root, safety_dir / f"rectify-before-restore-{stamp}.zip", now) if held else None
            added: list[str] = []
            try:
                _put_files(zf, manifest, files_root, added)
                waiting, counts = _switch(url, dialect, copy, source, manifest)
            except BaseException as exc:
                for sha in added:
                    uploads.path_of(files_root, sha).unlink(missing_ok=True)
                if safety is not None and isinstance(exc, RectifyError):
                    said = f"{exc}（恢复前的备份：{safety.path}）"
                    raise (exc.__class__(said) if isinstance(exc, DatabaseError | RefusedError)
                           else RectifyError(said)) from None
                raise
    revision = manifest.get("revision")
    return Restored(source, manifest, len(added), safety, revision if revision != db.HEAD else None, waiting, counts)


def _switch(url: str, dialect: str, copy: Path, source: Path, manifest: dict[str, Any]) -> tuple[int, dict[str, int]]:
    if dialect != "sqlite":
        return _into_pg(url, copy, source, manifest)
    target = db.sqlite_path(url)
    if target is None:
        raise DatabaseError("不能恢复到内存中的数据库")
    aside = db.make_engine(f"sqlite:///{copy}")
    try:
        done = _settle(aside, source, manifest)
    finally:
        aside.dispose()
    _into_sqlite(target, copy)
    return done
