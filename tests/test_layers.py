"""The layer order of docs/architecture.md, checked on every import in src/ (module level and
inside functions): lower layers never import higher ones, consumers do not import each other
(rl may use the agent it trains), production code never imports the test doubles, and no two
modules import each other, directly or around a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: package (first name below ``facscope``) → layer; a package may import only lower layers and
#: its own modules. Modules directly in ``facscope/`` are the shared base (layer 0).
LAYERS: dict[str, int] = {
    "facs": 0,
    "data": 1,
    "face": 2,
    "motion": 3,
    "synth": 4,
    "eval": 4,
    "vlm": 4,
    "mer": 5,
    "agent": 5,
    "rl": 5,
    "mellm": 5,
    "cli": 6,
    "testing": 6,
}
#: the one sideways arrow the design allows: rl trains the agent, so it uses agent's tools.
ALLOWED_SIDEWAYS = {("rl", "agent")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "facscope").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """Every facscope module ``module`` imports, at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # ``from facscope.x import y``: y is a submodule or a name defined in facscope.x
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("facscope") and name != module:
                found.add(name)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""


def _layer(module: str) -> int:
    return LAYERS.get(_package(module), 0)


def test_every_package_has_a_layer():
    packages = {_package(m) for m in MODULES} - {""}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to LAYERS"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layer_order(module):
    mine = _package(module)
    wrong = []
    for target in sorted(GRAPH[module]):
        theirs = _package(target)
        if theirs == mine:
            continue
        if theirs == "testing" and mine != "testing":
            wrong.append(f"{target} (production code never imports the test doubles)")
        elif _layer(target) > _layer(module):
            wrong.append(f"{target} (a higher layer)")
        elif _layer(target) == _layer(module) and (mine, theirs) not in ALLOWED_SIDEWAYS:
            if mine and theirs:  # the base modules (layer 0) share one level
                wrong.append(f"{target} (a sibling package of the same layer)")
    assert not wrong, f"{module} imports " + "; ".join(wrong)


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph (function-level imports
    included): any component of more than one module is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_function_level_imports(tmp_path):
    """The checker is not blind to an import hidden inside a function (a regression guard for
    the test itself)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from facscope.motion.apex import max_motion_apex\n")
    assert "facscope.motion.apex" in _imports("facscope.data.probe", probe)
