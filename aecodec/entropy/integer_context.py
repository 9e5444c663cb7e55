"""Exact integer evaluation of the checkerboard context model (:mod:`aecodec.codecs.context`).

The context model changes the mean and scale of half the latent elements, so it selects
probability tables just like h_s and must be bit-identical on encoder and decoder. It uses the
fixed-point conventions of :mod:`aecodec.entropy.integer_hyper` (activations in units of
2^-8, weights 2^-16, integers held in float64 and proven below 2^53 when frozen)::

    ŷ_g at the 12 anchor taps of a 5×5 window, clipped to ±input_max ─conv─► clip-ReLU ─► c
    [c, clip(μ_h), clip(log σ_h)] ─1×1─► clip-ReLU ─1×1─► Δμ, Δlog σ
    non-anchors:  μ = μ_h + Δμ,  log σ = clip(log σ_h) + Δlog σ      (anchors keep μ_h, log σ_h)

(Clipping log σ_h to ±input_max before adding Δ only matters beyond e^256, where the scale
tables saturated long before; it lets the codec keep log σ_h in int32 between the passes.)

It is evaluated only at non-anchor positions, so a 5×5 convolution costs 12 taps, not 25.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS, layer_arrays, read_layers, rescale

# Offsets (row, col) of the 5×5 window that hold anchors when the center is a non-anchor.
CONTEXT_TAPS = tuple((dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if (dy + dx) % 2)


def anchor_mask(height: int, width: int) -> np.ndarray:
    """Boolean (height, width): True at anchors ((row + col) even), coded in the first pass."""
    return (np.add.outer(np.arange(height), np.arange(width)) % 2) == 0


@dataclass(frozen=True)
class IntegerCheckerboardContext:
    """Frozen integer context model.

    Attributes:
        weights: Integer weights of the three layers as float64: context (C, M·12), column
            m·12 + k for channel m at tap k of :data:`CONTEXT_TAPS` (the im2col order of
            ``integer_hyper``), hidden (C, C + 2M), output (2M, C).
        biases: Integer biases of the three layers (units 2^-(A+W)).
        input_max: Clip of every input (ŷ_g, μ_h, log σ_h) in real units.
        activation_max: Clip of the hidden activations in real units.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    input_max: float
    activation_max: float

    def refine(self, y_hat: np.ndarray, mean: np.ndarray, log_scale: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """Entropy parameters of a block of latent rows after the context refinement.

        The non-anchors of each row parity form a regular grid (every other row, every other
        column), so the 12 taps are strided views of the zero-padded window: no gathers.

        Args:
            y_hat: Fixed-point ŷ_g (M, h, W) of a window of whole latent rows whose first row is
                an even latent row; only anchors are read.
            mean: Fixed-point hyperprior mean (M, n, W) of the window rows ``rows`` (n of them).
            log_scale: Fixed-point hyperprior log-scale of the same rows, (M, n, W).
            rows: The rows of the window to refine; the window holds the two rows above and
                below them that exist in the latent.

        Returns:
            ``(mean, log_scale)`` of the block: unchanged at anchors, μ + Δμ and
            clip(log σ) + Δlog σ at non-anchors (float64 and int64, units of 2^-A).
        """
        limit = self.input_max * 2.0**ACTIVATION_FRACTION_BITS
        channels, height, width = y_hat.shape
        padded = np.zeros((channels, height + 4, width + 4), dtype=np.float64)
        np.clip(y_hat, -limit, limit, out=padded[:, 2:-2, 2:-2])
        refined_mean = np.array(mean, dtype=np.float64)
        refined_log_scale = np.array(log_scale, dtype=np.int64)
        grids, patches = [], []  # both parities go through the network in one set of products
        for parity in (0, 1):
            first = rows.start + parity  # window row of this parity's first refined row
            column = (first + 1) % 2  # its non-anchors: (row + column) odd
            n_rows, n_cols = len(range(first, rows.stop, 2)), len(range(column, width, 2))
            if not (n_rows and n_cols):
                continue
            taps = np.empty((channels, len(CONTEXT_TAPS), n_rows, n_cols), dtype=np.float64)
            for k, (dy, dx) in enumerate(CONTEXT_TAPS):
                top, left = first + 2 + dy, column + 2 + dx
                taps[:, k] = padded[:, top : top + 2 * n_rows - 1 : 2, left : left + 2 * n_cols - 1 : 2]
            grids.append(((slice(None), slice(parity, rows.stop - rows.start, 2), slice(column, width, 2)), (n_rows, n_cols)))
            patches.append(taps.reshape(channels * len(CONTEXT_TAPS), -1))
        if not grids:
            return refined_mean, refined_log_scale
        block_mean = np.concatenate([refined_mean[grid].reshape(channels, -1) for grid, _ in grids], axis=1)
        block_log_scale = np.concatenate([refined_log_scale[grid].reshape(channels, -1) for grid, _ in grids], axis=1)
        delta_mean, delta_log_scale = self._deltas(np.concatenate(patches, axis=1), block_mean, block_log_scale)
        new_mean = block_mean + delta_mean
        new_log_scale = np.clip(block_log_scale, -limit, limit).astype(np.int64) + delta_log_scale
        start = 0
        for grid, shape in grids:
            end = start + shape[0] * shape[1]
            refined_mean[grid] = new_mean[:, start:end].reshape(channels, *shape)
            refined_log_scale[grid] = new_log_scale[:, start:end].reshape(channels, *shape)
            start = end
        return refined_mean, refined_log_scale

    def _deltas(self, patches: np.ndarray, mean: np.ndarray, log_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Δμ and Δlog σ (int64), each (M, P), from clipped im2col patches (M·12, P) and μ_h, log σ_h (M, P)."""
        limit = self.input_max * 2.0**ACTIVATION_FRACTION_BITS
        ceiling = self.activation_max * 2.0**ACTIVATION_FRACTION_BITS
        context_weight, hidden_weight, output_weight = self.weights
        context_bias, hidden_bias, output_bias = self.biases
        features = np.clip(rescale(context_weight @ patches + context_bias[:, None]), 0, ceiling)
        inputs = np.concatenate([features, np.clip(mean, -limit, limit), np.clip(log_scale, -limit, limit)])
        hidden = np.clip(rescale(hidden_weight @ inputs + hidden_bias[:, None]), 0, ceiling)
        delta = rescale(output_weight @ hidden + output_bias[:, None]).astype(np.int64)
        delta_mean, delta_log_scale = np.split(delta, 2, axis=0)
        return delta_mean, delta_log_scale

    def worst_case_accumulator(self) -> float:
        """Largest |accumulator| any clipped input can produce, layer by layer."""
        input_bound = self.input_max * 2.0**ACTIVATION_FRACTION_BITS
        activation_bound = self.activation_max * 2.0**ACTIVATION_FRACTION_BITS
        context_weight, hidden_weight, output_weight = self.weights
        features = context_weight.shape[0]
        hidden_bounds = np.concatenate([np.full(features, activation_bound), np.full(hidden_weight.shape[1] - features, input_bound)])
        accumulators = (
            np.abs(context_weight).sum(axis=1) * input_bound + np.abs(self.biases[0]),
            np.abs(hidden_weight) @ hidden_bounds + np.abs(self.biases[1]),
            np.abs(output_weight).sum(axis=1) * activation_bound + np.abs(self.biases[2]),
        )
        return float(max(acc.max() for acc in accumulators))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays to store in a weights file (int64, exact)."""
        return layer_arrays(prefix, (self.input_max, self.activation_max), self.weights, self.biases)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> IntegerCheckerboardContext:
        """Inverse of :meth:`to_arrays`."""
        weights, biases, (input_max, activation_max) = read_layers(arrays, prefix)
        return cls(weights, biases, float(input_max), float(activation_max))

    @staticmethod
    def stored_input_max(arrays: Mapping[str, np.ndarray], prefix: str) -> float:
        """The ``input_max`` of the network :meth:`from_arrays` would read, without reading its weights."""
        return float(np.asarray(arrays[f"{prefix}.limits"])[0])
