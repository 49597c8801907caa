"""佐证材料: how evidence given on the command line is recorded.

`--evidence` that looks like a path (it has a folder separator or a file extension)
must name a regular file, which is recorded by name, size and SHA-256 (hashed in
chunks, so a large file costs no memory); a symbolic link is resolved and recorded as
such. Anything else is a text description, as is every `--evidence-text`.
"""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path
from typing import Any

from rectify_core.config.limits import limits
from rectify_core.errors import RefusedError

_PATHLIKE = re.compile(r"[/\\]|\.[A-Za-z0-9]{1,5}$")
CHUNK = 1 << 20


def text_record(value: str) -> dict[str, Any]:
    return {"kind": "text", "text": value.strip()}


def evidence_record(value: str) -> dict[str, Any]:
    """A file (when it is one, or looks like a path) or a text description."""
    value = value.strip()
    path = Path(value)
    if _PATHLIKE.search(value) or path.exists():
        return file_record(path, value)
    return text_record(value)


def file_record(path: Path, given: str) -> dict[str, Any]:
    try:
        resolved = path.resolve(strict=True)
        info = resolved.stat()
    except (OSError, RuntimeError):
        raise RefusedError(f"佐证材料文件不存在或无法读取：{given}",
                           hint="文字说明请用 --evidence-text") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "文件夹" if stat.S_ISDIR(info.st_mode) else "特殊文件（管道或设备）"
        raise RefusedError(f"佐证材料须是普通文件，{given} 是{kind}")
    cap = limits().evidence_mb * 2**20
    if info.st_size > cap:
        raise RefusedError(f"佐证材料 {given} 超过{limits().describe('evidence_mb', ' MB')}")
    digest = hashlib.sha256()
    size = 0
    try:
        with resolved.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError:
        raise RefusedError(f"佐证材料文件无法读取：{given}") from None
    record: dict[str, Any] = {"kind": "file", "name": path.name, "size": size, "sha256": digest.hexdigest()}
    if path.is_symlink():
        record.update(symlink=True, target=str(resolved))
    return record


def records(files: list[str], texts: list[str]) -> list[dict[str, Any]]:
    """What `--evidence` and `--evidence-text` name, in that order; blanks dropped."""
    return [evidence_record(v) for v in files if v.strip()] + [text_record(t) for t in texts if t.strip()]
