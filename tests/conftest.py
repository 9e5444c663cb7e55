"""Shared fixtures: small generated photos-like images and the shipped codec."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def synthetic_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth, textured RGB image (gradients, edges, mild noise), uint8 (H, W, 3).

    Generated rather than shipped, so tests need no training data; it has the mix of flat
    areas, edges and texture that makes rate depend on quality the way photos do.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros((height, width, 3))
    for channel in range(3):
        phase = rng.uniform(0, 2 * np.pi, 3)
        image[..., channel] = (
            120
            + 60 * np.sin(xx / (17 + 7 * channel) + phase[0]) * np.cos(yy / 23 + phase[1])
            + 40 * (xx + yy > (width + height) / 2)
            + 25 * np.sin((xx * 0.7 - yy) / 5 + phase[2])
        )
    image += rng.normal(0, 4, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    return synthetic_photo(96, 80)


@pytest.fixture(scope="session")
def sample_path():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "aecodec" / "samples" / "astronaut.png"


@pytest.fixture(scope="session")
def sample_crop(sample_path) -> np.ndarray:
    """A 128×128 crop of the bundled public-domain sample photo."""
    with Image.open(sample_path) as image:
        return np.asarray(image.convert("RGB"))[64:192, 192:320].copy()


@pytest.fixture(scope="session")
def codec():
    from aecodec import assembly, zoo

    return assembly.load_codec(zoo.default_model_id(), backend="torch")


@pytest.fixture(scope="session")
def one_pass_weights(tmp_path_factory):
    """Weights folder of a tiny trained codec without a context model (see tests_support)."""
    from tests_support import train_one_pass_codec

    root = tmp_path_factory.mktemp("one-pass")
    train_one_pass_codec(root)
    return root / "weights"


@pytest.fixture(scope="module")
def shipped():
    """The shipped context model's z and y probability tables (``PMFTables``), as the coders load them."""
    from tests_support import CONTEXT_MODEL_ID

    from aecodec import zoo
    from aecodec.entropy.tables import PMFTables

    arrays = zoo.load_arrays(CONTEXT_MODEL_ID)
    return {name: PMFTables.from_arrays(arrays, f"{name}_tables") for name in ("z", "y")}
