"""The browser's .aec reader (export/web/container.js) agrees with aecodec.bitstream's.

Every case is read by both readers, ``read_container`` and ``read_header`` alike: the JS
must give exactly Python's fields and bytes, or raise the same error class with the same
message. The cases are real files written by aecodec, the golden files, every truncation
and byte flip of the golden container, chunks that lie about their length, fields garbled
under valid CRCs, hand-built malformed files and random noise.
"""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import container_builders as build
import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image
from web_support import assert_same_outcomes, python_outcome, run_node

import aecodec
from aecodec.bitstream import SIGNATURE, Container, Header, read_container, read_header

EXPECTED = Path(__file__).resolve().parent / "expected"
GOLDEN = EXPECTED / "container-v1.aec"


def _header_fields(header: Header) -> dict:
    return {
        "modelId": header.model_id,
        "weightsSha256Prefix": header.weights_sha256_prefix,
        "width": header.width,
        "height": header.height,
        "mode": header.mode,
        "quality": header.quality,
        "formatVersion": list(header.format_version),
    }


def _container_fields(container: Container) -> dict:
    return {
        "header": _header_fields(container.header),
        "streams": [{"name": s.name, "shape": list(s.shape), "payload": s.payload} for s in container.streams],
        "symbolCrc": container.symbol_crc,
        "alpha": container.alpha,
        "iccProfile": container.icc_profile,
        "exif": container.exif,
        "rateTarget": container.rate_target,
        "chunks": [{"type": c.type, "offset": c.offset, "length": c.length} for c in container.chunks],
    }


def _python_read_container(data: bytes) -> dict:
    return python_outcome(lambda: _container_fields(read_container(data)))


def _python_read_header(data: bytes) -> dict:
    return python_outcome(lambda: _header_fields(read_header(data)))


def assert_readers_agree(blobs: dict[str, bytes]) -> None:
    """Both JS readers give Python's outcome on every blob (one Node run for all)."""
    labels = [f"{function} {label}" for function in ("readContainer", "readHeader") for label in blobs]
    calls = [(function, [blob]) for function in ("readContainer", "readHeader") for blob in blobs.values()]
    expected = [_python_read_container(blob) for blob in blobs.values()]
    expected += [_python_read_header(blob) for blob in blobs.values()]
    assert_same_outcomes(labels, expected, run_node("container.js", calls))


# --- the cases ---------------------------------------------------------------------------


def _icc_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def real_files() -> dict[str, bytes]:
    """Small files written by aecodec: RGB, gray, RGBA, ICC + EXIF, and a size target."""
    rgb = synthetic_photo(40, 24, seed=3)
    rgba = np.dstack([rgb, np.linspace(0, 255, 40 * 24).reshape(24, 40).astype(np.uint8)])
    exif = Image.Exif()
    exif[0x010F] = "aecodec web test"
    tagged = io.BytesIO()
    Image.fromarray(rgb).save(tagged, "PNG", icc_profile=_icc_profile(), exif=exif.tobytes())
    tagged.seek(0)
    with Image.open(tagged) as image:
        icc_exif = aecodec.compress(image, quality=30)
    return {
        "rgb q75": aecodec.compress(rgb, quality=75),
        "gray q12.34": aecodec.compress(Image.fromarray(rgb).convert("L"), quality=12.34),
        "rgba q100": aecodec.compress(Image.fromarray(rgba, "RGBA"), quality=100),
        "icc+exif q30": icc_exif,
        "size target": aecodec.compress(rgb, size=300),
    }


def test_real_files_read_the_same(real_files):
    containers = {label: read_container(blob) for label, blob in real_files.items()}
    # The cases cover what they claim to: alpha, ICC, EXIF, a rate target, a gray mode.
    assert containers["rgba q100"].alpha and containers["icc+exif q30"].icc_profile
    assert containers["icc+exif q30"].exif and containers["size target"].rate_target
    assert containers["gray q12.34"].header.mode == "L"
    assert_readers_agree(real_files)


def test_golden_files_read_the_same():
    golden = {path.name: path.read_bytes() for path in sorted(EXPECTED.glob("*.aec"))}
    assert len(golden) >= 6
    assert_readers_agree(golden)


