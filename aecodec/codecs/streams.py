"""What the codec produces: an image's symbols, and those symbols as the container's named streams.

A coded image is the streams "z" and "y", plus "z.escape" and "y.escape" holding
out-of-table symbol values when there are any (an absent escape stream means none, which
saves its framing in every file without escapes). The streams are
:class:`aecodec.bitstream.Stream` values, the container's own type, so the codec's output is
stored and read back without conversion.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from aecodec.bitstream import Stream
from aecodec.errors import FormatError

STREAM_NAMES = frozenset({"z", "y", "z.escape", "y.escape"})


@dataclass(frozen=True)
class QuantizedLatents:
    """Integer symbols of one image at one quality, and the exact entropy parameters.

    Attributes:
        z_hat: Hyper-latent symbols (N, h, w).
        y_symbols: Latent symbols round(y_g − μ) (M, H/16, W/16), rounded by
            :func:`aecodec.codecs.rounding.round_symbols` with the quality's dead zone.
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
        streams: "z", "y" and the escape streams there are, in this order.
        symbol_crc: CRC-32 of the z symbols followed by the y symbols (int32 little-endian).
    """

    streams: tuple[Stream, ...]
    symbol_crc: int


@dataclass(frozen=True)
class UnpackedStreams:
    """The streams of a :class:`CodedLatents`, by role, with the escape values unpacked.

    Attributes:
        z_shape: Shape of the hyper-latent symbols.
        z_bytes: Range-coded hyper-latent.
        z_escapes: Hyper-latent escape values (int64, possibly empty).
        y_shape: Shape of the latent symbols.
        y_bytes: Range-coded latent.
        y_escapes: Latent escape values (int64, possibly empty).
    """

    z_shape: tuple[int, ...]
    z_bytes: bytes
    z_escapes: np.ndarray
    y_shape: tuple[int, ...]
    y_bytes: bytes
    y_escapes: np.ndarray


def symbol_crc(*symbol_arrays: np.ndarray) -> int:
    """CRC-32 over the given integer symbol arrays, in order, as int32 little-endian."""
    crc = 0
    for symbols in symbol_arrays:
        crc = zlib.crc32(np.ascontiguousarray(symbols, dtype="<i4"), crc)  # the buffer itself: no bytes copy
    return crc


def pack(z_hat: np.ndarray, z_bytes: bytes, z_escapes: np.ndarray, y_symbols: np.ndarray, y_bytes: bytes, y_escapes: np.ndarray) -> CodedLatents:
    """The coded latents of range-coded symbols and their escape values (big-endian int32)."""
    streams = [Stream("z", tuple(z_hat.shape), z_bytes), Stream("y", tuple(y_symbols.shape), y_bytes)]
    for name, escapes in (("z.escape", z_escapes), ("y.escape", y_escapes)):
        if len(escapes):
            streams.append(Stream(name, (len(escapes),), np.asarray(escapes, dtype=">i4").tobytes()))
    return CodedLatents(streams=tuple(streams), symbol_crc=symbol_crc(z_hat, y_symbols))


def unpack(coded: CodedLatents) -> UnpackedStreams:
    """Inverse of :func:`pack`, up to the range coding.

    Raises:
        FormatError: An unknown or missing stream, or a malformed escape stream.
    """
    by_name = {stream.name: stream for stream in coded.streams}
    unknown = set(by_name) - STREAM_NAMES
    if unknown:
        raise FormatError(f"unknown streams for this model: {', '.join(sorted(unknown))}")
    try:
        z, y = by_name["z"], by_name["y"]
    except KeyError as exc:
        raise FormatError(f"missing stream {exc}") from exc
    return UnpackedStreams(
        z_shape=tuple(z.shape),
        z_bytes=z.payload,
        z_escapes=_escape_values(by_name.get("z.escape")),
        y_shape=tuple(y.shape),
        y_bytes=y.payload,
        y_escapes=_escape_values(by_name.get("y.escape")),
    )


def _escape_values(stream: Stream | None) -> np.ndarray:
    if stream is None:
        return np.zeros(0, dtype=np.int64)
    if len(stream.shape) != 1 or len(stream.payload) != 4 * stream.shape[0]:
        raise FormatError("malformed escape stream")
    return np.frombuffer(stream.payload, dtype=">i4").astype(np.int64)
