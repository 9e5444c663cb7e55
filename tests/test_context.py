"""Checkerboard context model: exact integer twin of the trained network, and two-pass coding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import synthetic_photo

from aecodec import assembly
from aecodec.codecs import frozen
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import float_state_dict, freeze, integer_context
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.entropy.integer_context import CONTEXT_TAPS, anchor_mask
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS, EXACT_LIMIT


@pytest.fixture(scope="module")
def model() -> MeanScaleHyperprior:
    """A small untrained codec whose context model does change the parameters."""
    torch.manual_seed(3)
    network = MeanScaleHyperprior(HyperpriorConfig(n=16, m=24, knots=3, context_channels=16))
    torch.nn.init.normal_(network.context.output.weight, std=0.05)
    torch.nn.init.normal_(network.context.output.bias, std=0.2)
    return network.eval()


@pytest.fixture(scope="module")
def codec(model) -> frozen.FrozenHyperprior:
    return assembly.build_codec(freeze(model), backend="torch")


def test_context_taps_are_the_anchors_of_a_5x5_window_around_a_non_anchor():
    assert len(CONTEXT_TAPS) == 12 and all(max(abs(dy), abs(dx)) <= 2 for dy, dx in CONTEXT_TAPS)
    mask = anchor_mask(9, 10)
    assert mask[0, 0] and mask.sum() == 45
    for row, col in zip(*np.nonzero(~mask[2:-2, 2:-2])):
        assert all(mask[row + 2 + dy, col + 2 + dx] for dy, dx in CONTEXT_TAPS)


def test_integer_context_matches_the_trained_network(model):
    """The exact integer network reproduces torch's refinement to fixed-point rounding."""
    rng = np.random.default_rng(0)
    shape = (1, 24, 7, 9)
    y_hat = torch.from_numpy(np.round(rng.normal(0, 4, shape) * 256) / 256).float()
    mean = torch.from_numpy(np.round(rng.normal(0, 2, shape) * 256) / 256).float()
    log_scale = torch.from_numpy(np.round(rng.normal(0, 1, shape) * 256) / 256).float()
    with torch.no_grad():
        mean_torch, log_scale_torch = model.context(y_hat, mean, log_scale)
    network = integer_context(model)
    scale = 2.0**ACTIVATION_FRACTION_BITS
    refined_mean, refined_log_scale = network.refine(
        y_hat[0].double().numpy() * scale, mean[0].double().numpy() * scale, log_scale[0].double().numpy() * scale, slice(0, 7)
    )
    assert np.abs(refined_mean / scale - mean_torch[0].double().numpy()).max() < 0.02
    assert np.abs(refined_log_scale / scale - log_scale_torch[0].double().numpy()).max() < 0.02
    assert np.abs((mean_torch - mean).numpy()).max() > 0.1  # the refinement is not trivially zero
    anchors = torch.from_numpy(anchor_mask(7, 9))
    assert torch.equal(mean_torch[..., anchors], mean[..., anchors])  # anchors keep h_s's parameters
    assert network.worst_case_accumulator() < EXACT_LIMIT


def test_context_refines_only_the_non_anchors(codec):
    image = synthetic_photo(96, 64, seed=5).transpose(2, 0, 1).astype(np.float32) / 255
    latent = codec.analyze(image)
    with_context = codec.quantize(latent, 60.0)
    context, codec.context = codec.context, None
    try:
        hyper_only = codec.quantize(latent, 60.0)
    finally:
        codec.context = context
    anchors = anchor_mask(*latent.shape[1:])
    assert np.array_equal(with_context.bins[:, anchors], hyper_only.bins[:, anchors])
    assert np.array_equal(with_context.y_symbols[:, anchors], hyper_only.y_symbols[:, anchors])
    assert not np.array_equal(with_context.mean[:, ~anchors], hyper_only.mean[:, ~anchors])


