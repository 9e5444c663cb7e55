"""The browser's range decoder (export/web/) decodes exactly what constriction decodes.

categorical.js must rebuild constriction's quantized CDF entry for entry (checked on the
shipped z and y tables and on adversarial synthetic ones), range_decoder.js must follow
constriction's queue decoder symbol for symbol on any words, valid or not, and
table_decoder.js must give aecodec.entropy.coder's passes, minima and escapes, or the same
error, on streams that coder wrote, cut, garbled or decoded under the wrong tables.
"""

from __future__ import annotations

import constriction
import numpy as np
import pytest
from conftest import synthetic_photo
from web_support import adapter_module, assert_same_outcomes, python_outcome, run_node

import aecodec
from aecodec.entropy.coder import PassDecoder, TableCoder
from aecodec.entropy.tables import PMFTables
from aecodec.errors import DesyncError

ADAPTER = """
import { quantizedCdf } from "WEB/categorical.js";
import { RangeDecoder } from "WEB/range_decoder.js";
import { TableDecoder } from "WEB/table_decoder.js";

export function cdf(pmf) {
  return Array.from(quantizedCdf(pmf));
}

export function decodeEach(words, pmf, count) {
  const table = quantizedCdf(pmf);
  const decoder = new RangeDecoder(words);
  const symbols = [];
  try {
    for (let k = 0; k < count; k++) symbols.push(decoder.decode(table));
  } catch (error) {
    return { symbols, error: [error.name, error.message] };
  }
  return { symbols, error: null };
}

export function decodePasses(tables, data, escapes, passes) {
  const decoder = new TableDecoder(tables).decoder(data, escapes);
  const symbols = passes.map((tableIndex) => Array.from(decoder.decode(tableIndex)));
  decoder.finish();
  return symbols;
}
"""

# Python's ValueError (constriction refusing a table, an index naming no table) is JS's RangeError.
PYTHON_NAMES = {"RangeError": "ValueError"}


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return adapter_module(tmp_path_factory.mktemp("web-range"), ADAPTER)


def _synthetic_pmfs() -> list[list[int]]:
    """Tables no trained model makes: extremes of size, skew, zeros and sums."""
    rng = np.random.default_rng(28)
    return [
        [1, 65535], [65535, 1], [1, 1], [0, 1], [1, 0], [0, 0, 5], [3, 7, 11],
        [65536 - 999] + [1] * 999, [1] * 999 + [65536 - 999], [65] * 1000,
        [0] * 100 + [1] + [0] * 100, [2**39, 1, 2**38], [2**52, 2**52 - 1, 1],
        [1, 2**45, 1, 2**45, 1], list(range(1, 300)), list(range(300, 0, -1)),
        rng.integers(0, 1000, 5000).tolist(), rng.integers(0, 3, 20000).tolist(),
        np.round(rng.dirichlet(np.full(40, 0.05)) * 65536).astype(int).tolist(),
        [2**24] * 3, [10**15, 3, 10**15, 7],
    ]


# Tables constriction refuses: too few entries, a sum of zero.
REFUSED_PMFS = [[], [5], [0], [0, 0], [0, 0, 0]]


