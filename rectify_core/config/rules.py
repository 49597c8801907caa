"""Rules from config/rules.toml, validated when loaded. Defaults are built in, so a
missing file or key means the documented default."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rectify_core.config.files import optional, read_toml
from rectify_core.config.scoring import Scoring, parse_scoring
from rectify_core.errors import ConfigError
from rectify_core.vocab import LADDER_ROLES, Role
from rectify_core.vocab import Step as Steps

ROLES = LADDER_ROLES


@dataclass(frozen=True)
class Step:
    name: str
    at: int
    to: tuple[str, ...]
    every: int = 0


@dataclass(frozen=True)
class Ladder:
    steps: tuple[Step, ...]

    @cached_property
    def version(self) -> str:
        """A stable id of the ladder's content: items keep the ladder they started with."""
        spec = json.dumps([asdict(s) for s in self.steps], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(spec.encode()).hexdigest()[:12]


DEFAULT_LADDER = Ladder((
    Step(Steps.NOTICE.label, -20, (Role.OWNER,)),
    Step(Steps.DUE_SOON.label, -10, (Role.OWNER, Role.LEADER)),
    Step(Steps.DUE_SOON.label, -3, (Role.OWNER,)),
    Step(Steps.DUE_SOON.label, -1, (Role.OWNER,)),
    Step(Steps.DUE.label, 0, (Role.OWNER,)),
    Step(Steps.OVERDUE.label, 5, (Role.OWNER, Role.LEADER), every=5),
    Step(Steps.WARNING.label, 10, (Role.FIRST_RESPONSIBLE,)),
    Step(Steps.ACCOUNTABILITY.label, 20, (Role.INSPECTION_OFFICE,)),
))


@dataclass(frozen=True)
class Rules:
    immediate_workdays: int = 10
    dated_months: int = 2
    non_workday: str = "previous"
    ongoing_update_months: int = 1
    yellow_within: int = 10
    max_extensions: int = 2
    window_start: str = "08:30"
    window_end: str = "18:00"
    workdays_only: bool = True
    max_attempts: int = 5
    backoff_minutes: int = 5
    max_per_item: int = 0
    lease_minutes: int = 10
    workers: int = 1
    processes: int = 1  # delivery: processes on this machine (delivery.spread)
    lookback_after_months: tuple[int, ...] = (3, 6)
    lookback_share: float = 0.2
    lookback_review_workdays: int = 20
    lookback_min_age_months: int = 1
    escalate_after_notified: bool = True
    escalation_wait_workdays: int = 5
    backup_dir: str | None = None  # the daily run keeps rotating backups here when set
    backup_keep: int = 7
    ladder: Ladder = field(default=DEFAULT_LADDER)
    scoring: Scoring = field(default_factory=Scoring)  # 结果考评 ([scoring], config.scoring)


# section -> key -> (Rules field, type, check, explanation)
_SCALARS: dict[str, dict[str, tuple[str, Any]]] = {
    "deadline": {
        "immediate_workdays": ("immediate_workdays", range(0, 366)),
        "dated_months": ("dated_months", range(1, 37)),
        "non_workday": ("non_workday", ("previous", "next", "keep")),
        "ongoing_update_months": ("ongoing_update_months", range(1, 13)),
    },
    "lights": {"yellow_within": ("yellow_within", range(0, 251))},
    "extensions": {"max_count": ("max_extensions", range(0, 21))},
    "delivery": {
        "window_start": ("window_start", "time"),
        "window_end": ("window_end", "time"),
        "workdays_only": ("workdays_only", (True, False)),
        "max_attempts": ("max_attempts", range(1, 51)),
        "backoff_minutes": ("backoff_minutes", range(1, 1441)),
        "max_per_item": ("max_per_item", range(0, 1001)),
        "lease_minutes": ("lease_minutes", range(1, 1441)),
        "workers": ("workers", range(1, 33)),
        "processes": ("processes", range(1, 33)),
    },
    "lookback": {
        "after_months": ("lookback_after_months", "months"),
        "share": ("lookback_share", "share"),
        "review_workdays": ("lookback_review_workdays", range(1, 251)),
        "min_age_months": ("lookback_min_age_months", range(0, 25)),
    },
    "escalation": {
        "after_notified": ("escalate_after_notified", (True, False)),
        "wait_workdays": ("escalation_wait_workdays", range(0, 251)),
    },
    "backup": {
        "dir": ("backup_dir", "folder"),
        "keep": ("backup_keep", range(1, 1001)),
    },
}


def _scalar(source: str, key: str, value: Any, allowed: Any) -> Any:
    if allowed == "months":
        if not isinstance(value, list) or not value or any(
                not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 60 for v in value):
            raise ConfigError(source, key, f"应为 1 到 60 之间的月数列表，如 [3, 6]；实际为 {value!r}")
        return tuple(sorted(set(value)))
    if allowed == "share":
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ConfigError(source, key, f"应为 0 到 1 之间的比例，如 0.2；实际为 {value!r}")
        return float(value)
    if allowed == "folder":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(source, key, f"应为文件夹路径，如 \"/var/backups/rectify\"；实际为 {value!r}")
        folder = Path(value.strip()).expanduser()
        return str(folder if folder.is_absolute() else (Path(source).parent / folder).resolve())
    if allowed == "time":
        if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ConfigError(source, key, f"应为 HH:MM 格式的时间，实际为 {value!r}")
        return value
    if isinstance(allowed, range):
        if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
            raise ConfigError(source, key, f"应为 {allowed.start} 到 {allowed.stop - 1} 之间的整数，"
                                           f"实际为 {value!r}")
    elif value not in allowed:
        raise ConfigError(source, key, f"应为 {' / '.join(map(repr, allowed))} 之一，实际为 {value!r}")
    return value


def _step(source: str, n: int, raw: Any) -> Step:
    key = f"ladder[{n}]"
    if not isinstance(raw, dict):
        raise ConfigError(source, key, "应为 [[ladder]] 表")
    unknown = set(raw) - {"name", "at", "every", "to"}
    if unknown:
        raise ConfigError(source, f"{key}.{sorted(unknown)[0]}", "未知的配置项（可用：name、at、every、to）")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(source, f"{key}.name", "应为非空的步骤名称")
    at = _scalar(source, f"{key}.at", raw.get("at"), range(-250, 251))
    every = _scalar(source, f"{key}.every", raw.get("every", 0), range(0, 251))
    to = raw.get("to")
    if not isinstance(to, list) or not to or any(r not in ROLES for r in to):
        raise ConfigError(source, f"{key}.to", f"应为角色列表，可用：{'、'.join(ROLES)}；实际为 {to!r}")
    return Step(name.strip(), at, tuple(to), every)


def parse_rules(data: dict[str, Any], source: str) -> Rules:
    values: dict[str, Any] = {}
    for section, raw in data.items():
        if section == "ladder":
            if not isinstance(raw, list) or not raw:
                raise ConfigError(source, "ladder", "应为至少一个 [[ladder]] 步骤")
            steps = sorted((_step(source, n, s) for n, s in enumerate(raw)), key=lambda s: s.at)
            values["ladder"] = Ladder(tuple(steps))
            continue
        if section == "scoring":
            values["scoring"] = parse_scoring(raw, source)
            continue
        if section not in _SCALARS:
            raise ConfigError(source, section, f"未知的配置节（可用：{'、'.join([*_SCALARS, 'ladder', 'scoring'])}）")
        if not isinstance(raw, dict):
            raise ConfigError(source, section, "应为配置节 [" + section + "]")
        for key, value in raw.items():
            if key not in _SCALARS[section]:
                known = "、".join(_SCALARS[section])
                raise ConfigError(source, f"{section}.{key}", f"未知的配置项（可用：{known}）")
            name, allowed = _SCALARS[section][key]
            values[name] = _scalar(source, f"{section}.{key}", value, allowed)
    return Rules(**values)


def load_rules(config_dir: Path | None) -> Rules:
    """config_dir/rules.toml, or the defaults when there is none."""
    path = optional(config_dir, "rules.toml")
    if path is None:
        return Rules()
    data = read_toml(path)
    return parse_rules(data, str(path))
