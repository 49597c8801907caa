"""Backups of the record, and their guarded restore.

A backup is one zip file: a consistent copy of the database, every file the record
refers to (evidence and uploads, by SHA-256), and `manifest.json` with the format, the
schema revision, what it holds and the SHA-256 of every member (itself checked by a
checksum over that list).

- SQLite: `VACUUM INTO` from a reading transaction: under WAL it copies one snapshot
  while other processes go on writing, and the copy is integrity-checked.
- PostgreSQL: `pg_dump` in its custom format, on a snapshot exported from a repeatable
  read transaction that also reads the facts and the files, so all three agree.

Restore verifies the whole file before it touches anything, refuses a database that
holds data unless forced (and then first backs that database up), refuses one in use,
brings an older schema up with the migrations, and puts the files back in the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from rectify_core import __version__
from rectify_core.errors import DatabaseError, RectifyError, RefusedError, writing
from rectify_core.ledger import db, uploads

FORMAT = "rectify-backup"
VERSION = 1
MANIFEST = "manifest.json"
MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FILES = "files/"
PREFIX = "rectify-backup-"  # what rotation keeps and removes: rectify-backup-YYYYmmdd-HHMMSS.zip
DIALECT_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PG_LIBS = Path("/usr/lib/postgresql")  # where Debian keeps each server version's programs


@dataclass(frozen=True)
class Facts:
    """What a copy of the database holds, read from the copy itself."""

    revision: str | None
    rounds: int
    items: int
    events: int
    files: list[str]


@dataclass(frozen=True)
class Taken:
    path: Path
    dialect: str
    facts: Facts
    size: int
    missing: list[str] = field(default_factory=list)  # files the record names that the store lacks

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "dialect": self.dialect, "revision": self.facts.revision,
                "rounds": self.facts.rounds, "items": self.facts.items, "events": self.facts.events,
                "files": len(self.facts.files) - len(self.missing), "missing": self.missing, "size": self.size}


def dialect_of(url: str) -> str:
    return make_url(url).get_backend_name()


def file_name(now: dt.datetime) -> str:
    return f"{PREFIX}{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}.zip"


# --- taking a backup ---------------------------------------------------------------------

_FACTS = {"rounds": "SELECT count(*) FROM rounds", "items": "SELECT count(*) FROM items",
          "events": "SELECT count(*) FROM events"}


def _facts(run: Any) -> Facts:
    """`run(sql)` -> rows; the same questions for a SQLite copy and a PostgreSQL snapshot."""
    counts = {k: int(run(sql)[0][0]) for k, sql in _FACTS.items()}
    revision = run("SELECT version_num FROM alembic_version")
    files = [r[0] for r in run("SELECT DISTINCT sha256 FROM uploads ORDER BY sha256")]
    return Facts(revision[0][0] if revision else None, counts["rounds"], counts["items"], counts["events"], files)


def _sqlite_copy(source: Path, target: Path) -> Facts:
    if not source.is_file():
        raise DatabaseError(f"数据库文件不存在：{source}")
    conn = sqlite3.connect(str(source), timeout=60)
    try:
        conn.execute("VACUUM INTO ?", (str(target),))  # one reading transaction: a snapshot
    except sqlite3.DatabaseError as exc:
        if "full" in str(exc).lower():  # the copy's disk, not the database's, is full
            raise OSError(errno.ENOSPC, str(exc)) from None
        raise DatabaseError(db.explain(exc) or f"无法复制数据库：{exc}") from None
    finally:
        conn.close()
    copy = sqlite3.connect(str(target))
    try:
        if copy.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise DatabaseError("数据库副本未通过完整性检查，备份未写入；请先检查数据库文件")
        return _facts(lambda sql: copy.execute(sql).fetchall())
    finally:
        copy.close()


def pg_tool(name: str) -> str:
    """The PostgreSQL client program `name`, or a message saying how to get it."""
    found = shutil.which(name) or next(iter(sorted(PG_LIBS.glob(f"*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RectifyError(f"未找到 PostgreSQL 客户端程序 {name}：PostgreSQL 数据库的备份和恢复需要它。"
                           "请安装与数据库服务器同一版本的客户端（Debian/Ubuntu：apt install postgresql-client；"
                           "其他系统见 PostgreSQL 官网），或把它所在的目录加入 PATH")
    return str(found)


def pg_env(url: str) -> dict[str, str]:
    """libpq's environment for `url`: the password travels here, never on a command line."""
    parsed = make_url(url)
    env = {**os.environ, "PGDATABASE": parsed.database or "", "PGCONNECT_TIMEOUT": "10"}
    for key, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                       ("PGPASSWORD", parsed.password)):
        if value is not None:
            env[key] = str(value)
    if sslmode := parsed.query.get("sslmode"):
        env["PGSSLMODE"] = str(sslmode)
    return env


