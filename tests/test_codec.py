"""The shipped codec end to end: rate control, fidelity, determinism, desync detection."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import weakref
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import aecodec
from aecodec import bitstream, zoo
from aecodec.codecs.rounding import interpolate_gain, low_rate_deadzone, round_symbols
from aecodec.codecs.streams import CodedLatents
from aecodec.metrics import psnr

EXPECTED = Path(__file__).parent / "expected"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def coded_by_quality(sample_crop) -> dict[int, bytes]:
    return {q: aecodec.compress(sample_crop, quality=q) for q in (1, 25, 50, 75, 100)}


def test_roundtrip_keeps_size_and_fidelity(sample_crop, coded_by_quality):
    decoded = np.asarray(aecodec.decompress(coded_by_quality[100]))
    assert decoded.shape == sample_crop.shape
    assert psnr(sample_crop, decoded) > 26.0


def test_file_size_and_fidelity_grow_with_quality(sample_crop, coded_by_quality):
    sizes = [len(coded_by_quality[q]) for q in sorted(coded_by_quality)]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    errors = [psnr(sample_crop, np.asarray(aecodec.decompress(coded_by_quality[q]))) for q in (1, 100)]
    assert errors[1] > errors[0] + 3.0


def test_odd_sizes_are_padded_and_cropped_back():
    rng = np.random.default_rng(0)
    for height, width in ((1, 1), (3, 5), (65, 130)):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        assert np.asarray(aecodec.decompress(aecodec.compress(image, quality=50))).shape == (height, width, 3)


def test_deadzone_only_below_the_first_knot_and_monotone():
    deadzones = [low_rate_deadzone(t) for t in (-3.0, -1.0, -0.5, -0.25, 0.0, 0.5, 7.0)]
    assert deadzones == [0.1, 0.1, 0.05, 0.025, 0.0, 0.0, 0.0]


def test_round_symbols_moves_only_the_threshold_towards_larger_magnitudes():
    residual = np.array([-2.44, -1.56, -0.58, -0.5, -0.2, 0.0, 0.3, 0.5, 0.58, 1.5, 1.62, 2.5])
    assert round_symbols(residual.copy(), 0.0).tolist() == [-2, -2, -1, 0, 0, 0, 0, 0, 1, 2, 2, 2]  # half to even
    assert round_symbols(residual.copy(), 0.1).tolist() == [-2, -1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2]


def test_quality_1_rounds_with_a_deadzone_and_still_decodes_exactly(codec, sample_crop):
    """The dead zone is an encoder choice: fewer nonzero symbols, and the decoder reads them back."""
    x = np.ascontiguousarray(sample_crop.transpose(2, 0, 1))
    quality = 1.0
    assert low_rate_deadzone(codec.rate_parameter(quality)) > 0
    latent = codec.analyze(x)
    quantized = codec.quantize(latent, quality)
    gained = latent * interpolate_gain(codec.log_gain, codec.rate_parameter(quality))
    plain = round_symbols(gained - quantized.mean, 0.0)
    assert np.count_nonzero(quantized.y_symbols) < np.count_nonzero(plain)
    assert np.all(np.abs(quantized.y_symbols) <= np.abs(plain))
    decoded = codec.decode_symbols(codec.encode(quantized))
    assert np.array_equal(decoded.y_symbols, quantized.y_symbols)


def _streams(data: bytes) -> CodedLatents:
    container = bitstream.read_container(data)
    return CodedLatents(container.streams, container.symbol_crc)


def test_tiny_float_noise_in_the_float_parts_changes_no_decoded_symbol(codec, coded_by_quality):
    """Decoder-side float transforms may differ across machines; the symbols may not."""
    coded = _streams(coded_by_quality[50])
    reference = codec.decode_symbols(coded)
    pixels_ref = codec.decompress(coded, 50.0)
    model = codec.transforms.model
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 1e-5)
        decoded = codec.decode_symbols(coded)
        pixels = codec.decompress(coded, 50.0)
    finally:
        model.load_state_dict(saved)
    for field in ("z_hat", "y_symbols", "mean", "bins"):
        assert np.array_equal(getattr(decoded, field), getattr(reference, field))
    assert not np.array_equal(pixels, pixels_ref)  # the noise did reach the float path
    assert np.abs(pixels - pixels_ref).max() < 2 / 255


_DECODE_SCRIPT = """
import hashlib, sys, numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
from aecodec import assembly, bitstream, zoo
from aecodec.codecs.streams import CodedLatents
import aecodec
data = open(sys.argv[1], 'rb').read()
c = bitstream.read_container(data)
codec = assembly.codec_for(c.header.model_id, c.header.weights_sha256_prefix, backend='torch')
symbols = codec.decode_symbols(CodedLatents(c.streams, c.symbol_crc))
np.save(sys.argv[3], np.asarray(aecodec.decompress(data)))
print(hashlib.sha256(symbols.z_hat.tobytes() + symbols.y_symbols.tobytes()).hexdigest())
"""


def _decode_in_subprocess(path: Path, threads: int, pixels_out: Path) -> tuple[str, np.ndarray]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    result = subprocess.run(
        [sys.executable, "-c", _DECODE_SCRIPT, str(path), str(threads), str(pixels_out)],
        capture_output=True, text=True, env=env, cwd=REPO, check=True, timeout=300,
    )
    return result.stdout.strip(), np.load(pixels_out)


def test_decoding_in_other_processes_and_thread_counts(tmp_path, coded_by_quality):
    """Symbols are bit-identical for any thread count; pixels are identical for the same
    settings in another process, and within ±1 when only the float summation order changes."""
    path = tmp_path / "crop.aec"
    path.write_bytes(coded_by_quality[75])
    symbols_1, pixels_1 = _decode_in_subprocess(path, 1, tmp_path / "a.npy")
    symbols_2, pixels_2 = _decode_in_subprocess(path, 2, tmp_path / "b.npy")
    symbols_again, pixels_again = _decode_in_subprocess(path, 1, tmp_path / "c.npy")
    assert symbols_1 == symbols_2 == symbols_again
    assert np.array_equal(pixels_1, pixels_again)
    assert np.abs(pixels_1.astype(int) - pixels_2.astype(int)).max() <= 1


def _patch_chunk(data: bytes, chunk_type: bytes, new_body: bytes) -> bytes:
    """Replace a chunk's data and give it a valid CRC, so only the codec can notice."""
    start = data.index(chunk_type) - 4
    length = int.from_bytes(data[start : start + 4], "big")
    end = start + 12 + length
    chunk = len(new_body).to_bytes(4, "big") + chunk_type + new_body + zlib.crc32(chunk_type + new_body).to_bytes(4, "big")
    return data[:start] + chunk + data[end:]


