from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from rectify_core.cli import cli as root


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        out.append((prefix + name, command))
        if isinstance(command, click.Group):
            out += _commands(command, prefix + name + " ")
    return out


@pytest.mark.parametrize(("name", "command"), _commands(root))
def test_every_command_has_help(name: str, command: click.Command) -> None:
    assert command.help and command.help.strip(), f"{name} has no help text"


def test_user_mistake_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_bytes(b"\x00\x01binary")
    env = {**os.environ, "RECTIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    proc = subprocess.run([sys.executable, "-m", "rectify_core", "import", str(bad)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "二进制文件" in proc.stderr


def test_unreachable_database_is_a_message(cli: Any) -> None:
    result = cli(["--db", "postgresql://u:s3cret-pass@127.0.0.1:1/x", "items"])
    assert result.code == 3 and "无法访问数据库" in result.err
    assert "s3cret-pass" not in result.err


def test_demo_is_repeatable(cli: Any, sqlite_url: str) -> None:
    first = cli(["--db", sqlite_url, "demo"])
    assert first.code == 0 and "新增 8 条" in first.out
    second = cli(["--db", sqlite_url, "demo"])
    assert "新增 0 条，更新 0 条，未变化 8 条" in second.out
