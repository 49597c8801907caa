"""A ledger file uploaded for import, held aside until the clerk confirms it: under the
files store's staged/<token>/, with the account that sent it. A confirm claims it by an
atomic rename, so a double-submitted confirm imports once; what is left a day later goes."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

from rectify_core.ledger import uploads

STAGED = "staged"
KEPT_SECONDS = 86_400
_OWNER = ".owner"


class StageError(Exception):
    """The staged file is not there (confirmed already, expired, or not this account's)."""


def _folder(root: Path, token: str) -> Path:
    if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        raise StageError
    return root / STAGED / token


async def stage(name: str, chunks: AsyncIterator[bytes], root: Path, owner: str, max_bytes: int) -> str:
    """Keep an uploaded file aside; its token. Refused past `max_bytes`, nothing kept."""
    sweep(root)
    token = secrets.token_hex(16)
    folder = root / STAGED / token
    folder.mkdir(parents=True)
    size = 0
    try:
        with (folder / uploads.display_name(name)).open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise uploads.UploadRefused(f"文件过大：{uploads.display_name(name)}"
                                                f"（导入文件不超过 {max_bytes // 2**20} MB，可分单位、分批导入）", 413)
                out.write(chunk)
        if size == 0:
            raise uploads.UploadRefused(f"文件是空的：{uploads.display_name(name)}", 415)
        (folder / _OWNER).write_text(owner, encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return token


def staged_file(root: Path, token: str, owner: str) -> Path:
    """The file a token holds, for the account that sent it."""
    folder = _folder(root, token)
    try:
        if (folder / _OWNER).read_text(encoding="utf-8") != owner:
            raise StageError
    except OSError:
        raise StageError from None
    files = [p for p in folder.iterdir() if p.name != _OWNER]
    if len(files) != 1:
        raise StageError
    return files[0]


def claim(root: Path, token: str, owner: str) -> Path:
    """Take the staged file for one confirm (atomic: a second confirm finds nothing)."""
    staged_file(root, token, owner)
    folder = _folder(root, token)
    taken = folder.with_name(f"{token}.taken-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(folder, taken)
    except OSError:
        raise StageError from None
    return next(p for p in taken.iterdir() if p.name != _OWNER)


def release(taken: Path, token: str) -> None:
    """Put a claimed file back (its import failed: the clerk may choose again)."""
    folder = taken.parent
    try:
        os.rename(folder, folder.with_name(token))
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)


def drop(root: Path, token: str) -> None:
    """Forget a staged file that no choice can mend."""
    try:
        shutil.rmtree(_folder(root, token), ignore_errors=True)
    except StageError:
        return


def done(taken: Path) -> None:
    shutil.rmtree(taken.parent, ignore_errors=True)


def sweep(root: Path, now: float | None = None) -> int:
    """Remove staged files older than a day; how many."""
    base = root / STAGED
    cutoff = (now if now is not None else time.time()) - KEPT_SECONDS
    removed = 0
    for folder in base.iterdir() if base.is_dir() else ():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
