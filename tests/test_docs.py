"""The docs say what the code does: every command is named in the README or a docs page,
every docs page the README links exists, and the README stays a front page."""

from __future__ import annotations

import re
from pathlib import Path

import click

from rectify_flows.cli import cli

cli.load_all()  # every command's module imported (the group imports each as it runs)
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


def test_the_commands_page_carries_the_synopsis_made_from_the_command_line() -> None:
    """The synopsis is what `python -m rectify_flows.synopsis` makes of the CLI today: a new
    command or option missing from docs/commands.md fails here."""
    from rectify_flows.synopsis import PAGE, block

    assert block() in PAGE.read_text(encoding="utf-8"), "run: python -m rectify_flows.synopsis"


def test_every_option_of_every_command_is_on_the_commands_page() -> None:
    """Read independently of the generator: each command's entry names each of its options."""
    from rectify_flows.synopsis import PAGE

    text = PAGE.read_text(encoding="utf-8")
    synopsis = text.split("```", 2)[1]
    entries = re.split(r"\n(?=rectify )", synopsis)
    missing = []
    for name in _names(cli, ""):
        command: click.Command = cli
        for word in name.split():
            assert isinstance(command, click.Group)
            command = command.commands[word]
        entry = next((e for e in entries if re.match(rf"rectify \[--db URL\] {re.escape(name)}(\s|$)", e)), "")
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and max(param.opts, key=len) not in entry:
                missing.append(f"{name} {max(param.opts, key=len)}")
        if not entry:
            missing.append(name)
    assert missing == []


def test_every_file_the_docs_name_exists() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in [README, *DOCS])
    named = set(re.findall(r"`((?:rectify_core|flows|config|bench|tests)/[\w./-]+\.(?:py|toml|csv|md|j2))`", text))
    # a file the user writes (config/contacts.toml) exists as its shipped example
    missing = [n for n in sorted(named)
               if not (ROOT / n).exists() and not (ROOT / n.replace(".toml", ".example.toml")).exists()]
    assert named and missing == []


def test_rules_toml_documents_every_key_the_loader_takes() -> None:
    """config/rules.toml is the rules' reference: each section and key the loader accepts is
    there (a commented example counts), and it names none the loader would refuse."""
    from rectify_core.config.rules import _SCALARS
    from rectify_core.config.scoring import MEASURES

    documented: dict[str, set[str]] = {}
    section = ""
    for line in (ROOT / "config" / "rules.toml").read_text(encoding="utf-8").splitlines():
        bare = line.lstrip("# ").rstrip()
        if m := re.fullmatch(r"\[\[?([\w.]+)\]\]?", bare):
            section = m[1]
            documented.setdefault(section, set())
        elif (m := re.fullmatch(r"(\w+) = .+", bare)) and section and line.startswith((m[1], "# ")):
            documented[section].add(m[1])
    plain = {s: k for s, k in documented.items() if s != "ladder" and not s.startswith("scoring")}
    assert plain == {s: set(k) for s, k in _SCALARS.items()}
    assert documented["scoring"] == {"full", "min_items", "answer_workdays", "grades"}
    assert {s.removeprefix("scoring.") for s in documented if s.startswith("scoring.")} == set(MEASURES)
    assert all(documented[f"scoring.{m}"] <= {"points", "cap", "per"} for m in MEASURES)