def test_every_truncation_and_byte_flip_of_the_golden_container():
    blob = GOLDEN.read_bytes()
    cases = {f"first {n} bytes": blob[:n] for n in range(len(blob))}
    for pos in range(len(blob)):
        for mask in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF):
            bad = bytearray(blob)
            bad[pos] ^= mask
            cases[f"byte {pos} ^ {mask:#04x}"] = bytes(bad)
    assert_readers_agree(cases)


def test_chunks_that_lie_about_their_length():
    blob = GOLDEN.read_bytes()
    cases = {}
    for info in read_container(blob).chunks:
        for lie in (0xFFFFFFFF, 2**31 + 1, 2**31, 2**20, 200, info.length + 1, max(info.length - 1, 0), 0):
            bad = bytearray(blob)
            bad[info.offset : info.offset + 4] = struct.pack(">I", lie)
            cases[f"{info.type} at {info.offset} says {lie}"] = bytes(bad)
    assert_readers_agree(cases)


def test_fields_garbled_under_valid_crcs():
    """Checksums pass here, so the field parsers themselves meet every garbled value."""
    chunks = [(b"HEAD", build.head(model=b"abc", mode=b"LA")), (b"BITS", build.bits(b"y.e", (2, 3, 4, 5))), build.SCRC_OK, build.AEND_OK]
    rng = random.Random(1234)
    cases = {}
    for index, (ctype, data) in enumerate(chunks):
        for pos in range(len(data)):
            for value in (0x00, 0x01, 0x05, 0x22, 0x27, 0x5C, 0x7F, 0x80, 0xA0, 0xAD, 0xE9, 0xFF, rng.randrange(256)):
                mutated = list(chunks)
                mutated[index] = (ctype, data[:pos] + bytes([value]) + data[pos + 1 :])
                cases[f"{ctype.decode()} byte {pos} = {value:#04x}"] = build.container(*mutated)
    assert_readers_agree(cases)


