"""What a runtime backend provides to the frozen codec: the protocols, and nothing else.

The codec (:mod:`aecodec.codecs.frozen`) is handed objects meeting these protocols and never
imports a runtime; :mod:`aecodec.runtime` implements them with torch or onnxruntime.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Transforms(Protocol):
    """The float half of the codec, provided by a runtime backend.

    ``analysis`` maps an image (3, H, W) in [0, 1], H and W multiples of 16, to the latent y
    (M, H/16, W/16); ``hyper_analysis`` maps a gained latent to z (N, ⌈H/64⌉, ⌈W/64⌉),
    edge-padding it to a multiple of 4 first; ``synthesis`` maps a de-gained latent back to
    an unclipped image.
    """

    name: str

    def analysis(self, x: np.ndarray) -> np.ndarray: ...

    def hyper_analysis(self, y_gained: np.ndarray) -> np.ndarray: ...

    def synthesis(self, y_hat: np.ndarray) -> np.ndarray: ...


class HyperSynthesis(Protocol):
    """The exact integer h_s: :class:`~aecodec.entropy.integer_hyper.IntegerHyperSynthesis`
    in numpy, or the same integers from hyper_decoder.onnx (the onnx backend)."""

    input_max: int

    def __call__(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class ContextModel(Protocol):
    """The exact integer checkerboard context model:
    :class:`~aecodec.entropy.integer_context.IntegerCheckerboardContext` in numpy, or the same
    integers from context.onnx (the onnx backend)."""

    input_max: float

    def refine(self, y_hat: np.ndarray, mean: np.ndarray, log_scale: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]: ...
