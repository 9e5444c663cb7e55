"""Integer tables, the range coder, and the exactness of the integer hyper-synthesis."""

from __future__ import annotations

import numpy as np
import pytest

from aecodec.entropy.coder import TableCoder
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS, WEIGHT_FRACTION_BITS, IntegerHyperSynthesis
from aecodec.entropy.tables import (
    PRECISION_BITS,
    SCALE_BIN_COUNT,
    PMFTables,
    gaussian_tables,
    scale_bin,
    scale_bin_representatives,
)
from aecodec.errors import DesyncError


@pytest.fixture(scope="module")
def tables() -> PMFTables:
    return gaussian_tables()


def test_every_table_sums_to_the_precision_and_keeps_every_symbol_codable(tables):
    for index in range(len(tables)):
        table = tables.table(index)
        assert table.sum() == 1 << PRECISION_BITS
        assert table.min() >= 1


def test_tables_roundtrip_through_arrays(tables):
    again = PMFTables.from_arrays(tables.to_arrays("y"), "y")
    assert np.array_equal(again.pmf, tables.pmf) and np.array_equal(again.minima, tables.minima)


def test_scale_bins_are_monotone_and_clamped():
    representatives = scale_bin_representatives()
    assert np.all(np.diff(representatives) > 0)
    log_scales = np.arange(-5000, 5000)
    bins = scale_bin(log_scales)
    assert bins.min() == 0 and bins.max() == SCALE_BIN_COUNT - 1
    assert np.all(np.diff(bins) >= 0)


def test_coder_roundtrip_with_escapes_and_near_entropy_rate(tables):
    rng = np.random.default_rng(1)
    index = rng.integers(0, len(tables), 20000)
    symbols = np.round(rng.normal(size=index.size) * scale_bin_representatives()[index]).astype(np.int64)
    symbols[[3, 50, 999]] = [10**6, -(10**6), 12345]
    coder = TableCoder(tables)
    data, escapes = coder.encode(symbols, index)
    assert set(escapes.tolist()) >= {10**6, -(10**6)}
    assert np.array_equal(coder.decode(data, index, escapes), symbols)
    # The cost is close to the ideal code length under the quantized tables.
    ideal = 0.0
    for i in np.unique(index):
        table = tables.table(i)
        sel = symbols[index == i] - tables.minima[i]
        sel = np.where((sel < 0) | (sel >= len(table) - 1), len(table) - 1, sel)
        ideal += -np.log2(table[sel] / table.sum()).sum()
    assert len(data) * 8 < ideal * 1.01 + 64


def test_coding_a_pass_in_chunks_writes_the_same_stream_and_escapes(tables, monkeypatch):
    """The coder groups symbols by table one chunk of the pass at a time (its index arrays
    stay bounded); each table's runs of symbols, coded one after the other, must make the
    very stream that coding every table's symbols at once makes."""
    from aecodec.entropy import coder as coder_module

    rng = np.random.default_rng(2)
    index = rng.integers(0, len(tables), 5000).astype(np.uint8)
    symbols = np.round(rng.normal(size=index.size) * scale_bin_representatives()[index]).astype(np.int64)
    symbols[[5, 2600, 4999]] = [10**6, -(10**6), 31337]  # escapes in different chunks
    coder = TableCoder(tables)
    whole = coder.encode(symbols, index)
    monkeypatch.setattr(coder_module, "GROUP_CHUNK", 7)
    data, escapes = coder.encode(symbols, index)
    assert data == whole[0] and np.array_equal(escapes, whole[1])
    assert np.array_equal(coder.decode(data, index, escapes), symbols)


def test_coder_detects_missing_or_extra_escape_values(tables):
    coder = TableCoder(tables)
    index = np.zeros(10, dtype=np.int64)
    symbols = np.array([0, 1, 500, 0, 0, 0, 0, 0, 0, 0])
    data, escapes = coder.encode(symbols, index)
    with pytest.raises(DesyncError):
        coder.decode(data, index, escapes[:0])
    with pytest.raises(DesyncError):
        coder.decode(data, index, np.append(escapes, 7))


