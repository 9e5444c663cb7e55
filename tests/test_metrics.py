"""Behaviour of aecodec.metrics: PSNR, MS-SSIM, bpp and Bjøntegaard deltas."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from aecodec import metrics
from aecodec.metrics import MS_SSIM_MIN_SIDE, bd_psnr, bd_rate, bpp, ms_ssim, psnr

# A plausible anchor RD curve (bpp, dB), deliberately not a straight line in log-rate.
ANCHOR_RATE = np.array([0.12, 0.25, 0.45, 0.8, 1.4, 2.3])
ANCHOR_PSNR = np.array([26.0, 28.4, 30.9, 33.5, 36.6, 39.8])


def _smooth_image(height: int = 176, width: int = 192, seed: int = 0) -> np.ndarray:
    """Natural-ish RGB uint8 image: smooth gradients plus mild texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 0.8 + 40, yy * 0.9 + 30, (xx + yy) * 0.4 + 60], axis=-1)
    texture = 25 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 11.0)[..., None]
    return np.clip(base + texture + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def _add_noise(image: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- psnr


def test_psnr_of_constant_offset_of_one_is_48_13_db():
    a = np.full((16, 16, 3), 100, np.uint8)
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255), abs=1e-9)
    assert psnr(a, a + 1) == pytest.approx(48.13, abs=0.005)


def test_psnr_does_not_wrap_around_on_uint8():
    a = np.zeros((4, 4), np.uint8)
    b = np.full((4, 4), 255, np.uint8)
    assert psnr(a, b) == pytest.approx(0.0)
    assert psnr(b, a) == pytest.approx(0.0)


def test_psnr_of_identical_images_is_infinite():
    a = _smooth_image(32, 32)
    assert psnr(a, a.copy()) == math.inf


def test_psnr_respects_peak_for_float_images():
    a = np.zeros((8, 8), np.float64)
    assert psnr(a, a + 0.1, peak=1.0) == pytest.approx(20.0)


def test_psnr_of_an_image_taller_than_its_row_bands_counts_every_row_once(monkeypatch):
    """psnr converts a band of rows at a time; errors in the last, partial band must count."""
    monkeypatch.setattr(metrics, "BAND_SAMPLES", 4 * 5 * 3)  # bands of 4 rows
    rows = 2 * 4 + 7
    a = np.zeros((rows, 5, 3), np.uint8)
    b = a.copy()
    b[-1] = 10  # 15 of rows·15 samples off by 10
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (15 * 100 / (rows * 15))), abs=1e-9)


def test_psnr_rejects_different_shapes():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


# -------------------------------------------------------------------------- ms_ssim


def test_ms_ssim_of_identical_images_is_one():
    a = _smooth_image()
    assert ms_ssim(a, a.copy()) == pytest.approx(1.0, abs=1e-12)


def test_ms_ssim_decreases_with_noise_strength():
    a = _smooth_image()
    scores = [ms_ssim(a, _add_noise(a, sigma)) for sigma in (2, 8, 20, 50)]
    assert all(0.0 <= s < 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] - scores[-1] > 0.1


def test_ms_ssim_is_symmetric():
    a = _smooth_image()
    b = _add_noise(a, 10)
    assert ms_ssim(a, b) == pytest.approx(ms_ssim(b, a), abs=1e-12)


def test_ms_ssim_on_small_images_uses_fewer_scales_and_stays_in_range():
    a = _smooth_image(48, 64)  # only 2 scales fit
    b = _add_noise(a, 10)
    assert ms_ssim(a, a) == pytest.approx(1.0)
    assert 0.0 < ms_ssim(a, b) < 1.0
    with pytest.raises(ValueError):
        ms_ssim(np.zeros((10, 40, 3), np.uint8), np.zeros((10, 40, 3), np.uint8))


def test_ms_ssim_accepts_grayscale_and_odd_sizes():
    a = _smooth_image(167, 171)[..., 0]
    b = _add_noise(a, 10)
    assert 0.0 < ms_ssim(a, b) < 1.0


@pytest.mark.parametrize(
    ("height", "width", "channels", "band_rows"),
    [
        (176, 192, 3, 3),  # five scales, even sides, bands shorter than the window
        (167, 171, 0, 1),  # grayscale, odd sides at every scale, one row per band
        (163, 201, 3, 17),  # odd sides, bands longer than the window
        (48, 64, 3, 5),  # two scales
        (11, 13, 3, 2),  # one scale, the smallest image it is defined for
    ],
)
def test_ms_ssim_in_row_bands_equals_the_whole_image(monkeypatch, height, width, channels, band_rows):
    """Every scale streamed in bands of a few rows gives the whole-image value (one band per
    scale) to float rounding: no map row is lost, repeated or filtered from other rows."""
    a = _smooth_image(height, width)
    a = a[..., 0] if channels == 0 else a
    b = _add_noise(a, 12)
    assert a.size <= metrics.BAND_SAMPLES  # one band: the whole image at every scale at once
    whole = ms_ssim(a, b)
    monkeypatch.setattr(metrics, "BAND_SAMPLES", band_rows * a[0].size)
    assert ms_ssim(a, b) == pytest.approx(whole, rel=1e-12, abs=1e-15)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / np.mean((a.astype(float) - b) ** 2)), rel=1e-12)


