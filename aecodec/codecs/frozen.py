"""The shipped codec: float transforms from a backend, entropy coding in exact integers.

Contract (after CompressAI's ``CompressionModel``): :func:`aecodec.codecs.freeze.freeze`
is ``update()``; :meth:`FrozenHyperprior.compress` turns a padded image into coded streams
and :meth:`FrozenHyperprior.decompress` inverts it. Data flow (Minnen et al. 2018 with the
gains of Cui et al. 2021 and the integer hyper-decoder of Ballé et al. 2019)::

    encoder:  x ─backend.analysis─► y ─×gain(t)─► y_g ─backend.hyper_analysis─► z
              z ─round─► ẑ ─coder(z tables)─► "z"
              ẑ ─IntegerHyperSynthesis─► μ, log σ  (exact integers)
              s = round(y_g − μ), with a dead zone below knot 0 ─coder(y tables[bin(log σ)])─► "y"
    decoder:  "z" ─► ẑ ─► μ, log σ (bit-identical) ─► s ─► ŷ_g = s + μ
              ŷ = ŷ_g × inverse_gain(t) ─backend.synthesis─► x̂

With a checkerboard context model (He et al. 2021) "y" holds two passes: the anchors, coded
with μ, σ of h_s, then the other half, whose μ, σ the exact integer
:class:`~aecodec.entropy.integer_context.IntegerCheckerboardContext` refines from the decoded
anchors. Both passes are parallel over the whole latent.

Only the float transforms (which merely move pixel values) differ between backends; every
number that selects or shifts a probability table is an exact integer, whether numpy or
onnxruntime computes it, and a CRC-32 of all symbols detects any desync rather than
returning garbage. The gains are applied here, not in the backend, so the backend's
networks are rate-free and the expensive analysis runs once per image however many
qualities a rate search tries (:meth:`FrozenHyperprior.quantize`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from aecodec.codecs.tiling import spans
from aecodec.entropy.coder import TableCoder
from aecodec.entropy.integer_context import anchor_mask
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS
from aecodec.entropy.tables import LOG_SCALE_FRACTION_BITS, SCALE_BIN_COUNT, SCALE_BIN_STEP, PMFTables, scale_bin
from aecodec.errors import DesyncError, FormatError

# Latent symbols of real images stay within a few thousand; the bound keeps hostile escape
# values from overflowing the float pixel path (no real file comes near it).
LATENT_SYMBOL_MAX = 1 << 20
QUALITY_MIN = 1.0
QUALITY_MAX = 100.0
# Tiles of the float transforms (see aecodec.codecs.tiling). Measured on the shipped model:
# an analysis margin of 32 pixels and a synthesis margin of 2 latent elements reproduce the
# untiled result to float rounding (16 pixels and 1 element do not). 512-pixel tiles keep
# onnxruntime's activations for one synthesis tile near 0.35 GB (1024-pixel tiles: 1.3 GB)
# for 27 % of recomputed overlap.
ANALYSIS_TILE = 512  # pixels, a multiple of the stride
ANALYSIS_MARGIN = 32  # pixels, a multiple of the stride
SYNTHESIS_TILE = 48  # latent elements (768 pixels: a 768×512 photo is one tile; 1.1× faster than 512, +60–75 MiB)
SYNTHESIS_MARGIN = 2  # latent elements
# Tiles of the integer h_s: three 3×3 convolutions at 1×, 2× and 4× the z grid see ±1.75 z
# elements, so a margin of 2 makes tiling bit-exact (it is integer arithmetic).
HYPER_TILE = 16  # z elements
HYPER_MARGIN = 2  # z elements
# Bits are costed a few latent channels at a time, about this many elements per step: few
# Python steps for a photo, bounded float64 buffers for a 50-megapixel image.
INFORMATION_ELEMENTS = 1 << 16
# The context model runs on square blocks of the latent read with a margin of 2 elements (its
# 5×5 window), so its im2col buffers stay bounded however wide or tall the image, and a photo
# up to 1024×1024 pixels is one block: one set of matrix products, which BLAS runs far better
# than many small ones. Of all blocks of one size, square ones repeat the fewest margin elements.
CONTEXT_TILE = 64  # latent elements, even: a block's first row and column stay even
CONTEXT_MARGIN = 2  # latent elements
# Dead zone of the encoder's rounding below the first gain knot: the rounding threshold moves
# by this much per unit of extrapolated rate parameter, up to one unit (see low_rate_deadzone).
DEADZONE_PER_RATE_UNIT = 0.1


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
    the same distortion far better: on 12 of the validation photos at t = −1, δ = 0.1 gives 16 %
    fewer bits than plain rounding for 0.65 dB, where extrapolating the gains further
    (t = −1.5) saves 2 % for the same loss; at t ≥ 0 a dead zone costs more than it saves
    (BD-rate +0.6 % for δ = 0.04, +5.9 % for δ = 0.1), so it is 0 there
    (``benchmarks/low_rate.py``, numbers in benchmarks/TRAINING.md). It is an encoder choice only:
    the decoder reads symbols, so every file, old or new, decodes the same way.

    Returns:
        δ = 0.1 × clip(−t, 0, 1).
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
    :func:`round_in_place`, clipped to ±LATENT_SYMBOL_MAX."""
    round_in_place(residual, deadzone)
    np.clip(residual, -LATENT_SYMBOL_MAX, LATENT_SYMBOL_MAX, out=residual)
    return residual.astype(np.int32)  # |symbols| ≤ LATENT_SYMBOL_MAX = 2^20


