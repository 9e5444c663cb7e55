"""Pillow plugin: ``Image.open`` and ``Image.save`` for ``.aec`` files.

Nothing is registered on import; call :func:`register_opener` once (calling it again is
harmless)::

    from aecodec.pillow_plugin import register_opener
    register_opener()
    with Image.open("photo.aec") as im:     # reads only the signature and HEAD chunk
        im.load()                           # decodes now (needs the weights)
    im.save("copy.aec", quality=60)         # or im.save(buffer, format="AEC", quality=60)

Registered: format "AEC", extension ".aec", MIME type "image/x-aec" (an unofficial
``x-`` type: nothing is registered with IANA) and an accept check on the 8-byte signature.

Why a Python decoder: opening must stay cheap (``Image.open`` is used to sniff size and
mode), so ``_open`` parses only the HEAD chunk and declares one tile ``("aec", ...)``.
Decoding happens in :class:`AecDecoder`, a ``PyDecoder`` with ``pulls_fd`` registered via
``Image.register_decoder`` — the public, documented extension point that Pillow's own BLP
plugin uses. ``ImageFile.load`` stays in charge of allocating the core, closing files it
opened, ``LOAD_TRUNCATED_IMAGES`` and retry after failure, so nothing here depends on
private ``load()`` internals (``_im``, ``_exclusive_fp``) that changed between Pillow 10
and 13. The decoder reads the whole file, runs :func:`aecodec.pipeline.decompress` and
copies the pixels in with ``set_as_raw``; the ICC profile and EXIF it finds are handed
back through the tile's argument and appear in ``info`` after ``load()``.

Errors: a file whose signature matches but whose HEAD is corrupt or truncated raises
``SyntaxError`` in ``_open``, which ``Image.open`` reports as ``UnidentifiedImageError``
(Pillow's convention; set ``Image.WARN_POSSIBLE_FORMATS`` to see the reason). A file
needing a newer major format version raises ``OSError`` with the upgrade message, as
Pillow plugins do for recognised but unsupported variants. Damage beyond HEAD is only
seen when decoding: ``load()`` raises ``OSError`` chained to the aecodec error. ``verify()``
checks every chunk's structure and CRC without decoding pixels. Saving raises ``OSError``
for anything aecodec refuses (bad quality, unusable mode); Pillow then removes a file it
created.
"""

from __future__ import annotations

import struct
from typing import IO, Any

from PIL import Image, ImageFile

from aecodec import bitstream
from aecodec.bitstream.spec import CHUNK_OVERHEAD, CHUNK_PREFIX
from aecodec.codecs.quality import DEFAULT_QUALITY
from aecodec.errors import AecodecError, FormatError, UnsupportedVersionError
from aecodec.imageio import MODES

FORMAT = "AEC"
EXTENSION = ".aec"
MIME_TYPE = "image/x-aec"
DECODER = "aec"

# A 1.0 HEAD holds at most ~100 bytes; minor versions may append fields. The cap stops a
# corrupt length field from making ``_open`` allocate gigabytes before the CRC check.
_MAX_HEAD_BYTES = 1 << 16
_CRC_BYTES = CHUNK_OVERHEAD - CHUNK_PREFIX


def _accept(prefix: bytes) -> bool:
    """Claims a file by its 8-byte signature alone, as Pillow asks of ``accept`` hooks."""
    return prefix[: len(bitstream.SIGNATURE)] == bitstream.SIGNATURE


def _tile(size: tuple[int, int], args: Any) -> Any:
    """A one-tile descriptor covering the image (``_Tile`` on Pillow ≥ 11, tuple before)."""
    tile_type = getattr(ImageFile, "_Tile", None)
    extents = (0, 0, *size)
    return tile_type(DECODER, extents, 0, args) if tile_type else (DECODER, extents, 0, args)


