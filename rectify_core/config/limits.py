"""Bounds on what rectify accepts, each a clear error rather than a hang or an
exhausted machine. Every bound can be raised through the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rectify_core.errors import ConfigError

# (field, environment variable, default, what it bounds)
_BOUNDS = (
    ("file_mb", "RECTIFY_IMPORT_MAX_MB", 50, "导入文件大小（MB）"),
    ("unzipped_mb", "RECTIFY_IMPORT_MAX_UNZIPPED_MB", 200, "Word/Excel 解压后总大小（MB）"),
    ("zip_members", "RECTIFY_IMPORT_MAX_MEMBERS", 2000, "Word/Excel 压缩包内文件数"),
    ("rows", "RECTIFY_IMPORT_MAX_ROWS", 200_000, "表格行数"),
    ("columns", "RECTIFY_IMPORT_MAX_COLUMNS", 200, "表格列数"),
    ("line_chars", "RECTIFY_IMPORT_MAX_LINE_CHARS", 20_000, "一行（或一个单元格）的字数"),
    ("evidence_mb", "RECTIFY_EVIDENCE_MAX_MB", 2048, "佐证材料文件大小（MB）"),
    ("first_year", "RECTIFY_FIRST_YEAR", 2000, "日期的最早年份"),
    ("last_year", "RECTIFY_LAST_YEAR", 2100, "日期的最晚年份"),
)


@dataclass(frozen=True)
class Limits:
    file_mb: int
    unzipped_mb: int
    zip_members: int
    rows: int
    columns: int
    line_chars: int
    evidence_mb: int
    first_year: int
    last_year: int

    def describe(self, name: str, unit: str = "") -> str:
        """The bound and how to raise it, for error messages."""
        env = next(e for f, e, _, _ in _BOUNDS if f == name)
        return f"上限 {getattr(self, name)}{unit}（可用环境变量 {env} 调整）"


def limits() -> Limits:
    values: dict[str, int] = {}
    for name, env, default, what in _BOUNDS:
        raw = os.environ.get(env)
        try:
            values[name] = int(raw) if raw else default
        except ValueError:
            raise ConfigError(f"环境变量 {env}", what, f"应为整数，实际为 {raw!r}") from None
        if values[name] < 1:
            raise ConfigError(f"环境变量 {env}", what, f"应为正整数，实际为 {raw!r}")
    if not 1 <= values["first_year"] < values["last_year"] <= 9998:
        raise ConfigError("环境变量 RECTIFY_FIRST_YEAR / RECTIFY_LAST_YEAR", "日期范围", "最早年份须早于最晚年份")
    return Limits(**values)
