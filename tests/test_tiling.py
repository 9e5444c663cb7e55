"""Tiled transforms and banded h_s: any image size in bounded memory, without seams."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_photo

from aecodec.codecs import frozen, rounding
from aecodec.codecs.tiling import spans
from aecodec.metrics import psnr


def test_spans_cover_the_axis_once_with_margins_inside_it():
    result = spans(100, 32, 8)
    assert [(s.keep_start, s.keep_end) for s in result] == [(0, 32), (32, 64), (64, 96), (96, 100)]
    assert [(s.read_start, s.read_end) for s in result] == [(0, 40), (24, 72), (56, 100), (88, 100)]
    assert spans(20, 32, 8)[0] == spans(20, 32, 8)[-1]  # one tile, no margin
    assert [(s.read_start, s.read_end) for s in spans(20, 32, 8)] == [(0, 20)]


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """(3, 208, 272) uint8 padded image: several 64-pixel tiles each way, none square."""
    return synthetic_photo(272, 208, seed=11).transpose(2, 0, 1)


def _small_tiles(monkeypatch, analysis: int = 64, synthesis: int = 4, hyper: int = 1) -> None:
    monkeypatch.setattr(frozen, "ANALYSIS_TILE", analysis)
    monkeypatch.setattr(frozen, "SYNTHESIS_TILE", synthesis)
    monkeypatch.setattr(frozen, "HYPER_TILE", hyper)


def test_tiled_analysis_equals_the_whole_image(codec, image, monkeypatch):
    whole = codec.analyze(image)
    _small_tiles(monkeypatch)
    tiled = codec.analyze(image)
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).max() < 1e-4 * np.abs(whole).max()


def test_tiled_integer_entropy_parameters_are_bit_exact(codec, image, monkeypatch):
    """h_s on tiles of one ẑ element, a context model on blocks of 2×2 elements and symbols
    rounded one channel at a time change nothing."""
    latent = codec.analyze(image)
    whole = codec.quantize(latent, 60.0)
    _small_tiles(monkeypatch, hyper=1)
    monkeypatch.setattr(frozen, "CONTEXT_TILE", 2)  # blocks of 2×2 latent elements
    monkeypatch.setattr(rounding, "CHANNEL_STEP_ELEMENTS", 1)  # one channel per step
    tiled = codec.quantize(latent, 60.0)
    assert min(whole.z_hat.shape[1:]) > 3  # several tiles each way
    for field in ("z_hat", "y_symbols", "mean", "bins"):
        assert np.array_equal(getattr(tiled, field), getattr(whole, field)), field


def test_tiled_synthesis_has_no_seams(codec, image, monkeypatch):
    """Same PSNR as untiled within 0.05 dB, and no larger error along tile borders."""
    quantized = codec.quantize(codec.analyze(image), 60.0)
    whole = codec.reconstruct(quantized, 60.0)
    _small_tiles(monkeypatch, synthesis=4)
    tiled = codec.reconstruct(quantized, 60.0)
    assert np.abs(tiled - whole).max() < 1e-4
    original = image.astype(np.float64) / 255
    assert abs(psnr(original, tiled, peak=1.0) - psnr(original, whole, peak=1.0)) < 0.05
    error = np.abs(tiled - original).mean(axis=0)
    border = np.zeros(error.shape, dtype=bool)
    for position in range(64, error.shape[0], 64):  # 4 latent elements = 64 pixels per tile
        border[position - 2 : position + 2] = True
    for position in range(64, error.shape[1], 64):
        border[:, position - 2 : position + 2] = True
    assert error[border].mean() <= 1.1 * error[~border].mean()


def test_a_file_coded_in_tiles_decodes_untiled(codec, image, monkeypatch):
    _small_tiles(monkeypatch)
    coded = codec.compress(image, 50.0)
    tiled = codec.decompress(coded, 50.0)
    monkeypatch.undo()
    untiled = codec.decompress(coded, 50.0)
    assert np.abs(tiled - untiled).max() < 1e-4
