"""Rate control (--bpp / --size / --psnr) and bit-allocation maps (inspect, bitmap)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from PIL import Image

import aecodec
from aecodec import bitstream, pipeline
from aecodec.cli import main
from aecodec.codecs.rounding import interpolate_gain, low_rate_deadzone, round_symbols
from aecodec.errors import InputError
from aecodec.metrics import psnr
from aecodec.ratecontrol import predicted_curves
from aecodec.ratecontrol.search import BPP_AIM, BPP_TOLERANCE, PSNR_SETTLE_QUALITIES, PSNR_SETTLE_TOLERANCE, PSNR_TOLERANCE, SIZE_TOLERANCE, search_quality
from aecodec.ratecontrol.targets import RateTarget, parse_size

# --- the search, on plain monotone functions -------------------------------------------


def _log_size(quality: float) -> float:
    """A file size shaped like the codec's: log-linear in quality, with a kink."""
    return 2000 * math.exp(0.03 * quality + 0.01 * max(0.0, quality - 60))


@pytest.mark.parametrize("goal", [2200, 5000, 9000, 30000])
def test_size_search_never_exceeds_and_lands_close(goal):
    result = search_quality(_log_size, RateTarget("size", goal))
    assert (1 - SIZE_TOLERANCE) * goal <= result.value <= goal
    assert len(result.trials) <= 6


@pytest.mark.parametrize("goal", [2200, 30000])
def test_a_steering_curve_starts_the_search_near_the_goal_and_saves_trials(goal):
    """A typical curve 10 % off this image's (another photo, same model) still guides the
    search; it matters for goals far from the middle of the quality scale, where a search
    that starts at quality 50 needs extra steps."""
    curve = [(quality, 0.9 * _log_size(quality)) for quality in (1, 10, 25, 45, 65, 85, 100)]
    guided = search_quality(_log_size, RateTarget("size", goal), curve)
    blind = search_quality(_log_size, RateTarget("size", goal))
    assert (1 - SIZE_TOLERANCE) * goal <= guided.value <= goal
    assert len(guided.trials) < len(blind.trials)
    assert abs(guided.trials[0].value / goal - 1) < 0.25  # the first trial is already close


_TYPICAL_PSNR = [(1, 22.2), (10, 23.6), (25, 25.6), (45, 28.9), (65, 31.5), (85, 32.7), (100, 33.2)]


def _typical_psnr(quality: float) -> float:
    return float(np.interp(quality, *zip(*_TYPICAL_PSNR)))


@pytest.mark.parametrize(
    ("level", "steepness", "goal"),
    [(-2.0, 1.0, 24.0), (-2.0, 1.0, 30.5), (8.0, 0.7, 24.5), (8.0, 0.7, 29.5), (-20.0, 1.6, 20.0), (-20.0, 1.6, 27.0), (-20.0, 1.6, 32.5)],
)
def test_psnr_search_follows_an_image_shaped_like_the_steering_curve(level, steepness, goal):
    """An image's curve is the model's typical one shifted and stretched (flatter for a
    textured photo, steeper for a smooth one): the first trial measures the shift and the
    second the stretch, so the third lands in the accepted band — where a straight secant
    through a curved stretch needs more steps."""
    curve = lambda q: level + steepness * _typical_psnr(q)  # noqa: E731
    assert curve(1) < goal < curve(100) - PSNR_TOLERANCE
    result = search_quality(curve, RateTarget("psnr", goal), _TYPICAL_PSNR)
    assert goal <= result.value <= goal + PSNR_TOLERANCE
    assert len(result.trials) <= 3


def _estimator_with_drift(curve, drift: float, calls: list[float] | None = None):
    """An estimator whose estimates are exact at the quality they are made from and off by
    ``drift`` (relative) per quality step away from it, as the codec's gain-rescaled ones are
    (they overstate changes a little); records every estimated quality in ``calls``."""

    def estimator(reference: float):
        def estimate(quality: float) -> float:
            if calls is not None:
                calls.append(quality)
            return curve(quality) * (1 + drift * abs(quality - reference))

        return estimate

    return estimator


