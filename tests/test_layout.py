"""The package's layering, held by reading the source (no imports executed).

Every module of ``aecodec/`` is placed in a layer (:data:`LAYERS`, bottom first) and imports
only from its own layer or below, function-level imports included; no set of modules imports
itself in a circle. On top of that order, the rules that keep the codec free of its
runtime: ``codecs/`` and ``heads/`` never import a runtime, the zoo or the assembly;
``runtime/`` never imports the zoo, the assembly or the build tools; inference never reaches
``train/`` or ``onnx_build/``.
"""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aecodec"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("aecodec.errors", "aecodec.processor", "aecodec.files", "aecodec.weights_format", "aecodec.metrics", "aecodec.heatmap", "aecodec.imageio")),
    ("primitives", ("aecodec.layers.*", "aecodec.entropy.*", "aecodec.bitstream.*")),
    ("transforms", ("aecodec.transforms.*",)),
    ("models", ("aecodec.codecs.*", "aecodec.heads.*")),
    ("runtime", ("aecodec.runtime.*",)),
    ("loading", ("aecodec.zoo", "aecodec.assembly")),
    ("inference", ("aecodec", "aecodec.ratecontrol.*", "aecodec.pipeline", "aecodec.restoration", "aecodec.batch", "aecodec.pillow_plugin")),
    ("tools", ("aecodec.train.*", "aecodec.onnx_build.*")),
    ("commands", ("aecodec.__main__", "aecodec.cli", "aecodec.cli_*", "aecodec.train.cli", "aecodec.train.__main__")),
)
"""Layers, bottom first. ``pkg.*`` is a package and everything in it; the most specific
pattern places a module (``aecodec.train.cli`` is a command, the rest of ``train`` a tool)."""
INFERENCE_TOP = "inference"
"""Everything up to this layer runs when an image is coded or restored."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolved(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name a ``from … import`` names, relative imports resolved."""
    if not node.level:
        return node.module
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    return ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))


def _imported_names(path: Path) -> set[str]:
    """Every dotted name an ``import`` or ``from … import`` in the file names, anywhere in it
    (``from aecodec.x import y`` names both ``aecodec.x`` and ``aecodec.x.y``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolved(path, node)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _imported_modules(path: Path) -> set[str]:
    """The modules of aecodec the file imports: ``from pkg import name`` imports the module
    ``pkg.name`` when there is one, else ``pkg`` itself (``from aecodec import __version__``
    imports the facade, ``from aecodec import zoo`` only the zoo)."""
    modules = _sources()

    def module_of(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(module_of(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolved(path, node)
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else module_of(base) for alias in node.names)
    return found - {"", _module_name(path)}


@cache
def _graph() -> dict[str, frozenset[str]]:
    """Module → the modules of aecodec it imports."""
    return {module: frozenset(_imported_modules(path)) for module, path in _sources().items()}


def _layer(module: str) -> int | None:
    """Index of the module's layer in :data:`LAYERS` (None when no pattern places it)."""
    best, best_length = None, -1
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if pattern.endswith(".*"):
                matched = module == pattern[:-2] or module.startswith(pattern[:-1])
            else:
                matched = fnmatch.fnmatchcase(module, pattern)
            specificity = len(pattern.rstrip("*."))
            if matched and specificity > best_length:
                best, best_length = index, specificity
    return best


def _layer_index(name: str) -> int:
    return next(index for index, (layer, _) in enumerate(LAYERS) if layer == name)


def upward_imports(graph: dict[str, Iterable[str]] | None = None) -> list[str]:
    """``importer → imported`` for every import of a module from a higher layer."""
    graph = _graph() if graph is None else graph
    return sorted(
        f"{module} ({LAYERS[_layer(module)][0]}) → {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in graph.items()
        for target in targets
        if _layer(module) is not None and _layer(target) is not None and _layer(target) > _layer(module)
    )


def import_circles(graph: dict[str, Iterable[str]] | None = None) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph = _graph() if graph is None else graph
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                lowest[module] = min(lowest[module], lowest[target])
            elif target in on_stack:
                lowest[module] = min(lowest[module], index[target])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(circles)


