"""An Office file (a zip of XML parts) saved by its library, then copied part by part with
the parts that hold kept rows written anew (wordrows, sheetrows): the library's file is a
scratch file beside the target, removed whatever happens."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def rewritten(save: Callable[[Path], None], path: Path, part: Callable[[str], bool],
              write: Callable[[bytes, IO[bytes]], None]) -> None:
    """`save` the file to a scratch path, then copy it to `path`, each part for which
    `part(name)` holds given to `write(its bytes, the new part)`."""
    scratch = path.with_name(f".{path.name}.part")
    try:
        save(scratch)
        with zipfile.ZipFile(scratch) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                made = zipfile.ZipInfo(info.filename, info.date_time)
                made.compress_type, made.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
                with source.open(info) as read, out.open(made, "w", force_zip64=True) as target:
                    if part(info.filename):
                        write(read.read(), target)
                    else:
                        shutil.copyfileobj(read, target)
    finally:
        scratch.unlink(missing_ok=True)
