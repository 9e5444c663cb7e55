"""The encoder's arithmetic between the analysis transform and the symbols: gains and rounding.

The gains (Cui et al. 2021) scale the latent per channel at a rate parameter ``t``; the
encoder then rounds the gained latent against the entropy model's means. Everything here is
elementwise numpy, shared by the codec, its rate estimates and the predicted rate curves,
so that all of them round exactly as a coded file does.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

LATENT_SYMBOL_MAX = 1 << 20
"""Bound of a latent symbol's magnitude: real images stay within a few thousand, and the
bound keeps hostile escape values from overflowing the float pixel path."""
DEADZONE_PER_RATE_UNIT = 0.1
"""How far the rounding threshold moves per unit of rate parameter below the first gain
knot, up to one unit (see :func:`low_rate_deadzone`)."""
CHANNEL_STEP_ELEMENTS = 1 << 16
"""Latent elements per step of the channel-wise loops (:func:`channel_steps`): few Python
steps for a photo, bounded float64 buffers however large the image."""


def interpolate_gain(log_table: np.ndarray, t: float) -> np.ndarray:
    """Gain vector (M, 1, 1) at rate ``t`` from the log gains at the knots (K, M).

    Log-linear between knots, the first segment extrapolated below knot 0 and the last one
    above knot K − 1: the numpy twin of :class:`aecodec.codecs.gain.GainUnit`, which training
    needs in torch for gradients (a test holds the two equal).
    """
    table = np.asarray(log_table, dtype=np.float64)  # all arithmetic in float64, then one rounding
    knots = table.shape[0]
    t = float(t)
    lower = int(min(max(np.floor(t), 0), knots - 2))
    fraction = t - lower
    log_value = table[lower] * (1 - fraction) + table[lower + 1] * fraction
    return np.exp(log_value).astype(np.float32)[:, None, None]


def low_rate_deadzone(t: float) -> float:
    """How far the encoder moves its rounding threshold towards larger magnitudes at rate ``t``.

    Below knot 0 (t < 0) the gains are extrapolated past what training covered, and shrinking
    the latent further buys little rate for much distortion (the hyper-decoder's scales were
    never trained there). Rounding with a dead zone, s = sign(r)·floor(|r| + 0.5 − δ), spends
    the same distortion better than extrapolating the gains further; at t ≥ 0 a dead zone
    costs more than it saves, so it is 0 there (``benchmarks/low_rate.py``; the measurements
    are in benchmarks/DECISIONS.md). It is an encoder choice only: the decoder reads
    symbols, so every file, old or new, decodes the same way.

    Returns:
        δ = :data:`DEADZONE_PER_RATE_UNIT` × clip(−t, 0, 1).
    """
    return DEADZONE_PER_RATE_UNIT * min(1.0, max(0.0, -float(t)))


def round_in_place(residual: np.ndarray, deadzone: float) -> np.ndarray:
    """Round the float array ``residual`` to whole numbers in place, and return it.

    Plain rounding (half to even) when ``deadzone`` is 0, otherwise
    sign(r)·floor(|r| + 0.5 − deadzone).
    """
    if deadzone:
        negative = np.signbit(residual)
        np.abs(residual, out=residual)
        residual += 0.5 - deadzone
        np.floor(residual, out=residual)
        np.negative(residual, out=residual, where=negative)
    else:
        np.round(residual, out=residual)
    return residual


def round_symbols(residual: np.ndarray, deadzone: float) -> np.ndarray:
    """Round ``residual`` (float64, overwritten to bound peak memory) to int32 symbols by
    :func:`round_in_place`, clipped to ±:data:`LATENT_SYMBOL_MAX`."""
    round_in_place(residual, deadzone)
    np.clip(residual, -LATENT_SYMBOL_MAX, LATENT_SYMBOL_MAX, out=residual)
    return residual.astype(np.int32)  # |symbols| ≤ LATENT_SYMBOL_MAX = 2^20


def round_against_mean(
    y_symbols: np.ndarray, latent: np.ndarray, gain: np.ndarray, mean: np.ndarray, deadzone: float, positions: np.ndarray | None = None
) -> None:
    """Write :func:`round_symbols` of ``latent × gain − mean`` into ``y_symbols``, at every
    position or at those where the (H, W) mask ``positions`` is true.

    A few channels at a time (:func:`channel_steps`): the float64 residual of the whole
    latent would be twice the size of its symbols. The arithmetic is elementwise, so the
    symbols are those of the whole latent at once.
    """
    for channels in channel_steps(latent.shape):
        gained = latent[channels] * gain[channels]
        if positions is None:
            y_symbols[channels] = round_symbols(gained - mean[channels], deadzone)
        else:
            y_symbols[channels][:, positions] = round_symbols(gained[:, positions] - mean[channels][:, positions], deadzone)


def channel_steps(shape: tuple[int, ...], tables: int = 1) -> Iterator[slice]:
    """Slices of the channels of a (C, H, W) latent of about :data:`CHANNEL_STEP_ELEMENTS`
    elements each (divided among ``tables`` lookups per element)."""
    step = max(1, CHANNEL_STEP_ELEMENTS // (tables * shape[1] * shape[2]))
    for start in range(0, shape[0], step):
        yield slice(start, start + step)