def test_wrong_symbol_crc_raises_desync(coded_by_quality):
    data = coded_by_quality[50]
    container = bitstream.read_container(data)
    tampered = _patch_chunk(data, b"SCRC", ((container.symbol_crc + 1) % 2**32).to_bytes(4, "big"))
    with pytest.raises(aecodec.DesyncError):
        aecodec.decompress(tampered)


def test_payload_corruption_behind_a_valid_chunk_crc_is_caught(coded_by_quality):
    """A flipped bit inside the y stream, with the chunk CRC recomputed, must still fail loudly."""
    data = coded_by_quality[50]
    container = bitstream.read_container(data)
    streams = list(container.streams)
    y_index = next(i for i, s in enumerate(streams) if s.name == "y")
    payload = bytearray(streams[y_index].payload)
    payload[len(payload) // 3] ^= 0x10
    streams[y_index] = dataclasses.replace(streams[y_index], payload=bytes(payload))
    tampered = bitstream.write_container(dataclasses.replace(container, streams=tuple(streams)))
    with pytest.raises(aecodec.AecodecError):
        aecodec.decompress(tampered)


def test_file_from_other_weights_is_refused(coded_by_quality):
    container = bitstream.read_container(coded_by_quality[50])
    header = dataclasses.replace(container.header, weights_sha256_prefix=b"\0" * 8)
    with pytest.raises(aecodec.WeightsMismatchError):
        aecodec.decompress(bitstream.write_container(dataclasses.replace(container, header=header)))


@pytest.mark.parametrize("model_id", [entry.model_id for entry in zoo.models()])
def test_golden_bitstream_is_reproduced_and_decodes(sample_crop, model_id):
    """Encoding is deterministic for fixed weights, and files of every shipped model keep
    decoding; regenerate with AECODEC_REGEN_GOLDEN=1 after that model's weights change."""
    golden = EXPECTED / f"sample-crop-q50-{model_id}.aec"
    data = aecodec.compress(sample_crop, quality=50, model=model_id)
    if os.environ.get("AECODEC_REGEN_GOLDEN") == "1":
        golden.write_bytes(data)
    expected = golden.read_bytes()
    assert bitstream.read_header(expected).weights_sha256_prefix == zoo.entry(model_id).sha256_prefix, (
        "golden file was made with other weights; regenerate with AECODEC_REGEN_GOLDEN=1"
    )
    assert data == expected
    assert psnr(sample_crop, np.asarray(aecodec.decompress(expected))) > 20.0


def test_declared_size_beyond_the_decodable_limit_is_refused_before_decoding(coded_by_quality):
    container = bitstream.read_container(coded_by_quality[50])
    header = dataclasses.replace(container.header, width=16000, height=16000)
    with pytest.raises(aecodec.FormatError, match="larger than"):
        aecodec.decompress(bitstream.write_container(dataclasses.replace(container, header=header)))


def test_forged_latent_escape_beyond_the_symbol_bound_is_refused(codec, coded_by_quality):
    """A file with a valid symbol CRC but an absurd escaped latent must not reach the pixels."""
    from aecodec.codecs.rounding import LATENT_SYMBOL_MAX
    from aecodec.codecs.streams import symbol_crc

    container = bitstream.read_container(coded_by_quality[50])
    decoded = codec.decode_symbols(_streams(coded_by_quality[50]))
    y = decoded.y_symbols.copy()
    y.flat[0] = LATENT_SYMBOL_MAX + 1
    coded = codec.encode(dataclasses.replace(decoded, y_symbols=y))
    streams = [s for s in container.streams if s.name not in ("y", "y.escape")]
    streams += [stream for stream in coded.streams if stream.name in ("y", "y.escape")]
    forged = dataclasses.replace(container, streams=tuple(streams), symbol_crc=symbol_crc(decoded.z_hat, y))
    with pytest.raises(aecodec.DesyncError, match="out of range"):
        aecodec.decompress(bitstream.write_container(forged))


@pytest.mark.parametrize(("target", "kept"), [({}, False), ({"bpp": 1.0}, False), ({"psnr": 30.0}, True)])
def test_compress_lets_go_of_the_pixels_once_analysed(sample_crop, monkeypatch, target, kept):
    """Only a PSNR search reads the pixels after the analysis; otherwise they must not stay
    in memory (as large as the latent's symbols) while the latent is quantized and coded."""
    from aecodec import imageio
    from aecodec.codecs.frozen import FrozenHyperprior

    pixels, alive = [], []
    prepare, quantize = imageio.prepare, FrozenHyperprior.quantize

    def recording(image):
        prepared = prepare(image)
        pixels.append(weakref.ref(prepared.rgb))
        return prepared

    def watching(self, *args, **kwargs):
        gc.collect()
        alive.append(pixels[0]() is not None)
        return quantize(self, *args, **kwargs)

    monkeypatch.setattr(imageio, "prepare", recording)
    monkeypatch.setattr(FrozenHyperprior, "quantize", watching)
    data = aecodec.compress(Image.fromarray(sample_crop), quality=50, **target)
    assert alive and set(alive) == {kept}
    assert aecodec.info(data)["width"] == sample_crop.shape[1]


@pytest.mark.parametrize("settings", [{"quality": 60.5}, {"bpp": 0.8}, {"size": 3000}, {"psnr": 30.0}])
def test_encode_result_is_what_info_reads_back(sample_crop, settings):
    """``aecodec.encode`` reports the file's quality, bpp and rate target as the file records them."""
    result = aecodec.encode(sample_crop, backend="torch", **settings)
    details = aecodec.info(result.data)
    assert result.data == aecodec.compress(sample_crop, backend="torch", **settings)
    assert (result.quality, result.bpp) == (details["quality"], details["bpp"])
    if "quality" in settings:
        assert result.target is None and details["rate_target"] is None
    else:
        record = {"kind": result.target.target.kind, "target": result.target.target.value, "reached": result.target.reached}
        assert record == details["rate_target"]
