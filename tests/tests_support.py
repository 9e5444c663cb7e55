"""Helpers shared by several test files (kept out of conftest so they can be imported)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from conftest import synthetic_photo


def write_photos(folder: Path, count: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """Write ``count`` generated photos of ``size`` (width, height) as PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"photo{index}.png"
        Image.fromarray(synthetic_photo(*size, seed=seed + index)).save(path)
        paths.append(path)
    return paths
