"""The package's shape: layers that only look down, no import cycles, no hidden imports.

A new engineer should find where a change belongs from the layout alone, and change one
layer without reading those above it. That holds only while every import points down
the list below (docs/architecture.md draws the same list), while no two modules import
each other in a ring, and while no import hides inside a function to dodge one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "navigator"

# Bottom to top. A module may import its own layer and the layers below it, never above.
# An entry names a module or a package (every module under it). docs/architecture.md.
LAYERS = [
    ["navigator.core"],
    [
        "navigator.config",
        "navigator.extensions",
        "navigator.database",
        "navigator.models",
        "navigator.logs",
        "navigator.clean_input",
        "navigator.catalog",
        "navigator.timefmt",
        "navigator.alerts",
        "navigator.opt_outs",
        "navigator.patient_events",
        "navigator.health",
        "navigator.accounts",
    ],
    ["navigator.audit"],
    ["navigator.telephony"],
    ["navigator.reminders"],
    ["navigator.patients"],
    ["navigator.channels"],
    ["navigator.feed"],
    ["navigator.coordinator", "navigator.cli"],
    ["navigator", "navigator.app", "navigator.scheduler", "navigator.feed.__main__"],
]

# Imports allowed inside a function: optional, heavy libraries that a process which never
# needs them must not pay for (the reminder worker starts without scikit-learn).
LAZY_ALLOWED = {"sklearn", "numpy", "lingua"}

# The pure core runs without an app, a database or a network.
CORE_FORBIDDEN = {"flask", "flask_login", "flask_wtf", "sqlalchemy", "twilio", "werkzeug"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    """The layer of a module: its longest matching entry in LAYERS."""
    best, found = -1, None
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and len(entry) > best:
                best, found = len(entry), index
    assert found is not None, f"{module} is in no layer: add it to LAYERS and the docs"
    return found


def _imports(module: str, path: Path):
    """Yield (imported module, line, inside a function) for each import in a module."""
    is_package = path.name == "__init__.py"

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = module.split(".") if is_package else module.split(".")[:-1]
                    parts = parts[: len(parts) - child.level + 1]
                    base = ".".join([*parts, *([child.module] if child.module else [])])
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    yield (full if full in MODULES else base), child.lineno, in_function
            yield from walk(child, inner)

    yield from walk(ast.parse(path.read_text()), False)


GRAPH = {
    module: {target for target, _, _ in _imports(module, path) if target in MODULES}
    for module, path in MODULES.items()
}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_and_those_below(module):
    upward = [target for target in sorted(GRAPH[module]) if _layer(target) > _layer(module)]
    assert not upward, f"{module} (layer {_layer(module)}) imports a higher layer: {upward}"


def test_no_two_modules_import_each_other_in_a_ring():
    cycles, state = [], {}

    def visit(module, trail):
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


# Side by side in one layer, and strangers to each other: importing any coordinator module
# loads the whole web blueprint, which a command run from a shell must not pay for or
# depend on; the rules both need (accounts, audit rows) live below them.
STRANGERS = [("navigator.cli", "navigator.coordinator"), ("navigator.coordinator", "navigator.cli")]


@pytest.mark.parametrize(("importer", "imported"), STRANGERS)
def test_the_command_line_and_the_web_app_never_import_each_other(importer, imported):
    crossing = sorted(
        f"{module} -> {target}"
        for module in MODULES
        if module == importer or module.startswith(importer + ".")
        for target in GRAPH[module]
        if target == imported or target.startswith(imported + ".")
    )
    assert not crossing, f"{importer} imports {imported}: {crossing}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_are_at_the_top_of_the_module_so_the_graph_above_is_the_whole_truth(module):
    hidden = [
        f"{target} (line {line})"
        for target, line, in_function in _imports(module, MODULES[module])
        if in_function and target.split(".")[0] not in LAZY_ALLOWED
    ]
    assert not hidden, f"{module} imports inside a function: {hidden}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == 0))
def test_the_core_needs_no_web_framework_database_or_twilio(module):
    used = {target.split(".")[0] for target, _, _ in _imports(module, MODULES[module])}
    assert not used & CORE_FORBIDDEN, f"{module} imports {sorted(used & CORE_FORBIDDEN)}"
