"""What a restore checks of a backup's database, built aside, before anything live is
touched: SQLite's own integrity check, no trigger or view rectify does not make, no table
it does not know, a schema revision it can migrate from, and after the migrations the
tables, columns and indexes the models say. Then the notices that were waiting or being
sent when the backup was taken are held, so the restore never resends on its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Connection, inspect, text, update

from rectify_core.errors import RefusedError
from rectify_core.ledger import db
from rectify_core.ledger.models import Base, Notice
from rectify_core.vocab import NoticeState

KNOWN_TABLES = frozenset({*Base.metadata.tables, "alembic_version"})
HOLD = (NoticeState.PENDING, NoticeState.SENDING, NoticeState.FAILED)  # would go out on the next send


def sqlite_copy_problem(copy: Path) -> str | None:
    """Why the SQLite database `copy` may not be restored, or None."""
    try:
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return f"数据库无法打开（{exc}）"
    try:
        if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            return "数据库未通过完整性检查（已损坏）"
        planted = conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')").fetchone()
        if planted:
            return f"数据库含有 rectify 不会建立的{'触发器' if planted[0] == 'trigger' else '视图'}“{planted[1][:60]}”"
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return _tables_problem(tables - {"sqlite_sequence"}) or _revision_problem(
            conn.execute("SELECT version_num FROM alembic_version").fetchall() if "alembic_version" in tables else [])
    except sqlite3.DatabaseError as exc:
        return f"数据库已损坏（{exc}）"
    finally:
        conn.close()


def _tables_problem(tables: set[str]) -> str | None:
    unknown = sorted(tables - KNOWN_TABLES)
    return f"数据库含有 rectify 不认识的表“{unknown[0][:60]}”" if unknown else None


def _revision_problem(rows: list[tuple[str]] | list[tuple[object, ...]]) -> str | None:
    if len(rows) != 1:
        return "数据库没有记录其结构版本"
    if str(rows[0][0]) not in db.known_revisions():
        return f"数据库结构版本“{str(rows[0][0])[:20]}”本程序不认识（可能由更新版本的 rectify 生成）"
    return None


def pg_problem(conn: Connection, schema: str) -> str | None:
    """Why the tables pg_restore put in `schema` may not be kept, or None."""
    planted = conn.execute(text(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = :s AND NOT t.tgisinternal LIMIT 1"), {"s": schema}).scalar()
    if planted:
        return f"数据库含有 rectify 不会建立的触发器“{str(planted)[:60]}”"
    view = conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = :s LIMIT 1"), {"s": schema}).scalar()
    if view:
        return f"数据库含有 rectify 不会建立的视图“{str(view)[:60]}”"
    routine = conn.execute(text("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                "WHERE n.nspname = :s LIMIT 1"), {"s": schema}).scalar()
    if routine:
        return f"数据库含有 rectify 不会建立的函数“{str(routine)[:60]}”"
    tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}).scalars())
    if "alembic_version" not in tables:
        return _tables_problem(tables) or "数据库没有记录其结构版本"
    return _tables_problem(tables) or _revision_problem(
        [tuple(r) for r in conn.execute(text(f'SELECT version_num FROM "{schema}".alembic_version'))])


def shape_problem(conn: Connection) -> str | None:
    """After the migrations: every table with the models' columns and indexes, and nothing else."""
    found = inspect(conn)
    for name, table in Base.metadata.tables.items():
        if not found.has_table(name):
            return f"数据库缺少表“{name}”"
        columns = {c["name"] for c in found.get_columns(name)}
        if columns != {c.name for c in table.columns}:
            odd = sorted(columns ^ {c.name for c in table.columns})[0]
            return f"数据库的表“{name}”与本版本不一致（列“{odd}”）"
        indexes = {i["name"] for i in found.get_indexes(name) if not i.get("duplicates_constraint")}
        if indexes != {i.name for i in table.indexes}:
            odd = sorted(str(n) for n in indexes ^ {i.name for i in table.indexes})[0]
            return f"数据库的表“{name}”与本版本不一致（索引“{odd}”）"
    return None


def hold_notices(conn: Connection) -> int:
    """Notices that would go out on the next send, held until `outbox release`: the
    backup cannot know whether they were delivered after it was taken."""
    done = conn.execute(update(Notice).where(Notice.state.in_(HOLD))
                        .values(state=NoticeState.HELD, claimed_by=None, claimed_at=None))
    return int(done.rowcount or 0)


def refuse(source: Path, problem: str) -> RefusedError:
    return RefusedError(f"备份文件 {source} 无法恢复：{problem}；当前数据库未作任何改动")
