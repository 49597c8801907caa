"""Start-up: a command imports what it uses and nothing more. `rectify --help` and
`--version` import no command module and no database library; no core command, even to
show its help, imports Prefect, Apprise, the web stack, the document writers or the PDF
reader (the modules loaded when the process ends; bench/county_bench.py and
`python -X importtime` give the times). The command list is read from the catalog, which
must say what the commands say."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest

from rectify_core.cli import catalog
from rectify_core.cli.catalog import CATALOG

# what only some commands need, each imported inside the command that does
HEAVY = ("prefect", "apprise", "fastapi", "starlette", "uvicorn", "httpx", "openpyxl", "docx", "pdfplumber", "lxml",
         "aiosmtpd", "psycopg")
RUN = ("import atexit, sys\n"
       "def loaded():\n"
       "    with open(sys.argv[1], 'w') as out: out.write('\\n'.join(sorted(sys.modules)))\n"
       "atexit.register(loaded)\n"
       "from rectify_flows.cli import main\n"
       "main(sys.argv[2:])\n")


def imported(*argv: str, folder: Path) -> set[str]:
    """The top-level packages and rectify modules loaded when a `rectify` run ends."""
    seen = folder / "modules.txt"
    done = subprocess.run([sys.executable, "-c", RUN, str(seen), *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    names = set(seen.read_text(encoding="utf-8").split())
    assert "rectify_flows.cli" in names  # (the measure itself works)
    return {n for n in names if n.startswith("rectify")} | {n.split(".")[0] for n in names}


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_no_command_and_no_database(argv: list[str], tmp_path: Path) -> None:
    found = imported(*argv, folder=tmp_path)
    assert {"sqlalchemy", "pendulum", "jinja2", *HEAVY} & found == set()
    assert [n for n in found if n.startswith("rectify_core.cli.") and n not in
            ("rectify_core.cli.zh", "rectify_core.cli.catalog", "rectify_core.cli.running")] == []


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_no_command_imports_what_only_others_need(name: str, tmp_path: Path) -> None:
    found = imported(name, "--help", folder=tmp_path)
    assert set(HEAVY) & found == set(), name
    assert f"rectify_core.cli.{CATALOG[name][0]}" in found
    commands = {f"rectify_core.cli.{m}" for m, _, _ in CATALOG.values()}
    assert len(commands & found) < len(commands) / 2, f"{name} loads most command modules"


def test_a_day_is_dated_without_the_holidays_library(tmp_path: Path) -> None:
    """A command that reads the working calendar takes the estimated years' holidays from
    the shipped file: the library (a quarter of a second to load and compute) stays out."""
    found = imported("--db", f"sqlite:///{tmp_path / 'r.db'}", "check", "--date", "2026-12-10", folder=tmp_path)
    assert "rectify_core.config.calendar" in found and "rectify_core.config.statutory" in found
    assert {"holidays", *HEAVY} & found == set()


def test_the_catalog_says_what_the_commands_say() -> None:
    for name, (module, attribute, words) in CATALOG.items():
        command = getattr(importlib.import_module(f"rectify_core.cli.{module}"), attribute)
        assert command.name == name and words == catalog.first_paragraph(command.help), (
            f"{name}: run python -m rectify_core.cli.catalog")
    listed = {(m, a) for m, a, _ in CATALOG.values()}
    for module in {m for m, _, _ in CATALOG.values()}:
        loaded = importlib.import_module(f"rectify_core.cli.{module}")
        top = [a for a, v in inspect.getmembers(loaded) if isinstance(v, click.Command)
               and getattr(v.callback, "__module__", None) == loaded.__name__ and not _nested(loaded, v)]
        assert {(module, a) for a in top} <= listed, f"a command of {module} is not in the catalog"


def _nested(module: object, command: click.Command) -> bool:
    """A subcommand of one of the module's groups (registered through its group)."""
    groups = [v for v in vars(module).values() if isinstance(v, click.Group)]
    return any(command in g.commands.values() for g in groups if g is not command)


FROZEN = ("import atexit, gc, sys\n"
          "seen = sys.argv[1]\n"
          "atexit.register(lambda: open(seen, 'w').write(str(gc.get_freeze_count())))\n"
          "from rectify_flows.cli import main\n"
          "{call}\n")


@pytest.mark.parametrize("whole", [True, False])
def test_a_command_process_keeps_what_it_loaded_out_of_the_collector(whole: bool, tmp_path: Path) -> None:
    """A process that is one command (argv from its command line) freezes what the
    command's import loaded, so neither the command's collections nor the exit's walk
    SQLAlchemy and the models again; a process that runs commands in turn (argv given, as
    the tests do) freezes nothing."""
    seen = tmp_path / "frozen.txt"
    argv = ["--db", f"sqlite:///{tmp_path / 'r.db'}", "units"]
    call = f"sys.argv[1:] = {argv!r}; main()" if whole else f"main({argv!r})"
    done = subprocess.run([sys.executable, "-c", FROZEN.format(call=call), str(seen), *argv],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    frozen = int(seen.read_text())
    if whole:
        assert frozen > 10_000  # (the models and SQLAlchemy: some hundred thousand objects)
    else:
        assert frozen == 0