def _under(module: str, *roots: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _forbidden_imports(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """``importer → imported`` for every import of a module under ``forbidden`` by one under ``importers``."""
    return sorted(f"{m} → {t}" for m, targets in _graph().items() if _under(m, *importers) for t in targets if _under(t, *forbidden))


def _reachable(start: Iterable[str]) -> set[str]:
    graph, seen, todo = _graph(), set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def test_every_module_is_placed_in_a_layer():
    assert [module for module in _sources() if _layer(module) is None] == []


def test_every_module_imports_only_from_its_own_layer_or_below():
    assert upward_imports() == []


def test_no_modules_import_each_other_in_a_circle():
    assert import_circles() == []


def test_codecs_and_heads_never_import_a_runtime_the_zoo_or_the_assembly():
    assert _forbidden_imports(("aecodec.codecs", "aecodec.heads"), ("aecodec.runtime", "aecodec.zoo", "aecodec.assembly")) == []


def test_runtime_never_imports_the_zoo_the_assembly_or_the_build_tools():
    assert _forbidden_imports(("aecodec.runtime",), ("aecodec.zoo", "aecodec.assembly", "aecodec.onnx_build", "aecodec.train")) == []


def test_inference_never_reaches_training_or_the_build_tools():
    """Not directly, nor through another module, function-level imports included."""
    inference = [module for module in _sources() if _layer(module) <= _layer_index(INFERENCE_TOP)]
    assert {"aecodec.pipeline", "aecodec.restoration", "aecodec.assembly", "aecodec.runtime.onnx_backend", "aecodec.codecs.refine"} <= set(inference)
    assert sorted(m for m in _reachable(inference) if _under(m, "aecodec.train", "aecodec.onnx_build")) == []


def test_the_graph_reader_sees_function_level_and_relative_imports():
    graph = _graph()
    assert "aecodec.runtime.torch_backend" in graph["aecodec.assembly"]  # imported inside a function
    assert "aecodec.bitstream.spec" in graph["aecodec.bitstream.reader"]  # from .spec import …
    assert "aecodec.errors" in graph["aecodec.bitstream.reader"]  # from ..errors import …
    assert {"aecodec.assembly", "aecodec.zoo"} <= graph["aecodec.pipeline"]  # from aecodec import assembly, …


# The import rules of the package's first layout, by file.


def _violations(folder: str, allowed) -> list[str]:
    target = PACKAGE / folder
    assert target.exists(), f"{folder} is not in the package"
    paths = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return [f"{path.relative_to(PACKAGE)} imports {name}" for path in paths for name in _imported_names(path) if not allowed(name)]


def _is(name: str, *roots: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def test_exact_decoding_path_never_imports_torch():
    decoding = (
        "bitstream", "entropy/coder.py", "entropy/tables.py", "entropy/integer_hyper.py", "entropy/integer_context.py", "codecs/frozen.py",
        "codecs/registry.py", "weights_format.py", "zoo.py", "assembly.py", "runtime/onnx_backend.py", "runtime/onnx_files.py", "pipeline.py", "ratecontrol",
    )
    for folder in decoding:
        assert _violations(folder, lambda n: not _is(n, "torch")) == []


def test_transforms_import_only_layers_from_aecodec():
    assert _violations("transforms", lambda n: n == "aecodec" or not _is(n, "aecodec") or _is(n, "aecodec.layers", "aecodec.transforms")) == []


def test_heads_never_import_entropy_or_bitstream():
    assert _violations("heads", lambda n: not _is(n, "aecodec.entropy", "aecodec.bitstream")) == []


def test_only_pipeline_composes_imageio_codec_and_container():
    composers = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if {"aecodec.imageio", "aecodec.bitstream", "aecodec.assembly"} <= _imported_names(path)
    ]
    assert composers == ["pipeline.py"]


def test_library_never_imports_export_benchmarks_or_tests():
    assert _violations(".", lambda n: not _is(n, "export", "benchmarks", "tests")) == []


def test_import_aecodec_is_cheap_and_side_effect_free():
    code = "import sys, aecodec; print(sorted(m for m in ('torch', 'numpy', 'PIL', 'constriction') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert result.stdout.strip() == "[]"


def test_repository_top_level_is_the_fixed_one():
    """Only the agreed top level is tracked (a stray profiler dump once slipped in)."""
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True, cwd=PACKAGE.parent).stdout.split()
    top_level = {path.split("/")[0] for path in tracked}
    assert top_level <= {"pyproject.toml", "README.md", "LICENSE", "aecodec", "weights", "export", "tests", "benchmarks", ".ci", ".gitignore"}