def _constriction_cdf(pmf: np.ndarray) -> list[int] | str:
    """constriction's CDF, read back through the encoder; "ValueError" where it refuses.

    A symbol coded alone from the initial state leaves ``lower = c * (2^40 - 1)``, where
    ``c`` is its left cumulative, and the first word the encoder writes is then ``c << 8``.
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            model = constriction.stream.model.Categorical(pmf / pmf.sum(), perfect=False)
    except ValueError:
        return "ValueError"
    cdf = []
    for symbol in range(len(pmf)):
        encoder = constriction.stream.queue.RangeEncoder()
        encoder.encode(np.array([symbol], dtype=np.int32), model)
        first = int(encoder.get_compressed()[0])
        assert first & 0xFF == 0
        cdf.append(first >> 8)
    return cdf + [2**24]


def _js_cdfs(adapter, pmfs: list) -> list:
    outcomes = run_node(adapter, [("cdf", [np.asarray(pmf, dtype=np.float64)]) for pmf in pmfs])
    return [outcome["value"] if "value" in outcome else PYTHON_NAMES[outcome["error"][0]] for outcome in outcomes]


def test_every_cdf_entry_of_the_shipped_tables_is_constrictions(adapter, shipped):
    pmfs = [tables.table(index) for tables in shipped.values() for index in range(len(tables))]
    assert len(pmfs) == 96 + 64
    expected = [_constriction_cdf(pmf) for pmf in pmfs]
    actual = _js_cdfs(adapter, pmfs)
    labels = [f"{name} table {index}" for name, tables in shipped.items() for index in range(len(tables))]
    assert_same_outcomes(labels, expected, actual)


def test_every_cdf_entry_of_adversarial_tables_is_constrictions(adapter):
    pmfs = _synthetic_pmfs() + REFUSED_PMFS
    expected = [_constriction_cdf(pmf) for pmf in pmfs]
    assert expected.count("ValueError") == len(REFUSED_PMFS)
    assert_same_outcomes([str(pmf)[:60] for pmf in pmfs], expected, _js_cdfs(adapter, pmfs))


def _python_decode_each(words: np.ndarray, pmf, count: int) -> dict:
    pmf = np.asarray(pmf, dtype=np.float64)
    model = constriction.stream.model.Categorical(pmf / pmf.sum(), perfect=False)
    decoder = constriction.stream.queue.RangeDecoder(words)
    symbols = []
    for _ in range(count):
        try:
            symbols.append(int(decoder.decode(model)))
        except AssertionError:
            return {"symbols": symbols, "error": ["DesyncError", "entropy-coded stream is invalid for its probability tables"]}
    return {"symbols": symbols, "error": None}


def test_the_decoder_follows_constriction_on_any_words(adapter, shipped):
    """Noise, all-ones and short word arrays: the same symbols, and a refusal at the same one."""
    rng = np.random.default_rng(5)
    y = shipped["y"]
    pmfs = [y.table(0), y.table(20), y.table(63), [1, 65535], [65535, 1], [1] * 999 + [65536 - 999], [0, 0, 5]]
    cases = []
    for index, pmf in enumerate(pmfs):
        for words in (
            rng.integers(0, 2**32, 200, dtype=np.uint32), rng.integers(0, 2**32, 3, dtype=np.uint32),
            np.full(50, 2**32 - 1, dtype=np.uint32), np.zeros(0, dtype=np.uint32), np.array([2**32 - 1], dtype=np.uint32),
            np.array([2**32 - 1, 2**32 - 2**8], dtype=np.uint32), np.array([0xFFFFFF00, 0xFFFFFFFF], dtype=np.uint32),
        ):
            cases.append((f"table {index}, {len(words)} words from {words[:2]}", words, pmf, 3000))
    expected = [_python_decode_each(words, pmf, count) for _, words, pmf, count in cases]
    refused = sum(outcome["error"] is not None for outcome in expected)
    assert 5 <= refused < len(cases)  # the cases include constriction refusing, and not only that
    calls = [("decodeEach", [words, np.asarray(pmf, dtype=np.float64), count]) for _, words, pmf, count in cases]
    actual = [outcome.get("value", outcome) for outcome in run_node(adapter, calls)]
    assert_same_outcomes([label for label, *_ in cases], [{"value": e} for e in expected], [{"value": a} for a in actual])


def _sample(tables: PMFTables, table_index: np.ndarray, rng: np.random.Generator, escape_rate: float) -> np.ndarray:
    """Symbols drawn from their tables, with a share replaced by values that must escape."""
    symbols = np.zeros(len(table_index), dtype=np.int64)
    for table in np.unique(table_index):
        chosen = table_index == table
        weights = tables.table(table)[:-1].astype(np.float64) + 1e-3
        symbols[chosen] = rng.choice(len(weights), chosen.sum(), p=weights / weights.sum()) + tables.minima[table]
    escaped = rng.random(len(symbols)) < escape_rate
    symbols[escaped] = rng.integers(-(2**31), 2**31, escaped.sum())
    return symbols


def _python_passes(tables: PMFTables, data: bytes, escapes, passes) -> dict:
    def decode():
        decoder = TableCoder(tables).decoder(data, np.asarray(escapes, dtype=np.int64))
        symbols = [decoder.decode(table_index).tolist() for table_index in passes]
        decoder.finish()
        return symbols

    return python_outcome(decode, errors=(DesyncError, ValueError))


def _js_passes(adapter, cases) -> list[dict]:
    calls = []
    for tables, data, escapes, passes in cases:
        tables_json = {key: np.asarray(getattr(tables, key), dtype=np.float64) for key in ("pmf", "offsets", "minima")}
        calls.append(("decodePasses", [tables_json, data, np.asarray(escapes, dtype=np.int32),
                                       [np.asarray(p, dtype=np.int32) for p in passes]]))
    outcomes = run_node(adapter, calls)
    for outcome in outcomes:
        if "error" in outcome:
            outcome["error"][0] = PYTHON_NAMES.get(outcome["error"][0], outcome["error"][0])
    return outcomes


def assert_passes_agree(adapter, cases: dict[str, tuple]) -> list[dict]:
    expected = [_python_passes(*case) for case in cases.values()]
    assert_same_outcomes(list(cases), expected, _js_passes(adapter, cases.values()))
    return expected


def _encoded(tables: PMFTables, passes, rng, escape_rate=0.01):
    """(symbols per pass, stream bytes, escapes) written by aecodec's TableCoder."""
    symbols = [_sample(tables, table_index, rng, escape_rate) for table_index in passes]
    data, escapes = TableCoder(tables).encode_passes(list(zip(symbols, passes)))
    return symbols, data, escapes