class AecImageFile(ImageFile.ImageFile):
    """An ``.aec`` file opened by Pillow: header parsed at open, pixels decoded on load."""

    format = FORMAT
    format_description = "aecodec learned image codec"

    def _open(self) -> None:
        assert self.fp is not None
        start = self.fp.read(len(bitstream.SIGNATURE) + CHUNK_PREFIX)
        if not _accept(start):
            raise SyntaxError("not an .aec file (bad signature)")
        if len(start) < len(bitstream.SIGNATURE) + CHUNK_PREFIX:
            raise SyntaxError("truncated .aec file: no HEAD chunk")
        (length,) = struct.unpack(">I", start[len(bitstream.SIGNATURE) : len(bitstream.SIGNATURE) + 4])
        if length > _MAX_HEAD_BYTES:
            raise SyntaxError(f"corrupt .aec file: HEAD chunk declares {length} bytes")
        try:
            header = bitstream.read_header(start + self.fp.read(length + _CRC_BYTES))
        except UnsupportedVersionError as exc:
            raise OSError(str(exc)) from exc
        except FormatError as exc:
            raise SyntaxError(f"corrupt .aec file: {exc}") from exc
        if header.mode not in MODES:
            raise SyntaxError(f"corrupt .aec file: unsupported image mode {header.mode!r}")
        self._size = (header.width, header.height)
        if isinstance(getattr(Image.Image, "mode", None), property):
            self._mode = header.mode
        else:  # Pillow 10.0, where ``mode`` was still a plain attribute.
            self.mode = header.mode  # type: ignore[misc]
        self.info["quality"] = header.quality
        self.info["model"] = header.model_id
        # Filled by AecDecoder during load(); copied into ``info`` by load_end().
        self._decoded_info: dict[str, bytes] = {}
        self.tile = [_tile(self.size, (self._decoded_info,))]

    def load_end(self) -> None:
        """Publishes the metadata the decoder found (ICC profile, EXIF)."""
        self.info.update(self._decoded_info)

    def verify(self) -> None:
        """Checks the container's structure and every CRC without decoding pixels."""
        assert self.fp is not None
        self.fp.seek(0)
        try:
            bitstream.read_container(self.fp.read())
        except FormatError as exc:
            raise SyntaxError(f"corrupt .aec file: {exc}") from exc
        super().verify()


class AecDecoder(ImageFile.PyDecoder):
    """Decodes a whole ``.aec`` file at once; the learned codec has no streaming mode."""

    _pulls_fd = True

    def decode(self, buffer: Any) -> tuple[int, int]:
        """Reads the file from its start, decodes it and fills the image core.

        Returns:
            ``(-1, 0)``: done, no error, as the PyDecoder protocol requires.

        Raises:
            OSError: The file is damaged past its header, or the weights it names are
                missing; the aecodec error is chained as the cause.
        """
        from aecodec import pipeline  # deferred: pulls in numpy and torch

        assert self.fd is not None
        try:
            image = pipeline.decompress(self.fd.read())
        except AecodecError as exc:
            raise OSError(f"cannot decode .aec image: {exc}") from exc
        if image.size != (self.state.xsize, self.state.ysize):
            raise OSError("cannot decode .aec image: decoded size differs from the header")
        if image.mode != self.mode:
            image = image.convert(self.mode)
        self.set_as_raw(image.tobytes(), self.mode)
        sink: dict[str, bytes] = self.args[0] if self.args else {}
        sink.update({k: image.info[k] for k in ("icc_profile", "exif") if image.info.get(k)})
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Encodes ``im`` with :func:`aecodec.pipeline.encode` (options: quality, model)."""
    from aecodec import pipeline  # deferred: pulls in numpy and torch

    quality = im.encoderinfo.get("quality", DEFAULT_QUALITY)
    try:
        data = pipeline.encode(im, quality=quality, model=im.encoderinfo.get("model")).data
    except AecodecError as exc:
        raise OSError(f"cannot write image as AEC: {exc}") from exc
    fp.write(data)


def register_opener() -> None:
    """Registers the AEC format with Pillow (open, save, extension, MIME type, decoder).

    Explicit rather than on import so that importing aecodec never changes global Pillow
    state behind the caller's back. Idempotent: Pillow's registries are dicts keyed by
    format id, and ``register_open`` does not duplicate an id already listed.
    """
    Image.register_open(FORMAT, AecImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME_TYPE)
    Image.register_decoder(DECODER, AecDecoder)


__all__ = ["AecDecoder", "AecImageFile", "register_opener"]
