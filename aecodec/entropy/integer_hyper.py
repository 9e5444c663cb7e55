"""Exact integer evaluation of the hyper-synthesis h_s — the decoder's deterministic core.

Why: the hyper-decoder's output chooses the probability table (scale) and shifts the
symbols (mean) of every latent element. If encoder and decoder disagree by one ulp at a
rounding boundary the range decoder desyncs and the rest of the file is garbage (CompressAI
issues #279, #309; tensorflow/compression #41, #44). Ballé, Johnston, Minnen 2019
("Integer networks for data compression with latent-variable models") remove the problem by
computing this path in integers. Here every tensor is an integer held in float64; every
product and partial sum is an integer below 2^53 (checked when the network is frozen), so
float64 arithmetic is *exact* whatever the summation order, BLAS, thread count or CPU.

Fixed-point conventions (``A = ACTIVATION_FRACTION_BITS``, ``W = WEIGHT_FRACTION_BITS``)::

    activation a ≈ a_int / 2^A          weight w ≈ w_int / 2^W          bias b ≈ b_int / 2^(A+W)
    acc  = conv(a_int, w_int) + b_int                 (exact, < 2^53)
    next = clip(floor((acc + 2^(W−1)) / 2^W), 0, AMAX·2^A)   then depth-to-space ×2
    last = floor((acc + 2^(W−1)) / 2^W)  →  mean and log-scale in units of 2^−A

    ẑ (C,h,w) ─conv─►(4C)─d2s─clip─► ─conv─►(4H)─d2s─clip─► ─conv─► mean, log-scale (M,4h,4w)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ACTIVATION_FRACTION_BITS = 8
WEIGHT_FRACTION_BITS = 16
EXACT_LIMIT = 2**52


def check_exact_range(z_hat: np.ndarray, input_max: int) -> None:
    """Refuse a hyper-latent beyond ``input_max``, where h_s's integers could exceed 2^53.

    Raises:
        ValueError: Some |ẑ| > ``input_max``.
    """
    if np.abs(z_hat).max(initial=0) > input_max:
        raise ValueError("hyper-latent outside the range the integer network is exact for")


def _conv3x3(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'Same' 3×3 convolution of x (C,H,W) with weight (O, C·9) via one exact matmul."""
    channels, height, width = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    patches = np.empty((channels, 9, height, width), dtype=np.float64)
    for k in range(9):
        dy, dx = divmod(k, 3)
        patches[:, k] = padded[:, dy : dy + height, dx : dx + width]
    out = weight @ patches.reshape(channels * 9, height * width) + bias[:, None]
    return out.reshape(-1, height, width)


def _depth_to_space(x: np.ndarray) -> np.ndarray:
    """Same layout as torch.nn.functional.pixel_shuffle with factor 2."""
    channels, height, width = x.shape
    x = x.reshape(channels // 4, 2, 2, height, width).transpose(0, 3, 1, 4, 2)
    return x.reshape(channels // 4, height * 2, width * 2)


def rescale(acc: np.ndarray) -> np.ndarray:
    """Accumulator (units 2^-(A+W)) → activation (units 2^-A), rounding half up: floor((acc + 2^(W−1)) / 2^W)."""
    return np.floor((acc + 2.0 ** (WEIGHT_FRACTION_BITS - 1)) / 2.0**WEIGHT_FRACTION_BITS)


def layer_arrays(prefix: str, limits: tuple[float, ...], weights: tuple[np.ndarray, ...], biases: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    """Weights-file arrays of a frozen integer network: its clip limits and int64 layers."""
    arrays = {f"{prefix}.limits": np.array(limits, dtype=np.float64)}
    for i, (weight, bias) in enumerate(zip(weights, biases)):
        arrays[f"{prefix}.{i}.weight"] = weight.astype(np.int64)
        arrays[f"{prefix}.{i}.bias"] = bias.astype(np.int64)
    return arrays


def read_layers(arrays: Mapping[str, np.ndarray], prefix: str) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], np.ndarray]:
    """Inverse of :func:`layer_arrays`: ``(weights, biases, limits)``, layers as float64."""
    layers = sum(1 for key in arrays if key.startswith(prefix + ".") and key.endswith(".weight"))
    weights = tuple(np.asarray(arrays[f"{prefix}.{i}.weight"], dtype=np.float64) for i in range(layers))
    biases = tuple(np.asarray(arrays[f"{prefix}.{i}.bias"], dtype=np.float64) for i in range(layers))
    return weights, biases, np.asarray(arrays[f"{prefix}.limits"])


@dataclass(frozen=True)
class IntegerHyperSynthesis:
    """Frozen integer h_s.

    Attributes:
        weights: Per layer, integer weights (O, C·9) as float64.
        biases: Per layer, integer biases (O,) as float64.
        activation_max: Clip of hidden activations, in real units.
        input_max: Largest |ẑ| the network accepts; the bound that keeps it exact.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation_max: float
    input_max: int

    def __call__(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and log-scale of y, both int64 in units of 2^-A, each (M, 4h, 4w).

        Args:
            z_hat: Integer hyper-latent (C, h, w), |values| ≤ ``input_max``.
        """
        check_exact_range(z_hat, self.input_max)
        x = np.asarray(z_hat, dtype=np.float64) * 2.0**ACTIVATION_FRACTION_BITS
        ceiling = self.activation_max * 2.0**ACTIVATION_FRACTION_BITS
        for weight, bias in zip(self.weights[:-1], self.biases[:-1]):
            x = _depth_to_space(np.clip(rescale(_conv3x3(x, weight, bias)), 0, ceiling))
        out = rescale(_conv3x3(x, self.weights[-1], self.biases[-1])).astype(np.int64)
        mean, log_scale = np.split(out, 2, axis=0)
        return mean, log_scale

    def worst_case_accumulator(self) -> float:
        """Largest |accumulator| any input within ``input_max`` can produce, layer by layer."""
        bound = self.input_max * 2.0**ACTIVATION_FRACTION_BITS
        worst = 0.0
        for weight, bias in zip(self.weights, self.biases):
            acc = float((np.abs(weight).sum(axis=1) * bound + np.abs(bias)).max())
            worst = max(worst, acc)
            bound = self.activation_max * 2.0**ACTIVATION_FRACTION_BITS
        return worst

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays to store in a weights file (int64, exact)."""
        return layer_arrays(prefix, (self.activation_max, self.input_max), self.weights, self.biases)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> IntegerHyperSynthesis:
        """Inverse of :meth:`to_arrays`."""
        weights, biases, (activation_max, input_max) = read_layers(arrays, prefix)
        return cls(weights, biases, float(activation_max), int(input_max))

    @staticmethod
    def stored_input_max(arrays: Mapping[str, np.ndarray], prefix: str) -> int:
        """The ``input_max`` of the network :meth:`from_arrays` would read, without reading its weights."""
        return int(np.asarray(arrays[f"{prefix}.limits"])[1])
