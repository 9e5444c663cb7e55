"""Another quality's symbols and bits, estimated from one exact quantization of the same latent.

Why: an exact quantization runs h_a, the integer hyper-decoder and the context model, which
is most of a compress; rate control needs the rate or the decoded image at many qualities
and only one exact file. The model's means and scales follow the gains: a quality whose
gain is ``ratio`` times the reference's has means about ``ratio`` times as large and scales
shifted by log(ratio) on the log-scale axis. So the latent is re-rounded against the
reference's entropy parameters rescaled to the new gains. The estimates are exact at the
reference's own quality; their accuracy further away is recorded in benchmarks/DECISIONS.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aecodec.codecs.rounding import channel_steps, interpolate_gain, low_rate_deadzone, round_symbols
from aecodec.codecs.streams import QuantizedLatents
from aecodec.entropy.tables import LOG_SCALE_FRACTION_BITS, SCALE_BIN_COUNT, SCALE_BIN_STEP, PMFTables


@dataclass(frozen=True)
class RescaledReference:
    """A reference quantization's entropy parameters carried to another quality's gains.

    An element whose scale is in the smallest bin stays there: how far below it the
    model's scale lies is unknown, and shifting it up overstates the bits.

    Attributes:
        latent: The analysis transform's latent, the one ``reference`` quantized.
        reference: The exact quantization of ``latent`` at the reference quality.
        gain: (M, 1, 1) float64 gains of the new quality.
        ratio: (M, 1, 1) those gains over the reference's.
        deadzone: The new quality's rounding dead zone.
    """

    latent: np.ndarray
    reference: QuantizedLatents
    gain: np.ndarray
    ratio: np.ndarray
    deadzone: float

    @classmethod
    def between(cls, latent: np.ndarray, reference: QuantizedLatents, log_gain: np.ndarray, reference_t: float, t: float) -> RescaledReference:
        """``reference``, quantized at rate parameter ``reference_t``, carried to rate parameter ``t``."""
        gain = interpolate_gain(log_gain, t).astype(np.float64)
        return cls(latent, reference, gain, gain / interpolate_gain(log_gain, reference_t), low_rate_deadzone(t))

    def symbols(self, channels: slice) -> tuple[np.ndarray, np.ndarray]:
        """``(symbols, mean)`` of ``channels``: the latent re-rounded against the rescaled means."""
        mean = self.reference.mean[channels] * self.ratio[channels]
        return round_symbols(self.latent[channels] * self.gain[channels] - mean, self.deadzone), mean

    def bins(self, channels: slice) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper_share)`` of ``channels``: the shifted scale lies between table
        ``lower`` and ``lower + 1``, ``upper_share`` of the way (0 for floored elements)."""
        bin_shift = np.log(self.ratio[channels]) * 2**LOG_SCALE_FRACTION_BITS / SCALE_BIN_STEP
        whole_shift = np.floor(bin_shift)
        reference_bins = self.reference.bins[channels].astype(np.int64)
        floored = reference_bins == 0
        lower = np.where(floored, 0, reference_bins + whole_shift.astype(np.int64))
        return lower, np.where(floored, 0.0, bin_shift - whole_shift)

    def bits(self, hyper_bits: float, y_tables: PMFTables) -> float:
        """``hyper_bits`` plus the estimated bits of the latent's symbols under ``y_tables``.

        As the log-scale bins are uniform, a shift by a fraction of a bin blends the two
        neighbouring tables' costs.
        """
        bits = hyper_bits
        for channels in channel_steps(self.latent.shape, tables=2):
            symbols, _ = self.symbols(channels)
            lower, upper_share = self.bins(channels)
            lower_bits, upper_bits = y_tables.symbol_bits(symbols[None], np.clip(np.stack([lower, lower + 1]), 0, SCALE_BIN_COUNT - 1))
            bits += float(((1 - upper_share) * lower_bits + upper_share * upper_bits).sum())
        return bits

    def quantization(self) -> QuantizedLatents:
        """The latent's symbols at the new quality, with the rescaled means and the bins shifted
        by whole bins: decodable to an image for a PSNR estimate, never for coding."""
        shape = self.latent.shape
        y_symbols = np.empty(shape, dtype=np.int32)
        mean = np.empty(shape, dtype=np.float64)
        bins = np.empty(shape, dtype=self.reference.bins.dtype)
        for channels in channel_steps(shape):  # float64 temporaries a few channels at a time
            y_symbols[channels], mean[channels] = self.symbols(channels)
            lower, upper_share = self.bins(channels)
            bins[channels] = np.clip(np.where(upper_share >= 0.5, lower + 1, lower), 0, SCALE_BIN_COUNT - 1)
        return QuantizedLatents(z_hat=self.reference.z_hat, y_symbols=y_symbols, mean=mean, bins=bins)
