"""结果考评's rules: `[scoring]` in rules.toml, every value with a documented default.

A unit starts from full marks and loses points for facts of its record, measure by
measure, each measure's loss capped; the score falls into a grade by thresholds. A unit
with too few counted items is not graded (不评). Wrong values are refused in words when
the rules are loaded, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rectify_core.errors import ConfigError


@dataclass(frozen=True)
class Deduction:
    """What one fact costs: `points` for each fact (for overdue, for each `per` overdue
    working days or part of them), at most `cap` over the measure."""

    points: float
    cap: float
    per: int = 1


# measure -> (its name for people, what one fact is, the default deduction)
MEASURES: dict[str, tuple[str, str, Deduction]] = {
    "overdue": ("逾期", "逾期未完成的问题，每逾期 per 个工作日（不足亦计）", Deduction(1, 20, per=10)),
    "late": ("逾期完成", "超过整改时限才完成的问题", Deduction(1, 10)),
    "extensions": ("多次延期", "延期两次及以上的问题", Deduction(1, 5)),
    "rebounds": ("反弹", "回头看发现反弹的问题", Deduction(3, 15)),
    "unanswered": ("未回应提醒", "督办提醒发出后规定时间内未阅、未报进展", Deduction(0.5, 10)),
    "no_evidence": ("销号无佐证", "销号时没有任何佐证材料文件", Deduction(2, 10)),
    "no_progress": ("未按期报送进展", "阶段性完成或长期坚持的问题，本期未报送进展", Deduction(1, 10)),
}
DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("好", 90), ("较好", 80), ("一般", 60), ("差", 0))
NOT_GRADED = "不评"


@dataclass(frozen=True)
class Scoring:
    full: float = 100
    min_items: int = 3  # fewer counted items: 不评
    answer_workdays: int = 3  # a reminder answered (已阅 or progress) within this many working days
    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES  # highest first: (grade, lowest score for it)
    deductions: dict[str, Deduction] = field(default_factory=lambda: {k: v[2] for k, v in MEASURES.items()})

    def grade(self, score: float) -> str:
        return next((name for name, lowest in self.grades if score >= lowest), self.grades[-1][0])

    def as_dict(self) -> dict[str, Any]:
        """The rules as recorded beside frozen scores."""
        return {"full": self.full, "min_items": self.min_items, "answer_workdays": self.answer_workdays,
                "grades": [list(g) for g in self.grades],
                "deductions": {k: {"points": d.points, "cap": d.cap, "per": d.per} for k, d in self.deductions.items()}}


def _number(source: str, key: str, value: Any, *, whole: bool = False, least: float = 0) -> Any:
    ok = isinstance(value, int) if whole else isinstance(value, (int, float))
    if not ok or isinstance(value, bool) or value < least:
        kind = "整数" if whole else "数"
        raise ConfigError(source, key, f"应为不小于 {least:g} 的{kind}，实际为 {value!r}")
    return value


def _deduction(source: str, name: str, raw: Any) -> Deduction:
    key = f"scoring.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(source, key, f"应为配置节 [{key}]")
    unknown = set(raw) - {"points", "cap", "per"}
    if unknown:
        raise ConfigError(source, f"{key}.{sorted(unknown)[0]}", "未知的配置项（可用：points、cap、per）")
    base = MEASURES[name][2]
    return Deduction(_number(source, f"{key}.points", raw.get("points", base.points)),
                     _number(source, f"{key}.cap", raw.get("cap", base.cap)),
                     _number(source, f"{key}.per", raw.get("per", base.per), whole=True, least=1))


def _grades(source: str, raw: Any) -> tuple[tuple[str, float], ...]:
    key = "scoring.grades"
    if not isinstance(raw, list) or not raw or not all(
            isinstance(g, list) and len(g) == 2 and isinstance(g[0], str) and g[0].strip() for g in raw):
        raise ConfigError(source, key, '应为 [["好", 90], ["较好", 80], …]：等次名称与该等次的最低分，从高到低')
    grades = tuple((str(name).strip(), float(_number(source, key, lowest))) for name, lowest in raw)
    lows = [lowest for _, lowest in grades]
    if lows != sorted(lows, reverse=True) or len(set(lows)) != len(lows):
        raise ConfigError(source, key, "各等次的最低分应从高到低、互不相同")
    if lows[-1] != 0:
        raise ConfigError(source, key, "最后一个等次的最低分应为 0（每个分数都有等次）")
    return grades


def parse_scoring(raw: Any, source: str) -> Scoring:
    """`[scoring]` of rules.toml (absent keys keep their defaults)."""
    if not isinstance(raw, dict):
        raise ConfigError(source, "scoring", "应为配置节 [scoring]")
    known = {"full", "min_items", "answer_workdays", "grades", *MEASURES}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(source, f"scoring.{sorted(unknown)[0]}",
                          f"未知的配置项或考评指标（可用：{'、'.join(sorted(known))}）")
    base = Scoring()
    deductions = {name: _deduction(source, name, raw[name]) if name in raw else d
                  for name, d in base.deductions.items()}
    return Scoring(full=_number(source, "scoring.full", raw.get("full", base.full), least=1),
                   min_items=_number(source, "scoring.min_items", raw.get("min_items", base.min_items), whole=True),
                   answer_workdays=_number(source, "scoring.answer_workdays",
                                           raw.get("answer_workdays", base.answer_workdays), whole=True, least=1),
                   grades=_grades(source, raw["grades"]) if "grades" in raw else base.grades,
                   deductions=deductions)
