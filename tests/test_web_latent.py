"""The browser's latent (export/web/latent.js) is, bit for bit, what Python feeds the synthesis.

latent.js turns decoded symbols into the synthesis graph's input ŷ from the exported gains
card alone: the rate parameter of the quality, the inverse gains interpolated or extrapolated
between the knots, and the float32 dequantization. Its ŷ is compared byte for byte with the
tiles FrozenHyperprior.reconstruct_tiles hands the synthesis, on real latents (odd grids, two
synthesis tiles) and on synthetic ones at the value limits; its rate parameter and gains with
Python's for every quality a container can store.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from conftest import synthetic_photo
from tests_support import CONTEXT_MODEL_ID
from web_support import adapter_module, run_node

from aecodec import assembly, zoo
from aecodec.codecs.frozen import SYNTHESIS_MARGIN, SYNTHESIS_TILE
from aecodec.codecs.rounding import LATENT_SYMBOL_MAX, interpolate_gain
from aecodec.codecs.streams import QuantizedLatents
from aecodec.codecs.tiling import spans
from aecodec.runtime.onnx_files import GAINS

ADAPTER = """
import { deGainedLatent, interpolateGain, inverseGain, rateParameter } from "WEB/latent.js";

export function gainsAt(card, qualities) {
  const channels = card.channels;
  const t = Float64Array.from(qualities, (quality) => rateParameter(card, quality));
  const gain = new Float32Array(qualities.length * channels);
  const inverse = new Float32Array(qualities.length * channels);
  qualities.forEach((quality, k) => {
    gain.set(interpolateGain(card.log_gain, t[k]), k * channels);
    inverse.set(inverseGain(card, quality), k * channels);
  });
  return { t, gain, inverse };
}

export function latents(card, cases) {
  return cases.map(([ySymbols, mean, shape, quality]) => deGainedLatent(ySymbols, mean, shape, inverseGain(card, quality)));
}
"""

QUALITIES = [1.0, 7.77, 33.33, 50.0, 96.5, 100.0]  # below knot 0, between knots, above the last knot
PHOTOS = [(16, 16), (80, 48), (800, 32)]  # (width, height): a 1×1 latent, an odd 3×5 grid, two synthesis tiles


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return adapter_module(tmp_path_factory.mktemp("web-latent"), ADAPTER)


@pytest.fixture(scope="module")
def codec():
    return assembly.load_codec(CONTEXT_MODEL_ID)


@pytest.fixture(scope="module")
def card(codec) -> dict:
    """The exported gains card, checked to be the installed weights' own."""
    card = json.loads((zoo.onnx_dir(CONTEXT_MODEL_ID) / GAINS).read_text())
    assert card["weights_sha256"] == zoo.entry(CONTEXT_MODEL_ID).sha256
    for key, table in (("log_gain", codec.log_gain), ("log_inverse_gain", codec.log_inverse_gain)):
        assert np.array_equal(np.array(card[key], dtype=np.float64), table.astype(np.float64))
    return card


def test_rate_parameter_and_gains_of_every_storable_quality_are_pythons(adapter, codec, card):
    qualities = (np.arange(100, 10001) / 100).tolist()  # as the container reader gives them
    t = np.array([codec.rate_parameter(quality) for quality in qualities])
    gain = np.stack([interpolate_gain(codec.log_gain, value).ravel() for value in t])
    inverse = np.stack([interpolate_gain(codec.log_inverse_gain, value).ravel() for value in t])
    assert t.min() < 0 and t.max() > codec.knots - 1  # both ends are extrapolated
    (outcome,) = run_node(adapter, [("gainsAt", [card, qualities])])
    got = outcome["value"]
    assert got["t"].tobytes() == t.tobytes()
    for name, expected in (("gain", gain), ("inverse", inverse)):
        actual = got[name].reshape(expected.shape)
        wrong = np.argwhere(actual.view(np.uint32) != expected.view(np.uint32))
        assert not len(wrong), f"{len(wrong)} {name} values differ, first at (quality, channel) {[(qualities[q], c) for q, c in wrong[:3]]}"


def _synthesis_inputs(codec, quantized: QuantizedLatents, quality: float) -> list[np.ndarray]:
    """The ŷ tiles reconstruct_tiles hands the synthesis, recorded by a stand-in synthesis."""
    recorded = []

    class Recorder:
        def synthesis(self, y_hat):
            recorded.append(np.array(y_hat))
            return np.zeros((3, 16 * y_hat.shape[1], 16 * y_hat.shape[2]), dtype=np.float32)

    recording = copy.copy(codec)
    recording.transforms = Recorder()
    for _ in recording.reconstruct_tiles(quantized, quality):
        pass
    return recorded


def _synthetic(rng, shape) -> QuantizedLatents:
    """Symbols and means at and near the limits the decoder admits."""
    y_symbols = rng.choice([-LATENT_SYMBOL_MAX, LATENT_SYMBOL_MAX, 0, 1, -1, 2**19 + 1], shape).astype(np.int32)
    y_symbols.ravel()[::3] = rng.integers(-LATENT_SYMBOL_MAX, LATENT_SYMBOL_MAX + 1, y_symbols.size)[::3]
    mean = rng.integers(-(2**23), 2**23, shape) / 256
    return QuantizedLatents(z_hat=np.zeros((1, 1, 1), dtype=np.int32), y_symbols=y_symbols, mean=mean, bins=np.zeros(shape, dtype=np.uint8))


def test_the_latent_is_what_python_feeds_the_synthesis(adapter, codec, card):
    cases = {}
    for width, height in PHOTOS:
        latent = codec.analyze(synthetic_photo(width, height, seed=width).transpose(2, 0, 1).astype(np.float32) / 255)
        for quality in QUALITIES:
            cases[f"{width}x{height} q{quality}"] = (codec.quantize(latent, quality), quality)
    rng = np.random.default_rng(28)
    for quality, shape in ((1.0, (256, 3, 4)), (58.25, (256, 1, 1)), (100.0, (256, 2, 5))):
        cases[f"synthetic {shape} q{quality}"] = (_synthetic(rng, shape), quality)
    inputs = [[q.y_symbols.ravel(), q.mean.ravel().astype(np.float64), list(q.y_symbols.shape), quality] for q, quality in cases.values()]
    (outcome,) = run_node(adapter, [("latents", [card, inputs])])
    assert len(outcome["value"]) == len(cases)
    tiled = 0
    for (label, (quantized, quality)), latent in zip(cases.items(), outcome["value"]):
        channels, height, width = quantized.y_symbols.shape
        latent = latent.reshape(channels, height, width)
        tiles = _synthesis_inputs(codec, quantized, quality)
        reads = [(rows, cols) for rows in spans(height, SYNTHESIS_TILE, SYNTHESIS_MARGIN) for cols in spans(width, SYNTHESIS_TILE, SYNTHESIS_MARGIN)]
        assert len(tiles) == len(reads), label
        tiled += len(tiles) > 1
        for tile, (rows, cols) in zip(tiles, reads):
            expected = latent[:, rows.read_start : rows.read_end, cols.read_start : cols.read_end]
            assert tile.dtype == np.float32 and tile.shape == expected.shape, label
            wrong = np.argwhere(tile.view(np.uint32) != expected.view(np.uint32))
            assert not len(wrong), f"{label}: {len(wrong)} values differ, first at {wrong[:3].tolist()}"
    assert tiled == len(QUALITIES)  # the wide photo went to the synthesis in two tiles
