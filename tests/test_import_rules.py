"""The import rules of DESIGN.md, read from the source with ``ast``: a forbidden import fails.

DESIGN.md: imports point one way, ``exceptions, space -> trial, objective -> samplers,
schedulers, storage -> executors -> tuner -> integrations, report, cli``; a sampler receives
the history as read-only trials, never the storage or the tuner; optional dependencies are
imported inside the module that needs them, never at module level of the core.

How the rules are read here:

- Every module of ``src/hyperscout`` belongs to a *group* (:data:`GROUPS`, by the longest
  matching module prefix) and every group to a *layer* (:data:`LAYERS`). A module may import
  its own group and any lower layer. Within layers 0, 1 and 5 groups import each other freely
  (they are one layer in DESIGN.md); within layers 2-4 the groups are independent roles
  (samplers, schedulers and storage; executors and report; the tuner and the conformance
  suites), except for the edges in :data:`SIBLING_EDGES` (a scheduler asks its sampler).
- ``report/`` sits below the tuner, not above it: it reads trials from a Storage and never the
  Tuner (DESIGN.md), and the Tuner's ``results_summary``, ``search_space_summary`` and
  ``budget_summary`` delegate to it (issue 13, item 2). Above the tuner it could not serve them.
  ``hypermodel/`` (calling the objective, building and fitting models) sits there too: the loop
  calls it, and the integrations' adapters build on it.
- Imports inside functions count: a function that imports an upper layer still depends on it
  (they are how the loop ends up loading a framework). So do ``importlib.import_module("...")``
  and ``require("...")`` with a literal name, and a ``"hyperscout.x.y:Name"`` string, which
  names a module to be loaded by name.
- Imports under ``if TYPE_CHECKING:`` follow the layer rules too: a lower layer that names an
  upper layer's type, even in an annotation, knows about the upper layer (give the lower layer
  a protocol or pass the object in instead). They are exempt from the optional-dependency
  rule only: they never run, so they cost nothing and cannot fail for a missing extra.
- Optional dependencies (:data:`OPTIONAL`) may be imported at module level only in the
  modules that exist to adapt them (:data:`OPTIONAL_HOMES`); elsewhere only inside functions.

:data:`ALLOWED` lists today's known violations, each with the reason it is still there; a
stale entry fails too, so that the list shrinks as the violations are fixed.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "hyperscout"

#: The layers, lowest first, with the groups of modules in each.
LAYERS: list[tuple[str, ...]] = [
    ("exceptions", "validation", "paths", "space"),
    ("trial", "objective", "history"),
    ("samplers", "schedulers", "storage"),
    ("executors", "hypermodel", "report"),
    ("tuner", "testing"),
    ("integrations", "demo", "cli", "api", "comparison"),
]
#: Layers whose groups are independent roles: a group imports another of its layer only
#: along an edge of :data:`SIBLING_EDGES`.
INDEPENDENT_LAYERS = frozenset({2, 3, 4})
#: (importer, imported) groups of one independent layer that may import each other.
SIBLING_EDGES = frozenset({("schedulers", "samplers")})  # Scheduler.next(..., sampler, rng)

#: Module prefix (under hyperscout) -> group. The longest matching prefix decides; a prefix
#: that matches no module yet is fine, a module that matches no prefix fails.
GROUPS: dict[str, str] = {
    "": "api",  # hyperscout/__init__.py: the public names
    "__main__": "cli",
    "exceptions": "exceptions",
    "_validation": "validation",
    "_version": "validation",  # the version string, read by the package and the provenance
    "_paths": "paths",  # the folders hyperscout makes (used by trial, storage and the tuner)
    "space": "space",
    "_parameters": "space",
    "trial": "trial",
    "objective": "objective",
    "history": "history",
    "samplers": "samplers",
    "schedulers": "schedulers",
    "storage": "storage",
    "executors": "executors",
    "hypermodel": "hypermodel",  # calls the objective (builds and fits models) for the loop
    "report": "report",
    "tuner": "tuner",
    "tuners": "tuner",  # KerasTuner's hs.tuners alias of the presets
    "testing": "testing",
    "integrations": "integrations",
    "applications": "integrations",  # KerasTuner's applications, on Keras
    "demo": "demo",
    "_mlp_state": "demo",
    "cli": "cli",
    "comparison": "comparison",  # hs.compare: runs tuners, reads report.compare
}

#: Optional dependencies: never imported at module level outside their homes.
OPTIONAL = frozenset(
    {
        "keras",
        "tensorflow",
        "torch",
        "sklearn",
        "dask",
        "distributed",
        "ray",
        "psycopg",
        "psycopg2",
        "plotly",
    }
)
#: Optional dependency -> module prefixes that exist to adapt it (module-level import allowed).
OPTIONAL_HOMES: dict[str, tuple[str, ...]] = {
    "keras": ("integrations.keras", "applications"),
    "tensorflow": ("integrations.keras",),
    "torch": ("integrations.torch",),
    "sklearn": ("integrations.sklearn",),
}

#: Known violations: (file under src/, imported module) -> why it is still there. Remove an
#: entry when its violation is fixed (a stale entry fails test_allowed_violations_still_occur).
ALLOWED: dict[tuple[str, str], str] = {}


@dataclasses.dataclass(frozen=True)
class Import:
    """One import in the source: where, what, and how."""

    path: str  # under src/, e.g. hyperscout/samplers/gp.py
    line: int
    module: str  # the importing module
    target: str  # the imported module (dotted)
    in_function: bool
    type_checking: bool
    how: str  # "import", or how a module is loaded by name

    def where(self) -> str:
        return f"src/{self.path}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(module: str) -> bool:
    return (SRC / Path(*module.split(".")) / "__init__.py").is_file()


def is_module(module: str) -> bool:
    base = SRC / Path(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


_BY_NAME_CALLS = {"import_module", "__import__", "require"}


class _Reader(ast.NodeVisitor):
    """Collects the imports of one module, with their context."""

    def __init__(self, path: str, module: str, package: str) -> None:
        self.path, self.module, self.package = path, module, package
        self.imports: list[Import] = []
        self._functions = 0
        self._type_checking = 0

    def _add(self, node: ast.AST, target: str, how: str = "import") -> None:
        self.imports.append(
            Import(
                self.path,
                getattr(node, "lineno", 0),
                self.module,
                target,
                self._functions > 0,
                self._type_checking > 0,
                how,
            )
        )

    def _function(self, node: ast.AST) -> None:
        self._functions += 1
        self.generic_visit(node)
        self._functions -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function  # noqa: N815

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self._type_checking += 1
        for child in node.body:
            self.visit(child)
        self._type_checking -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            # `from hyperscout import space` imports the module hyperscout.space.
            full = f"{base}.{alias.name}"
            self._add(node, full if is_module(full) else base)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0] if node.args else None
        if (
            name in _BY_NAME_CALLS
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            self._add(node, first.value, how=f"{name}({first.value!r})")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # "hyperscout.integrations.keras:KerasAdapter": a module to be loaded by name.
        text = node.value
        if isinstance(text, str) and text.startswith(f"{PACKAGE}.") and text.count(":") == 1:
            target, _, attr = text.partition(":")
            if attr.isidentifier() and is_module(target):
                self._add(node, target, how=f"loads {text!r} by name")


def read_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        reader = _Reader(path.relative_to(SRC).as_posix(), module, package)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found.extend(dict.fromkeys(reader.imports))  # `from m import a, b` is one import of m
    return found


def group_of(module: str) -> str | None:
    """The group of a module of the package (None: not in :data:`GROUPS`)."""
    parts = module.split(".")[1:]  # under hyperscout
    for k in range(len(parts), -1, -1):
        group = GROUPS.get(".".join(parts[:k]))
        if group is not None and (k > 0 or not parts):
            return group
    return None


def layer_of(group: str) -> int:
    return next(i for i, groups in enumerate(LAYERS) if group in groups)


def is_home(module: str, dependency: str) -> bool:
    under = module.split(".", 1)[1] if "." in module else ""
    return any(
        under == home or under.startswith(f"{home}.") for home in OPTIONAL_HOMES.get(dependency, ())
    )


def violation(imp: Import) -> str | None:
    """Why ``imp`` breaks a rule, or None."""
    root = imp.target.split(".")[0]
    if root in OPTIONAL:
        if imp.in_function or imp.type_checking or is_home(imp.module, root):
            return None
        return (
            f"{imp.module} imports the optional dependency {imp.target!r} at module level "
            f"({imp.how}); import it inside the function that needs it"
        )
    if root != PACKAGE:
        return None
    source, target = group_of(imp.module), group_of(imp.target)
    assert source is not None and target is not None  # test_every_module_has_a_layer
    if source == target:
        return None
    low, high = layer_of(target), layer_of(source)
    if low < high:
        return None
    if low == high and (high not in INDEPENDENT_LAYERS or (source, target) in SIBLING_EDGES):
        return None
    kind = "an upper layer" if low > high else "an independent role of its layer"
    where = " (inside a function)" if imp.in_function else ""
    where += " (under TYPE_CHECKING)" if imp.type_checking else ""
    return (
        f"{source} (layer {high}) imports {imp.target!r}, {target} (layer {low}): "
        f"{kind}{where} ({imp.how})"
    )


IMPORTS = read_imports()


def violations() -> Iterator[tuple[Import, str]]:
    for imp in IMPORTS:
        reason = violation(imp)
        if reason is not None:
            yield imp, reason


def test_every_module_has_a_layer() -> None:
    modules = {module_name(p) for p in (SRC / PACKAGE).rglob("*.py")}
    missing = sorted(m for m in modules if group_of(m) is None)
    assert not missing, f"add these modules to GROUPS in {Path(__file__).name}: {missing}"


def test_no_forbidden_imports() -> None:
    found = [
        f"{imp.where()}: {reason}"
        for imp, reason in violations()
        if (imp.path, imp.target) not in ALLOWED
    ]
    assert not found, "forbidden imports (see DESIGN.md, import direction):\n" + "\n".join(found)


def test_allowed_violations_still_occur() -> None:
    occurring = {(imp.path, imp.target) for imp, _ in violations()}
    stale = sorted(
        f"{path} -> {target}" for path, target in ALLOWED if (path, target) not in occurring
    )
    assert not stale, f"fixed: remove from ALLOWED in {Path(__file__).name}: {stale}"


# -- the rules themselves, on made-up modules ---------------------------------------------
def _imports_of(code: str, module: str) -> list[Import]:
    package = module.rpartition(".")[0]
    reader = _Reader(module.replace(".", "/") + ".py", module, package)
    reader.visit(ast.parse(code))
    return reader.imports


@pytest.mark.parametrize(
    ("module", "code", "reason"),
    [
        (
            "hyperscout.samplers.mine",
            "from hyperscout.storage import Storage",
            "samplers (layer 2) imports 'hyperscout.storage', storage (layer 2): an independent",
        ),
        (
            "hyperscout.samplers.mine",
            "def f():\n    from hyperscout.tuner import Tuner",
            "imports 'hyperscout.tuner', tuner (layer 4): an upper layer (inside a function)",
        ),
        (
            "hyperscout.trial",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hyperscout.storage"
            " import Storage",
            "trial (layer 1) imports 'hyperscout.storage', storage (layer 2): an upper layer "
            "(under TYPE_CHECKING)",
        ),
        (
            "hyperscout.tuner.loop",
            "import torch",
            "imports the optional dependency 'torch' at module level",
        ),
        (
            "hyperscout.tuner.loop",
            "import importlib\ndef f():\n    importlib.import_module('hyperscout.integrations')",
            "import_module('hyperscout.integrations')",
        ),
        (
            "hyperscout.tuner.loop",
            "ADAPTERS = {'keras': 'hyperscout.integrations.keras:KerasAdapter'}",
            "loads 'hyperscout.integrations.keras:KerasAdapter' by name",
        ),
        (
            "hyperscout.report.tables",
            "from ..tuner import Tuner",
            "report (layer 3) imports 'hyperscout.tuner'",
        ),
    ],
)
def test_a_forbidden_import_is_named(module: str, code: str, reason: str) -> None:
    reasons = [violation(imp) for imp in _imports_of(code, module)]
    assert any(r is not None and reason in r for r in reasons), reasons


@pytest.mark.parametrize(
    ("module", "code"),
    [
        ("hyperscout.schedulers.mine", "from hyperscout.samplers.base import Sampler"),
        ("hyperscout.tuner.loop", "from hyperscout.report import results_summary"),
        ("hyperscout.tuner.loop", "def f():\n    import torch"),
        ("hyperscout.integrations.torch", "import torch"),
        ("hyperscout.integrations.sklearn._search", "from sklearn.base import clone"),
        (
            "hyperscout.samplers.gp",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch",
        ),
        ("hyperscout.cli", "import hyperscout as hs\nfrom hyperscout.tuner import Tuner"),
        ("hyperscout.space", "from hyperscout.exceptions import InvalidSpaceError"),
    ],
)
def test_an_allowed_import_passes(module: str, code: str) -> None:
    assert [violation(imp) for imp in _imports_of(code, module)] == [None] * len(
        _imports_of(code, module)
    )


# -- what `import hyperscout` loads --------------------------------------------------------
#: Never imported by `import hyperscout`: the frameworks and the optional drivers.
NOT_ON_IMPORT = [
    "torch",
    "keras",
    "tensorflow",
    "sklearn",
    "dask",
    "ray",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "plotly",
]


@pytest.fixture(scope="module")
def loaded_by_import() -> set[str]:
    """The modules in sys.modules after `import hyperscout` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = "import json, sys, hyperscout; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert {"hyperscout", "hyperscout.tuner", "numpy"} <= loaded  # it did import hyperscout
    return loaded


@pytest.mark.parametrize(
    "module",
    # rich and the report load with a progress bar, a summary or a report: not in a worker
    # process, which imports hyperscout before its first trial (start-up time).
    [*NOT_ON_IMPORT, "scipy", "sqlalchemy", "importlib.metadata", "rich", "hyperscout.report"],
)
def test_import_hyperscout_does_not_import(module: str, loaded_by_import: set[str]) -> None:
    assert module not in loaded_by_import, f"`import hyperscout` imports {module}"
