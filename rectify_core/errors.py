"""The small exception hierarchy. Messages are for clerks, in Chinese.

The CLI turns any RectifyError into a clean message and a non-zero exit; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class RectifyError(Exception):
    """A problem the user can fix: bad input, bad config, unknown item.

    The message names things as a person sees them, never a command-line flag: the web
    shows it too. `hint` names what to give on the command line (for example
    "--text、--by"); the CLI adds it to the message, the web does not."""

    exit_code = 1

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        self.hint = hint


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one place of an input file (line or spreadsheet row)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}：{self.message}" if self.where else self.message


class InputError(RectifyError):
    """An input file is unusable; carries every problem found in it at once."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"导入失败：{source}（共 {len(problems)} 处问题，数据库未作任何改动）"]
        lines += [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


class ConfigError(RectifyError):
    """A config file has a wrong key or value."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key = source, key
        super().__init__(f"配置错误：{source} 中的 {key}：{message}")


class DatabaseError(RectifyError):
    """The database cannot be used: locked, read-only, full, damaged, of an unsupported
    kind, or of a newer schema than this version."""

    exit_code = 3


class NotFoundError(RectifyError):
    """The item, round or person asked for does not exist."""


class RefusedError(RectifyError):
    """The action is not allowed by the rules (e.g. extension cap reached)."""


_FULL = {errno.ENOSPC, errno.EDQUOT}


@contextmanager
def writing(target: object, what: str) -> Iterator[None]:
    """Writing `what` to `target`: a full disk or a folder that cannot be written to ends
    in the clerk's words, not a traceback (whatever was there before stays as it was)."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            raise RectifyError(f"磁盘已满，{what}未能写入 {target}；原有文件未改动，请腾出空间后重试") from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise RectifyError(f"无法写入 {target}（没有写入权限或为只读位置），{what}未生成") from None
        raise
