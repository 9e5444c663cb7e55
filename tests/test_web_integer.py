"""The browser's integer networks (export/web/integer_networks.js) agree with numpy exactly.

The hyper-synthesis and the checkerboard context model choose every probability table, so
the JS must give Python's integers, every one: on the shipped model's networks, on the
inputs the decoder itself gives them for real files (h_s tiles, context row windows, odd
grids, a 1×1 latent), and on random inputs at and beyond the clip limits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from tests_support import CONTEXT_MODEL_ID
from web_support import adapter_module, assert_same_outcomes, python_outcome, run_node

import aecodec
from aecodec import zoo
from aecodec.bitstream import read_container
from aecodec.entropy.coder import TableCoder
from aecodec.entropy.integer_context import IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS, IntegerHyperSynthesis
from aecodec.entropy.tables import PMFTables

ADAPTER = """
import { IntegerCheckerboardContext, IntegerHyperSynthesis } from "WEB/integer_networks.js";

function layers(arrays) {
  return arrays.map(([weight, bias, rows, columns]) => ({ weight, bias, rows, columns }));
}

// Each network crosses the process boundary once, with all of its cases.
function outcomes(cases, run) {
  return cases.map((args) => {
    try {
      return { value: run(...args) };
    } catch (error) {
      return { error: [error.name, error.message] };
    }
  });
}

export function hyper(network, cases) {
  const synthesis = new IntegerHyperSynthesis(layers(network.layers), network.activationMax, network.inputMax);
  return outcomes(cases, (zHat, shape) => {
    const out = synthesis.run(zHat, ...shape);
    return [Array.from(out.mean), Array.from(out.logScale), [out.channels, out.height, out.width]];
  });
}