@pytest.mark.parametrize("goal", [0.12, 0.3, 0.7, 1.6])
def test_an_estimated_rate_lands_bpp_targets_in_two_trials(goal):
    """An image whose bits rise more steeply than the typical curve's: the first trial, at the
    typical curve's guess, is far off; the estimate made from it places the second inside the
    aim even though the estimate drifts 0.1 % per quality step; steering on the typical curve
    needs more."""
    bits = lambda q: 0.05 * math.exp(0.035 * q + 0.004 * max(0.0, q - 40))  # noqa: E731
    curve = [(quality, 0.12 * math.exp(0.022 * quality)) for quality in (1, 10, 25, 45, 65, 85, 100)]
    steered = search_quality(bits, RateTarget("bpp", goal), curve, _estimator_with_drift(bits, 0.001))
    plain = search_quality(bits, RateTarget("bpp", goal), curve)
    assert abs(steered.value / goal - 1) <= BPP_AIM
    assert len(steered.trials) == 2 < len(plain.trials)


def test_an_estimated_rate_keeps_size_searches_under_the_target():
    sizes = lambda q: 300 + 4000 * math.exp(0.03 * q)  # noqa: E731 (framing bytes plus bits)
    result = search_quality(sizes, RateTarget("size", 20000), None, _estimator_with_drift(sizes, 0.003))
    assert (1 - SIZE_TOLERANCE) * 20000 <= result.value <= 20000
    assert len(result.trials) <= 3


@pytest.mark.parametrize(("level", "steepness", "goal"), [(-2.0, 1.0, 24.0), (8.0, 0.7, 29.5), (-20.0, 1.6, 27.0), (-20.0, 1.6, 32.5)])
def test_an_estimated_psnr_lands_psnr_targets_in_two_trials_and_few_estimates(level, steepness, goal):
    """Images shaped unlike the steering curve: the estimate made from the first trial (drifting
    0.003 %, under 0.001 dB, per quality step: a dozen steps cost about half the band) places
    the second trial in the accepted band after at most SOLVE_LIMITS' two estimates — each
    costs a synthesis, so the solve must not dither."""
    curve = lambda q: level + steepness * _typical_psnr(q)  # noqa: E731
    calls: list[float] = []
    result = search_quality(curve, RateTarget("psnr", goal), _TYPICAL_PSNR, _estimator_with_drift(curve, 0.00003, calls))
    assert goal <= result.value <= goal + PSNR_TOLERANCE
    assert len(result.trials) == 2 and len(calls) <= 2


def test_an_estimate_beyond_the_end_of_the_scale_is_not_repeated():
    """A photo far smoother than the steering curve: its first trial is 10 dB over the goal, and the
    estimate (which, like the codec's, overstates the PSNR far below its trial) is over the
    goal even at quality 1. The solve must stop there instead of estimating quality 1 again
    (each estimate costs a synthesis); an exact trial at quality 1 then re-anchors it."""
    curve = lambda q: 28.5 + 0.22 * q  # noqa: E731
    estimated: list[tuple[float, float]] = []

    def estimator(reference: float):
        def estimate(quality: float) -> float:
            estimated.append((reference, quality))
            return curve(quality) + 0.06 * max(0.0, reference - quality)

        return estimate

    result = search_quality(curve, RateTarget("psnr", 30.0), _TYPICAL_PSNR, estimator)
    assert 30.0 <= result.value <= 30.0 + PSNR_TOLERANCE
    assert estimated[0] == (result.trials[0].quality, 1.0) and result.trials[1].quality == 1.0
    assert len(set(estimated)) == len(estimated)


def test_psnr_search_returns_the_least_quality_that_reaches_the_target():
    curve = lambda q: 22 + 11 * (1 - math.exp(-q / 40))  # noqa: E731 (saturating, like PSNR)
    result = search_quality(curve, RateTarget("psnr", 30.0))
    assert 30.0 <= result.value <= 30.0 + PSNR_TOLERANCE
    assert curve(result.quality - 0.1) < 30.0 + PSNR_TOLERANCE


