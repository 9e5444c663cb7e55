"""Tests of the .aec container: round trip, golden bytes, and refusal of every bad input.

Hostile files are built by hand here (``_chunk``/``_file``) rather than with the writer, so
the tests also check that the writer's output matches the spec in the package docstring.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import os
import pathlib
import random
import struct
import zlib

import container_builders as build
import pytest
from PIL import Image

import aecodec.bitstream
from aecodec.bitstream import (
    FORMAT_MAJOR,
    FORMAT_MINOR,
    SIGNATURE,
    ChunkInfo,
    Container,
    Header,
    Stream,
    framing_size,
    read_container,
    read_header,
    write_container,
)
from aecodec.errors import ChecksumError, FormatError, UnsupportedVersionError

GOLDEN = pathlib.Path(__file__).parent / "expected" / "container-v1.aec"

# The golden container: small, fixed, and using every chunk type of format 1.0.
GOLDEN_CONTAINER = Container(
    header=Header("hyperprior-q4.v1", build.SHA, 7, 5, "RGBA", 75.5),
    streams=(Stream("z", (1, 2, 1, 1), b"\x10\x20\x30"), Stream("y", (1, 4, 2, 2), bytes(range(9)))),
    symbol_crc=0xDEADBEEF,
    alpha=b"\x78\x9c\x63\x00",
    icc_profile=b"icc!",
    exif=b"Exif\x00\x00MM",
)


def _full_container() -> Container:
    return Container(
        header=Header("mbt2018-mean.q6", build.SHA, 640, 480, "RGBA", 33.33),
        streams=(
            Stream("z", (1, 192, 10, 8), bytes(range(256)) * 2),
            Stream("y", (1, 320, 40, 30), b"\xff" * 1000),
            Stream("y.escape", (0,), b""),
        ),
        symbol_crc=0x12345678,
        alpha=zlib.compress(bytes(640 * 480)),
        icc_profile=b"\x00" * 300,
        exif=b"Exif\x00\x00II*\x00",
    )


def _without_chunks(c: Container) -> Container:
    return dataclasses.replace(c, chunks=())


# --- happy paths ------------------------------------------------------------------------


def test_round_trip_keeps_every_field_and_lists_chunks():
    original = _full_container()
    blob = write_container(original)
    back = read_container(blob)
    assert _without_chunks(back) == original
    assert [c.type for c in back.chunks] == ["HEAD", "BITS", "BITS", "BITS", "SCRC", "ALPH", "iCCP", "eXIf", "AEND"]
    offset = len(SIGNATURE)
    for info in back.chunks:
        assert info.offset == offset
        assert blob[offset : offset + 4] == struct.pack(">I", info.length)
        assert blob[offset + 4 : offset + 8] == info.type.encode()
        offset += 12 + info.length
    assert offset == len(blob)
    assert back.chunks[-1].length == 0 and back.chunks[4].length == 4


def test_writer_output_matches_the_spec_byte_for_byte():
    head = build.head(model=b"hyperprior-q4.v1", mode=b"RGBA")
    expected = build.container(
        (b"HEAD", head),
        (b"BITS", build.bits(b"z", (1, 2, 1, 1), b"\x10\x20\x30")),
        (b"BITS", build.bits(b"y", (1, 4, 2, 2), bytes(range(9)))),
        (b"SCRC", b"\xde\xad\xbe\xef"),
        (b"ALPH", b"\x78\x9c\x63\x00"),
        (b"iCCP", b"icc!"),
        (b"eXIf", b"Exif\x00\x00MM"),
        (b"AEND", b""),
    )
    assert write_container(GOLDEN_CONTAINER) == expected


@pytest.mark.parametrize(
    "container",
    [
        GOLDEN_CONTAINER,
        _full_container(),
        dataclasses.replace(GOLDEN_CONTAINER, alpha=None, icc_profile=None, exif=None),
        dataclasses.replace(GOLDEN_CONTAINER, rate_target=bytes(9), header=dataclasses.replace(GOLDEN_CONTAINER.header, mode="L")),
    ],
)
def test_framing_size_is_the_written_file_beyond_its_payloads(container):
    """The framing computed from the spec equals what the writer writes around the payloads."""
    payloads = sum(len(stream.payload) for stream in container.streams)
    assert framing_size(container) == len(write_container(container)) - payloads


def test_golden_file():
    blob = write_container(GOLDEN_CONTAINER)
    if os.environ.get("AECODEC_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_bytes(blob)
    committed = GOLDEN.read_bytes()
    assert committed == blob, "format changed: bump the version, then regenerate with AECODEC_REGEN_GOLDEN=1"
    assert _without_chunks(read_container(committed)) == GOLDEN_CONTAINER


def test_optional_chunks_absent_read_back_as_none():
    back = read_container(build.minimal())
    assert (back.alpha, back.icc_profile, back.exif) == (None, None, None)
    assert back.streams == (Stream("y", (1, 2, 3), b"abc"),) and back.symbol_crc == 42
    assert back.header == Header("m1", build.SHA, 7, 5, "RGB", 75.5, (1, 0))


def test_quality_is_stored_in_hundredths():
    c = dataclasses.replace(GOLDEN_CONTAINER, header=dataclasses.replace(GOLDEN_CONTAINER.header, quality=33.333))
    assert read_container(write_container(c)).header.quality == 33.33


def test_read_header_needs_only_the_front_of_the_file():
    blob = write_container(_full_container())
    head_end = len(SIGNATURE) + 12 + read_container(blob).chunks[0].length
    assert read_header(blob) == _full_container().header
    assert read_header(blob[:head_end]) == _full_container().header
    with pytest.raises(FormatError, match="truncated"):
        read_header(blob[: head_end - 1])


def test_newer_minor_version_is_accepted_and_its_additions_ignored():
    head = build.head(minor=7, flags=0x8001, extra=b"future field")
    back = read_container(build.container((b"HEAD", head), build.BITS_OK, build.SCRC_OK, (b"fUTr", b"x"), build.AEND_OK))
    assert back.header.format_version == (1, 7)
    assert read_header(build.container((b"HEAD", head))).format_version == (1, 7)


def test_unknown_ancillary_chunk_is_skipped_but_listed():
    blob = build.container(build.HEAD_OK, (b"tIMe", b"2024"), build.BITS_OK, build.SCRC_OK, build.AEND_OK)
    back = read_container(blob)
    assert _without_chunks(back) == _without_chunks(read_container(build.minimal()))
    assert back.chunks[1] == ChunkInfo("tIMe", len(SIGNATURE) + 12 + len(build.HEAD_OK[1]), 4)


# --- refusals ----------------------------------------------------------------------------


def test_empty_input():
    for reader in (read_container, read_header):
        with pytest.raises(FormatError, match="^empty file$"):
            reader(b"")


def test_truncation_at_every_length_is_refused():
    blob = write_container(GOLDEN_CONTAINER)
    for n in range(len(blob)):
        with pytest.raises(FormatError) as info:
            read_container(blob[:n])
        assert type(info.value) is FormatError
        expected = "empty file" if n == 0 else "bad signature" if n < 8 else "truncated"
        assert expected in str(info.value), (n, str(info.value))


def test_every_single_byte_corruption_is_detected():
    blob = write_container(GOLDEN_CONTAINER)
    for pos in range(len(blob)):
        for mask in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF):
            bad = bytearray(blob)
            bad[pos] ^= mask
            try:
                read_container(bytes(bad))
            except FormatError:
                continue
            pytest.fail(f"flipping bits {mask:#04x} at offset {pos} went unnoticed")


def test_corrupted_payload_is_a_checksum_error_naming_chunk_and_offset():
    blob = bytearray(write_container(GOLDEN_CONTAINER))
    bits = read_container(bytes(blob)).chunks[2]
    blob[bits.offset + 12] ^= 0x55
    with pytest.raises(ChecksumError, match=f"BITS chunk at offset {bits.offset}"):
        read_container(bytes(blob))


def test_fields_rewritten_with_valid_crcs_never_escape_as_other_errors():
    """Checksums pass here, so the field parsers themselves meet every garbled value."""
    chunks = [(b"HEAD", build.head(model=b"abc", mode=b"LA")), (b"BITS", build.bits(b"y.e", (2, 3, 4, 5))), build.SCRC_OK, build.AEND_OK]
    rng = random.Random(1234)
    for index, (ctype, data) in enumerate(chunks):
        for pos in range(len(data)):
            for value in (0x00, 0x01, 0x05, 0x7F, 0x80, 0xFF, rng.randrange(256)):
                mutated = list(chunks)
                mutated[index] = (ctype, data[:pos] + bytes([value]) + data[pos + 1 :])
                for reader in (read_container, read_header):
                    try:
                        reader(build.container(*mutated))
                    except FormatError:
                        pass
    for _ in range(300):
        noise = SIGNATURE + rng.randbytes(rng.randrange(40))
        with pytest.raises(FormatError):
            read_container(noise)


def test_png_is_not_an_aec_file():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, format="PNG")
    for reader in (read_container, read_header):
        with pytest.raises(FormatError, match=r"^not an \.aec file \(bad signature\)$") as info:
            reader(buf.getvalue())
        assert type(info.value) is FormatError


def test_future_major_version_asks_for_an_upgrade():
    # Version 2 may lay HEAD out differently: only its first two bytes are guaranteed.
    blob = build.container((b"HEAD", b"\x02\x03whatever v2 puts here"), build.BITS_OK, build.SCRC_OK, build.AEND_OK)
    for reader in (read_container, read_header):
        with pytest.raises(UnsupportedVersionError, match=r"format version 2\.3; this aecodec reads 1\.x .* upgrade"):
            reader(blob)


def test_version_zero_and_strict_1_0_head_are_refused():
    for head in (build.head(major=0), build.head(flags=1), build.head(extra=b"\x00")):
        with pytest.raises(FormatError, match="bad HEAD chunk at offset 8"):
            read_container(build.container((b"HEAD", head), build.BITS_OK, build.SCRC_OK, build.AEND_OK))


def test_unknown_critical_chunk_is_refused_by_name():
    with pytest.raises(FormatError, match="unknown critical chunk 'FUTR'"):
        read_container(build.minimal((b"FUTR", b"")))


@pytest.mark.parametrize(
    ("width", "height"), [(100000, 100000), (0, 5), (5, 0), (65535, 65535), (65536, 1), (2**32 - 1, 1)]
)
def test_absurd_image_size_is_refused(width, height):
    blob = build.container((b"HEAD", build.head(width=width, height=height)), build.BITS_OK, build.SCRC_OK, build.AEND_OK)
    for reader in (read_container, read_header):
        with pytest.raises(FormatError, match=f"image size {width}x{height}"):
            reader(blob)


@pytest.mark.parametrize("lie", [0xFFFFFFFF, 2**31 + 1, 2**31, 2**20, 200])
@pytest.mark.parametrize("chunk_index", [0, 1, 3])
def test_chunk_length_lie_is_refused(lie, chunk_index):
    blob = bytearray(write_container(GOLDEN_CONTAINER))
    offset = read_container(bytes(blob)).chunks[chunk_index].offset
    blob[offset : offset + 4] = struct.pack(">I", lie)
    with pytest.raises(FormatError) as info:
        read_container(bytes(blob))
    assert type(info.value) is FormatError and str(info.value).startswith(("truncated", "chunk at offset"))


@pytest.mark.parametrize("dup", [build.HEAD_OK, build.SCRC_OK, (b"ALPH", b"a"), (b"iCCP", b"i"), (b"eXIf", b"e")])
def test_duplicate_singleton_chunk_is_refused(dup):
    blob = build.container(build.HEAD_OK, build.BITS_OK, build.SCRC_OK, (b"ALPH", b"a"), (b"iCCP", b"i"), (b"eXIf", b"e"), dup, build.AEND_OK)
    with pytest.raises(FormatError, match=f"duplicate {dup[0].decode()} chunk"):
        read_container(blob)


def test_duplicate_stream_name_is_refused():
    with pytest.raises(FormatError, match="duplicate stream name 'y'"):
        read_container(build.minimal(build.BITS_OK))


@pytest.mark.parametrize("tail", [b"\x00", build.chunk(b"AEND", b""), build.chunk(b"tEXt", b"hi")])
def test_trailing_data_after_aend_is_refused(tail):
    with pytest.raises(FormatError, match="^trailing data after AEND"):
        read_container(build.minimal() + tail)


@pytest.mark.parametrize(
    "bits",
    [
        build.bits(shape=(2**24, 2**24, 2**24, 2**24)),
        build.bits(shape=(2**24 + 1,)),
        build.bits(shape=(2**24, 2**24)),
        build.bits(shape=(1, 1, 1, 1, 1)),
        build.bits(shape=(), payload=b""),
        build.bits(shape=(1, 2, 3), ndim=200),
        build.bits(name=b""),
        build.bits(name=b"y\xff"),
        build.bits(name=b"y name"),
    ],
)
def test_malformed_bits_chunk_is_refused(bits):
    with pytest.raises(FormatError, match="bad BITS chunk at offset"):
        read_container(build.container(build.HEAD_OK, (b"BITS", bits), build.SCRC_OK, build.AEND_OK))


@pytest.mark.parametrize(
    "head",
    [build.head(model=b"mod\xe9le"), build.head(model=b""), build.head(model=b"Upper"), build.head(model=b"x" * 65),
     build.head(mode=b"RGB\x00"), build.head(mode=b"\xff"), build.head(mode=b"TOOLONGMO"), build.head(quality=99),
     build.head(quality=10001), b"\x01", b"\x01\x00\x40abc", build.head()[:-1]],
)
def test_malformed_head_chunk_is_refused(head):
    for reader in (read_container, read_header):
        with pytest.raises(FormatError, match="bad HEAD chunk at offset 8"):
            reader(build.container((b"HEAD", head), build.BITS_OK, build.SCRC_OK, build.AEND_OK))


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (SIGNATURE, "truncated file: no chunks"),
        (build.container(build.BITS_OK, build.HEAD_OK, build.SCRC_OK, build.AEND_OK), "first chunk must be HEAD, found 'BITS'"),
        (build.container(build.HEAD_OK, build.BITS_OK, build.SCRC_OK), "truncated file: no AEND"),
        (build.container(build.HEAD_OK, build.BITS_OK, build.AEND_OK), "missing SCRC chunk"),
        (build.container(build.HEAD_OK, build.SCRC_OK, build.AEND_OK), "no BITS chunk"),
        (build.container(build.HEAD_OK, build.BITS_OK, (b"SCRC", b"\x00" * 5), build.AEND_OK), "bad SCRC chunk"),
        (build.container(build.HEAD_OK, build.BITS_OK, build.SCRC_OK, (b"AEND", b"x")), "bad AEND chunk"),
        (build.container(build.HEAD_OK, (b"BI7S", b""), build.AEND_OK), "invalid chunk type"),
        (build.container(build.HEAD_OK, *[(b"tIMe", b"")] * 4095, build.BITS_OK, build.SCRC_OK, build.AEND_OK), "too many chunks"),
    ],
)
def test_structural_errors(blob, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(")) as info:
        read_container(blob)
    assert type(info.value) is FormatError


def test_bad_crc_in_read_header_is_a_checksum_error():
    blob = bytearray(build.minimal())
    blob[10 + 8] ^= 1
    with pytest.raises(ChecksumError, match="checksum mismatch in HEAD chunk at offset 8"):
        read_header(bytes(blob))


# --- writer validation -------------------------------------------------------------------


def _with_header(**changes) -> Container:
    return dataclasses.replace(GOLDEN_CONTAINER, header=dataclasses.replace(GOLDEN_CONTAINER.header, **changes))


@pytest.mark.parametrize(
    "container",
    [
        _with_header(weights_sha256_prefix=build.SHA[:7]),
        _with_header(weights_sha256_prefix="0123456789abcdef"),
        _with_header(quality=0.99),
        _with_header(quality=100.01),
        _with_header(quality=float("nan")),
        _with_header(model_id="Has Space"),
        _with_header(model_id="x" * 65),
        _with_header(mode=""),
        _with_header(mode="RGBé"),
        _with_header(width=0),
        _with_header(width=100000, height=100000),
        _with_header(height=True),
        _with_header(format_version=(2, 0)),
        _with_header(format_version=(1, 1)),
        dataclasses.replace(GOLDEN_CONTAINER, streams=()),
        dataclasses.replace(GOLDEN_CONTAINER, streams=(Stream("y", (1,), b""), Stream("y", (2,), b""))),
        dataclasses.replace(GOLDEN_CONTAINER, streams=(Stream("y", (1, 1, 1, 1, 1), b""),)),
        dataclasses.replace(GOLDEN_CONTAINER, streams=(Stream("y", (2**24 + 1,), b""),)),
        dataclasses.replace(GOLDEN_CONTAINER, streams=(Stream("", (1,), b""),)),
        dataclasses.replace(GOLDEN_CONTAINER, streams=(Stream("y", (1,), "text"),)),
        dataclasses.replace(GOLDEN_CONTAINER, symbol_crc=-1),
        dataclasses.replace(GOLDEN_CONTAINER, symbol_crc=2**32),
        dataclasses.replace(GOLDEN_CONTAINER, alpha="not bytes"),
    ],
)
def test_writer_refuses_unrepresentable_values(container):
    with pytest.raises(ValueError):
        write_container(container)


def test_writer_ignores_the_chunk_table():
    stale = dataclasses.replace(GOLDEN_CONTAINER, chunks=(ChunkInfo("XXXX", 0, 0),))
    assert write_container(stale) == write_container(GOLDEN_CONTAINER)


def test_public_constants():
    assert (FORMAT_MAJOR, FORMAT_MINOR) == (1, 0)
    assert SIGNATURE == b"\x8bAEC\r\n\x1a\n"
    assert GOLDEN_CONTAINER.header.format_version == (1, 0)


def test_bitstream_package_imports_neither_torch_nor_numpy():
    package_dir = pathlib.Path(aecodec.bitstream.__file__).parent
    sources = sorted(package_dir.glob("**/*.py"))
    assert len(sources) >= 3
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            assert not {"torch", "numpy"} & set(roots), f"{source.name} imports {roots}"
