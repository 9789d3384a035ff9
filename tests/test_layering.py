"""The layering rules of docs/architecture.md, read from the import statements (AST, no imports executed)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy_models", "keras_models", "parity")
KERAS = ("tensorflow", "keras")

# parity's layers, lowest first: a module may import from its own layer or below, never above.
PARITY_LAYERS = [
    ("parity.tolerances", "parity.random_streams", "parity.report.plots", "parity.report.experiment_plots",
     "parity.report.atomic", "parity.report.quiet"),
    ("parity.compare", "parity.specs"),
    ("parity.weights", "parity.gradcheck"),
    ("parity.twins", "parity.convert"),
    ("parity.checks",),
    ("parity.variants", "parity.verify"),
    ("parity.training",),
    ("parity.report",),
    ("parity.sweep",),
    ("parity.cli", "parity.__main__", "parity"),  # the package root re-exports the public API
]


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(name):
    """The longest known module prefix of ``name`` (``parity.checks.x.y`` -> ``parity.checks.x``)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in MODULES:
            return ".".join(parts[:i])
    return parts[0]  # a third-party package


def _imports(module):
    """(imported module, at module level?) for every import statement of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    top = {id(n) for n in tree.body} | {id(c) for n in tree.body if isinstance(n, ast.If) for c in n.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(_resolve(a.name), id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            # ``from pkg import submodule`` depends on the submodule; ``from pkg import name`` on pkg.
            targets = {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else _resolve(node.module)
                       for a in node.names}
            found += [(t, id(node) in top) for t in targets]
    return [(m, level) for m, level in found if m != module]


def _in(module, *packages):
    return any(module == p or module.startswith(p + ".") for p in packages)


def _layer(module):
    best = None
    for rank, names in enumerate(PARITY_LAYERS):
        for name in names:
            if _in(module, name) and (best is None or len(name) > len(best[1])):
                best = (rank, name)
    return best[0]


def _violations(modules, forbidden, module_level_only=False):
    return sorted(f"{m} imports {t}" for m in modules for t, top in _imports(m)
                  if _in(t, *forbidden) and (top or not module_level_only))


def _of(package):
    return [m for m in MODULES if _in(m, package)]


def test_numpy_models_imports_neither_tensorflow_nor_the_other_packages():
    assert _violations(_of("numpy_models"), KERAS + ("keras_models", "parity")) == []


def test_keras_models_never_imports_parity_or_numpy_models():
    assert _violations(_of("keras_models"), ("parity", "numpy_models")) == []


def test_the_gradient_checker_imports_neither_twin_package():
    assert _violations(_of("parity.gradcheck"), ("numpy_models", "keras_models")) == []
    assert _violations(_of("parity.gradcheck"), KERAS, module_level_only=True) == []


def test_parity_imports_tensorflow_only_inside_functions():
    """``import parity`` (and every parity module) stays TensorFlow-free until a check runs."""
    assert _violations(_of("parity"), KERAS + ("keras_models",), module_level_only=True) == []


def test_parity_imports_only_from_its_own_layer_or_below():
    upward = sorted(f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
                    for m in _of("parity") for t, _ in _imports(m) if _in(t, "parity") and _layer(t) > _layer(m))
    assert upward == []


def _cycle(graph):
    """One import cycle in ``graph`` as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    graph = {m: {t for t, _ in _imports(m) if _in(t, package)} for m in _of(package)}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
