"""The one registry: the architecture a weights file declares → the builder of its codec.

Model *ids* and their weights files are listed in ``weights/MANIFEST.json`` (read by
:mod:`aecodec.zoo`), so containers name a model by a stable string id, never by a positional
index. A builder is pure assembly of arrays: it is handed the float transforms already
chosen and built (:mod:`aecodec.assembly` picks the runtime), so the codec layer never
depends on one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from aecodec.codecs.backend_interface import ContextModel, HyperSynthesis, Transforms
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.entropy.integer_context import IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import IntegerHyperSynthesis
from aecodec.entropy.tables import PMFTables
from aecodec.errors import WeightsMismatchError

ARCHITECTURE = "mean-scale-hyperprior-vr"


@dataclass(frozen=True)
class StoredIntegerNetworks:
    """A weights file's exact integer networks (h_s, and the context model when the codec
    has one), read from its arrays only when asked for.

    A runtime that computes the same integers from its own graphs needs only the networks'
    exactness bounds, which the file stores apart from their weights; reading the weights
    (and widening them to float64) is most of the work of building a codec, so it is done
    only for the runtime that runs the numpy networks.

    Attributes:
        arrays: The weights file's arrays.
        context: Whether the codec has a checkerboard context model.
    """

    arrays: Mapping[str, np.ndarray]
    context: bool

    @property
    def hyper_input_max(self) -> int:
        """Largest |ẑ| h_s is exact for."""
        return IntegerHyperSynthesis.stored_input_max(self.arrays, "h_s_int")

    @property
    def context_input_max(self) -> float | None:
        """Clip of the context model's inputs, or None without a context model."""
        return IntegerCheckerboardContext.stored_input_max(self.arrays, "context_int") if self.context else None

    def numpy_networks(self) -> tuple[IntegerHyperSynthesis, IntegerCheckerboardContext | None]:
        """The numpy networks themselves, their weights read."""
        context = IntegerCheckerboardContext.from_arrays(self.arrays, "context_int") if self.context else None
        return IntegerHyperSynthesis.from_arrays(self.arrays, "h_s_int"), context


class RuntimeTransforms(Transforms, Protocol):
    """The float transforms of a runtime, which may also run the exact integer networks."""

    def integer_networks(self, stored: StoredIntegerNetworks) -> tuple[HyperSynthesis, ContextModel | None]:
        """The networks that compute the same integers as ``stored``'s numpy networks.

        A runtime returns its own twins when it computes them faster than numpy (onnxruntime
        does, without numpy's spinning BLAS threads), or the numpy networks themselves.
        """
        ...


Builder = Callable[[dict, Mapping[str, np.ndarray], RuntimeTransforms], FrozenHyperprior]
"""(config of the weights file's metadata, its arrays, the chosen transforms) → the codec."""


def _build_hyperprior(config: dict, arrays: Mapping[str, np.ndarray], transforms: RuntimeTransforms) -> FrozenHyperprior:
    architecture = HyperpriorConfig(**config)
    hyper, context = transforms.integer_networks(StoredIntegerNetworks(arrays, bool(architecture.context_channels)))
    return FrozenHyperprior(
        transforms=transforms,
        hyper=hyper,
        z_tables=PMFTables.from_arrays(arrays, "z_tables"),
        y_tables=PMFTables.from_arrays(arrays, "y_tables"),
        knots=architecture.knots,
        lowest_rate_parameter=architecture.lowest_rate_parameter,
        highest_rate_parameter=architecture.top_rate_parameter,
        log_gain=np.asarray(arrays["float.gain.log_gain"], dtype=np.float32),
        log_inverse_gain=np.asarray(arrays["float.gain.log_inverse_gain"], dtype=np.float32),
        hyper_channels=architecture.hyper_channels,
        context=context,
    )


BUILDERS: dict[str, Builder] = {ARCHITECTURE: _build_hyperprior}


def builder(architecture: str | None) -> Builder:
    """The builder of the codec that a weights file of ``architecture`` holds.

    Raises:
        WeightsMismatchError: No codec of that architecture exists.
    """
    try:
        return BUILDERS[architecture]
    except KeyError as exc:
        raise WeightsMismatchError(f"unknown architecture {architecture!r}") from exc