def test_ms_ssim_holds_bands_not_float_copies_of_the_image(monkeypatch):
    """Peak allocation stays far below one float64 copy of the image, whatever its height."""
    a = _smooth_image(2400, 160)
    b = _add_noise(a, 12)
    monkeypatch.setattr(metrics, "BAND_SAMPLES", 8 * a[0].size)
    tracemalloc.start()
    try:
        ms_ssim(a, b)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < a.size * 8 / 4


@pytest.mark.parametrize("side", [1, MS_SSIM_MIN_SIDE - 1])
def test_ms_ssim_refuses_images_below_its_minimum_side(side):
    a = np.zeros((side, 40, 3), np.uint8)
    with pytest.raises(ValueError, match="too small"):
        ms_ssim(a, a)
    smallest = _smooth_image(MS_SSIM_MIN_SIDE, 40)
    assert ms_ssim(smallest, smallest) == pytest.approx(1.0)


# ------------------------------------------------------------------------------ bpp


def test_bpp_is_eight_bits_per_byte_over_pixels():
    assert bpp(1000, 100, 80) == pytest.approx(1.0)
    assert bpp(3, 4, 6) == pytest.approx(1.0)
    assert bpp(0, 10, 10) == 0.0
    with pytest.raises(ValueError):
        bpp(10, 0, 10)


# ------------------------------------------------------------------------- BD metrics


def test_bd_rate_of_same_curve_is_zero():
    assert bd_rate(ANCHOR_RATE, ANCHOR_PSNR, ANCHOR_RATE, ANCHOR_PSNR) == pytest.approx(0.0, abs=1e-9)


def test_bd_rate_of_rates_scaled_by_0_8_is_minus_20_percent():
    assert bd_rate(ANCHOR_RATE, ANCHOR_PSNR, 0.8 * ANCHOR_RATE, ANCHOR_PSNR) == pytest.approx(-20.0, abs=0.01)


def test_bd_rate_swapped_is_plus_25_percent():
    assert bd_rate(0.8 * ANCHOR_RATE, ANCHOR_PSNR, ANCHOR_RATE, ANCHOR_PSNR) == pytest.approx(25.0, abs=0.01)


def test_bd_rate_ignores_point_order():
    order = np.array([3, 0, 5, 1, 4, 2])
    b_rate = np.array([0.1, 0.22, 0.41, 0.7, 1.3, 2.0])
    b_psnr = np.array([26.5, 29.0, 31.6, 34.1, 37.5, 40.2])
    expected = bd_rate(ANCHOR_RATE, ANCHOR_PSNR, b_rate, b_psnr)
    assert bd_rate(ANCHOR_RATE[order], ANCHOR_PSNR[order], b_rate[::-1], b_psnr[::-1]) == pytest.approx(expected)


def test_bd_rate_averages_over_the_overlapping_range_only():
    # Straight lines in (PSNR, log-rate), which PCHIP reproduces exactly: B is 0.8x A where
    # they overlap, and A's extra points far outside B's range must not matter.
    a_psnr = np.linspace(24.0, 44.0, 9)
    a_rate = 0.05 * np.exp(0.18 * (a_psnr - 24.0))
    b_psnr = np.array([30.0, 33.0, 36.0])
    b_rate = 0.8 * 0.05 * np.exp(0.18 * (b_psnr - 24.0))
    assert bd_rate(a_rate, a_psnr, b_rate, b_psnr) == pytest.approx(-20.0, abs=1e-9)


def test_bd_rate_matches_scipy_pchip_reference():
    interpolate = pytest.importorskip("scipy.interpolate")
    b_rate = np.array([0.1, 0.22, 0.41, 0.7, 1.3, 2.0])
    b_psnr = np.array([26.5, 29.0, 31.6, 34.1, 37.5, 40.2])
    low, high = max(ANCHOR_PSNR[0], b_psnr[0]), min(ANCHOR_PSNR[-1], b_psnr[-1])
    int_a = interpolate.PchipInterpolator(ANCHOR_PSNR, np.log(ANCHOR_RATE)).integrate(low, high)
    int_b = interpolate.PchipInterpolator(b_psnr, np.log(b_rate)).integrate(low, high)
    expected = (math.exp((int_b - int_a) / (high - low)) - 1) * 100
    assert bd_rate(ANCHOR_RATE, ANCHOR_PSNR, b_rate, b_psnr) == pytest.approx(expected, abs=1e-9)


def test_bd_psnr_of_curve_shifted_up_one_db_is_plus_one():
    assert bd_psnr(ANCHOR_RATE, ANCHOR_PSNR, ANCHOR_RATE, ANCHOR_PSNR + 1.0) == pytest.approx(1.0, abs=1e-9)
    assert bd_psnr(ANCHOR_RATE, ANCHOR_PSNR + 1.0, ANCHOR_RATE, ANCHOR_PSNR) == pytest.approx(-1.0, abs=1e-9)


def test_bd_metrics_reject_non_overlapping_ranges():
    with pytest.raises(ValueError):
        bd_rate(ANCHOR_RATE, ANCHOR_PSNR, ANCHOR_RATE, ANCHOR_PSNR + 20.0)
    with pytest.raises(ValueError):
        bd_psnr(ANCHOR_RATE, ANCHOR_PSNR, ANCHOR_RATE * 100.0, ANCHOR_PSNR)


def test_bd_metrics_reject_degenerate_curves():
    with pytest.raises(ValueError):
        bd_rate([0.5], [30.0], ANCHOR_RATE, ANCHOR_PSNR)
    with pytest.raises(ValueError):
        bd_rate([0.0, 0.5], [28.0, 30.0], ANCHOR_RATE, ANCHOR_PSNR)
