"""Reading an input file: format detection from content, decoding, normalisation."""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


def normalise(text: str) -> str:
    """NFKC folds full-width digits, letters and punctuation to half-width, so one set
    of patterns reads both; Chinese characters are unchanged."""
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ")


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), then GB18030 (a superset of GBK)."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(name, [Problem("", "无法识别文件编码（支持 UTF-8、GBK/GB18030），"
                                        "请另存为 UTF-8 文本后重试")])


def text_lines(text: str) -> list[str]:
    return [normalise(line).strip() for line in text.splitlines()]


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
