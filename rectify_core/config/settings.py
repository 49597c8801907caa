"""Settings: everything read from the config directory (rules, calendar, contacts, web), validated once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rectify_core import HOME
from rectify_core.config.calendar import WorkCalendar, load_calendar
from rectify_core.config.people import Directory, load_directory
from rectify_core.config.rules import Rules, load_rules
from rectify_core.config.web import WebConfig, load_web
from rectify_core.errors import RectifyError

PROJECT_CONFIG = HOME.parent / "config"


def resolve_config_dir(explicit: Path | None) -> Path | None:
    """--config, else RECTIFY_CONFIG_DIR, else the project's config/ when present."""
    env = os.environ.get("RECTIFY_CONFIG_DIR")
    chosen = explicit or (Path(env) if env else None)
    if chosen is not None:
        if not chosen.is_dir():
            raise RectifyError(f"配置目录不存在：{chosen}")
        return chosen
    return PROJECT_CONFIG if PROJECT_CONFIG.is_dir() else None


@dataclass(frozen=True)
class Settings:
    """Everything read from the config directory, validated once per run."""

    rules: Rules
    calendar: WorkCalendar
    config_contacts: Directory  # config/contacts.toml alone, without the holders imports recorded: who holds
    # a role is asked of ledger.obligations.directory (or Office.directory), never of this
    web: WebConfig = field(default_factory=WebConfig)


def load_settings(config_dir: Path | None) -> Settings:
    return Settings(load_rules(config_dir), load_calendar(config_dir), load_directory(config_dir),
                    load_web(config_dir))
