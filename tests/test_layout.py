"""Architecture rules of DESIGN §2, held by reading the source (no imports executed)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aecodec"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: str) -> list[Path]:
    target = PACKAGE / folder
    if target.is_dir():
        return sorted(target.rglob("*.py"))
    return [target] if target.exists() else []


def _violations(folder: str, allowed) -> list[str]:
    return [f"{path.relative_to(PACKAGE)} imports {name}" for path in _modules(folder) for name in _imports(path) if not allowed(name)]


def _is(name: str, *roots: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def test_exact_decoding_path_never_imports_torch():
    for folder in ("bitstream", "entropy/coder.py", "entropy/tables.py", "entropy/integer_hyper.py", "entropy/integer_context.py", "codecs/frozen.py", "zoo.py", "pipeline.py", "latent_priors.py"):
        assert _violations(folder, lambda n: not _is(n, "torch")) == []


def test_transforms_import_only_layers_from_aecodec():
    assert _violations("transforms", lambda n: n == "aecodec" or not _is(n, "aecodec") or _is(n, "aecodec.layers", "aecodec.transforms")) == []


def test_heads_never_import_entropy_or_bitstream():
    assert _violations("heads", lambda n: not _is(n, "aecodec.entropy", "aecodec.bitstream")) == []


def test_only_pipeline_composes_imageio_codec_and_container():
    composers = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if {"aecodec.imageio", "aecodec.bitstream", "aecodec.zoo"} <= _imports(path)
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
    assert top_level <= {"pyproject.toml", "README.md", "aecodec", "weights", "export", "tests", "benchmarks", ".ci", ".gitignore"}