@pytest.mark.parametrize("jump", [0.08, 0.15])
def test_a_psnr_band_no_quality_hits_is_settled_near_enough(jump):
    """A PSNR curve that jumps over the accepted band at quality 40: once trials on both sides
    lie within PSNR_SETTLE_QUALITIES, the upper one is taken if it is within
    PSNR_SETTLE_TOLERANCE; otherwise the bracket is narrowed to the 0.1 quality step."""
    curve = lambda q: 30.0 + jump + 0.1 * (q - 40) if q >= 40 else 29.99 - 0.1 * (40 - q)  # noqa: E731
    result = search_quality(curve, RateTarget("psnr", 30.0))
    below = max(t.quality for t in result.trials if t.value < 30.0)
    assert result.value >= 30.0 and result.trials[-1].quality in (result.quality, below)
    if jump <= PSNR_SETTLE_TOLERANCE:
        assert result.value <= 30.0 + PSNR_SETTLE_TOLERANCE and result.quality - below <= PSNR_SETTLE_QUALITIES
        assert result.quality - below > 0.1  # settled before the bracket closed
    else:
        assert result.quality - below <= 0.1 + 1e-9


def test_unreachable_targets_name_the_reachable_end():
    with pytest.raises(InputError, match="below what this image reaches at quality 1"):
        search_quality(_log_size, RateTarget("size", 500))
    with pytest.raises(InputError, match="above what this image reaches at quality 100"):
        search_quality(lambda q: 20 + q / 10, RateTarget("psnr", 45.0))


def test_size_above_quality_100_gives_quality_100():
    result = search_quality(_log_size, RateTarget("size", 10**7))
    assert result.quality == 100


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40000", 40000), ("40KB", 40000), ("40 kB", 40000), ("1.5MB", 1_500_000), ("64KiB", 65536), ("2MiB", 2 * 1024**2)],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "40XB", "-5KB", "KB"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(InputError):
        parse_size(text)


# --- the search on real images ----------------------------------------------------------

@pytest.fixture(scope="module")
def images(sample_path):
    with Image.open(sample_path) as image:
        sample = np.asarray(image.convert("RGB"))[100:292, 150:406].copy()
    return {"synthetic": synthetic_photo(160, 128, seed=3), "sample": sample}


@pytest.mark.parametrize("name", ["synthetic", "sample"])
@pytest.mark.parametrize("goal", [0.6, 1.2])
def test_bpp_target_is_met_within_3_percent(images, name, goal):
    data = aecodec.compress(images[name], bpp=goal, backend="torch")
    height, width = images[name].shape[:2]
    reached = 8 * len(data) / (height * width)
    assert abs(reached / goal - 1) <= BPP_TOLERANCE
    assert pipeline.info(data)["rate_target"] == {"kind": "bpp", "target": goal, "reached": pytest.approx(reached, abs=1e-6)}


@pytest.mark.parametrize("name", ["synthetic", "sample"])
def test_size_target_is_never_exceeded(images, name):
    goal = 3000
    data = aecodec.compress(images[name], size=goal, backend="torch")
    assert (1 - 0.03) * goal <= len(data) <= goal


@pytest.mark.parametrize("name", ["synthetic", "sample"])
def test_psnr_target_is_reached_by_the_decoded_file_with_few_extra_bits(images, name):
    goal = 30.0
    data = aecodec.compress(images[name], psnr=goal, backend="torch")
    decoded = np.asarray(aecodec.decompress(data, backend="torch"))
    assert psnr(images[name], decoded) >= goal
    quality = pipeline.info(data)["quality"]
    if quality > 1:  # a slightly lower quality would miss the target (least bits)
        lower = aecodec.compress(images[name], quality=max(1.0, quality - 2), backend="torch")
        assert psnr(images[name], np.asarray(aecodec.decompress(lower, backend="torch"))) < goal + PSNR_TOLERANCE


@pytest.mark.parametrize("name", ["synthetic", "sample"])
def test_the_rate_estimate_is_exact_at_its_trial_and_close_nearby(codec, images, name):
    """The estimate rate control steers on: gain-scaled entropy parameters of one exact
    quantization, against exact quantizations at other qualities."""
    latent = codec.analyze(pipeline._pad(images[name], codec.stride))
    reference = codec.quantize(latent, 50.0)
    for quality, tolerance in ((50.0, 1e-9), (47.0, 0.02), (55.0, 0.02), (62.0, 0.05)):
        exact = sum(bits.sum() for bits in codec.symbol_bits(codec.quantize(latent, quality)))
        assert codec.estimated_bits(latent, reference, 50.0, quality) == pytest.approx(exact, rel=tolerance)


