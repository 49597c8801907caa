from __future__ import annotations

from pathlib import Path

import pytest

from rectify_core.config.rules import Rules, load_rules
from rectify_core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_rules_file_documents_the_defaults() -> None:
    assert load_rules(ROOT / "config") == Rules()


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_rules(tmp_path) == Rules()


def test_override_one_value(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text("[deadline]\ndated_months = 3\n", encoding="utf-8")
    rules = load_rules(tmp_path)
    assert rules.dated_months == 3 and rules.ladder == Rules().ladder


@pytest.mark.parametrize(("text", "key"), [
    ("[deadline]\ndated_month = 3\n", "deadline.dated_month"),
    ("[deadline]\ndated_months = 0\n", "deadline.dated_months"),
    ("[deadline]\nnon_workday = \"later\"\n", "deadline.non_workday"),
    ("[lights]\nyellow_within = \"ten\"\n", "lights.yellow_within"),
    ("[delivery]\nprocesses = 0\n", "delivery.processes"),
    ("[delivery]\nprocesses = 64\n", "delivery.processes"),
    ("[alerts]\n", "alerts"),
    ("[[ladder]]\nname = \"x\"\nat = 1\nto = [\"boss\"]\n", "ladder[0].to"),
    ("[[ladder]]\nname = \"x\"\nat = 1\nto = [\"owner\"]\ncolor = 1\n", "ladder[0].color"),
    ("[deadline\n", "（文件格式）"),
])
def test_bad_rules_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path)
    assert str(tmp_path / "rules.toml") in str(info.value) and key in str(info.value)


def test_ladder_version_follows_content(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text("[[ladder]]\nname = \"提醒\"\nat = -5\nto = [\"owner\"]\n",
                                         encoding="utf-8")
    assert load_rules(tmp_path).ladder.version != Rules().ladder.version