@pytest.mark.parametrize("quality", [1.0, 55.0, 100.0])
def test_two_pass_decoding_reproduces_the_encoder_exactly(codec, quality):
    image = synthetic_photo(112, 80, seed=int(quality)).transpose(2, 0, 1).astype(np.float32) / 255
    quantized = codec.quantize(codec.analyze(image), quality)
    coded = codec.encode(quantized)
    assert {stream.name for stream in coded.streams} <= {"z", "y", "z.escape", "y.escape"}  # one stream holds both passes
    decoded = codec.decode_symbols(coded)
    for field in ("z_hat", "y_symbols", "mean", "bins"):
        assert np.array_equal(getattr(decoded, field), getattr(quantized, field)), field
    pixels = codec.reconstruct(decoded, quality)
    assert pixels.shape == image.shape and np.isfinite(pixels).all()


@pytest.mark.parametrize("size", [(16, 16), (272, 16), (16, 48)])
def test_latents_without_non_anchors_in_a_row_block_code_too(codec, size):
    """A 1×1 latent has no non-anchor at all; a one-row latent has blocks of one row."""
    width, height = size
    image = synthetic_photo(width, height, seed=1).transpose(2, 0, 1).astype(np.float32) / 255
    quantized = codec.quantize(codec.analyze(image), 40.0)
    decoded = codec.decode_symbols(codec.encode(quantized))
    assert np.array_equal(decoded.y_symbols, quantized.y_symbols) and np.array_equal(decoded.bins, quantized.bins)


def test_log_scales_beyond_int16_widen_their_buffer_exactly(codec, monkeypatch):
    """The context model's log-scale inputs are kept in int16, which holds every real image's;
    a crafted file whose h_s gives larger ones, in a tile after others, still gets exactly
    the clipped values."""
    limit = int(codec.context.input_max * 2**ACTIVATION_FRACTION_BITS)
    assert limit > np.iinfo(np.int16).max  # else clipping alone would keep them in int16

    def hyper(z_hat):  # each ẑ element's 4×4 block of outputs depends on that element only
        blocks = np.kron(z_hat[:1], np.ones((4, 4), dtype=np.int64))
        log_scale = np.broadcast_to(5 + (limit + 1000) * blocks, (codec.latent_channels, *blocks.shape[1:]))
        return np.zeros_like(log_scale), log_scale

    z_hat = np.zeros((codec.hyper_channels, 3, 4), dtype=np.int64)
    z_hat[0, 2, 3] = 1  # in the last tile
    monkeypatch.setattr(codec, "hyper", hyper)
    monkeypatch.setattr(frozen, "HYPER_TILE", 1)
    _, _, log_scale = codec._entropy_parameters(z_hat, (codec.latent_channels, 12, 16))
    expected = np.full((codec.latent_channels, 12, 16), 5)
    expected[:, 8:, 12:] = limit
    assert np.array_equal(log_scale, expected)


def test_freezing_refuses_a_context_model_that_could_leave_exact_arithmetic(model):
    huge = MeanScaleHyperprior(model.config)
    with torch.no_grad():
        huge.context.context.weight.fill_(1e6)
    with pytest.raises(ValueError, match="context model could exceed"):
        integer_context(huge)


def test_weights_files_keep_h_s_and_the_context_model_as_integers_only(model):
    """The float copies are rebuilt from the integers, load strictly, and freeze to the same integers."""
    arrays = freeze(model)
    assert not [key for key in arrays if key.startswith(("float.h_s.", "float.context."))]
    state = float_state_dict(arrays)
    rebuilt = MeanScaleHyperprior(model.config)
    rebuilt.load_state_dict(state)  # strict: every parameter is there
    original = model.state_dict()
    for name in (name for name in original if name.startswith(("h_s.", "context."))):
        difference = (state[name] - original[name]).abs()
        if name == "context.context.weight":  # taps that never see an anchor are dropped
            difference = difference[:, :, [2 + dy for dy, _ in CONTEXT_TAPS], [2 + dx for _, dx in CONTEXT_TAPS]]
        assert float(difference.max()) <= 2.0**-16, name
    again = freeze(rebuilt.eval())
    for key in (key for key in arrays if key.startswith(("h_s_int.", "context_int."))):
        assert np.array_equal(again[key], arrays[key]), key