def _reconstruction_psnr(codec, image: np.ndarray, quantized, quality: float) -> float:
    height, width = image.shape[:2]
    return psnr(image, codec.reconstruct_rgb(quantized, quality, height, width))


@pytest.mark.parametrize("name", ["synthetic", "sample"])
def test_the_estimated_quantization_is_exact_at_its_trial_and_decodes_close_nearby(codec, images, name):
    """What PSNR searches steer on: the latent re-rounded against one exact quantization's
    rescaled means decodes to the PSNR of exact quantizations at nearby qualities (within
    0.05 dB on validation photos; these small images have few latent elements, so one
    element rounded differently weighs more)."""
    latent = codec.analyze(pipeline._pad(images[name], codec.stride))
    reference = codec.quantize(latent, 50.0)
    same = codec.estimated_quantization(latent, reference, 50.0, 50.0)
    assert np.array_equal(same.y_symbols, reference.y_symbols) and np.array_equal(same.bins, reference.bins)
    for quality in (44.0, 47.0, 53.0, 56.0):
        exact = _reconstruction_psnr(codec, images[name], codec.quantize(latent, quality), quality)
        estimated = _reconstruction_psnr(codec, images[name], codec.estimated_quantization(latent, reference, 50.0, quality), quality)
        assert abs(estimated - exact) <= 0.1


@pytest.mark.parametrize("quality", [1.0, 8.0, 50.0, 100.0])  # 1 and 8 round with a dead zone
def test_latent_features_are_those_of_the_symbols_rounding_rule(codec, images, quality):
    """The features the predicted curves weigh: each channel's mean squared rounding error and the bits
    of its rounded values under their own histogram, as round_symbols rounds them."""
    latent = codec.analyze(pipeline._pad(images["sample"], codec.stride))
    t = codec.rate_parameter(quality)
    gain = interpolate_gain(codec.log_gain, t).astype(np.float64)
    scaled = latent * gain
    rounded = round_symbols(scaled.copy(), low_rate_deadzone(t))
    expected_errors = ((rounded - scaled) ** 2).mean(axis=(1, 2)) / gain[:, 0, 0] ** 2
    assert np.allclose(predicted_curves.rounding_errors(codec, latent, [quality])[0], expected_errors, rtol=1e-4, atol=1e-12)
    expected_bits = []
    for channel in rounded:
        _, counts = np.unique(channel, return_counts=True)
        expected_bits.append(-(counts * np.log2(counts / channel.size)).sum())
    assert np.allclose(predicted_curves.rounded_bits(codec, latent, [quality])[0], expected_bits)


@pytest.mark.parametrize(("kind", "goal"), [("psnr", 30.0), ("bpp", 0.8)])
def test_the_predicted_curve_follows_the_image_closer_than_the_typical_curve(codec, images, kind, goal):
    """What rate control starts from: on the sample photo the curve predicted from its latent
    lies within 1 dB of the exact PSNR, or 15 % of the exact bits, and closer than the model's
    typical curve."""
    from aecodec import zoo

    image = images["sample"]
    latent = codec.analyze(pipeline._pad(image, codec.stride))
    model_id = zoo.default_model_id()
    predicted = pipeline._steering_curve(model_id, RateTarget(kind, goal), image.shape[0] * image.shape[1], codec, latent)
    typical = zoo.validation_curves(model_id)[kind]
    for quality in (10.0, 40.0, 85.0):
        if kind == "psnr":
            exact, tolerance = _reconstruction_psnr(codec, image, codec.quantize(latent, quality), quality), 1.0
            error, typical_error = (np.interp(quality, *zip(*curve)) - exact for curve in (predicted, typical))
        else:
            data = aecodec.compress(image, quality=quality, backend="torch")
            exact, tolerance = 8 * len(data) / (image.shape[0] * image.shape[1]), math.log(1.15)
            error, typical_error = (math.log(np.interp(quality, *zip(*curve)) / exact) for curve in (predicted, typical))
        assert abs(error) <= tolerance and abs(error) < abs(typical_error)


