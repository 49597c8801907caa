"""Reading an input file: format detection from content, decoding, normalisation."""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rectify_core.errors import InputError, Problem

ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class Source:
    name: str  # as given by the user, for messages
    path: Path
    data: bytes
    kind: str  # text | docx | xlsx

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


_t2s: Any = None


def _simplified(text: str) -> str:
    global _t2s
    if _t2s is None:
        import opencc

        _t2s = opencc.OpenCC("t2s")
    out = str(_t2s.convert(text))
    return out if len(out) == len(text) else "".join(str(_t2s.convert(c)) for c in text)


def normalise(text: str) -> str:
    """The working copy a parser reads: full-width digits, letters and punctuation folded
    to half-width (NFKC) and traditional characters to simplified (OpenCC), one character
    for one. Stored text is the original: a span found in the working copy is the same
    span of the original."""
    folded = unicodedata.normalize("NFKC", text)
    if len(folded) != len(text):
        folded = "".join(n if len(n := unicodedata.normalize("NFKC", c)) == 1 else c for c in text)
    folded = folded.replace("\u3000", " ")
    return folded if folded.isascii() else _simplified(folded)


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), then GB18030 (a superset of GBK)."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(name, [Problem("", "无法识别文件编码（支持 UTF-8、GBK/GB18030），"
                                        "请另存为 UTF-8 文本后重试")])


@dataclass(frozen=True)
class Line:
    """One line of a document: as written, and its working copy (same length)."""

    text: str  # working copy, for patterns
    orig: str  # as written, for storing

    def span(self, start: int, end: int, strip: str | None = None) -> tuple[str, str]:
        """(working, original) of text[start:end], stripped alike."""
        work = self.text[start:end]
        lead = len(work) - len(work.lstrip(strip))
        trail = len(work.rstrip(strip))
        return work[lead:trail], self.orig[start:end][lead:trail]


def make_line(raw: str) -> Line:
    orig = raw.strip()
    return Line(normalise(orig), orig)


def text_lines(text: str) -> list[Line]:
    return [make_line(line) for line in text.splitlines()]


def _zip_kind(data: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def open_source(path: Path, name: str | None = None) -> Source:
    """Read and classify a file; empty, binary or unknown content is an InputError."""
    shown = name or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(shown, [Problem("", "文件不存在")]) from None
    except IsADirectoryError:
        raise InputError(shown, [Problem("", "这是一个文件夹，不是文件")]) from None
    except PermissionError:
        raise InputError(shown, [Problem("", "没有读取该文件的权限")]) from None
    if not data.strip():
        raise InputError(shown, [Problem("", "文件是空的")])
    if data.startswith(b"PK"):
        kind = _zip_kind(data)
        if kind is None:
            raise InputError(shown, [Problem("", "这是一个压缩文件，但不是 Word（.docx）或 "
                                                 "Excel（.xlsx）文档")])
        return Source(shown, path, data, kind)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(shown, [Problem("", "这是旧版 Office 文件（.doc/.xls），"
                                             "请另存为 .docx 或 .xlsx 后再导入")])
    if b"\x00" in data[:4096]:
        raise InputError(shown, [Problem("", "这是二进制文件，不是文本、Word 或 Excel 文档")])
    decode(data, shown)
    return Source(shown, path, data, "text")