def run_pg(args: list[str], url: str, doing: str) -> None:
    done = subprocess.run(args, env=pg_env(url), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"退出码 {done.returncode}"])[-1]
        raise DatabaseError(f"{doing}失败：{detail[:300]}")


def _pg_copy(url: str, target: Path) -> Facts:
    dump = pg_tool("pg_dump")
    engine = db.make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            facts = _facts(lambda sql: conn.execute(text(sql)).all())
            run_pg([dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                     f"--file={target}"], url, "pg_dump 备份")
        return facts
    finally:
        engine.dispose()


def checksum(members: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(members, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def take(url: str, files_root: Path, out: Path, now: dt.datetime) -> Taken:
    """Write a backup of the database at `url` and its files to `out` (atomically: a
    crash leaves no half backup under that name)."""
    dialect = dialect_of(url)
    with writing(out, "备份"):
        return _take(url, dialect, files_root, out, now)


def scratch_in(folder: Path, prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder in `folder` named after this process; scratch of `prefix` that a
    killed process left there (its pid no longer running) is swept first."""
    folder.mkdir(parents=True, exist_ok=True)
    for left in folder.glob(f"{prefix}*"):
        pid = left.name.removeprefix(prefix).split("-", 1)[0]
        if left.is_dir() and not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            shutil.rmtree(left, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-", dir=folder)


def _take(url: str, dialect: str, files_root: Path, out: Path, now: dt.datetime) -> Taken:
    with scratch_in(out.parent, ".rectify-backup-") as scratch:
        copy = Path(scratch) / MEMBER[dialect]
        path = db.sqlite_path(url)
        if dialect == "sqlite":
            if path is None:
                raise DatabaseError("内存中的数据库无法备份")
            facts = _sqlite_copy(path, copy)
        else:
            facts = _pg_copy(url, copy)
        with copy.open("rb") as f:
            members = [{"name": MEMBER[dialect], "size": copy.stat().st_size, "sha256": uploads.digest_of(f)}]
        partial = Path(scratch) / "backup.zip"
        missing: list[str] = []
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            zf.write(copy, MEMBER[dialect])
            for sha in facts.files:
                stored = uploads.path_of(files_root, sha)
                if not stored.is_file():
                    missing.append(sha)
                    continue
                zf.write(stored, FILES + sha, compress_type=zipfile.ZIP_STORED)  # evidence is compressed already
                members.append({"name": FILES + sha, "size": stored.stat().st_size, "sha256": sha})
            manifest = {"format": FORMAT, "version": VERSION, "rectify": __version__, "dialect": dialect,
                        "created_at": now.astimezone(dt.UTC).isoformat(), "revision": facts.revision,
                        "rounds": facts.rounds, "items": facts.items, "events": facts.events,
                        "missing_files": missing, "members": members, "checksum": checksum(members)}
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        os.replace(partial, out)
    return Taken(out, dialect, facts, out.stat().st_size, missing)


def rotate(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` rotating backups in `directory`; the ones removed."""
    found = sorted(directory.glob(f"{PREFIX}*.zip"))
    gone = found[:-keep] if keep > 0 else found
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


# --- reading one back --------------------------------------------------------------------

def _not_ours(path: Path) -> RectifyError:
    return RefusedError(f"{path} 不是 rectify 的备份文件；请选择 rectify 备份时生成的 .zip 文件", hint="rectify backup")


@contextlib.contextmanager
def opened(path: Path) -> Iterator[tuple[zipfile.ZipFile, dict[str, Any]]]:
    """The backup at `path` and its manifest, every member's bytes checked against it;
    refused in words when it is missing, truncated, damaged or not a backup at all."""
    if not path.is_file():
        raise RefusedError(f"备份文件不存在：{path}")
    with path.open("rb") as f:
        head = f.read(4)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        if head == b"PK\x03\x04":
            raise RefusedError(f"备份文件 {path} 不完整（可能在复制时被截断），无法恢复；"
                               "请使用完整的备份文件") from None
        raise _not_ours(path) from None
    with zf:
        yield zf, _verified(zf, path)


def _verified(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except (KeyError, ValueError):
        raise _not_ours(path) from None
    except (zipfile.BadZipFile, OSError):
        raise RefusedError(f"备份文件 {path} 已损坏，无法恢复") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _not_ours(path)
    if manifest.get("version") != VERSION:
        raise RefusedError(f"备份文件 {path} 的格式版本（{str(manifest.get('version'))[:20]}）本程序不认识；"
                           "请用生成它的 rectify 版本或更新的版本恢复")
    members = _members(manifest, path)
    listed = {m["name"] for m in members}
    unlisted = [n for n in zf.namelist() if n != MANIFEST and n not in listed]
    if unlisted:
        raise RefusedError(f"备份文件 {path} 含有清单未列出的文件（{unlisted[0][:80]} 等 {len(unlisted)} 个），"
                           "文件已被改动，无法恢复")
    for member in members:
        _check_member(zf, member, path)
    return manifest


_SHA = re.compile(r"[0-9a-f]{64}")


def _members(manifest: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The manifest's members, each a name, a size and a SHA-256 of the right kinds, the
    database among them once; anything else is a sentence, never a traceback."""
    members, dialect = manifest.get("members"), manifest.get("dialect")
    bad = RefusedError(f"备份文件 {path} 的清单格式不对（可能被改动），无法恢复")
    if not isinstance(members, list) or checksum(members) != manifest.get("checksum"):
        raise RefusedError(f"备份文件 {path} 的清单校验和不符，文件已被改动或损坏，无法恢复")
    names: set[str] = set()
    for m in members:
        if not (isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("sha256"), str)
                and _SHA.fullmatch(m["sha256"]) and type(m.get("size")) is int and m["size"] >= 0):
            raise bad
        is_file = m["name"].startswith(FILES) and m["name"] == FILES + m["sha256"]
        if m["name"] in names or not (is_file or m["name"] == MEMBER.get(str(dialect))):
            raise bad
        names.add(m["name"])
    if MEMBER.get(str(dialect)) not in names:
        raise RefusedError(f"备份文件 {path} 的清单没有列出数据库（可能不完整），无法恢复")
    for key in ("rounds", "items", "events"):
        if type(manifest.get(key)) is not int:
            raise bad
    if not isinstance(manifest.get("created_at"), str) or not isinstance(manifest.get("revision"), str | None):
        raise bad
    missing = manifest.get("missing_files")
    if not isinstance(manifest.get("rectify"), str) or not (
            isinstance(missing, list) and all(isinstance(m, str) for m in missing)):
        raise bad
    try:
        dt.datetime.fromisoformat(manifest["created_at"])
    except ValueError:
        raise bad from None
    return members


def _check_member(zf: zipfile.ZipFile, member: dict[str, Any], path: Path) -> None:
    name = member["name"]
    try:
        if zf.getinfo(name).file_size != member["size"]:
            raise RefusedError(f"备份文件 {path} 中的 {name} 大小与清单不符，文件已损坏，无法恢复")
        with zf.open(name) as f:
            found = uploads.digest_of(f)
    except KeyError:
        raise RefusedError(f"备份文件 {path} 缺少 {name}（可能被截断），无法恢复") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise RefusedError(f"备份文件 {path} 中的 {name} 已损坏，无法恢复") from None
    if found != member["sha256"]:
        raise RefusedError(f"备份文件 {path} 中的 {name} 校验和不符，文件已损坏，无法恢复")