# --- bit maps ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(96, 80), (37, 70), (200, 150)])
def test_bit_map_covers_the_image_and_sums_to_the_coded_latent_bits(size):
    image = synthetic_photo(*size, seed=5)
    data = aecodec.compress(image, quality=60, backend="torch")
    bits = aecodec.bitmap(data, backend="torch")
    assert bits.shape == image.shape[:2] and (bits >= 0).all()
    streams = bitstream.read_container(data).streams
    coded_bits = 8 * sum(len(s.payload) for s in streams)
    # Within 1 %, or within the range coder's flush (at most two 32-bit words per stream),
    # which dominates only for thumbnails of a few thousand bits.
    assert abs(bits.sum() - coded_bits) <= max(0.01 * coded_bits, 64 * len(streams))
    assert np.allclose(aecodec.bitmap(image, quality=60, backend="torch"), bits)  # image input: same latents


def test_bit_map_is_high_where_the_image_is_surprising():
    image = synthetic_photo(128, 128, seed=1)
    image[32:64, 64:96] = np.random.default_rng(0).integers(0, 256, (32, 32, 3))  # a noisy patch
    bits = aecodec.bitmap(image, quality=50, backend="torch")
    assert bits[32:64, 64:96].mean() > 2 * np.median(bits)


# --- CLI ---------------------------------------------------------------------------------


def test_cli_compress_to_size_and_info_reports_the_target(tmp_path, sample_path):
    out = tmp_path / "a.aec"
    result = CliRunner().invoke(main, ["compress", str(sample_path), "-o", str(out), "--size", "20KB", "--backend", "torch"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size <= 20000
    assert "target size 20,000 bytes: reached" in result.output
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "target:   size 20,000 bytes: reached" in info.output


@pytest.mark.parametrize("args", [["--bpp", "0.5", "--psnr", "30"], ["-q", "50", "--size", "10KB"]])
def test_cli_refuses_two_rate_settings(tmp_path, sample_path, args):
    result = CliRunner().invoke(main, ["compress", str(sample_path), "-o", str(tmp_path / "a.aec"), *args])
    assert result.exit_code == 2 and "Error: give only one of" in result.output  # a usage error
    assert not (tmp_path / "a.aec").exists()


def test_cli_unreachable_size_is_a_one_line_error(tmp_path, sample_path):
    result = CliRunner().invoke(main, ["compress", str(sample_path), "-o", str(tmp_path / "a.aec"), "--size", "100"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "quality 1" in result.output


def test_cli_inspect_map_writes_an_overlay_with_a_colour_bar(tmp_path):
    source = tmp_path / "p.png"
    Image.fromarray(synthetic_photo(120, 90, seed=2)).save(source)
    aec = tmp_path / "p.aec"
    assert CliRunner().invoke(main, ["compress", str(source), "-o", str(aec), "-q", "50"]).exit_code == 0
    result = CliRunner().invoke(main, ["inspect", str(aec), "--map", str(tmp_path / "bits.png")])
    assert result.exit_code == 0, result.output
    assert "latent bits" in result.output
    with Image.open(tmp_path / "bits.png") as drawn:
        assert drawn.height == 120 and drawn.width > 120  # the map, then the colour bar
    again = CliRunner().invoke(main, ["inspect", str(aec), "--map", str(tmp_path / "bits.png")])
    assert again.exit_code == 1 and "--force" in again.output


def test_cli_inspect_rank_flags_the_outlier_and_skips_bad_files(tmp_path):
    for index in range(4):
        Image.fromarray(synthetic_photo(64, 64, seed=index)).save(tmp_path / f"photo{index}.png")
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "corrupted.png")
    (tmp_path / "notes.txt").write_text("not an image")
    result = CliRunner().invoke(main, ["inspect", str(tmp_path), "--rank", "-q", "40"])
    assert result.exit_code == 0, result.output
    ranked = [line.split() for line in result.output.splitlines()[1:6]]
    assert ranked[0][4] == "corrupted.png" and ranked[0][-1] == "outlier"
    assert "5 images" in result.output and "notes.txt" in result.output