@pytest.fixture(scope="module")
def streams(shipped) -> dict[str, tuple]:
    """Streams of many lengths under the shipped and synthetic tables, one or two passes."""
    rng = np.random.default_rng(11)
    z, y = shipped["z"], shipped["y"]
    synthetic = PMFTables(
        np.concatenate([np.asarray(p, dtype=np.int64) for p in _synthetic_pmfs()]),
        np.cumsum([0] + [len(p) for p in _synthetic_pmfs()]).astype(np.int64),
        rng.integers(-50, 50, len(_synthetic_pmfs())).astype(np.int64),
    )
    cases = {}
    for height, width in [(1, 1), (2, 3), (5, 7)]:
        cases[f"z {height}x{width}"] = (z, [np.repeat(np.arange(96), height * width)])
    for length in (0, 1, 2, 7, 100, 1000, 100_000):
        cases[f"y {length}"] = (y, [rng.integers(0, 64, length)])
    cases["y two passes"] = (y, [rng.integers(0, 64, 500), rng.integers(0, 64, 700)])
    cases["y four passes, one empty"] = (y, [rng.integers(0, 8, 50), np.zeros(0, int), rng.integers(50, 64, 90), [3]])
    cases["y all escapes"] = (y, [rng.integers(0, 64, 200)], 1.0)
    cases["synthetic 3000"] = (synthetic, [rng.integers(0, len(synthetic), 3000)])
    cases["synthetic two passes"] = (synthetic, [rng.integers(0, len(synthetic), 400), rng.integers(0, 5, 40)])
    built = {}
    for label, (tables, passes, *rate) in cases.items():
        passes = [np.asarray(p, dtype=np.int64) for p in passes]
        symbols, data, escapes = _encoded(tables, passes, rng, *rate)
        built[label] = (tables, passes, symbols, data, escapes)
    # After symbols 0, 1, 2 of this table (24-bit probabilities 2^23 + 1, 2 and 2^16) the
    # range is exactly 2^32: the one value where renormalizing or not differs.
    exact = PMFTables(np.array([2**23, 1, 65535, 8323068]), np.array([0, 4]), np.array([0]))
    symbols = [np.concatenate([[0, 1, 2], rng.integers(0, 3, 60)])]
    data, escapes = TableCoder(exact).encode_passes([(symbols[0], np.zeros(63, dtype=np.int64))])
    built["range of exactly 2^32"] = (exact, [np.zeros(63, dtype=np.int64)], symbols, data, escapes)
    return built


def test_streams_decode_to_what_was_coded(adapter, streams):
    cases = {label: (tables, data, escapes, passes) for label, (tables, passes, _, data, escapes) in streams.items()}
    expected = assert_passes_agree(adapter, cases)
    for (label, (*_, symbols, _, _)), outcome in zip(streams.items(), expected):
        assert outcome["value"] == [s.tolist() for s in symbols], label
    assert any(len(escapes) for *_, escapes in streams.values())


