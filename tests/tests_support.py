"""Helpers shared by several test files (kept out of conftest so they can be imported)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from conftest import synthetic_photo
from PIL import Image

CONTEXT_MODEL_ID = "hyperprior-v7"  # the installed codec with a checkerboard context model
ONE_PASS_MODEL_ID = "one-pass"  # a small codec without one (y coded in one pass): the one_pass_weights fixture


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


@contextmanager
def installed_weights(folder: Path) -> Iterator[None]:
    """Make ``folder`` aecodec's weights folder (``AECODEC_WEIGHTS_DIR``) while the block runs.

    The zoo's and the heads' per-process caches are cleared on the way in and out: they are
    keyed by model id, and the ids of one folder must not serve the models of the other.
    """
    from aecodec import assembly, zoo

    caches = (zoo._read_manifest, zoo.load_arrays, assembly.load_codec, assembly.load_refiner, assembly.load_head)
    previous = os.environ.get("AECODEC_WEIGHTS_DIR")
    os.environ["AECODEC_WEIGHTS_DIR"] = str(folder)
    for cache in caches:
        cache.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["AECODEC_WEIGHTS_DIR"]
        else:
            os.environ["AECODEC_WEIGHTS_DIR"] = previous
        for cache in caches:
            cache.cache_clear()


def write_manifest(folder: Path, models: dict, heads: dict | None = None, default_heads: dict | None = None) -> None:
    """Write a weights folder's MANIFEST.json; its first model is the default."""
    from aecodec import zoo

    manifest = {"models": models, "default": next(iter(models)), "heads": heads or {}, "default_heads": default_heads or {}}
    (folder / zoo.MANIFEST_NAME).write_text(json.dumps(manifest))


def train_one_pass_codec(folder: Path) -> None:
    """Train, release and export ONE_PASS_MODEL_ID, a tiny codec without a context model, in ``folder``.

    No shipped codec codes y in one pass any more, yet the recipes of hyperprior-v1 and v2 train
    such codecs: this one keeps that coding path, its ONNX graphs and the Node example tested.
    Its qualities above 80 extrapolate the gains beyond the last knot (highest_rate_parameter).
    """
    from aecodec.codecs.config import HyperpriorConfig
    from aecodec.onnx_build.export import export_model
    from aecodec.train.config import TrainConfig
    from aecodec.train.loop import train
    from aecodec.train.release import release

    write_photos(folder / "train", count=3, size=(80, 72))
    write_photos(folder / "val", count=1, size=(64, 64), seed=9)
    config = TrainConfig(
        str(folder / "train"), str(folder / "val"), model=HyperpriorConfig(n=16, m=16, knots=2),
        crop=64, batch=2, steps=6, warmup=1, validate_every=6, precision="fp32", threads=1, checkpoint_minutes=0.0,
    )
    weights = folder / "weights"
    weights.mkdir()
    with installed_weights(weights):
        checkpoint = train(config, folder / "run", log=lambda message: None)
        write_manifest(weights, {ONE_PASS_MODEL_ID: release(checkpoint, ONE_PASS_MODEL_ID, "one-pass test codec", "", 0.0, {}, highest_rate_parameter=1.25)})
        export_model(ONE_PASS_MODEL_ID)
