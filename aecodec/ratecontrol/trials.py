"""Exact trials and cheap estimates of one image at any quality: what a rate search measures.

The analysis transform has run once; a trial re-quantizes its latent at a quality and costs
the symbols (and, for a PSNR target, runs the synthesis transform). Trials estimate the file
size from the ideal code lengths instead of range coding (the range coder adds at most a
word per stream), so only the chosen quality is ever coded. A search asks for the same trial
several times, and a trial's latents can be large, so the runner keeps its latest trial
only.
"""

from __future__ import annotations

import math

import numpy as np

from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.codecs.streams import QuantizedLatents
from aecodec.imageio import PreparedImage, decoded_as_rgb
from aecodec.metrics import bpp, psnr
from aecodec.ratecontrol.search import Estimate
from aecodec.ratecontrol.targets import RateTarget


class TrialRunner:
    """Measures and estimates the target's value of one analyzed image, for :func:`~aecodec.ratecontrol.search.search_quality`.

    Args:
        codec: The codec that analyzed the image.
        latent: Its latent (:meth:`~aecodec.codecs.frozen.FrozenHyperprior.analyze`).
        target: What the search meets; selects what a trial measures.
        image: The prepared image: its size for bpp, its pixels for PSNR (only a PSNR
            search reads them).
        framing: Bytes of the file beyond its stream payloads
            (:func:`aecodec.bitstream.framing_size`), with the target's record.
    """

    def __init__(self, codec: FrozenHyperprior, latent: np.ndarray, target: RateTarget, image: PreparedImage, framing: int) -> None:
        self.codec = codec
        self.latent = latent
        self.target = target
        self.image = image
        self.framing = framing
        self._latest_quantized: tuple[float, QuantizedLatents] | None = None
        self._latest_bits: tuple[float, tuple[np.ndarray, ...]] | None = None

    def quantized(self, quality: float) -> QuantizedLatents:
        """The exact quantization at ``quality`` (the latest one is kept, not recomputed)."""
        if self._latest_quantized is None or self._latest_quantized[0] != quality:
            self._latest_quantized = None  # let the previous trial go before quantizing
            self._latest_quantized = (quality, self.codec.quantize(self.latent, quality))
        return self._latest_quantized[1]

    def measure(self, quality: float) -> float:
        """The target's value at ``quality``: decoded PSNR, or the size or bpp of the file."""
        if self.target.kind == "psnr":
            return self._decoded_psnr(self.quantized(quality), quality)
        return self._value_of_size(self._file_bytes(self._stream_bits(quality)))

    def estimator(self, quality: float) -> Estimate:
        """The image's :data:`~aecodec.ratecontrol.search.Estimate` made from the trial at
        ``quality`` (just measured, so still kept), exact at that quality."""
        reference = self.quantized(quality)
        codec, latent = self.codec, self.latent
        if self.target.kind == "psnr":
            return lambda other: self._decoded_psnr(codec.estimated_quantization(latent, reference, quality, other), other)
        trial_bits = self._stream_bits(quality)
        flush = self._file_bytes(trial_bits) - self.framing - sum(bits.sum() for bits in trial_bits) / 8  # so the estimate is exact here
        return lambda other: self._value_of_size(self.framing + flush + codec.estimated_bits(latent, reference, quality, other) / 8)

    def _stream_bits(self, quality: float) -> tuple[np.ndarray, ...]:
        if self._latest_bits is None or self._latest_bits[0] != quality:
            self._latest_bits = (quality, self.codec.symbol_bits(self.quantized(quality)))
        return self._latest_bits[1]

    def _file_bytes(self, stream_bits: tuple[np.ndarray, ...]) -> int:
        return self.framing + sum(4 * math.ceil(bits.sum() / 32) for bits in stream_bits)

    def _value_of_size(self, size: float) -> float:
        return size if self.target.kind == "size" else bpp(size, self.image.width, self.image.height)

    def _decoded_psnr(self, quantized: QuantizedLatents, quality: float) -> float:
        rgb = self.codec.reconstruct_rgb(quantized, quality, self.image.height, self.image.width)
        return psnr(self.image.rgb, decoded_as_rgb(rgb, self.image.mode))