def _hand_built() -> dict[str, bytes]:
    cases = {
        "empty": b"",
        "signature only": SIGNATURE,
        "short signature": SIGNATURE[:5],
        "minimal": build.minimal(),
        "newer minor with extras": build.container((b"HEAD", build.head(minor=7, flags=3, extra=b"new")), build.BITS_OK, build.SCRC_OK, build.AEND_OK),
        "future major": build.container((b"HEAD", b"\x02\x03whatever v2 puts here"), build.BITS_OK, build.SCRC_OK, build.AEND_OK),
        "unknown ancillary": build.minimal((b"tIMe", b"12:00"), (b"zzzz", b"")),
        "unknown critical": build.minimal((b"FUTR", b"")),
        "duplicate stream": build.minimal(build.BITS_OK),
        "first chunk BITS": build.container(build.BITS_OK, build.HEAD_OK, build.SCRC_OK, build.AEND_OK),
        "no AEND": build.container(build.HEAD_OK, build.BITS_OK, build.SCRC_OK),
        "no SCRC": build.container(build.HEAD_OK, build.BITS_OK, build.AEND_OK),
        "no BITS": build.container(build.HEAD_OK, build.SCRC_OK, build.AEND_OK),
        "SCRC of 5 bytes": build.container(build.HEAD_OK, build.BITS_OK, (b"SCRC", b"\x00" * 5), build.AEND_OK),
        "AEND with data": build.container(build.HEAD_OK, build.BITS_OK, build.SCRC_OK, (b"AEND", b"x")),
        "invalid type": build.container(build.HEAD_OK, (b"BI7S", b""), build.AEND_OK),
        "type with quote": build.container(build.HEAD_OK, (b"a'b\\", b""), build.AEND_OK),
        "type with both quotes": build.container(build.HEAD_OK, (b"a'\"\n", b""), build.AEND_OK),
        "4096 chunks": build.container(build.HEAD_OK, *[(b"tIMe", b"")] * 4092, build.BITS_OK, build.SCRC_OK, build.AEND_OK),
        "4097 chunks": build.container(build.HEAD_OK, *[(b"tIMe", b"")] * 4095, build.BITS_OK, build.SCRC_OK, build.AEND_OK),
        "bad HEAD crc": build.minimal()[:18] + bytes([build.minimal()[18] ^ 1]) + build.minimal()[19:],
        "png": _png(),
    }
    for tail in (b"\x00", build.chunk(b"AEND", b""), build.chunk(b"tEXt", b"hi")):
        cases[f"trailing {tail!r}"] = build.minimal() + tail
    for dup in (build.HEAD_OK, build.SCRC_OK, (b"ALPH", b"a"), (b"iCCP", b"i"), (b"eXIf", b"e"), (b"tRGT", b"t")):
        everything = (build.HEAD_OK, build.BITS_OK, build.SCRC_OK, (b"ALPH", b"a"), (b"iCCP", b"i"), (b"eXIf", b"e"), (b"tRGT", b"t"))
        cases[f"duplicate {dup[0]!r}"] = build.container(*everything, dup, build.AEND_OK)
    for width, height in [(100000, 100000), (0, 5), (5, 0), (65535, 65535), (65536, 1), (2**32 - 1, 1), (16384, 16384)]:
        cases[f"size {width}x{height}"] = build.container((b"HEAD", build.head(width=width, height=height)), build.BITS_OK, build.SCRC_OK, build.AEND_OK)
    bits = [
        build.bits(shape=(2**24, 2**24, 2**24, 2**24)), build.bits(shape=(2**24 + 1,)), build.bits(shape=(2**24, 2**24)),
        build.bits(shape=(2**16, 2**16)), build.bits(shape=(2**16, 2**16 + 1)), build.bits(shape=(0, 2**24, 2**24)),
        build.bits(shape=(1, 1, 1, 1, 1)), build.bits(shape=(), payload=b""), build.bits(shape=(1, 2, 3), ndim=200),
        build.bits(shape=(1, 2, 3), ndim=4), build.bits(name=b""), build.bits(name=b"y\xff"), build.bits(name=b"y name"),
        build.bits(name=b"x" * 33), build.bits(name=b"it's"), build.bits(shape=(5,), payload=b""),
    ]
    for index, data in enumerate(bits):
        cases[f"BITS #{index}"] = build.container(build.HEAD_OK, (b"BITS", data), build.SCRC_OK, build.AEND_OK)
    heads = [
        build.head(model=b"mod\xe9le"), build.head(model=b""), build.head(model=b"Upper"), build.head(model=b"x" * 65),
        build.head(model=b'"q"'), build.head(model=b"a\tb\n\r\\"), build.head(mode=b"RGB\x00"), build.head(mode=b"\xff"),
        build.head(mode=b"\xa0\xad\x7f\x9f"), build.head(mode=b"TOOLONGMO"), build.head(quality=99), build.head(quality=10001),
        build.head(quality=65535), build.head(quality=0), build.head(flags=0x00A0), build.head(major=0, minor=9), build.head(extra=b"\x00\x01"),
        build.head(major=0, model=b""), b"\x00\x00", build.head(major=0)[:2], build.head(major=3, model=b""), b"\x02",
        build.head(minor=1, flags=0x8001), build.head(minor=1, extra=b"\x00"), build.head(minor=255, flags=0xFFFF, extra=b"x" * 300),
        b"", b"\x01", b"\x01\x00\x40abc", build.head()[:-1], build.head()[:12], build.head()[:20],
    ]
    for index, data in enumerate(heads):
        cases[f"HEAD #{index}"] = build.container((b"HEAD", data), build.BITS_OK, build.SCRC_OK, build.AEND_OK)
    return cases


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_hand_built_files_read_the_same():
    assert_readers_agree(_hand_built())


def test_noise_reads_the_same():
    rng = random.Random(99)
    cases = {f"noise {index}": SIGNATURE + rng.randbytes(rng.randrange(40)) for index in range(300)}
    head = build.chunk(*build.HEAD_OK)
    cases |= {f"HEAD + noise {index}": SIGNATURE + head + rng.randbytes(rng.randrange(60)) for index in range(100)}
    assert_readers_agree(cases)


def test_the_reader_refuses_what_is_not_bytes():
    outcomes = run_node("container.js", [("readContainer", ["not bytes"]), ("readHeader", [[1, 2]])])
    assert [outcome["error"][0] for outcome in outcomes] == ["TypeError", "TypeError"]
