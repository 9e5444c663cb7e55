"""The one registry: architecture names → how to build a codec from a weights file.

Model *ids* and their weights files are listed in ``weights/MANIFEST.json`` (read by
:mod:`aecodec.zoo`); this module maps the architecture each entry declares to a builder,
so containers name a model by a stable string id, never by a positional index.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np

from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.entropy.integer_hyper import IntegerHyperSynthesis
from aecodec.entropy.tables import PMFTables
from aecodec.errors import WeightsMismatchError

ARCHITECTURE = "mean-scale-hyperprior-vr"


def read_meta(arrays: dict[str, np.ndarray]) -> dict:
    """The JSON metadata (architecture and config) stored in a weights file."""
    return json.loads(bytes(np.asarray(arrays["meta.json"], dtype=np.uint8)).decode())


def _torch_transforms(config: dict, arrays: dict[str, np.ndarray]):
    from aecodec.codecs.config import HyperpriorConfig
    from aecodec.runtime.torch_backend import TorchTransforms

    return TorchTransforms(HyperpriorConfig(**config), arrays)


def _build_hyperprior(config: dict, arrays: dict[str, np.ndarray], backend: str) -> FrozenHyperprior:
    if backend != "torch":
        raise WeightsMismatchError(f"backend {backend!r} is not available for this model")
    return FrozenHyperprior(
        transforms=_torch_transforms(config, arrays),
        hyper=IntegerHyperSynthesis.from_arrays(arrays, "h_s_int"),
        z_tables=PMFTables.from_arrays(arrays, "z_tables"),
        y_tables=PMFTables.from_arrays(arrays, "y_tables"),
        knots=config["knots"],
        lowest_rate_parameter=config.get("lowest_rate_parameter", 0.0),
        latent_channels=config["m"],
        hyper_channels=config["n"],
    )


BUILDERS: dict[str, Callable[[dict, dict[str, np.ndarray], str], FrozenHyperprior]] = {
    ARCHITECTURE: _build_hyperprior,
}


def build(arrays: dict[str, np.ndarray], backend: str = "torch") -> FrozenHyperprior:
    """Build the codec a weights file describes."""
    meta = read_meta(arrays)
    try:
        builder = BUILDERS[meta["architecture"]]
    except KeyError as exc:
        raise WeightsMismatchError(f"unknown architecture {meta.get('architecture')!r}") from exc
    return builder(meta["config"], arrays, backend)