export function refine(network, cases) {
  const context = new IntegerCheckerboardContext(layers(network.layers), network.inputMax, network.activationMax);
  return outcomes(cases, (yHat, mean, logScale, shape, rows) => {
    const out = context.refine(yHat, mean, logScale, ...shape, ...rows);
    return [Array.from(out.mean), Array.from(out.logScale)];
  });
}
"""

UNIT = 2**ACTIVATION_FRACTION_BITS
EXPECTED = Path(__file__).resolve().parent / "expected"


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return adapter_module(tmp_path_factory.mktemp("web-integer"), ADAPTER)


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return zoo.load_arrays(CONTEXT_MODEL_ID)


def _network_json(network, limits: dict) -> dict:
    layers = [[weight, bias, weight.shape[0], weight.shape[1]] for weight, bias in zip(network.weights, network.biases)]
    return {"layers": layers, **limits}


@pytest.fixture(scope="module")
def hyper(arrays):
    network = IntegerHyperSynthesis.from_arrays(arrays, "h_s_int")
    return network, _network_json(network, {"activationMax": network.activation_max, "inputMax": network.input_max})


@pytest.fixture(scope="module")
def context(arrays):
    network = IntegerCheckerboardContext.from_arrays(arrays, "context_int")
    return network, _network_json(network, {"inputMax": network.input_max, "activationMax": network.activation_max})


def _golden_z_hat(arrays) -> np.ndarray:
    """ẑ of the golden v7 file, decoded with the shipped z tables (table = channel)."""
    container = read_container((EXPECTED / "sample-crop-q50-hyperprior-v7.aec").read_bytes())
    stream = next(stream for stream in container.streams if stream.name == "z")
    shape = stream.shape[-3:]
    table_index = np.repeat(np.arange(shape[0]), shape[1] * shape[2])
    tables = PMFTables.from_arrays(arrays, "z_tables")
    return TableCoder(tables).decode(stream.payload, table_index, np.zeros(0, dtype=np.int64)).reshape(shape)


def test_hyper_synthesis_gives_numpys_integers(adapter, hyper, arrays):
    network, network_json = hyper
    rng = np.random.default_rng(8)
    channels = network.weights[0].shape[1] // 9
    limit = network.input_max
    golden = _golden_z_hat(arrays)
    assert np.abs(golden).max() > 0
    cases = {
        "golden file's ẑ": golden,
        "1x1": rng.integers(-4, 5, (channels, 1, 1)),
        "1x3": rng.integers(-20, 21, (channels, 1, 3)),
        "3x2 at the limits": rng.choice([-limit, limit, 0, 1], (channels, 3, 2)),
        "2x1 beyond the limit": np.where(np.arange(channels * 2).reshape(channels, 2, 1) == 77, limit + 1, 0),
        "2x2 far beyond": np.full((channels, 2, 2), -(limit * 40)),
    }

    def run_python(z_hat):
        mean, log_scale = network(z_hat)
        return [mean.ravel().tolist(), log_scale.ravel().tolist(), list(mean.shape)]

    expected = [python_outcome(run_python, z_hat, errors=ValueError) for z_hat in cases.values()]
    assert sum("error" in outcome for outcome in expected) == 2
    inputs = [[z_hat.astype(np.float64).ravel(), list(z_hat.shape)] for z_hat in cases.values()]
    (outcome,) = run_node(adapter, [("hyper", [network_json, inputs])])
    actual = outcome["value"]
    for outcome in actual:
        if "error" in outcome and outcome["error"][0] == "RangeError":
            outcome["error"][0] = "ValueError"
    assert_same_outcomes(list(cases), expected, actual)


def test_context_model_gives_numpys_integers(adapter, context):
    """Row windows as the decoder cuts them: two rows of context above and below, or fewer."""
    network, network_json = context
    rng = np.random.default_rng(9)
    channels = network.weights[0].shape[1] // 12
    limit = int(network.input_max * UNIT)
    windows = {  # (height, width, first refined row, stop): odd grids, a 1×1 latent, edges
        "1x1 latent": (1, 1, 0, 1),
        "1x2 latent": (1, 2, 0, 1),
        "3x5, all rows": (3, 5, 0, 3),
        "6x4, rows 2:4": (6, 4, 2, 4),
        "4x7, rows 2:4 at the bottom": (4, 7, 2, 4),
        "5x3, rows 0:2 at the top": (5, 3, 0, 2),
        "2x1": (2, 1, 0, 2),
    }
    cases = {}
    for label, (height, width, start, stop) in windows.items():
        rows = stop - start
        typical = (
            rng.integers(-12 * UNIT, 12 * UNIT, (channels, height, width)),
            rng.integers(-8 * UNIT, 8 * UNIT, (channels, rows, width)),
            rng.integers(-3 * UNIT, 3 * UNIT, (channels, rows, width)),
        )
        cases[label] = (*typical, (height, width, start, stop))
        extreme = [rng.choice([-limit - 999, -limit, limit, limit + 1, 0], part.shape) for part in typical]
        cases[f"{label}, at and beyond the clips"] = (*extreme, (height, width, start, stop))

    def run_python(y_hat, mean, log_scale, window):
        refined_mean, refined_log_scale = network.refine(
            y_hat.astype(np.float64), mean.astype(np.float64), log_scale.astype(np.int64), slice(window[2], window[3]))
        return [refined_mean.ravel().tolist(), refined_log_scale.ravel().tolist()]

    expected = [python_outcome(run_python, *case) for case in cases.values()]
    inputs = [[y_hat.astype(np.float64).ravel(), mean.astype(np.float64).ravel(), log_scale.astype(np.float64).ravel(),
               [channels, *window[:2]], list(window[2:])] for y_hat, mean, log_scale, window in cases.values()]
    (outcome,) = run_node(adapter, [("refine", [network_json, inputs])])
    assert_same_outcomes(list(cases), expected, outcome["value"])
    # The refinement changed something at every window that has non-anchors in its rows.
    changed = [outcome["value"][0] != case[1].astype(np.float64).ravel().tolist() for outcome, case in zip(expected, cases.values())]
    assert sum(changed) >= len(cases) - 2


@pytest.fixture(scope="module")
def decoder_calls() -> tuple[list, list]:
    """Every h_s and context-model call aecodec.decompress makes on a few real files.

    The torch backend evaluates both networks with the numpy classes, which are wrapped
    while the files decode, so the record holds the exact inputs the decoder cut (h_s
    tiles with their margins, row windows of the context model) and the outputs it used.
    """
    photos = [((16, 16), 60), ((33, 47), 95), ((48, 32), 5), ((1040, 24), 40)]  # the last: two h_s tiles
    files = [aecodec.compress(synthetic_photo(*size, seed=index), quality=quality) for index, (size, quality) in enumerate(photos)]
    hyper_calls, context_calls = [], []
    run_hyper, run_refine = IntegerHyperSynthesis.__call__, IntegerCheckerboardContext.refine

    def hyper(self, z_hat):
        mean, log_scale = run_hyper(self, z_hat)
        hyper_calls.append((np.array(z_hat), mean.copy(), log_scale.copy()))
        return mean, log_scale

    def refine(self, y_hat, mean, log_scale, rows):
        refined = run_refine(self, y_hat, mean, log_scale, rows)
        context_calls.append((np.array(y_hat), np.array(mean), np.array(log_scale), rows, [part.copy() for part in refined]))
        return refined

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IntegerHyperSynthesis, "__call__", hyper)
        patch.setattr(IntegerCheckerboardContext, "refine", refine)
        for data in files:
            aecodec.decompress(data, backend="torch")
    return hyper_calls, context_calls


def test_the_decoders_own_calls_give_the_same_integers(adapter, hyper, context, decoder_calls):
    hyper_calls, context_calls = decoder_calls
    assert len(hyper_calls) >= 5 and len(context_calls) >= 4  # the wide photo's h_s ran in two tiles
    expected = [[mean.ravel().tolist(), log_scale.ravel().tolist(), list(mean.shape)] for _, mean, log_scale in hyper_calls]
    inputs = [[z_hat.astype(np.float64).ravel(), list(z_hat.shape)] for z_hat, *_ in hyper_calls]
    (outcome,) = run_node(adapter, [("hyper", [hyper[1], inputs])])
    labels = [f"h_s on ẑ {z_hat.shape}" for z_hat, *_ in hyper_calls]
    assert_same_outcomes(labels, [{"value": value} for value in expected], outcome["value"])

    expected = [[refined_mean.ravel().tolist(), refined_log_scale.ravel().tolist()]
                for *_, (refined_mean, refined_log_scale) in context_calls]
    inputs = [[y_hat.astype(np.float64).ravel(), mean.astype(np.float64).ravel(), log_scale.astype(np.float64).ravel(),
               list(y_hat.shape), [rows.start, rows.stop]] for y_hat, mean, log_scale, rows, _ in context_calls]
    (outcome,) = run_node(adapter, [("refine", [context[1], inputs])])
    labels = [f"context on a {y_hat.shape} window, rows {rows}" for y_hat, _, _, rows, _ in context_calls]
    assert_same_outcomes(labels, [{"value": value} for value in expected], outcome["value"])
