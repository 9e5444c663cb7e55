"""Integer probability tables: the ONE place where floating-point densities become integers.

Range coding needs encoder and decoder to use bit-identical probabilities. Densities are
floats (a Gaussian CDF, a learned CDF network), and ``erfc``/``exp`` may differ in the last
ulp between machines and libraries, so tables are computed once, when a model is frozen,
quantized here to integer PMFs of fixed precision, and *saved with the weights*. Coding
never recomputes them.

Every table covers a contiguous symbol range ``[minimum, minimum + size)`` and has one
extra trailing *escape* entry: a symbol outside the range is coded as the escape and its
value is stored separately, so no latent value is ever clipped.

The Gaussian scale bins are uniform in log-scale, so that the integer hyper-decoder's
fixed-point log-scale maps to a bin with one integer division (see :func:`scale_bin`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

PRECISION_BITS = 16
LOG_SCALE_FRACTION_BITS = 8  # the hyper-decoder's log-scale output is an integer / 2^8
SCALE_BIN_STEP = 32  # bin width in units of 2^-8 nats: consecutive scales differ by 13 %
SCALE_BIN_COUNT = 64
SCALE_MIN = 0.11  # the smallest Gaussian scale: training clamps to it, the first table bin starts at it
SCALE_LOG_MIN = round(math.log(SCALE_MIN) * 2**LOG_SCALE_FRACTION_BITS)
TAIL_SIGMAS = 8.0
ESCAPE_VALUE_BITS = 32  # an escaped symbol's value is stored as an int32 beside the stream


@dataclass(frozen=True)
class PMFTables:
    """A set of integer PMFs, stored flat so they serialise as three integer arrays.

    Attributes:
        pmf: Concatenated integer probabilities, each table summing to 2^PRECISION_BITS; the
            last entry of every table is its escape probability.
        offsets: Start of each table in ``pmf``; table ``i`` is ``pmf[offsets[i]:offsets[i+1]]``.
        minima: Smallest symbol each table codes directly.
    """

    pmf: np.ndarray
    offsets: np.ndarray
    minima: np.ndarray

    def __len__(self) -> int:
        return len(self.minima)

    def table(self, index: int) -> np.ndarray:
        """Integer PMF of table ``index`` including its trailing escape entry."""
        return self.pmf[self.offsets[index] : self.offsets[index + 1]]

    def symbol_bits(self, symbols: np.ndarray, table_index: np.ndarray) -> np.ndarray:
        """Bits each symbol costs under its table: ``−log2 p``, plus the stored value for escapes.

        This is what the range coder spends up to its few bytes of flush overhead, so rate
        control can search qualities and bit maps can be drawn without coding anything.

        Args:
            symbols: Integer symbols, any shape.
            table_index: Table of each symbol, same shape.

        Returns:
            float64 bits, same shape as ``symbols``.
        """
        symbols = np.asarray(symbols, dtype=np.int64)
        table_index = np.asarray(table_index, dtype=np.int64)
        escape = self.offsets[table_index + 1] - 1
        position = self.offsets[table_index] + symbols - self.minima[table_index]
        outside = (position < self.offsets[table_index]) | (position >= escape)
        position = np.where(outside, escape, position)
        return self._entry_bits[position] + np.where(outside, ESCAPE_VALUE_BITS, 0.0)

    @functools.cached_property
    def _entry_bits(self) -> np.ndarray:
        """``−log2 p`` of every entry, computed once: rate control costs the symbols many times."""
        return PRECISION_BITS - np.log2(self.pmf.astype(np.float64))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays to store in a weights file under ``prefix``."""
        return {f"{prefix}.pmf": self.pmf, f"{prefix}.offsets": self.offsets, f"{prefix}.minima": self.minima}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> PMFTables:
        """Inverse of :meth:`to_arrays`."""
        return cls(
            np.asarray(arrays[f"{prefix}.pmf"], dtype=np.int64),
            np.asarray(arrays[f"{prefix}.offsets"], dtype=np.int64),
            np.asarray(arrays[f"{prefix}.minima"], dtype=np.int64),
        )

    @classmethod
    def from_float(cls, pmfs: list[np.ndarray], minima: list[int]) -> PMFTables:
        """Quantize float PMFs (without escape) to integer tables with an escape entry.

        The escape gets the mass the range leaves over. Every entry gets at least 1, so any
        symbol stays codable; the largest entry absorbs the rounding so each table sums to
        exactly 2^PRECISION_BITS.
        """
        total = 1 << PRECISION_BITS
        tables = []
        for pmf in pmfs:
            pmf = np.clip(np.asarray(pmf, dtype=np.float64), 0, None)
            with_escape = np.append(pmf, max(0.0, 1.0 - pmf.sum()))
            with_escape /= with_escape.sum()
            quantized = np.maximum(1, np.round(with_escape * (total - len(with_escape)))).astype(np.int64)
            quantized[np.argmax(quantized)] += total - quantized.sum()
            if quantized.min() < 1:
                raise ValueError("table too large for the coding precision")
            tables.append(quantized)
        offsets = np.concatenate([[0], np.cumsum([len(t) for t in tables])]).astype(np.int64)
        return cls(np.concatenate(tables), offsets, np.asarray(minima, dtype=np.int64))


def scale_bin_representatives() -> np.ndarray:
    """The Gaussian scale each bin's table is built for (geometric center of the bin)."""
    centers = SCALE_LOG_MIN + (np.arange(SCALE_BIN_COUNT) + 0.5) * SCALE_BIN_STEP
    return np.exp(centers / 2**LOG_SCALE_FRACTION_BITS)


def scale_bin(log_scale_fixed: np.ndarray) -> np.ndarray:
    """Map fixed-point log-scales (integers, 2^-8 nats) to table indices, exactly."""
    return np.clip((log_scale_fixed - SCALE_LOG_MIN) // SCALE_BIN_STEP, 0, SCALE_BIN_COUNT - 1)


def gaussian_tables() -> PMFTables:
    """Integer tables of a zero-mean Gaussian convolved with a unit box, one per scale bin.

    Each covers ±``TAIL_SIGMAS`` standard deviations; the rest goes to the escape.
    """
    pmfs, minima = [], []
    for scale in scale_bin_representatives():
        radius = max(1, math.ceil(TAIL_SIGMAS * scale))
        grid = np.arange(-radius, radius + 1, dtype=np.float64)
        upper = np.array([math.erfc(-(v + 0.5) / (scale * math.sqrt(2))) for v in grid]) / 2
        lower = np.array([math.erfc(-(v - 0.5) / (scale * math.sqrt(2))) for v in grid]) / 2
        pmfs.append(upper - lower)
        minima.append(-radius)
    return PMFTables.from_float(pmfs, minima)
