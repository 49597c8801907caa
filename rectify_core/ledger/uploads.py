"""Files sent from personal links: checked by type and content, capped in size while
they stream, and stored under the data directory by SHA-256 (uploads/ab/abcdef…),
never under a name the sender chose. The same file sent twice is stored once.
"""

from __future__ import annotations

import errno
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from rectify_core import processes
from rectify_core.errors import RectifyError
from rectify_core.ledger import db
from rectify_core.ledger.act import Act
from rectify_core.ledger.models import Upload

# extension -> (media type, how the content starts)
KINDS: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "ofd": ("application/ofd", (b"PK\x03\x04",)),
}
CHUNK = 1 << 16


class UploadRefused(RectifyError):
    """A file that is not taken: too large (413) or of a type not accepted (415)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    media_type: str
    name: str  # as sent, for display only


def display_name(name: str) -> str:
    """The sender's file name, reduced to its last part and printable characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return clean.strip()[:200] or "未命名文件"


def kind_of(name: str, allowed: tuple[str, ...]) -> tuple[str, str, tuple[bytes, ...]]:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in allowed or ext not in KINDS:
        raise UploadRefused(f"不接受这种文件：{display_name(name)}（可以上传：{'、'.join(allowed)}）", 415)
    media, magic = KINDS[ext]
    return ext, media, magic


FILES_ENV = "RECTIFY_FILES_DIR"


def files_root(url: str) -> Path:
    """Where the record's files (web uploads, evidence given on the command line) are
    kept: $RECTIFY_FILES_DIR; else uploads/ beside a SQLite database file; else uploads/
    in the per-user data folder."""
    if given := os.environ.get(FILES_ENV):
        return Path(given)
    path = db.sqlite_path(url)
    return (path.parent if path is not None else db.default_database_path().parent) / "uploads"


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def digest_of(source: IO[bytes]) -> str:
    """The SHA-256 of a stream, read a block at a time (a large file costs no memory)."""
    digest = hashlib.sha256()
    while block := source.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


def keep(source: Path, root: Path) -> tuple[str, int]:
    """Copy a file into the store; its (sha256, size)."""
    with source.open("rb") as f:
        return keep_stream(f, root)


def keep_stream(source: IO[bytes], root: Path) -> tuple[str, int]:
    """Copy a stream into the store; its (sha256, size)."""
    with _part(root) as part:
        while block := source.read(1 << 20):
            part.write(block)
        return part.commit(), part.size


class _Part:
    """A file on its way into the store: hashed while written under a part name, then
    renamed to its hash, so a crash never leaves a half file under a hash."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.digest, self.size = root, hashlib.sha256(), 0
        fd, self.tmp = tempfile.mkstemp(dir=root, prefix=f"{PART}{os.getpid()}-")
        self.out = os.fdopen(fd, "wb")

    def write(self, block: bytes) -> None:
        self.digest.update(block)
        self.size += len(block)
        with _disk_full_refused():
            self.out.write(block)

    def commit(self) -> str:
        with _disk_full_refused():
            self.out.close()
            target = path_of(self.root, self.digest.hexdigest())
            target.parent.mkdir(exist_ok=True)
            os.replace(self.tmp, target)
        target.chmod(0o640)
        return self.digest.hexdigest()


@contextmanager
def _part(root: Path) -> Iterator[_Part]:
    part = _Part(root)
    try:
        yield part
    finally:
        part.out.close()
        if os.path.exists(part.tmp):
            os.unlink(part.tmp)


def media_type_of(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return KINDS[ext][0] if ext in KINDS else (mimetypes.guess_type(name)[0] or "application/octet-stream")


async def store(name: str, chunks: AsyncIterator[bytes], root: Path, max_bytes: int,
                allowed: tuple[str, ...]) -> Stored:
    """Stream one file into the store: refused (and nothing kept) when its type is not
    allowed, its content does not match the type, or it grows past `max_bytes`."""
    _, media, magic = kind_of(name, allowed)
    head = b""
    with _part(root) as part:
        async for chunk in chunks:
            if part.size + len(chunk) > max_bytes:
                raise UploadRefused(f"文件过大：{display_name(name)}"
                                    f"（每个文件不超过 {max_bytes // 2**20} MB）", 413)
            if len(head) < 16:
                head += chunk[:16]
            part.write(chunk)
        if part.size == 0:
            raise UploadRefused(f"文件是空的：{display_name(name)}", 415)
        if not head.startswith(magic):
            raise UploadRefused(f"文件内容与类型不符：{display_name(name)}（请上传原始文件）", 415)
        sha256 = part.commit()
    return Stored(sha256, part.size, media, display_name(name))


PART = ".part-"  # a file on its way in: .part-<pid of its writer>-<random>


@contextmanager
def _disk_full_refused() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise UploadRefused("磁盘已满，文件未能保存，所做的操作未保存；请联系巡察整改工作办公室", 507) from None


def sweep_parts(root: Path) -> int:
    """Remove files whose writer died mid-upload (a killed server): a part whose pid is no
    live process. Returns how many."""
    removed = 0
    for part in root.glob(f"{PART}*") if root.is_dir() else ():
        pid = part.name[len(PART):].split("-", 1)[0]
        if pid.isdigit() and not processes.alive(int(pid)):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def record(files: list[Stored], item_id: int, act: Act, *, session: Session) -> list[dict[str, Any]]:
    """Record stored files as uploads on an item, sent by `act.by`; returns them as the
    evidence entries a transition keeps (name, size, hash and the upload's id)."""
    return attach([{"kind": "file", "name": f.name, "size": f.size, "sha256": f.sha256,
                    "media_type": f.media_type} for f in files], item_id, act, session=session)


def attach(entries: list[dict[str, Any]], item_id: int, act: Act, *, session: Session) -> list[dict[str, Any]]:
    """Evidence entries with every file in the store recorded as an upload of the item
    (its row id added as `upload`); text entries pass through."""
    kept = []
    for entry in entries:
        if entry.get("kind") != "file" or "sha256" not in entry:
            kept.append(entry)
            continue
        media = entry.get("media_type") or media_type_of(entry["name"])
        row = Upload(item_id=item_id, sha256=entry["sha256"], size=entry["size"], media_type=media,
                     name=entry["name"], uploaded_by=act.by, uploaded_at=act.now)
        session.add(row)
        session.flush()
        kept.append({k: v for k, v in entry.items() if k != "media_type"} | {"upload": row.id})
    return kept
