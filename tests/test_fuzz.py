"""Robustness of the decode path against hostile files, and the fuzz harness that checks it.

``aecodec.info`` and ``aecodec.decompress`` may only raise aecodec's own errors, quickly and
without allocating in proportion to what a file declares. A short fixed-seed run of
``benchmarks/fuzz.py`` must find nothing; the targeted tests below build CRC-valid files that
lie in one place each (so they get past the container's checksums) and pin the exact error.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import pytest
from tests_support import loaded_script

import aecodec
from aecodec.errors import AecodecError, DesyncError, FormatError

FUZZ_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"
QUICK_SECONDS = 2.0  # generous for a loaded machine; a decoder that allocates per declared size takes far longer


@pytest.fixture(scope="module")
def fuzz():
    """benchmarks/fuzz.py loaded by path, as the script it is."""
    with loaded_script(FUZZ_SCRIPT, "aecodec_fuzz") as module:
        yield module


@pytest.fixture(scope="module")
def seeds(fuzz) -> dict[str, bytes]:
    rgb, rgba, gray = fuzz.make_seeds()
    return {"rgb": rgb, "rgba": rgba, "gray": gray}


def edit(fuzz, data: bytes, kind: bytes, change, stream: bytes | None = None) -> bytes:
    """``data`` with its ``kind`` chunks changed and their CRCs recomputed.

    ``change`` gets the field dict of HEAD/BITS data (BITS: only stream ``stream``) and
    returns the new one, or gets and returns the raw data of any other chunk type.
    """
    layout = {b"HEAD": fuzz.HEAD, b"BITS": fuzz.BITS}.get(kind)
    out = []
    for chunk_kind, body in fuzz.split(data):
        if chunk_kind == kind and layout is None:
            body = change(body)
        elif chunk_kind == kind and (stream is None or fuzz.unpack(layout, body)["name"] == stream):
            body = fuzz.pack(layout, change(fuzz.unpack(layout, body)))
        out.append((chunk_kind, body))
    edited = fuzz.join(out)
    assert edited != data, "the edit changed nothing"
    return edited


def refuses(call, data: bytes, error: type[AecodecError], match: str | None = None) -> None:
    """``call(data)`` raises exactly ``error`` (not a subclass such as ChecksumError), quickly."""
    start = time.perf_counter()
    with pytest.raises(error, match=match) as excinfo:
        call(data)
    assert excinfo.type is error
    assert time.perf_counter() - start < QUICK_SECONDS


def test_short_fixed_seed_run_has_no_findings(fuzz, capsys):
    report = fuzz.fuzz(300, seed=1)
    assert report.findings == [], capsys.readouterr().out
    assert report.inputs == 300 and report.decoded + report.refused == 300
    assert report.decoded > 0 and report.refused > 0  # mutants both decode and get refused
    assert report.line().startswith("fuzz: 300 inputs, ") and ", 0 findings, " in report.line()


def raising(error: Exception):
    def call(data: bytes) -> None:
        raise error

    return call


def test_harness_reports_foreign_exceptions_slow_inputs_and_rss_jumps(fuzz, seeds, monkeypatch):
    report = fuzz.Report()
    monkeypatch.setattr(aecodec, "decompress", raising(FormatError("refused")))
    assert fuzz.check(seeds["rgb"], report) is None and report.refused == 1
    monkeypatch.setattr(aecodec, "decompress", raising(ValueError("not an aecodec error")))
    kind, summary = fuzz.check(seeds["rgb"], report)
    assert kind == "exception" and summary.startswith("ValueError: not an aecodec error at ")
    monkeypatch.setattr(aecodec, "decompress", lambda data: time.sleep(0.02))
    monkeypatch.setattr(fuzz, "HANG_SECONDS", 0.01)
    assert fuzz.check(seeds["rgb"], report)[0] == "hang"
    monkeypatch.setattr(fuzz, "HANG_SECONDS", 60.0)
    monkeypatch.setattr(fuzz, "MEMORY_BUDGET_MIB", -1.0)  # any growth, even none, is over budget
    assert fuzz.check(seeds["rgb"], report)[0] == "memory"
    assert report.inputs == 4 and report.decoded == 2


@pytest.mark.parametrize("call", [aecodec.info, aecodec.decompress])
def test_head_declaring_100000x100000_is_refused_quickly(fuzz, seeds, call):
    data = edit(fuzz, seeds["rgb"], b"HEAD", lambda f: {**f, "width": 100000, "height": 100000})
    refuses(call, data, FormatError, "image size 100000x100000 is out of range")


def test_decodable_limit_is_enforced_before_decoding(fuzz, seeds):
    data = edit(fuzz, seeds["rgb"], b"HEAD", lambda f: {**f, "width": 9000, "height": 9000})  # 81 MP
    assert aecodec.info(data)["width"] == 9000  # a well-formed container ...
    refuses(aecodec.decompress, data, FormatError, "larger than this aecodec decodes")  # ... too big to decode


@pytest.mark.parametrize("call", [aecodec.info, aecodec.decompress])
def test_bits_shape_beyond_the_format_limits_is_refused(fuzz, seeds, call):
    data = edit(fuzz, seeds["rgb"], b"BITS", lambda f: {**f, "shape": [2**24] * 3}, stream=b"y")
    refuses(call, data, FormatError, "has more than 4294967296 elements")


def test_huge_bits_shape_within_the_format_limits_allocates_nothing(fuzz, seeds):
    data = edit(fuzz, seeds["rgb"], b"BITS", lambda f: {**f, "shape": [4096, 4096, 256]}, stream=b"y")
    assert aecodec.info(data)["streams"]["y"] == [4096, 4096, 256]
    refuses(aecodec.decompress, data, FormatError, r"y stream shape \(4096, 4096, 256\) does not match the image size")


def test_z_stream_shape_disagreeing_with_the_image_size_is_refused(fuzz, seeds):
    data = edit(fuzz, seeds["rgb"], b"BITS", lambda f: {**f, "shape": [f["shape"][0], 2, 1]}, stream=b"z")
    data = edit(fuzz, data, b"BITS", lambda f: {**f, "shape": [f["shape"][0], 8, 4]}, stream=b"y")  # y agrees with z
    refuses(aecodec.decompress, data, FormatError, "stream shape .* does not match the image size in the header")


@pytest.mark.parametrize("keep", [lambda size: size - 4, lambda size: size - 1, lambda size: size // 2 & ~3],
                         ids=["one word less", "one byte less", "half"])
def test_truncated_y_payload_with_a_valid_crc_is_a_desync(fuzz, seeds, keep):
    data = edit(fuzz, seeds["rgb"], b"BITS", lambda f: {**f, "payload": f["payload"][: keep(len(f["payload"]))]},
                stream=b"y")
    aecodec.info(data)  # the container itself is intact
    refuses(aecodec.decompress, data, DesyncError)


def test_symbol_crc_mismatch_is_a_desync(fuzz, seeds):
    data = edit(fuzz, seeds["gray"], b"SCRC", lambda body: bytes([body[0] ^ 1]) + body[1:])
    refuses(aecodec.decompress, data, DesyncError, "do not match the stored CRC")


@pytest.mark.parametrize(
    ("plane", "match"),
    [
        (zlib.compress(bytes(40 * 32 - 1)), "alpha plane does not match the image size"),
        (zlib.compress(bytes(40 * 32 + 1)), "alpha plane is larger than it may be"),
        (zlib.compress(bytes(40 * 32))[:-3], "alpha plane is truncated"),
        (zlib.compress(bytes(1 << 25), 9), "alpha plane is larger than it may be"),  # a deflate bomb
        (b"not deflate", "alpha plane is not valid deflate data"),
    ],
)
def test_alpha_chunk_that_inflates_to_the_wrong_size_is_refused(fuzz, seeds, plane, match):
    data = edit(fuzz, seeds["rgba"], b"ALPH", lambda body: plane)
    assert aecodec.decompress(seeds["rgba"]).mode == "RGBA"  # the unedited seed does decode
    refuses(aecodec.decompress, data, FormatError, match)


@pytest.mark.parametrize("stream", [b"z", b"y"])
def test_range_coder_data_no_encoder_produces_is_a_desync(fuzz, seeds, stream):
    """Regression: constriction's AssertionError about such data escaped decompress (fuzzer finding)."""
    data = edit(fuzz, seeds["rgb"], b"BITS", lambda f: {**f, "payload": b"\xff" * 12}, stream=stream)
    refuses(aecodec.decompress, data, DesyncError, "entropy-coded stream is invalid for its probability tables")