def test_damaged_streams_fail_or_misdecode_alike(adapter, streams, shipped):
    """Truncated, garbled, over-read, under the wrong tables or with the wrong escapes."""
    rng = np.random.default_rng(3)
    cases = {}
    for label, (tables, passes, _, data, escapes) in streams.items():
        if len(data) < 8:
            continue
        for cut in (4, 8, len(data) // 2, len(data) - 4, 3, 1):
            cases[f"{label}, last {cut} bytes cut"] = (tables, data[:-cut], escapes, passes)
        noisy = bytearray(data)
        noisy[len(data) // 3] ^= 0x10
        cases[f"{label}, one bit flipped"] = (tables, bytes(noisy), escapes, passes)
        longer = [np.concatenate([p, p[: max(1, len(p) // 10)]]) for p in passes]
        cases[f"{label}, read past the end"] = (tables, data, escapes, longer)
        shifted = [(p + 1) % len(tables) for p in passes]
        cases[f"{label}, wrong tables"] = (tables, data, escapes, shifted)
        cases[f"{label}, an escape short"] = (tables, data, escapes[:-1], passes)
        cases[f"{label}, an escape extra"] = (tables, data, np.append(escapes, 7), passes)
    y = shipped["y"]
    for length in (4, 8, 12, 100, 400, 4000):
        cases[f"noise of {length} bytes"] = (y, rng.bytes(length), np.zeros(0), [rng.integers(0, 64, 3000)])
    cases["all ones"] = (y, b"\xff" * 64, np.zeros(0), [rng.integers(0, 64, 300)])
    cases["index -1"] = (y, b"", np.zeros(0), [[0, -1]])
    cases["index 64"] = (y, b"", np.zeros(0), [[64]])
    cases["z tables on a y stream"] = (shipped["z"], streams["y 1000"][3], streams["y 1000"][4], [rng.integers(0, 96, 1000)])
    refusing = PMFTables(np.array([5, 1, 65535], dtype=np.int64), np.array([0, 1, 3], dtype=np.int64), np.array([0, -1], dtype=np.int64))
    cases["a refused table, unused"] = (refusing, streams["y 7"][3], np.zeros(0), [[1, 1, 1]])
    cases["a refused table, used"] = (refusing, streams["y 7"][3], np.zeros(0), [[1, 0, 1]])
    expected = assert_passes_agree(adapter, cases)
    kinds = {tuple(outcome["error"]) if "error" in outcome else "decoded" for outcome in expected}
    assert len(kinds) >= 6  # every failure kind is met, and some damage decodes to garbage


@pytest.fixture(scope="module")
def real_streams() -> list[dict]:
    """Every stream aecodec.decompress decodes from a few real files, with its passes.

    TableCoder.decoder and PassDecoder.decode are wrapped while the files decode, so the
    record holds the tables, bytes, escapes and table indexes the codec itself computed.
    """
    images = [(synthetic_photo(48, 32, seed=1), 10), (synthetic_photo(33, 47, seed=2), 95)]
    files = [aecodec.compress(image, quality=quality) for image, quality in images]
    recorded = []
    make_decoder, decode_pass = TableCoder.decoder, PassDecoder.decode

    def decoder(self, data, escapes):
        passes = make_decoder(self, data, escapes)
        recorded.append({"decoder": passes, "tables": self.tables, "data": bytes(data),
                         "escapes": np.asarray(escapes).copy(), "passes": [], "symbols": []})
        return passes

    def decode(self, table_index):
        symbols = decode_pass(self, table_index)
        entry = next(entry for entry in recorded if entry["decoder"] is self)
        entry["passes"].append(np.asarray(table_index).ravel().copy())
        entry["symbols"].append(symbols.tolist())
        return symbols

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TableCoder, "decoder", decoder)
        patch.setattr(PassDecoder, "decode", decode)
        for data in files:
            aecodec.decompress(data)
    return recorded


def test_the_streams_of_real_files_decode_alike(adapter, real_streams):
    assert len(real_streams) == 4 and sorted(len(entry["passes"]) for entry in real_streams) == [1, 1, 2, 2]
    cases = {f"stream {index} ({len(entry['passes'])} passes)": (entry["tables"], entry["data"], entry["escapes"], entry["passes"])
             for index, entry in enumerate(real_streams)}
    expected = assert_passes_agree(adapter, cases)
    assert [outcome["value"] for outcome in expected] == [entry["symbols"] for entry in real_streams]
