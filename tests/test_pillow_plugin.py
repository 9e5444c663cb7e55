"""The Pillow plugin: registration, header-only open, lazy decode, save, and clean errors."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image, UnidentifiedImageError

from aecodec import bitstream, pipeline
from aecodec.errors import FormatError
from aecodec.metrics import psnr
from aecodec.pillow_plugin import register_opener

W, H = 64, 48


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    register_opener()


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return synthetic_photo(W, H)


@pytest.fixture(scope="module")
def aec_bytes(rgb) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="AEC", quality=75)
    return buffer.getvalue()


def test_bytesio_round_trip(rgb, aec_bytes):
    assert aec_bytes.startswith(bitstream.SIGNATURE)
    with Image.open(io.BytesIO(aec_bytes)) as im:
        assert im.format == "AEC"
        assert (im.size, im.mode) == ((W, H), "RGB")
        assert im.info["quality"] == 75
        decoded = np.asarray(im)
    assert decoded.shape == rgb.shape
    assert psnr(rgb, decoded) > 20


def test_open_reads_header_only(monkeypatch, aec_bytes):
    def refuse(*args, **kwargs):
        raise FormatError("decompress must not run during open")

    monkeypatch.setattr(pipeline, "decompress", refuse)
    with Image.open(io.BytesIO(aec_bytes)) as im:
        assert (im.size, im.mode) == ((W, H), "RGB")
        assert im.info["model"]
        with pytest.raises(OSError, match="must not run during open"):
            im.load()


def test_load_decodes_lazily_and_once(monkeypatch, aec_bytes):
    calls = []
    real = pipeline.decompress

    def counting(data, *args, **kwargs):
        calls.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(pipeline, "decompress", counting)
    with Image.open(io.BytesIO(aec_bytes)) as im:
        assert calls == []
        im.load()
        assert calls == [len(aec_bytes)]
        pixels = np.asarray(im)
        assert calls == [len(aec_bytes)]
    assert np.array_equal(pixels, np.asarray(pipeline.decompress(aec_bytes)))


def test_save_and_open_by_path(tmp_path: Path, rgb):
    path = tmp_path / "x.aec"
    Image.fromarray(rgb).save(path, quality=50)
    assert path.read_bytes().startswith(bitstream.SIGNATURE)
    with Image.open(path) as im:
        assert im.format == "AEC" and im.info["quality"] == 50
        assert psnr(rgb, np.asarray(im)) > 20


def test_quality_changes_size(rgb):
    sizes = {}
    for quality in (10, 90):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="AEC", quality=quality)
        sizes[quality] = len(buffer.getvalue())
    assert sizes[10] < sizes[90]


def test_rgba_alpha_is_exact(rgb):
    alpha = np.tile(np.linspace(0, 255, W).astype(np.uint8), (H, 1))
    alpha[::7, ::5] = 3
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buffer, format="AEC", quality=60)
    with Image.open(io.BytesIO(buffer.getvalue())) as im:
        assert im.mode == "RGBA"
        decoded = np.asarray(im)
    assert np.array_equal(decoded[..., 3], alpha)


def test_gray_mode_survives(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).convert("L").save(buffer, format="AEC")
    with Image.open(io.BytesIO(buffer.getvalue())) as im:
        assert im.mode == "L" and im.info["quality"] == 75
        assert np.asarray(im).shape == (H, W)


def test_icc_profile_appears_after_load(rgb):
    icc = b"\x00fake icc profile bytes" * 4
    image = Image.fromarray(rgb)
    image.info["icc_profile"] = icc
    buffer = io.BytesIO()
    image.save(buffer, format="AEC")
    with Image.open(io.BytesIO(buffer.getvalue())) as im:
        assert "icc_profile" not in im.info
        im.load()
        assert im.info["icc_profile"] == icc


def test_registries():
    assert Image.registered_extensions()[".aec"] == "AEC"
    assert Image.MIME["AEC"] == "image/x-aec"
    assert "AEC" in Image.OPEN and "AEC" in Image.SAVE


def test_register_twice_is_harmless(aec_bytes):
    register_opener()
    register_opener()
    assert Image.ID.count("AEC") == 1
    with Image.open(io.BytesIO(aec_bytes)) as im:
        assert im.size == (W, H)


def test_import_does_not_register():
    code = (
        "import aecodec, aecodec.pillow_plugin\n"
        "from PIL import Image\n"
        "Image.init()\n"
        "assert '.aec' not in Image.registered_extensions(), 'registered on import'\n"
        "assert 'AEC' not in Image.OPEN\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:12],  # cut inside HEAD
        lambda d: d[:20] + bytes([d[20] ^ 0xFF]) + d[21:],  # HEAD CRC mismatch
        lambda d: d[:8] + b"\x7f\xff\xff\xff" + d[12:],  # absurd HEAD length
        lambda d: d[:8],  # signature only
    ],
    ids=["truncated-head", "head-bitflip", "huge-length", "signature-only"],
)
def test_corrupt_header_is_unidentified(aec_bytes, damage):
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(damage(aec_bytes)))


@pytest.mark.parametrize(
    "damage",
    [lambda d: d[:-30], lambda d: d[:-20] + bytes([d[-20] ^ 0x01]) + d[-19:]],
    ids=["truncated-body", "body-bitflip"],
)
def test_corrupt_body_fails_cleanly_on_load(aec_bytes, damage):
    with Image.open(io.BytesIO(damage(aec_bytes))) as im:
        assert im.size == (W, H)
        with pytest.raises(OSError, match="cannot decode .aec image"):
            im.load()
    with Image.open(io.BytesIO(damage(aec_bytes))) as im, pytest.raises(SyntaxError):
        im.verify()


def test_save_refusal_is_oserror():
    with pytest.raises(OSError, match="quality"):
        Image.new("RGB", (8, 8)).save(io.BytesIO(), format="AEC", quality=500)


def test_newer_major_version_is_oserror_with_reason(aec_bytes):
    (length,) = struct.unpack(">I", aec_bytes[8:12])
    head = b"HEAD" + bytes([2]) + aec_bytes[17 : 16 + length]
    forged = aec_bytes[:12] + head + struct.pack(">I", zlib.crc32(head)) + aec_bytes[20 + length :]
    with pytest.raises(OSError, match="upgrade") as caught:
        Image.open(io.BytesIO(forged))
    assert not isinstance(caught.value, UnidentifiedImageError)
