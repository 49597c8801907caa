"""Reading config files: one place that turns a TOML syntax error into a ConfigError."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rectify_core.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "（文件格式）", f"不是有效的 TOML：{exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "（文件编码）", "请以 UTF-8 编码保存") from None


def optional(config_dir: Path | None, name: str) -> Path | None:
    """config_dir/name when it exists."""
    path = config_dir / name if config_dir else None
    return path if path is not None and path.exists() else None
