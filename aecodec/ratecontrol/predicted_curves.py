"""One image's PSNR and file-size curves over quality, predicted from its latent alone.

Why: rate control (:mod:`aecodec.ratecontrol.search`) starts where a curve meets the target
and steers along its shape. The model's typical curve (its validation results) often misses
an image by far, so the first exact trial lands far from the goal, where the estimates made
from it are least accurate, and more trials are needed (benchmarks/DECISIONS.md).

Both curves follow from the latent rounded *without* the entropy model's means, at the
quality's gains and dead zone: no hyper-decoder, no context model, a few elementwise passes
per quality. The decoded error grows with each channel's rounding error; the coded bits
with each channel's empirical entropy (a factorized model of the rounded values, which the
hyperprior beats by a fairly constant share). Per-channel non-negative weights, fitted per
model on training photos by ``benchmarks/latent_priors.py`` and recorded in the manifest
(:func:`aecodec.zoo.latent_prior_weights`), turn these into a predicted MSE and file bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.codecs.rounding import channel_steps, interpolate_gain, low_rate_deadzone, round_in_place
from aecodec.ratecontrol.steering import Curve

# Where the curves are predicted, piecewise linear between: the PSNR curve bends more than
# log-bits, which are nearly straight in quality. Either curve costs a small share of a
# compress (benchmarks/DECISIONS.md).
PSNR_QUALITIES = (1.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 85.0, 100.0)
BITS_QUALITIES = (1.0, 10.0, 25.0, 40.0, 55.0, 70.0, 85.0, 100.0)
MSE_FLOOR = 1e-10  # 100 dB: a latent with no rounding error predicts no error


def _rounded(codec: FrozenHyperprior, latent: np.ndarray, qualities: Sequence[float]) -> Iterator[tuple[int, slice, np.ndarray, np.ndarray, np.ndarray]]:
    """``(row, channels, scaled, rounded, gain)`` for every block of channels and quality: the
    latent times the quality's gain, that rounded with its dead zone, and the gain. Both arrays
    are reused buffers, valid until the next item."""
    rates = [codec.rate_parameter(quality) for quality in qualities]
    gains = [interpolate_gain(codec.log_gain, t) for t in rates]
    for channels in channel_steps(latent.shape):  # a few channels at a time: stays in cache
        block = latent[channels]
        scaled, rounded = np.empty_like(block), np.empty_like(block)
        for row, (t, gain) in enumerate(zip(rates, gains)):
            np.multiply(block, gain[channels], out=scaled)
            np.copyto(rounded, scaled)
            yield row, channels, scaled, round_in_place(rounded, low_rate_deadzone(t)), gain[channels, 0, 0]


def rounding_errors(codec: FrozenHyperprior, latent: np.ndarray, qualities: Sequence[float]) -> np.ndarray:
    """Mean squared rounding error of every channel at every quality, in the latent's own units
    (divided by gain²): ``(len(qualities), M)``."""
    errors = np.empty((len(qualities), latent.shape[0]))
    for row, channels, scaled, rounded, gain in _rounded(codec, latent, qualities):
        rounded -= scaled
        rounded *= rounded
        errors[row, channels] = rounded.mean(axis=(1, 2), dtype=np.float64) / gain.astype(np.float64) ** 2
    return errors


def rounded_bits(codec: FrozenHyperprior, latent: np.ndarray, qualities: Sequence[float]) -> np.ndarray:
    """Bits of every channel at every quality under its own histogram of rounded values
    (n·log2 n − Σ count·log2 count): ``(len(qualities), M)``.

    The histograms are small: even uniform noise and black-and-white pixel noise keep |y·gain|
    under 70 at quality 100.
    """
    bits = np.empty((len(qualities), latent.shape[0]))
    for row, channels, _, rounded, _ in _rounded(codec, latent, qualities):
        count, elements = rounded.shape[0], rounded[0].size
        symbols = rounded.reshape(count, elements).astype(np.int64)
        symbols -= symbols.min()
        span = int(symbols.max()) + 1
        symbols += np.arange(count)[:, None] * span  # each channel its own range of bins
        counts = np.bincount(symbols.ravel(), minlength=count * span).reshape(count, span).astype(np.float64)
        counts *= np.log2(counts, out=np.zeros_like(counts), where=counts > 0)
        bits[row, channels] = elements * np.log2(elements) - counts.sum(axis=1)
    return bits


def predicted_psnr(codec: FrozenHyperprior, latent: np.ndarray, channel_weights: np.ndarray) -> Curve:
    """``[(quality, PSNR-RGB dB)]`` at :data:`PSNR_QUALITIES`: the weighted rounding errors as MSE."""
    mse = rounding_errors(codec, latent, PSNR_QUALITIES) @ channel_weights
    return [(quality, float(value)) for quality, value in zip(PSNR_QUALITIES, -10 * np.log10(np.maximum(mse, MSE_FLOOR)))]


def predicted_bits(codec: FrozenHyperprior, latent: np.ndarray, channel_weights: np.ndarray) -> Curve:
    """``[(quality, bits of the .aec file)]`` at :data:`BITS_QUALITIES`: the weighted channel entropies."""
    bits = rounded_bits(codec, latent, BITS_QUALITIES) @ channel_weights
    return [(quality, float(value)) for quality, value in zip(BITS_QUALITIES, bits)]