def _round_against_mean(
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


def _widened_for(array: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``array``, or an int32 copy of it if its integer dtype cannot hold every one of ``values``."""
    limits = np.iinfo(array.dtype)
    if values.size and (values.min() < limits.min or values.max() > limits.max):
        return array.astype(np.int32)
    return array


@dataclass(frozen=True)
class QuantizedLatents:
    """Integer symbols of one image at one quality, and the exact entropy parameters.

    Attributes:
        z_hat: Hyper-latent symbols (N, h, w).
        y_symbols: Latent symbols round(y_g − μ) (M, H/16, W/16), rounded by
            :func:`round_symbols` with the quality's :func:`low_rate_deadzone`.
        mean: μ of every latent element (exact fixed point, as float64).
        bins: Gaussian table index of every latent element.
    """

    z_hat: np.ndarray
    y_symbols: np.ndarray
    mean: np.ndarray
    bins: np.ndarray


@dataclass(frozen=True)
class CodedLatents:
    """Entropy-coded latents of one image: what the container stores.

    Attributes:
        streams: Stream name → (shape, payload) for "z" and "y", plus "z.escape" and
            "y.escape" holding out-of-table symbol values when there are any (an absent
            escape stream means none: it saves ~26 bytes of framing per file).
        symbol_crc: CRC-32 of the z symbols followed by the y symbols (int32 little-endian).
    """

    streams: dict[str, tuple[tuple[int, ...], bytes]]
    symbol_crc: int


@dataclass(frozen=True)
class _Rescaling:
    """A reference quantization's entropy parameters carried to another quality's gains.

    The model's means and scales follow the gains: a quality whose gain is ``ratio`` times
    the reference's has means about ``ratio`` times as large and scales shifted by
    log(ratio) on the log-scale axis. An element whose scale is in the smallest bin stays
    there: how far below it the model's scale lies is unknown, and shifting it up
    overstated the bits (an 11 % error became 6 % on the worst photo probed).

    Attributes:
        gain: (M, 1, 1) gains of the new quality.
        ratio: (M, 1, 1) those gains over the reference's.
        deadzone: The new quality's rounding dead zone.
    """

    gain: np.ndarray
    ratio: np.ndarray
    deadzone: float

    def symbols(self, latent: np.ndarray, reference: QuantizedLatents, channels: slice) -> tuple[np.ndarray, np.ndarray]:
        """``(symbols, mean)`` of ``channels``: the latent re-rounded against the rescaled means."""
        mean = reference.mean[channels] * self.ratio[channels]
        return round_symbols(latent[channels] * self.gain[channels] - mean, self.deadzone), mean

    def bins(self, reference: QuantizedLatents, channels: slice) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper_share)`` of ``channels``: the shifted scale lies between table
        ``lower`` and ``lower + 1``, ``upper_share`` of the way (0 for floored elements)."""
        bin_shift = np.log(self.ratio[channels]) * 2**LOG_SCALE_FRACTION_BITS / SCALE_BIN_STEP
        whole_shift = np.floor(bin_shift)
        reference_bins = reference.bins[channels].astype(np.int64)
        floored = reference_bins == 0
        lower = np.where(floored, 0, reference_bins + whole_shift.astype(np.int64))
        return lower, np.where(floored, 0.0, bin_shift - whole_shift)


def channel_steps(shape: tuple[int, ...], tables: int = 1) -> Iterator[slice]:
    """Slices of the channels of a (C, H, W) latent of about :data:`INFORMATION_ELEMENTS`
    elements each (divided among ``tables`` lookups per element)."""
    step = max(1, INFORMATION_ELEMENTS // (tables * shape[1] * shape[2]))
    for start in range(0, shape[0], step):
        yield slice(start, start + step)


def symbol_crc(*symbol_arrays: np.ndarray) -> int:
    """CRC-32 over the given integer symbol arrays, in order, as int32 little-endian."""
    crc = 0
    for symbols in symbol_arrays:
        crc = zlib.crc32(np.ascontiguousarray(symbols, dtype="<i4"), crc)  # the buffer itself: no bytes copy
    return crc


_STREAM_NAMES = {"z", "y", "z.escape", "y.escape"}
_NO_ESCAPES: tuple[tuple[int, ...], bytes] = ((0,), b"")


def _pack_escapes(values: np.ndarray) -> tuple[tuple[int, ...], bytes]:
    return (len(values),), np.asarray(values, dtype=">i4").tobytes()


def _unpack_escapes(shape: tuple[int, ...], payload: bytes) -> np.ndarray:
    if len(shape) != 1 or len(payload) != 4 * shape[0]:
        raise FormatError("malformed escape stream")
    return np.frombuffer(payload, dtype=">i4").astype(np.int64)


class FrozenHyperprior:
    """Variable-rate mean-scale hyperprior codec ready to code images.

    Args:
        transforms: Backend running g_a, h_a, the gains and g_s.
        hyper: Exact integer hyper-synthesis.
        z_tables: One integer PMF per hyper-latent channel.
        y_tables: One integer PMF per Gaussian scale bin.
        knots: Number of learned gain knots.
        lowest_rate_parameter: Rate parameter of quality 1.
        highest_rate_parameter: Rate parameter of quality 100 (the last knot, or up to one
            knot spacing above it).
        log_gain: Encoder log gains at the knots (K, M).
        log_inverse_gain: Decoder log gains at the knots (K, M).
        hyper_channels: N, channels of z.
        context: Exact integer checkerboard context model, or None for the hyperprior alone.
    """

    stride = 16  # images are padded to a multiple of g_a's stride only
    hyper_stride = 64  # one hyper-latent element per 64×64 pixels (the last one partial)

    def __init__(
        self,
        transforms: Transforms,
        hyper: HyperSynthesis,
        z_tables: PMFTables,
        y_tables: PMFTables,
        knots: int,
        lowest_rate_parameter: float,
        highest_rate_parameter: float,
        log_gain: np.ndarray,
        log_inverse_gain: np.ndarray,
        hyper_channels: int,
        context: ContextModel | None = None,
    ) -> None:
        self.transforms = transforms
        self.hyper = hyper
        self.z_coder = TableCoder(z_tables)
        self.y_coder = TableCoder(y_tables)
        self.knots = knots
        self.lowest_rate_parameter = lowest_rate_parameter
        self.highest_rate_parameter = highest_rate_parameter
        self.log_gain = log_gain
        self.log_inverse_gain = log_inverse_gain
        self.latent_channels = log_gain.shape[1]
        self.hyper_channels = hyper_channels
        self.context = context

    def rate_parameter(self, quality: float) -> float:
        """Map public quality [1, 100] linearly onto the rate axis [lowest, highest]."""
        span = self.highest_rate_parameter - self.lowest_rate_parameter
        return self.lowest_rate_parameter + (quality - QUALITY_MIN) / (QUALITY_MAX - QUALITY_MIN) * span

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        """Shapes of the "y" and "z" streams for an image of ``height`` × ``width`` pixels."""
        return {
            "y": (self.latent_channels, -(-height // self.stride), -(-width // self.stride)),
            "z": (self.hyper_channels, -(-height // self.hyper_stride), -(-width // self.hyper_stride)),
        }

    def _entropy_parameters(self, z_hat: np.ndarray, y_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Mean, table index and (with a context model) fixed-point log-scale of every latent
        element, cropped from h_s's ×4 grid to y.

        h_s runs on overlapping tiles of ẑ, so its ×4 output (and the im2col buffers of its
        convolutions) never exists for the whole image.
        """
        mean = np.empty(y_shape, dtype=np.float64)
        bins = np.empty(y_shape, dtype=np.uint8)  # SCALE_BIN_COUNT (64) tables fit a byte
        # Clipped as the context model reads it; int16 holds the log-scale of any real image
        # (|log σ| < 128), and a file beyond that widens it to int32: exact either way.
        log_scale = np.empty(y_shape, dtype=np.int16) if self.context is not None else None
        log_scale_limit = self.context.input_max * 2**ACTIVATION_FRACTION_BITS if self.context is not None else None
        for rows in spans(z_hat.shape[1], HYPER_TILE, HYPER_MARGIN):
            for cols in spans(z_hat.shape[2], HYPER_TILE, HYPER_MARGIN):
                mean_fixed, log_scale_fixed = self.hyper(z_hat[:, rows.read_start : rows.read_end, cols.read_start : cols.read_end])
                target = (slice(None), slice(4 * rows.keep_start, 4 * rows.keep_end), slice(4 * cols.keep_start, 4 * cols.keep_end))
                height, width = mean[target].shape[1:]  # the last tiles hang over y's edge
                kept = (slice(None), slice(4 * rows.kept().start, 4 * rows.kept().start + height), slice(4 * cols.kept().start, 4 * cols.kept().start + width))
                mean[target] = mean_fixed[kept] / 2**ACTIVATION_FRACTION_BITS
                bins[target] = scale_bin(log_scale_fixed[kept])
                if log_scale is not None:
                    clipped = np.clip(log_scale_fixed[kept], -log_scale_limit, log_scale_limit)
                    log_scale = _widened_for(log_scale, clipped)
                    log_scale[target] = clipped
        return mean, bins, log_scale

    def _refine_non_anchors(self, y_symbols: np.ndarray, mean: np.ndarray, bins: np.ndarray, log_scale: np.ndarray) -> None:
        """Apply the context model: overwrite ``mean`` and ``bins`` at the non-anchors, in place.

        Reads only the anchors of ``y_symbols`` and ``mean``, so the encoder (which knows
        every symbol) and the decoder (which has decoded only the anchors) compute the same.
        Runs on blocks of :data:`CONTEXT_TILE` elements a side, each read with the context
        window's margin, so every kept element sees exactly its whole-image neighbours (the
        network refines the margin too, from a window cut short; those results are dropped).
        Even block sizes and margins keep every window's first row and column even, so its
        anchors are the image's, as the integer network needs.
        """
        _, height, width = y_symbols.shape
        scale = 2.0**ACTIVATION_FRACTION_BITS
        for rows in spans(height, CONTEXT_TILE, CONTEXT_MARGIN):
            for cols in spans(width, CONTEXT_TILE, CONTEXT_MARGIN):
                read_cols = slice(cols.read_start, cols.read_end)
                window = (slice(None), slice(rows.read_start, rows.read_end), read_cols)
                refined_rows = (slice(None), slice(rows.keep_start, rows.keep_end), read_cols)  # with the margin columns
                y_hat = (y_symbols[window] + mean[window]) * scale  # exact: μ is a multiple of 2^-8
                refined_mean, refined_log_scale = self.context.refine(y_hat, mean[refined_rows] * scale, log_scale[refined_rows], rows.kept())
                block = (slice(None), slice(rows.keep_start, rows.keep_end), slice(cols.keep_start, cols.keep_end))
                mean[block] = refined_mean[:, :, cols.kept()] / scale
                bins[block] = scale_bin(refined_log_scale[:, :, cols.kept()])

    def _z_table_index(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(np.arange(shape[0])[:, None, None], shape)

    def analyse(self, x: np.ndarray) -> np.ndarray:
        """The latent y (M, H/16, W/16) of an image, H and W multiples of :attr:`stride`.

        This is the expensive, quality-independent part of compression. It runs in
        overlapping tiles, so ``x`` may be large.

        Args:
            x: (3, H, W) float in [0, 1], or uint8 (converted one tile at a time, so a large
               image never exists in float).
        """
        _, height, width = x.shape
        latent = np.empty((self.latent_channels, height // self.stride, width // self.stride), dtype=np.float32)
        for rows in spans(height, ANALYSIS_TILE, ANALYSIS_MARGIN):
            for cols in spans(width, ANALYSIS_TILE, ANALYSIS_MARGIN):
                tile = x[:, rows.read_start : rows.read_end, cols.read_start : cols.read_end]
                if tile.dtype == np.uint8:
                    tile = tile.astype(np.float32) / 255.0
                target = (slice(None), slice(rows.keep_start // self.stride, rows.keep_end // self.stride), slice(cols.keep_start // self.stride, cols.keep_end // self.stride))
                latent[target] = self.transforms.analysis(tile)[:, rows.kept(self.stride), cols.kept(self.stride)]
        return latent

    def quantize(self, latent: np.ndarray, quality: float, deadzone: float | None = None) -> QuantizedLatents:
        """Symbols and entropy parameters of ``latent`` at ``quality`` (cheap: no analysis).

        Args:
            latent: Output of :meth:`analyse`.
            quality: Public quality; selects the gains.
            deadzone: Rounding dead zone; None takes the quality's :func:`low_rate_deadzone`
                (other values only serve to measure that choice: decoders never need it).
        """
        t = self.rate_parameter(quality)
        gain = interpolate_gain(self.log_gain, t)
        z = self.transforms.hyper_analysis(latent * gain)  # the gained latent lives only for h_a
        z_hat = np.clip(np.round(z), -self.hyper.input_max, self.hyper.input_max).astype(np.int64)
        mean, bins, log_scale = self._entropy_parameters(z_hat, latent.shape)
        deadzone = low_rate_deadzone(t) if deadzone is None else deadzone
        y_symbols = np.empty(latent.shape, dtype=np.int32)
        _round_against_mean(y_symbols, latent, gain, mean, deadzone)
        if self.context is not None:  # the anchors' symbols are final; the others are re-rounded
            self._refine_non_anchors(y_symbols, mean, bins, log_scale)
            del log_scale  # the context model's input only
            _round_against_mean(y_symbols, latent, gain, mean, deadzone, ~anchor_mask(*latent.shape[1:]))
        return QuantizedLatents(z_hat=z_hat, y_symbols=y_symbols, mean=mean, bins=bins)

    def information(self, quantized: QuantizedLatents) -> tuple[np.ndarray, np.ndarray]:
        """Bits at every position, summed over channels: ``(z_bits (h, w), y_bits (H/16, W/16))``.

        Exactly what the range coder spends, up to a few bytes of flush per stream. Computed a
        few channels at a time, so large images need no per-element float64 array.
        """
        z_bits = self.z_coder.tables.information(quantized.z_hat, self._z_table_index(quantized.z_hat.shape)).sum(axis=0)
        y_bits = np.zeros(quantized.y_symbols.shape[1:], dtype=np.float64)
        for channels in channel_steps(quantized.y_symbols.shape):
            y_bits += self.y_coder.tables.information(quantized.y_symbols[channels], quantized.bins[channels]).sum(axis=0)
        return z_bits, y_bits

    def estimated_bits(self, latent: np.ndarray, reference: QuantizedLatents, reference_quality: float, quality: float) -> float:
        """Bits of ``latent`` at ``quality``, predicted from its exact quantization at ``reference_quality``.

        Why: an exact trial runs h_a, the integer hyper-decoder and the context model, which
        is most of a compress; rate control needs many rates and only one exact file. The
        latent is re-rounded against the reference's entropy parameters rescaled to the new
        gains (:class:`_Rescaling`), and its symbols costed; as the log-scale bins are uniform,
        a shift by a fraction of a bin blends the two neighbouring tables' costs. The
        hyper-latent's bits are taken as the reference's. At ``reference_quality`` this is
        exact; on 8 validation photos it is within 2 % for quality steps up to 5, and it
        overstates changes over a dozen steps, by 1–3 % above quality 40 and 4–8 % below
        (the model's scales grow a little slower than its gains).

        Args:
            latent: Output of :meth:`analyse`.
            reference: :meth:`quantize` of ``latent`` at ``reference_quality``.
            reference_quality: The quality ``reference`` was quantized at.
            quality: The quality to predict.
        """
        rescaling = self._rescaling(reference_quality, quality)
        tables = self.y_coder.tables
        bits = float(self.z_coder.tables.information(reference.z_hat, self._z_table_index(reference.z_hat.shape)).sum())
        for channels in channel_steps(latent.shape, tables=2):
            symbols, _ = rescaling.symbols(latent, reference, channels)
            lower, upper_share = rescaling.bins(reference, channels)
            lower_bits, upper_bits = tables.information(symbols[None], np.clip(np.stack([lower, lower + 1]), 0, SCALE_BIN_COUNT - 1))
            bits += float(((1 - upper_share) * lower_bits + upper_share * upper_bits).sum())
        return bits

    def estimated_quantization(self, latent: np.ndarray, reference: QuantizedLatents, reference_quality: float, quality: float) -> QuantizedLatents:
        """Symbols of ``latent`` at ``quality`` against ``reference``'s entropy parameters rescaled to its gains.

        Why: what the image looks like at another quality, for a PSNR search, without the
        hyper-decoder and context model of an exact :meth:`quantize` (most of its cost). The
        means are the reference's scaled by the gain ratio (as :meth:`estimated_bits`), so
        the reconstruction is exact at ``reference_quality``; on 8 validation photos its
        PSNR was within 0.05 dB of the exact one's up to 6 quality steps away, and within
        0.2 dB at 12, the larger errors all overstating the PSNR of a lower quality. The
        bins are the reference's shifted by whole bins: an estimate, never for coding.

        Args:
            latent: Output of :meth:`analyse`.
            reference: :meth:`quantize` of ``latent`` at ``reference_quality``.
            reference_quality: The quality ``reference`` was quantized at.
            quality: The quality to predict.
        """
        rescaling = self._rescaling(reference_quality, quality)
        y_symbols = np.empty(latent.shape, dtype=np.int32)
        mean = np.empty(latent.shape, dtype=np.float64)
        bins = np.empty(latent.shape, dtype=reference.bins.dtype)
        for channels in channel_steps(latent.shape):  # float64 temporaries a few channels at a time
            y_symbols[channels], mean[channels] = rescaling.symbols(latent, reference, channels)
            lower, upper_share = rescaling.bins(reference, channels)
            bins[channels] = np.clip(np.where(upper_share >= 0.5, lower + 1, lower), 0, SCALE_BIN_COUNT - 1)
        return QuantizedLatents(z_hat=reference.z_hat, y_symbols=y_symbols, mean=mean, bins=bins)

    def _rescaling(self, reference_quality: float, quality: float) -> _Rescaling:
        """How entropy parameters quantized at ``reference_quality`` carry over to ``quality``."""
        t = self.rate_parameter(quality)
        gain = interpolate_gain(self.log_gain, t).astype(np.float64)
        return _Rescaling(gain, gain / interpolate_gain(self.log_gain, self.rate_parameter(reference_quality)), low_rate_deadzone(t))

    def encode(self, quantized: QuantizedLatents) -> CodedLatents:
        """Range-code quantized latents into the streams a container stores."""
        z_hat, y_symbols = quantized.z_hat, quantized.y_symbols
        z_bytes, z_escapes = self.z_coder.encode(z_hat, self._z_table_index(z_hat.shape))
        y_bytes, y_escapes = self.y_coder.encode_passes(self._y_passes(y_symbols, quantized.bins))
        streams = {"z": (z_hat.shape, z_bytes), "y": (y_symbols.shape, y_bytes)}
        for name, escapes in (("z.escape", z_escapes), ("y.escape", y_escapes)):
            if len(escapes):
                streams[name] = _pack_escapes(escapes)
        return CodedLatents(streams=streams, symbol_crc=symbol_crc(z_hat, y_symbols))

    def _y_passes(self, y_symbols: np.ndarray, bins: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The coding passes of the "y" stream: all of y, or the anchors then the others
        (gathered one pass at a time, as the coder reaches it)."""
        if self.context is None:
            yield y_symbols, bins
            return
        anchors = anchor_mask(*y_symbols.shape[1:])
        yield y_symbols[:, anchors], bins[:, anchors]
        non_anchors = ~anchors
        yield y_symbols[:, non_anchors], bins[:, non_anchors]

    def compress(self, x: np.ndarray, quality: float) -> CodedLatents:
        """Code an image (3, H, W) in [0, 1], H and W multiples of :attr:`stride` (16)."""
        return self.encode(self.quantize(self.analyse(x), quality))

    def decode_symbols(self, coded: CodedLatents) -> QuantizedLatents:
        """Entropy-decode the symbols and their exact parameters; checks shapes and the CRC.

        Raises:
            FormatError: Streams missing or with shapes this model cannot have produced.
            DesyncError: The decoded symbols do not match the stored CRC.
        """
        unknown = set(coded.streams) - _STREAM_NAMES
        if unknown:
            raise FormatError(f"unknown streams for this model: {', '.join(sorted(unknown))}")
        try:
            z_shape, z_bytes = coded.streams["z"]
            y_shape, y_bytes = coded.streams["y"]
            z_escapes = _unpack_escapes(*coded.streams.get("z.escape", _NO_ESCAPES))
            y_escapes = _unpack_escapes(*coded.streams.get("y.escape", _NO_ESCAPES))
        except KeyError as exc:
            raise FormatError(f"missing stream {exc}") from exc
        if len(z_shape) != 3 or z_shape[0] != self.hyper_channels:
            raise FormatError(f"hyper-latent shape {z_shape} does not fit this model")
        if len(y_shape) != 3 or y_shape[0] != self.latent_channels or (-(-y_shape[1] // 4), -(-y_shape[2] // 4)) != tuple(z_shape[1:]):
            raise FormatError(f"latent shape {y_shape} does not fit hyper-latent shape {z_shape}")
        if np.abs(z_escapes).max(initial=0) > self.hyper.input_max:
            raise DesyncError("hyper-latent escape value out of range")
        if np.abs(y_escapes).max(initial=0) > LATENT_SYMBOL_MAX:
            raise DesyncError("latent escape value out of range")
        z_hat = self.z_coder.decode(z_bytes, self._z_table_index(tuple(z_shape)), z_escapes).reshape(z_shape)
        mean, bins, log_scale = self._entropy_parameters(z_hat, tuple(y_shape))
        y_symbols = self._decode_y(y_bytes, y_escapes, mean, bins, log_scale)
        if symbol_crc(z_hat, y_symbols) != coded.symbol_crc:
            raise DesyncError("decoded symbols do not match the stored CRC (entropy decoder desync)")
        return QuantizedLatents(z_hat=z_hat, y_symbols=y_symbols, mean=mean, bins=bins)

    def _decode_y(self, data: bytes, escapes: np.ndarray, mean: np.ndarray, bins: np.ndarray, log_scale: np.ndarray | None) -> np.ndarray:
        """Latent symbols from the "y" stream; refines ``mean`` and ``bins`` in place with a context model."""
        if self.context is None:
            return self.y_coder.decode(data, bins, escapes).reshape(bins.shape)
        decoder = self.y_coder.decoder(data, escapes)
        anchors = anchor_mask(*bins.shape[1:])
        y_symbols = np.zeros(bins.shape, dtype=np.int32)
        y_symbols[:, anchors] = decoder.decode(bins[:, anchors]).reshape(bins.shape[0], -1)
        self._refine_non_anchors(y_symbols, mean, bins, log_scale)
        y_symbols[:, ~anchors] = decoder.decode(bins[:, ~anchors]).reshape(bins.shape[0], -1)
        decoder.finish()
        return y_symbols

    def reconstruct_tiles(self, quantized: QuantizedLatents, quality: float) -> Iterator[tuple[slice, slice, np.ndarray]]:
        """The image in tiles: ``(rows, cols, pixels)`` with pixels (3, h, w) in [0, 1].

        ``rows`` and ``cols`` place each tile in the (3, 16·H', 16·W') padded image; callers
        convert or crop each tile as it comes, so a large image never exists in float.
        """
        inverse_gain = interpolate_gain(self.log_inverse_gain, self.rate_parameter(quality))
        _, height, width = quantized.y_symbols.shape
        for rows in spans(height, SYNTHESIS_TILE, SYNTHESIS_MARGIN):
            for cols in spans(width, SYNTHESIS_TILE, SYNTHESIS_MARGIN):
                read = (slice(None), slice(rows.read_start, rows.read_end), slice(cols.read_start, cols.read_end))
                y_hat = (quantized.y_symbols[read] + quantized.mean[read]).astype(np.float32) * inverse_gain
                kept_rows, kept_cols = rows.kept(), cols.kept()
                pixels = self.transforms.synthesis(y_hat)[
                    :, kept_rows.start * self.stride : kept_rows.stop * self.stride, kept_cols.start * self.stride : kept_cols.stop * self.stride
                ]
                yield (
                    slice(rows.keep_start * self.stride, rows.keep_end * self.stride),
                    slice(cols.keep_start * self.stride, cols.keep_end * self.stride),
                    np.clip(pixels, 0.0, 1.0),
                )

    def reconstruct(self, quantized: QuantizedLatents, quality: float) -> np.ndarray:
        """Image (3, H, W) in [0, 1] (float, clipped) from quantized latents."""
        _, height, width = quantized.y_symbols.shape
        image = np.empty((3, height * self.stride, width * self.stride), dtype=np.float32)
        for rows, cols, pixels in self.reconstruct_tiles(quantized, quality):
            image[:, rows, cols] = pixels
        return image

    def decompress(self, coded: CodedLatents, quality: float) -> np.ndarray:
        """Decode to an image (3, H, W) in [0, 1] (float, clipped)."""
        return self.reconstruct(self.decode_symbols(coded), quality)
