"""config/web.toml and the web's secrets: where links point, what the portal accepts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rectify_core import masking
from rectify_core.config.files import optional, read_toml
from rectify_core.errors import ConfigError, RectifyError

SECRET_ENV = "RECTIFY_WEB_SECRET"


ADMIN_ENV = "RECTIFY_WEB_ADMIN_TOKEN"


MIN_SECRET = 16


ALLOWED_TYPES = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx", "doc", "xls", "ofd")


@dataclass(frozen=True)
class WebConfig:
    """config/web.toml [web]: where links point and what the portal accepts."""

    base_url: str = ""  # e.g. https://rectify.example.gov.cn ; empty: digests carry no link
    link_days: int = 30
    max_upload_mb: int = 20
    max_files: int = 5
    allowed: tuple[str, ...] = ALLOWED_TYPES
    failed_per_10min: int = 20  # bad links from one client before it is refused for a while


def parse_web(data: dict[str, Any], source: str) -> WebConfig:
    web = data.get("web", {})
    if set(data) - {"web"} or not isinstance(web, dict):
        raise ConfigError(source, "（顶层）", "只能有 [web] 一节")
    known = {"base_url", "link_days", "max_upload_mb", "max_files", "allowed", "failed_per_10min"}
    if unknown := sorted(set(web) - known):
        raise ConfigError(source, f"web.{unknown[0]}", f"未知的设置；可用的有 {'、'.join(sorted(known))}")
    base = web.get("base_url", "")
    if not isinstance(base, str) or (base and not base.startswith(("http://", "https://"))):
        raise ConfigError(source, "web.base_url", "须以 http:// 或 https:// 开头，例如 https://rectify.example.gov.cn")
    numbers = {}
    for key, low, high in (("link_days", 1, 366), ("max_upload_mb", 1, 200), ("max_files", 1, 20),
                           ("failed_per_10min", 1, 10000)):
        value = web.get(key, getattr(WebConfig, key))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(source, f"web.{key}", f"须是 {low} 到 {high} 之间的整数")
        numbers[key] = value
    allowed = web.get("allowed", list(ALLOWED_TYPES))
    if not isinstance(allowed, list) or not allowed or not all(a in ALLOWED_TYPES for a in allowed):
        raise ConfigError(source, "web.allowed", f"须是这些文件类型中的若干个：{'、'.join(ALLOWED_TYPES)}")
    return WebConfig(base_url=base.rstrip("/"), allowed=tuple(allowed), **numbers)


def load_web(config_dir: Path | None) -> WebConfig:
    """config_dir/web.toml, or the defaults (no base URL: digests carry no link)."""
    path = optional(config_dir, "web.toml")
    return WebConfig() if path is None else parse_web(read_toml(path), str(path))


def web_secret(required: bool = True) -> bytes | None:
    """RECTIFY_WEB_SECRET, at least 16 characters; None (or an error) when unset."""
    value = os.environ.get(SECRET_ENV, "")
    masking.remember(value)
    masking.remember(os.environ.get(ADMIN_ENV))
    if len(value) >= MIN_SECRET:
        return value.encode()
    if not required and not value:
        return None
    raise RectifyError(f"请设置环境变量 {SECRET_ENV}（至少 {MIN_SECRET} 个字符的随机字符串，例如用 "
                       "python3 -c \"import secrets; print(secrets.token_urlsafe(32))\" 生成）；"
                       "它只保存在环境中，不写入数据库")


def admin_token() -> str | None:
    """RECTIFY_WEB_ADMIN_TOKEN, at least 16 characters (a short one is guessed within the
    rate limit's patience); None when unset (then /admin is off)."""
    value = os.environ.get(ADMIN_ENV, "")
    masking.remember(value)
    if not value:
        return None
    if len(value) < MIN_SECRET:
        raise RectifyError(f"{ADMIN_ENV} 太短：至少 {MIN_SECRET} 个字符的随机字符串（例如用 "
                           "python3 -c \"import secrets; print(secrets.token_urlsafe(24))\" 生成）")
    return value
