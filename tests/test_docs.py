"""The docs say what the code does: every command is named in the README or a docs page,
every docs page the README links exists, and the README stays a front page."""

from __future__ import annotations

import re
from pathlib import Path

import click

from rectify_flows.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def _names(group: click.Group, prefix: str) -> list[str]:
    out = []
    for name, command in group.commands.items():
        out.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            out += _names(command, f"{prefix}{name} ")
    return out


def test_every_command_is_in_the_docs() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in [README, *DOCS]).replace("[--db URL] ", "")
    missing = [n for n in _names(cli, "rectify ") if f"{n} " not in text and f"{n}\n" not in text]
    assert missing == []


def test_the_readme_is_a_front_page_that_links_every_docs_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", text))
    assert linked == {f"docs/{p.name}" for p in DOCS}
    assert all((ROOT / link).is_file() for link in linked)


def test_the_quickstart_is_two_commands_in_both_languages() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("## Quickstart / 快速开始", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["./dev demo", "./dev test"]
    assert "快速开始" in text and "安装锁定版本的依赖" in text


def test_every_template_compiles() -> None:
    """A template error shows only when a page renders it: compile them all here."""
    from rectify_core import templating

    names = templating.names()
    assert len(names) == len([*templating.TEMPLATES.rglob("*.j2")]) >= 10
    for name in names:
        templating.template(name)
