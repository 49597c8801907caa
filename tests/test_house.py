"""The house's rules, read from the code itself: every module on its floor (an import never
runs up to a higher floor, nor across to a sibling package of the same floor), no import
circle, no module over 450 lines, no function over 60 lines or 8 parameters (click
commands aside), and the concerns written once: one signer, one Jinja environment, one
completion-rate formula."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "rectify_core"

# Lowest first. A module may import its own package and any package of a lower floor.
# The ground is the loose modules of rectify_core (one package: they import each other).
FLOORS: list[set[str]] = [
    {"ground"},
    {"config"},
    {"deadlines"},
    {"importers"},
    {"ledger"},
    {"delivery"},
    {"runs", "documents"},
    {"web"},
    {"cli"},
    {"main"},
    {"flows"},
]
FLOOR_OF = {package: n for n, floor in enumerate(FLOORS) for package in floor}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module
    line: int


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*CORE.rglob("*.py"), *(ROOT / "flows").rglob("*.py")]):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[0] == "flows":
            parts[0] = "rectify_flows"
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def package(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "rectify_flows":
        return "flows"
    if len(parts) == 1 or (CORE / parts[1]).is_file() or (CORE / f"{parts[1]}.py").is_file():
        return "main" if parts[-1] == "__main__" else "ground"
    return parts[1]


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(known: dict[str, Path]) -> Iterator[Import]:
    """Every import of the project's own modules, wherever it stands (inside a function too)."""
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                    base = ".".join([*here, *([node.module] if node.module else [])])
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            else:
                continue
            for name in names:
                target = _resolve(name, known)
                if target is not None and target != module:
                    yield Import(module, target, node.lineno)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_package_has_a_floor() -> None:
    assert {package(m) for m in modules()} <= set(FLOOR_OF)


def test_no_import_runs_up_a_floor_or_across_to_a_sibling() -> None:
    known = modules()
    wrong = []
    for imp in imports(known):
        here, there = package(imp.source), package(imp.target)
        if here != there and FLOOR_OF[there] >= FLOOR_OF[here]:
            wrong.append(f"{known[imp.source].relative_to(ROOT)}:{imp.line} {here} -> {imp.target}")
    assert sorted(set(wrong)) == []


def test_no_import_circle() -> None:
    known = modules()
    graph: dict[str, set[str]] = {}
    for imp in imports(known):
        # a package's __init__ is its front door: a module importing its own package's
        # front door for a name it re-exports is no circle of concerns; count only the rest
        if imp.source.startswith(imp.target + "."):
            continue
        graph.setdefault(imp.source, set()).add(imp.target)
    assert _cycles(graph) == []


def test_the_floor_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The check itself can fail: a ledger module importing the web is caught."""
    known = {"rectify_core.ledger.x": tmp_path / "x.py", "rectify_core.web.links": tmp_path / "l.py",
             "rectify_core.errors": tmp_path / "e.py"}
    known["rectify_core.ledger.x"].write_text("def f():\n    from rectify_core.web.links import y\n")
    known["rectify_core.web.links"].write_text("from rectify_core import errors\n")
    known["rectify_core.errors"].write_text("")
    found = [(i.source, i.target) for i in imports(known)]
    assert ("rectify_core.ledger.x", "rectify_core.web.links") in found
    assert ("rectify_core.web.links", "rectify_core.errors") in found
    assert FLOOR_OF[package("rectify_core.web.links")] > FLOOR_OF[package("rectify_core.ledger.x")]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _code() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in modules().values()]


def test_no_module_over_450_lines() -> None:
    assert [(str(p.relative_to(ROOT)), n) for p, text in _code() if (n := len(text.splitlines())) > 450] == []


def _is_click_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(re.search(r"\b(command|option|argument|group|item_target)\b", ast.unparse(d))
               for d in node.decorator_list)


def test_no_function_over_60_lines_or_8_parameters() -> None:
    long = []
    for path, text in _code():
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or _is_click_command(node):
                continue
            a = node.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
            count = len(params) - (1 if params and params[0].arg in ("self", "cls") else 0)
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > 60 or count > 8:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines} lines, {count} parameters")
    assert long == []


def _occurrences(pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return [f"{p.relative_to(ROOT)}:{n}" for p, text in _code()
            for n, line in enumerate(text.splitlines(), start=1) if rx.search(line)]


def test_one_signer() -> None:
    """HMAC is computed in one place; links, sessions and CSRF tokens sign through it."""
    assert _occurrences(r"\bhmac\.(new|digest)\(") == ["rectify_core/signing.py:" + _line("signing.py", "hmac.")]


def test_one_jinja_environment() -> None:
    assert [s.split(":")[0] for s in _occurrences(r"\b(jinja2\.)?Environment\(")] == ["rectify_core/templating.py"]


def test_one_completion_rate_formula() -> None:
    """The share of counted items closed is computed by vocab.completion_rate alone."""
    assert [s.split(":")[0] for s in _occurrences(r"def completion_rate\b")] == ["rectify_core/vocab.py"]
    percents = [s.split(":")[0] for s in _occurrences(r"\b100\s*\*[^/\n#]*/")]
    assert percents == ["rectify_core/vocab.py"]


def _line(name: str, needle: str) -> str:
    text = (CORE / name).read_text(encoding="utf-8").splitlines()
    return str(next(n for n, line in enumerate(text, start=1) if needle in line))


_EDGE_WORDS = re.compile(r"rectify [a-z]|(?:^|[^\w-])--[a-z]")


def _message_texts(call: ast.Call) -> Iterator[str]:
    for arg in call.args:
        for node in ast.walk(arg):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value


def test_core_errors_name_no_command_and_no_flag() -> None:
    """A message below the edges is read on the web too: what to type on the command line
    rides in `hint=`, which only the CLI shows."""
    wrong = []
    for path, text in _code():
        if not path.is_relative_to(CORE) or path.relative_to(CORE).parts[0] in ("cli", "web"):
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func).rsplit(".", 1)[-1]
                if name.endswith("Error") or name in ("Problem", "Refused"):
                    wrong += [f"{path.relative_to(ROOT)}:{node.lineno} {t!r}" for t in _message_texts(node)
                              if _EDGE_WORDS.search(t)]
    assert wrong == []


def test_no_statement_after_a_return_or_raise() -> None:
    """Code that can never run is dead code: none follows a return, raise, break or continue."""
    dead = []
    for path, text in _code():
        for node in ast.walk(ast.parse(text)):
            for body in (getattr(node, f, None) for f in ("body", "orelse", "finalbody")):
                if isinstance(body, list):
                    dead += [f"{path.relative_to(ROOT)}:{after.lineno}" for stop, after in itertools.pairwise(body)
                             if isinstance(stop, (ast.Return, ast.Raise, ast.Break, ast.Continue))]
    assert dead == []
