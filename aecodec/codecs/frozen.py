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

from collections.abc import Iterator

import numpy as np

from aecodec.codecs import streams
from aecodec.codecs.backend_interface import ContextModel, HyperSynthesis, Transforms
from aecodec.codecs.estimates import RescaledReference
from aecodec.codecs.quality import QUALITY_MAX, QUALITY_MIN
from aecodec.codecs.rounding import LATENT_SYMBOL_MAX, channel_steps, interpolate_gain, low_rate_deadzone, round_against_mean
from aecodec.codecs.streams import CodedLatents, QuantizedLatents
from aecodec.codecs.tiling import spans
from aecodec.entropy.coder import TableCoder
from aecodec.entropy.integer_context import anchor_mask
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS
from aecodec.entropy.tables import PMFTables, scale_bin
from aecodec.errors import DesyncError, FormatError
from aecodec.transforms.geometry import HYPER_STRIDE, STRIDE

# Tiles of the float transforms (see aecodec.codecs.tiling): an analysis margin of 32 pixels
# and a synthesis margin of 2 latent elements reproduce the untiled result to float rounding
# (half of either does not); the tile sizes bound onnxruntime's activations
# (benchmarks/DECISIONS.md has the measurements behind both).
ANALYSIS_TILE = 512  # pixels, a multiple of the stride
ANALYSIS_MARGIN = 32  # pixels, a multiple of the stride
SYNTHESIS_TILE = 48  # latent elements (768 pixels)
SYNTHESIS_MARGIN = 2  # latent elements
# Tiles of the integer h_s: three 3×3 convolutions at 1×, 2× and 4× the z grid see ±1.75 z
# elements, so a margin of 2 makes tiling bit-exact (it is integer arithmetic).
HYPER_TILE = 16  # z elements
HYPER_MARGIN = 2  # z elements
# The context model runs on square blocks of the latent read with a margin of 2 elements (its
# 5×5 window), so its im2col buffers stay bounded however wide or tall the image, and a photo
# up to 1024×1024 pixels is one block: one set of matrix products, which BLAS runs far better
# than many small ones. Of all blocks of one size, square ones repeat the fewest margin elements.
CONTEXT_TILE = 64  # latent elements, even: a block's first row and column stay even
CONTEXT_MARGIN = 2  # latent elements