def test_passes_share_one_stream_and_decode_one_at_a_time(tables):
    """The second pass's tables may depend on the first pass's symbols; escapes span both passes."""
    coder = TableCoder(tables)
    rng = np.random.default_rng(5)
    first = rng.integers(-3, 4, 50)
    first[7] = 90000  # escaped
    first_index = rng.integers(32, 64, 50)  # scales wide enough that only the planted values escape
    second = rng.integers(-3, 4, 40)
    second[0] = -70000  # escaped
    second_index = 32 + np.abs(first[:40]) % 32  # chosen from the first pass
    data, escapes = coder.encode_passes([(first, first_index), (second, second_index)])
    assert len(escapes) == 2
    decoder = coder.decoder(data, escapes)
    decoded_first = decoder.decode(first_index)
    decoded_second = decoder.decode(32 + np.abs(decoded_first[:40]) % 32)
    decoder.finish()
    assert np.array_equal(decoded_first, first) and np.array_equal(decoded_second, second)
    unfinished = coder.decoder(data, escapes)
    unfinished.decode(first_index)
    with pytest.raises(DesyncError, match="did not use"):
        unfinished.finish()  # the second pass's escape is still unread


def _reference_int64(network: IntegerHyperSynthesis, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same network in pure int64 arithmetic (no BLAS, no floats): the ground truth."""
    x = z.astype(np.int64) << ACTIVATION_FRACTION_BITS
    half = 1 << (WEIGHT_FRACTION_BITS - 1)
    ceiling = int(network.activation_max) << ACTIVATION_FRACTION_BITS
    layers = list(zip(network.weights, network.biases))
    for i, (weight, bias) in enumerate(layers):
        channels, height, width = x.shape
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        patches = np.stack([padded[:, dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)], axis=1)
        acc = np.einsum("oc,cp->op", weight.astype(np.int64), patches.reshape(channels * 9, -1)) + bias.astype(np.int64)[:, None]
        out = (acc + half) >> WEIGHT_FRACTION_BITS
        out = out.reshape(-1, height, width)
        if i < len(layers) - 1:
            out = np.clip(out, 0, ceiling)
            c = out.shape[0] // 4
            out = out.reshape(c, 2, 2, height, width).transpose(0, 3, 1, 4, 2).reshape(c, 2 * height, 2 * width)
        x = out
    mean, log_scale = np.split(x, 2, axis=0)
    return mean, log_scale


def _random_network(rng: np.random.Generator) -> IntegerHyperSynthesis:
    shapes = [(4 * 6, 6), (4 * 9, 6), (2 * 5, 9)]
    weights = tuple(np.round(rng.normal(0, 0.3, (o, c * 9)) * 2**WEIGHT_FRACTION_BITS) for o, c in shapes)
    biases = tuple(np.round(rng.normal(0, 0.5, o) * 2 ** (WEIGHT_FRACTION_BITS + ACTIVATION_FRACTION_BITS)) for o, _ in shapes)
    return IntegerHyperSynthesis(weights, biases, 64.0, 4096)


def test_integer_hyper_synthesis_matches_pure_integer_reference_exactly():
    rng = np.random.default_rng(2)
    network = _random_network(rng)
    assert network.worst_case_accumulator() < 2**52
    for _ in range(3):
        z = rng.integers(-60, 61, (6, 3, 5))
        z[0, 0, 0] = 4096  # the largest admissible value stays exact too
        mean, log_scale = network(z)
        ref_mean, ref_log_scale = _reference_int64(network, z)
        assert np.array_equal(mean, ref_mean) and np.array_equal(log_scale, ref_log_scale)


def test_integer_hyper_synthesis_refuses_inputs_outside_its_exact_range():
    network = _random_network(np.random.default_rng(3))
    with pytest.raises(ValueError):
        network(np.full((6, 1, 1), 4097))


def test_shipped_integer_network_is_exact_for_its_whole_input_range(codec):
    assert codec.hyper.worst_case_accumulator() < 2**52
