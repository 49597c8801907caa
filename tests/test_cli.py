from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from rectify_core.cli import cli as core_cli

root = core_cli.load_all()  # every command's module imported (the group imports each as it runs)


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
    assert result.code == 3 and "无法连接数据库服务器（连接被拒绝）" in result.err
    assert "s3cret-pass" not in result.err


def test_demo_runs_the_daily_flow_and_is_repeatable(harness: None, sqlite_url: str, tmp_path: Path) -> None:
    """The README's main job, as a real process, against the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    cmd = [sys.executable, "-m", "flows", "--db", sqlite_url, "demo"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "新增 8 条" in first.stdout and "发送 5 条给 5 人，失败 0 人" in first.stdout
    assert "✉ zhoumin@example.gov.cn  【巡察整改督办通知】周敏同志：1项待办，其中逾期1项" in first.stdout
    mail_dir = tmp_path / "data" / "rectify" / "demo-mail"
    assert len(list(mail_dir.glob("*.eml"))) == 5
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert "新增 0 条，更新 0 条，未变化 8 条" in second.stdout and "发送 0 条给 0 人" in second.stdout
    assert len(list(mail_dir.glob("*.eml"))) == 5


def test_the_demo_survives_a_slow_prefect_start(tmp_path: Path) -> None:
    """Prefect's temporary server failing to start (a busy machine) is tried once more,
    then reported in words; any other error is not swallowed."""
    import pytest

    from rectify_core.errors import RectifyError
    from rectify_flows.cli import _run_demo_flow

    calls: list[int] = []

    def slow_then_up(**kwargs: Any) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")
        return "ran"

    assert _run_demo_flow(slow_then_up, tmp_path, "sqlite://") == "ran" and len(calls) == 2

    def never_up(**kwargs: Any) -> str:
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    with pytest.raises(RectifyError, match=r"请稍后重新运行 \./dev demo"):
        _run_demo_flow(never_up, tmp_path, "sqlite://")

    def broken(**kwargs: Any) -> str:
        raise RuntimeError("a bug of ours")

    with pytest.raises(RuntimeError, match="a bug of ours"):
        _run_demo_flow(broken, tmp_path, "sqlite://")
