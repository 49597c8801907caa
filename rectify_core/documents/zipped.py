"""An Office file (a zip of XML parts) saved by its library, then copied part by part with
the parts that hold kept rows written anew (sheetrows): the library's file is a scratch
file beside the target, removed whatever happens. The level rectify deflates at, and the
text those rows and Word's paragraphs (wordxml) hold."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from rectify_core.whole import replacing

LEVEL = 5  # deflate level of what rectify zips: within 5% of the default's (6) size in half its time
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold
XML_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})  # text as XML holds it (str.translate)


def xml_text(value: str) -> str:
    """`value` without the characters XML cannot hold (most text is printable: one check in C)."""
    return value if value.isprintable() else NOT_XML.sub("", value)


def text_element(tag: str, text: str) -> str:
    """`text` (holding only what XML can) as the element `tag`, its spaces kept when it
    starts or ends with one, as the Office libraries write it."""
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    if "&" in text or "<" in text or ">" in text:  # (three scans in C: most text has none)
        text = text.translate(XML_ESCAPE)
    return f"<{tag}{space}>{text}</{tag}>"


def rewritten(save: Callable[[Path], None], path: Path, part: Callable[[str], bool],
              write: Callable[[bytes, IO[bytes]], None]) -> None:
    """`save` the file to a scratch path, then copy it to `path` (in its place once whole),
    each part for which `part(name)` holds given to `write(its bytes, the new part)`."""
    scratch = path.with_name(f".{path.name}.saved")
    try:
        save(scratch)
        with zipfile.ZipFile(scratch) as source, replacing(path) as whole, \
                zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as out:
            for info in source.infolist():
                copied = member(info.filename, info.date_time, info.external_attr)
                with source.open(info) as read, out.open(copied, "w", force_zip64=True) as target:
                    if part(info.filename):
                        write(read.read(), target)
                    else:
                        shutil.copyfileobj(read, target)
    finally:
        scratch.unlink(missing_ok=True)


def member(name: str, date_time: tuple[int, int, int, int, int, int], attributes: int) -> zipfile.ZipInfo:
    """A member to write through `ZipFile.open(…, "w")`, deflated at LEVEL (a member made by
    hand is deflated at zlib's default whatever level its ZipFile was given)."""
    made = zipfile.ZipInfo(name, date_time)
    made.compress_type, made.external_attr = zipfile.ZIP_DEFLATED, attributes
    setattr(made, _LEVEL_FIELD, LEVEL)
    return made


# where a member keeps its level: named compress_level from Python 3.13 (_compresslevel before)
_LEVEL_FIELD = "compress_level" if "compress_level" in zipfile.ZipInfo.__slots__ else "_compresslevel"


class Forward(io.RawIOBase):
    """A file written front to back only: a zip written onto it puts each member's sizes
    after its data (as a zip streamed to a pipe does) instead of seeking back to its
    header, which flushed the file's buffer at every member (an archive has 100,000)."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target, self._at = target, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        written = self._target.write(data)
        self._at += written
        return written

    def tell(self) -> int:
        return self._at

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self._target.flush()