def _widened_for(array: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``array``, or an int32 copy of it if its integer dtype cannot hold every one of ``values``."""
    limits = np.iinfo(array.dtype)
    if values.size and (values.min() < limits.min or values.max() > limits.max):
        return array.astype(np.int32)
    return array


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

    stride = STRIDE  # images are padded to a multiple of g_a's stride only
    hyper_stride = HYPER_STRIDE  # one hyper-latent element per 64×64 pixels (the last one partial)

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

    def analyze(self, x: np.ndarray) -> np.ndarray:
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
                target = (
                    slice(None),
                    slice(rows.keep_start // self.stride, rows.keep_end // self.stride),
                    slice(cols.keep_start // self.stride, cols.keep_end // self.stride),
                )
                latent[target] = self.transforms.analysis(tile)[:, rows.kept(self.stride), cols.kept(self.stride)]
        return latent

    def quantize(self, latent: np.ndarray, quality: float, deadzone: float | None = None) -> QuantizedLatents:
        """Symbols and entropy parameters of ``latent`` at ``quality`` (cheap: no analysis).

        Args:
            latent: Output of :meth:`analyze`.
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
        round_against_mean(y_symbols, latent, gain, mean, deadzone)
        if self.context is not None:  # the anchors' symbols are final; the others are re-rounded
            self._refine_non_anchors(y_symbols, mean, bins, log_scale)
            del log_scale  # the context model's input only
            round_against_mean(y_symbols, latent, gain, mean, deadzone, ~anchor_mask(*latent.shape[1:]))
        return QuantizedLatents(z_hat=z_hat, y_symbols=y_symbols, mean=mean, bins=bins)

    def symbol_bits(self, quantized: QuantizedLatents) -> tuple[np.ndarray, np.ndarray]:
        """Bits at every position, summed over channels: ``(z_bits (h, w), y_bits (H/16, W/16))``.

        Exactly what the range coder spends, up to a few bytes of flush per stream. Computed a
        few channels at a time, so large images need no per-element float64 array.
        """
        z_bits = self.z_coder.tables.symbol_bits(quantized.z_hat, self._z_table_index(quantized.z_hat.shape)).sum(axis=0)
        y_bits = np.zeros(quantized.y_symbols.shape[1:], dtype=np.float64)
        for channels in channel_steps(quantized.y_symbols.shape):
            y_bits += self.y_coder.tables.symbol_bits(quantized.y_symbols[channels], quantized.bins[channels]).sum(axis=0)
        return z_bits, y_bits

    def estimated_bits(self, latent: np.ndarray, reference: QuantizedLatents, reference_quality: float, quality: float) -> float:
        """Bits of ``latent`` at ``quality``, predicted from its exact quantization at ``reference_quality``.

        The latent's symbols are costed against the reference's rescaled entropy parameters
        (:class:`~aecodec.codecs.estimates.RescaledReference`), the hyper-latent's bits are
        taken as the reference's. Exact at ``reference_quality``.

        Args:
            latent: Output of :meth:`analyze`.
            reference: :meth:`quantize` of ``latent`` at ``reference_quality``.
            reference_quality: The quality ``reference`` was quantized at.
            quality: The quality to predict.
        """
        hyper_bits = float(self.z_coder.tables.symbol_bits(reference.z_hat, self._z_table_index(reference.z_hat.shape)).sum())
        return self._rescaled(latent, reference, reference_quality, quality).bits(hyper_bits, self.y_coder.tables)

    def estimated_quantization(self, latent: np.ndarray, reference: QuantizedLatents, reference_quality: float, quality: float) -> QuantizedLatents:
        """Symbols of ``latent`` at ``quality`` against ``reference``'s entropy parameters rescaled to its gains.

        What the image looks like at another quality, for a PSNR search, without the
        hyper-decoder and context model of an exact :meth:`quantize`. The reconstruction is
        exact at ``reference_quality``; the bins are estimates, never for coding.

        Args:
            latent: Output of :meth:`analyze`.
            reference: :meth:`quantize` of ``latent`` at ``reference_quality``.
            reference_quality: The quality ``reference`` was quantized at.
            quality: The quality to predict.
        """
        return self._rescaled(latent, reference, reference_quality, quality).quantization()

    def _rescaled(self, latent: np.ndarray, reference: QuantizedLatents, reference_quality: float, quality: float) -> RescaledReference:
        return RescaledReference.between(latent, reference, self.log_gain, self.rate_parameter(reference_quality), self.rate_parameter(quality))

    def encode(self, quantized: QuantizedLatents) -> CodedLatents:
        """Range-code quantized latents into the streams a container stores."""
        z_hat, y_symbols = quantized.z_hat, quantized.y_symbols
        z_bytes, z_escapes = self.z_coder.encode(z_hat, self._z_table_index(z_hat.shape))
        y_bytes, y_escapes = self.y_coder.encode_passes(self._y_passes(y_symbols, quantized.bins))
        return streams.pack(z_hat, z_bytes, z_escapes, y_symbols, y_bytes, y_escapes)

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
        return self.encode(self.quantize(self.analyze(x), quality))

    def decode_symbols(self, coded: CodedLatents) -> QuantizedLatents:
        """Entropy-decode the symbols and their exact parameters; checks shapes and the CRC.

        Raises:
            FormatError: Streams missing or with shapes this model cannot have produced.
            DesyncError: The decoded symbols do not match the stored CRC.
        """
        unpacked = streams.unpack(coded)
        z_shape, y_shape, z_escapes, y_escapes = unpacked.z_shape, unpacked.y_shape, unpacked.z_escapes, unpacked.y_escapes
        if len(z_shape) != 3 or z_shape[0] != self.hyper_channels:
            raise FormatError(f"hyper-latent shape {z_shape} does not fit this model")
        if len(y_shape) != 3 or y_shape[0] != self.latent_channels or (-(-y_shape[1] // 4), -(-y_shape[2] // 4)) != tuple(z_shape[1:]):
            raise FormatError(f"latent shape {y_shape} does not fit hyper-latent shape {z_shape}")
        if np.abs(z_escapes).max(initial=0) > self.hyper.input_max:
            raise DesyncError("hyper-latent escape value out of range")
        if np.abs(y_escapes).max(initial=0) > LATENT_SYMBOL_MAX:
            raise DesyncError("latent escape value out of range")
        z_hat = self.z_coder.decode(unpacked.z_bytes, self._z_table_index(z_shape), z_escapes).reshape(z_shape)
        mean, bins, log_scale = self._entropy_parameters(z_hat, y_shape)
        y_symbols = self._decode_y(unpacked.y_bytes, y_escapes, mean, bins, log_scale)
        if streams.symbol_crc(z_hat, y_symbols) != coded.symbol_crc:
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

    def reconstruct_rgb(self, quantized: QuantizedLatents, quality: float, height: int, width: int) -> np.ndarray:
        """The (height, width, 3) uint8 image, synthesized tile by tile and cropped from the padding."""
        rgb = np.empty((height, width, 3), dtype=np.uint8)
        for rows, cols, pixels in self.reconstruct_tiles(quantized, quality):
            rows, cols = slice(rows.start, min(rows.stop, height)), slice(cols.start, min(cols.stop, width))
            visible = pixels[:, : rows.stop - rows.start, : cols.stop - cols.start]
            rgb[rows, cols] = np.round(visible * 255).astype(np.uint8).transpose(1, 2, 0)
        return rgb

    def decompress(self, coded: CodedLatents, quality: float) -> np.ndarray:
        """Decode to an image (3, H, W) in [0, 1] (float, clipped)."""
        return self.reconstruct(self.decode_symbols(coded), quality)
