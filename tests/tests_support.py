"""Helpers shared by several test files (kept out of conftest so they can be imported)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from PIL import Image

from conftest import synthetic_photo

CONTEXT_MODEL_ID = "hyperprior-v5"  # the installed codec with a checkerboard context model
ONE_PASS_MODEL_ID = "hyperprior-v2"  # the installed codec without one (y coded in one pass)


def write_photos(folder: Path, count: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """Write ``count`` generated photos of ``size`` (width, height) as PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"photo{index}.png"
        Image.fromarray(synthetic_photo(*size, seed=seed + index)).save(path)
        paths.append(path)
    return paths


@contextmanager
def loaded_script(path: Path, module_name: str, siblings: tuple[str, ...] = ()) -> Iterator[ModuleType]:
    """Import a benchmark script by path, as when it runs, and forget it afterwards.

    The script's folder is on ``sys.path`` (scripts import their sibling modules from it), and
    the module is registered under ``module_name`` while it executes (dataclasses look their
    module up while being created). Both, and the ``siblings`` it imported, are removed again.
    """
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(path.parent))
        for name in (module_name, *siblings):
            sys.modules.pop(name, None)
