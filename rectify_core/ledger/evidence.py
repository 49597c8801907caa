"""佐证材料: how evidence given on the command line is recorded.

`--evidence` that looks like a path (it has a folder separator or a file extension)
must name a regular file. Its bytes are copied into the record's file store (the one
web uploads use, by SHA-256, hashed while copied so a large file costs no memory) and
it is recorded by name, size and hash: the record holds the evidence itself, and a
clerk tidying the folder later loses nothing. A symbolic link is resolved and recorded
as such. Anything else is a text description, as is every `--evidence-text`.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from rectify_core.config.limits import limits
from rectify_core.errors import RefusedError
from rectify_core.ledger import uploads

_PATHLIKE = re.compile(r"[/\\]|\.[A-Za-z0-9]{1,5}$")


def text_record(value: str) -> dict[str, Any]:
    return {"kind": "text", "text": value.strip()}


def evidence_record(value: str, store: Path) -> dict[str, Any]:
    """A file (when it is one, or looks like a path), kept in `store`; or a text description."""
    value = value.strip()
    path = Path(value)
    if _PATHLIKE.search(value) or path.exists():
        return file_record(path, value, store)
    return text_record(value)


def file_record(path: Path, given: str, store: Path) -> dict[str, Any]:
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
    try:
        sha256, size = uploads.keep(resolved, store)
    except OSError:
        raise RefusedError(f"佐证材料文件无法读取：{given}") from None
    record: dict[str, Any] = {"kind": "file", "name": uploads.display_name(path.name), "size": size,
                              "sha256": sha256}
    if path.is_symlink():
        record.update(symlink=True, target=str(resolved))
    return record


def records(files: list[str], texts: list[str], store: Path) -> list[dict[str, Any]]:
    """What `--evidence` and `--evidence-text` name, in that order; blanks dropped; files
    copied into `store` (recorded as the item's uploads by `uploads.attach`)."""
    return [evidence_record(v, store) for v in files if v.strip()] + [text_record(t) for t in texts if t.strip()]


def counted_sql(dialect: str, kind: str | None = None) -> Any:
    """A closure's evidence entries (of `kind`, e.g. "file", if given) counted by the
    database from its JSON list, a column for a SELECT from closures: a county's tens of
    thousands of lists are then never decoded in Python. Anything not a list counts none."""
    from sqlalchemy import literal_column

    if kind is not None and not kind.isalpha():
        raise ValueError(f"an evidence kind is a word, not {kind!r}")
    if dialect == "postgresql":
        of = "(CASE WHEN json_typeof(closures.evidence) = 'array' THEN closures.evidence ELSE '[]' END)"
        where = f" WHERE e.value ->> 'kind' = '{kind}'" if kind else ""
        return literal_column(f"(SELECT count(*) FROM json_array_elements({of}) AS e{where})")
    where = f" AND json_extract(value, '$.kind') = '{kind}'" if kind else ""
    return literal_column("(SELECT count(*) FROM json_each(closures.evidence) "
                          f"WHERE json_type(closures.evidence) = 'array'{where})")
