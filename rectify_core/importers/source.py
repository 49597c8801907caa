"""Reading an input file: format detection from content (HTML sniffed here too), decoding,
and the lines a parser reads (each with its normalised working copy)."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rectify_core.config.limits import Limits, limits
from rectify_core.errors import InputError, Problem
from rectify_core.text import normalise

ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class Source:
    name: str  # as given by the user, for messages
    path: Path
    data: bytes
    kind: str  # text | docx | xlsx | ole | html | pdf

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


# a formula cell the file was saved without the value of (written by a program, never
# opened and saved in Excel or WPS): a marker no cell can hold, equal across processes
UNSAVED = "\x00公式未保存计算结果\x00"


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


def text_lines(text: str, name: str) -> list[Line]:
    """A text's lines; a line longer than the limit is an error naming it."""
    lim = limits()
    raw = text.splitlines()
    if len(raw) > lim.rows:
        raise InputError(name, [Problem("", f"文件有 {len(raw)} 行，超过{lim.describe('rows', ' 行')}")])
    long = [n for n, line in enumerate(raw, start=1) if len(line) > lim.line_chars]
    if long:
        cap = lim.describe("line_chars", " 字")
        raise InputError(name, [Problem(f"第{n}行", f"这一行有 {len(raw[n - 1])} 个字，超过{cap}") for n in long[:5]])
    return [make_line(line) for line in raw]


BOMB_RATIO = 100
BOMB_FLOOR = 4 * 2**20  # small parts may compress as they like


def _zip_kind(data: bytes, shown: str, lim: Limits) -> str | None:
    """docx | xlsx | None; a zip bomb (too many members, too large unpacked) is refused
    from the archive's directory, before anything is unpacked."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if len(members) > lim.zip_members:
        cap = lim.describe("zip_members", " 个")
        raise InputError(shown, [Problem("", f"压缩包内有 {len(members)} 个文件，超过{cap}")])
    unpacked = sum(m.file_size for m in members)
    if unpacked > lim.unzipped_mb * 2**20:
        cap = lim.describe("unzipped_mb", " MB")
        raise InputError(shown, [Problem("", f"文件解压后有 {unpacked / 2**20:.0f} MB，超过{cap}；"
                                             "这可能是一个“压缩炸弹”")])
    # a part that unpacks to a hundred times its size is no office document's: Word and
    # Excel parts compress five to twenty times (an openpyxl read of such a part takes
    # seconds per hundred MB, so it is refused here, from the declared sizes)
    for m in members:
        if m.file_size > BOMB_FLOOR and m.file_size > BOMB_RATIO * max(m.compress_size, 1):
            raise InputError(shown, [Problem("", f"文件中的 {m.filename} 解压后是压缩时的 "
                                                 f"{m.file_size // max(m.compress_size, 1)} 倍，"
                                                 "这可能是一个“压缩炸弹”，未读取")])
    names = {m.filename for m in members}
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def read_bounded(path: Path, shown: str, lim: Limits) -> bytes:
    """The bytes of a regular file, at most the import size limit; pipes, devices and
    folders are refused without reading them (a FIFO would block, /dev/zero never ends)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(shown, [Problem("", "文件不存在")]) from None
    except PermissionError:
        raise InputError(shown, [Problem("", "没有读取该文件的权限")]) from None
    except OSError as exc:
        raise InputError(shown, [Problem("", f"无法读取该文件（{exc.strerror or type(exc).__name__}）")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(shown, [Problem("", "这是一个文件夹，不是文件")])
    if not stat.S_ISREG(info.st_mode):
        raise InputError(shown, [Problem("", "这不是普通文件（可能是管道、设备或套接字），只能导入普通文件")])
    cap = lim.file_mb * 2**20
    too_big = [Problem("", f"文件大小超过{lim.describe('file_mb', ' MB')}；全区（全市）的大台账可按单位拆成"
                           "几个文件分别导入，每个单位的问题仍归入各自的轮次")]
    if info.st_size > cap:
        raise InputError(shown, too_big)
    try:
        with path.open("rb") as f:
            data = f.read(cap + 1)
    except PermissionError:
        raise InputError(shown, [Problem("", "没有读取该文件的权限")]) from None
    except OSError as exc:
        raise InputError(shown, [Problem("", f"无法读取该文件（{exc.strerror or type(exc).__name__}）")]) from None
    if len(data) > cap:
        raise InputError(shown, too_big)
    return data


_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xfe\xff", "utf-16-be"),
         (b"\xff\xfe", "utf-16-le"))


def _as_utf8(data: bytes, shown: str) -> bytes:
    """Text that says by its byte-order mark it is UTF-16 or UTF-32 (Excel's "Unicode 文本",
    Notepad's "Unicode"), as UTF-8; other data as it is."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding).encode("utf-8")
            except UnicodeDecodeError as exc:
                where = f"第{exc.start + len(bom) + 1}个字节"
                said = (f"无法识别文件编码：文件标明为 {encoding.upper()} 编码（UTF-16/UTF-32），但内容有误；"
                        "请在记事本中另存为 UTF-8 后重试")
                raise InputError(shown, [Problem(where, said)]) from None
    return data


def looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return (head.startswith((b"<!doctype html", b"<html", b"<?xml")) and b"<html" in data[:4096].lower()) \
        or head.startswith((b"<table", b"<body", b"<meta", b"<head"))


def open_source(path: Path, name: str | None = None) -> Source:
    """Read and classify a file; empty, binary, unknown or oversize content is an InputError."""
    shown = name or str(path)
    lim = limits()
    data = read_bounded(path, shown, lim)
    if not data.strip():
        raise InputError(shown, [Problem("", "文件是空的")])
    if data.startswith(b"PK"):
        kind = _zip_kind(data, shown, lim)
        if kind is None:
            raise InputError(shown, [Problem("", "这是一个压缩文件，但不是 Word（.docx）或 "
                                                 "Excel（.xlsx）文档")])
        return Source(shown, path, data, kind)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # a legacy Office file: a .xls is read, others refused
        return Source(shown, path, data, "ole")
    if data.startswith(b"%PDF"):
        return Source(shown, path, data, "pdf")
    data = _as_utf8(data, shown)
    if b"\x00" in data[:4096]:
        raise InputError(shown, [Problem("", "这是二进制文件，不是文本、Word 或 Excel 文档")])
    decode(data, shown)
    return Source(shown, path, data, "html" if looks_like_html(data) else "text")
