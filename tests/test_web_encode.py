"""The browser's encoder (export/web/) writes, byte for byte, what Python writes.

range_encoder.js must emit constriction's words for any symbols under any table (its
words decoding back in constriction), table_encoder.js aecodec.entropy.coder's streams and
escapes, quantize.js FrozenHyperprior.quantize's symbols from the same float latent, and
entropy_encoder.js FrozenHyperprior.encode's streams and symbol CRC; container_writer.js
must write write_container's bytes, and refuse what it refuses with the same message. Put
together on the shipped model's latents, the JS writes the very file aecodec.compress
writes, which aecodec.decompress decodes to the same pixels. Each group of cases runs in
one Node process.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import constriction
import container_builders as build
import numpy as np
import pytest
from conftest import synthetic_photo
from test_web_range import _sample
from tests_support import CONTEXT_MODEL_ID
from web_support import adapter_module, assert_same_outcomes, entropy_model, python_outcome, run_node

import aecodec
from aecodec import assembly, pipeline, zoo
from aecodec.bitstream import Container, Header, Stream, read_container, write_container
from aecodec.codecs.rounding import LATENT_SYMBOL_MAX, interpolate_gain, round_symbols
from aecodec.codecs.streams import QuantizedLatents
from aecodec.entropy.coder import TableCoder
from aecodec.entropy.tables import PMFTables
from aecodec.runtime.onnx_files import GAINS

EXPECTED = Path(__file__).resolve().parent / "expected"

ADAPTER = """
import { quantizedCdf } from "WEB/categorical.js";
import { readContainer } from "WEB/container.js";
import { writeContainer } from "WEB/container_writer.js";
import { EntropyDecoder } from "WEB/entropy_decoder.js";
import { EntropyEncoder } from "WEB/entropy_encoder.js";
import { quantize, roundSymbols } from "WEB/quantize.js";
import { RangeEncoder } from "WEB/range_encoder.js";
import { TableEncoder } from "WEB/table_encoder.js";

function outcome(run) {
  try {
    return { value: run() };
  } catch (error) {
    return { error: [error.name, error.message] };
  }
}

// outcome() of an asynchronous call, one after another.
async function settledInTurn(runs) {
  const outcomes = [];
  for (const run of runs) {
    try {
      outcomes.push({ value: await run() });
    } catch (error) {
      outcomes.push({ error: [error.name, error.message] });
    }
  }
  return outcomes;
}

export function encodeEach(cases) {
  return cases.map(([pmf, symbols]) => outcome(() => {
    const cdf = quantizedCdf(pmf);
    const encoder = new RangeEncoder();
    for (const symbol of symbols) encoder.encode(symbol, cdf);
    return encoder.words();
  }));
}

// Symbols chosen to keep the interval straddling a carry (lower + range past 2^64) as long
// as `stay` allows, so that words are held back, many at a time, and settled both ways.
export function encodeStraddling(pmf, count, stay, seed) {
  const cdf = quantizedCdf(pmf);
  const encoder = new RangeEncoder();
  const symbols = [];
  let mostHeld = 0;
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let k = 0; k < count; k++) {
    let symbol = Math.floor(random() * (cdf.length - 1));
    const toCarry = (1n << 64n) - encoder.lower;
    const scale = encoder.range >> 24n;
    if (encoder.lower + encoder.range >= 1n << 64n && toCarry < scale * BigInt(cdf[cdf.length - 1]) && random() < stay) {
      symbol = 0;
      while (scale * BigInt(cdf[symbol + 1]) < toCarry) symbol += 1;
    }
    encoder.encode(symbol, cdf);
    symbols.push(symbol);
    mostHeld = Math.max(mostHeld, encoder.inverted);
  }
  return { symbols, words: encoder.words(), mostHeld };
}

export function encodeTables(cases) {
  return cases.map(([tables, passes]) => outcome(() => new TableEncoder(tables).encodePasses(passes)));
}

export function writeEach(containers) {
  return containers.map((container) => outcome(() => {
    const quality = container?.header?.quality;
    if (quality && typeof quality === "object" && "$float" in quality) container.header.quality = Number(quality.$float);
    return writeContainer(container);
  }));
}

export function rewriteEach(files) {
  return files.map((data) => writeContainer(readContainer(data)));
}

export function roundEach(cases) {
  return cases.map(([residuals, deadzone]) => roundSymbols(residuals, deadzone));
}

// The model arrives once per Node run (it is tens of megabytes of JSON); the calls after
// useModel code with it, or with it less its context model.
let shippedModel = null;

export function useModel(model) {
  shippedModel = model;
}

function modelFor(withContext) {
  return withContext ? shippedModel : { ...shippedModel, context: null };
}

// The whole encoder after the float graphs: quantize (h_a replaced by Python's z for a
// y_g that must be Python's bit for bit), the entropy encoder, the container writer.
export async function encodeImages(card, images, withContext) {
  const decoder = new EntropyDecoder(modelFor(withContext));
  const encoder = new EntropyEncoder(decoder);
  const results = [];
  for (const { latent, shape, quality, gained, z, header } of images) {
    const hyperAnalysis = (input, inputShape) => {
      if (String(inputShape) !== String(shape)) throw new Error(`h_a called on shape ${inputShape}`);
      const differ = input.findIndex((value, i) => !Object.is(value, gained[i]));
      if (differ >= 0) throw new Error(`y_g differs from Python's first at flat index ${differ}`);
      return z;
    };
    const quantized = await quantize(latent, shape, quality, card, hyperAnalysis, decoder);
    const coded = encoder.encode(quantized);
    const file = writeContainer({ header, streams: coded.streams, symbolCrc: coded.symbolCrc });
    results.push({ quantized, coded, file });
  }
  return results;
}

// Only refusals: the stand-in decoder has what quantize reads before h_s, nothing more.
export function quantizeRefusals(card, cases) {
  const entropy = { hyperChannels: 96 };
  return settledInTurn(cases.map(([latent, shape, zLength]) => async () => {
    await quantize(latent, shape, 50, card, () => new Float32Array(zLength), entropy);
    return "quantized";
  }));
}

export function encodeSymbolsEach(cases) {
  const encoder = new EntropyEncoder(new EntropyDecoder(modelFor(true)));
  return settledInTurn(cases.map(([zHat, zShape, ySymbols, yShape]) => () => encoder.encodeSymbols(zHat, zShape, ySymbols, yShape)));
}
"""

# Python's ValueError is JS's RangeError; constriction's KeyError for a symbol outside its
# model is a RangeError too (JS has no KeyError).
PYTHON_NAMES = {"RangeError": "ValueError"}


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return adapter_module(tmp_path_factory.mktemp("web-encode"), ADAPTER)


def _python_names(outcomes: list[dict]) -> list[dict]:
    for outcome in outcomes:
        if "error" in outcome:
            outcome["error"][0] = PYTHON_NAMES.get(outcome["error"][0], outcome["error"][0])
    return outcomes


def _model(pmf) -> object:
    pmf = np.asarray(pmf, dtype=np.float64)
    return constriction.stream.model.Categorical(pmf / pmf.sum(), perfect=False)


def _constriction_words(pmf, symbols) -> np.ndarray:
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(np.asarray(symbols, dtype=np.int32), _model(pmf))
    return encoder.get_compressed()


# --- the range encoder -------------------------------------------------------------------


def _random_cases(shipped, rng) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Symbol sequences of 0 to 3000 symbols under shipped, random, skewed and tiny tables,
    drawn from the tables themselves or uniformly (the improbable symbols included)."""
    pmfs = {f"y table {index}": shipped["y"].table(index) for index in (0, 9, 31, 63)}
    pmfs.update({f"z table {index}": shipped["z"].table(index) for index in (0, 50)})
    for index in range(280):
        size = int(rng.integers(2, 400))
        if index % 4 == 0:
            pmf = np.round(rng.dirichlet(np.full(size, 0.05)) * 65536)
        elif index % 4 == 1:
            pmf = rng.integers(0, 2**int(rng.integers(1, 40)), size).astype(np.float64)
        else:
            pmf = rng.integers(0, 1000, size).astype(np.float64)
        pmf[rng.integers(size)] += 1
        pmfs[f"random table {index} of {size}"] = pmf
    pmfs.update({"[1, 65535]": np.array([1.0, 65535]), "[65535, 1]": np.array([65535.0, 1]), "[1, 1]": np.array([1.0, 1])})
    cases = {}
    for index, (label, pmf) in enumerate(pmfs.items()):
        pmf = np.asarray(pmf, dtype=np.float64)
        count = int(rng.choice([0, 1, 2, 3, 50, int(rng.integers(100, 3000))]))
        weights = pmf + 1e-3 if index % 3 else np.ones(len(pmf))
        cases[label] = (pmf, rng.choice(len(pmf), count, p=weights / weights.sum()).astype(np.int32))
    return cases


def test_the_range_encoder_writes_constrictions_words(adapter, shipped):
    cases = _random_cases(shipped, np.random.default_rng(28))
    expected = [{"value": _constriction_words(pmf, symbols)} for pmf, symbols in cases.values()]
    actual = run_node(adapter, [("encodeEach", [[[pmf, symbols] for pmf, symbols in cases.values()]])])[0]["value"]
    assert_same_outcomes(list(cases), expected, actual)
    for label, (pmf, symbols), outcome in zip(cases, cases.values(), actual):  # and the words decode in constriction
        if len(symbols):
            decoded = constriction.stream.queue.RangeDecoder(outcome["value"].astype(np.uint32)).decode(_model(pmf), len(symbols))
            assert np.array_equal(decoded, symbols), label
    assert sum(len(symbols) for _, symbols in cases.values()) > 50_000


def test_words_held_back_over_a_carry_are_settled_as_constriction_settles_them(adapter):
    """Carries are common (about one renormalization in two straddles one), but runs of
    several held words are rare in random data: these symbols keep the interval on the carry."""
    pmfs = [np.ones(256), np.ones(3), np.array([1.0, 2**20, 5, 1]), np.arange(1.0, 60)]
    cases = [(pmf, count, stay) for pmf in pmfs for count in (7, 40, 333, 2000) for stay in (0.5, 0.9, 1.0)]
    outcomes = run_node(adapter, [("encodeStraddling", [pmf, count, stay, seed]) for seed, (pmf, count, stay) in enumerate(cases)])
    for (pmf, count, stay), outcome in zip(cases, outcomes):
        got = outcome["value"]
        assert np.array_equal(got["words"], _constriction_words(pmf, got["symbols"])), (len(pmf), count, stay)
    assert max(outcome["value"]["mostHeld"] for outcome in outcomes) >= 5


def test_a_symbol_outside_the_table_is_refused_as_constriction_refuses_it(adapter):
    pmf = np.array([1.0, 0, 3])
    expected = []
    for symbol in (3, -1, 7):
        try:
            _constriction_words(pmf, [symbol])
        except KeyError as exc:
            expected.append({"error": ["KeyError", exc.args[0]]})
    calls = [("encodeEach", [[[pmf, [0, 2, symbol]] for symbol in (3, -1, 7)]])]
    actual = run_node(adapter, calls)[0]["value"]
    assert len(expected) == 3
    assert [outcome["error"][1] for outcome in actual] == [outcome["error"][1] for outcome in expected]
    assert {outcome["error"][0] for outcome in actual} == {"RangeError"}


# --- the table encoder -------------------------------------------------------------------


def _tables_json(tables: PMFTables) -> dict:
    return {key: np.asarray(getattr(tables, key), dtype=np.float64) for key in ("pmf", "offsets", "minima")}


def test_the_table_encoder_writes_the_coders_streams_and_escapes(adapter, shipped):
    rng = np.random.default_rng(11)
    z, y = shipped["z"], shipped["y"]
    skewed = PMFTables(np.array([2**23, 1, 65535, 8323068, 5, 1, 65535]), np.array([0, 4, 7]), np.array([-3, 40]))
    layouts = {
        "z 1x1": (z, [np.arange(96)]),
        "z 5x7": (z, [np.repeat(np.arange(96), 35)]),
        "y empty": (y, [np.zeros(0, int)]),
        "y 1": (y, [[17]]),
        "y 20000": (y, [rng.integers(0, 64, 20_000)]),
        "y two passes": (y, [rng.integers(0, 64, 500), rng.integers(0, 64, 700)]),
        "y four passes, one empty": (y, [rng.integers(0, 8, 50), np.zeros(0, int), rng.integers(50, 64, 90), [3]]),
        "skewed tables": (skewed, [rng.integers(0, 2, 3000)]),
    }
    cases = {}
    for label, (tables, passes) in layouts.items():
        for rate in (0.0, 0.02, 1.0):
            passes = [np.asarray(p, dtype=np.int64) for p in passes]
            cases[f"{label}, escape rate {rate}"] = (tables, [(_sample(tables, p, rng, rate), p) for p in passes])
    cases["index -1"] = (y, [(np.array([1, 2]), np.array([0, -1]))])
    cases["index 64"] = (y, [(np.array([1]), np.array([64]))])
    cases["index 64 in the second pass"] = (y, [(np.array([1]), np.array([3])), (np.array([1]), np.array([64]))])

    def python(tables, passes):
        return python_outcome(lambda: dict(zip(("bytes", "escapes"), TableCoder(tables).encode_passes(passes))), errors=ValueError)

    expected = [python(tables, passes) for tables, passes in cases.values()]
    calls = [[_tables_json(tables), [[symbols.astype(np.int32), index.astype(np.int32)] for symbols, index in passes]]
             for tables, passes in cases.values()]
    actual = _python_names(run_node(adapter, [("encodeTables", [calls])])[0]["value"])
    assert_same_outcomes(list(cases), expected, actual)
    assert sum("error" in outcome for outcome in expected) == 3
    assert sum(len(outcome["value"]["escapes"]) > 100 for outcome in expected if "value" in outcome) >= 5


# --- the container writer ----------------------------------------------------------------


SHA = bytes(range(8))


def _js_container(container: Container) -> dict:
    """The container as the JS writer takes it (container.js's field names), values as they are."""
    header = container.header
    return {
        "header": {
            "modelId": header.model_id, "weightsSha256Prefix": header.weights_sha256_prefix, "width": header.width,
            "height": header.height, "mode": header.mode, "quality": header.quality, "formatVersion": header.format_version,
        },
        "streams": [{"name": s.name, "shape": s.shape, "payload": s.payload} for s in container.streams],
        "symbolCrc": container.symbol_crc, "alpha": container.alpha, "iccProfile": container.icc_profile,
        "exif": container.exif, "rateTarget": container.rate_target,
    }


def _base() -> Container:
    streams = (Stream("z", (96, 1, 2), b"\x01\x02\x03\x04"), Stream("y", (256, 3, 5), bytes(range(40))))
    return Container(Header("hyperprior-v7", SHA, 70, 40, "RGB", 75.0), streams, 0xDEADBEEF)


def _header(**changes) -> Container:
    base = _base()
    return replace(base, header=replace(base.header, **changes))


def _stream(shape=(1,), name="s", payload=b"") -> Stream:
    return Stream(name, shape, payload)


def test_the_writer_writes_pythons_bytes(adapter):
    """Python-written files, containers with every side chunk, files in another chunk order
    or with unknown ancillary chunks: read by container.js and written again, each must be
    what write_container writes for it."""
    files = {path.name: path.read_bytes() for path in sorted(EXPECTED.glob("*.aec"))}
    assert len(files) >= 6
    full = replace(_base(), alpha=b"\x78\x9c", icc_profile=bytes(300), exif=b"Exif\0\0MM", rate_target=bytes(9))
    for label, container in {
        "every side chunk": full,
        "empty side chunks": replace(_base(), alpha=b"", icc_profile=b"", exif=b"", rate_target=b""),
        "quality 1.125 (half to even)": _header(quality=1.125),
        "quality 100, 1x1, 64-character id": _header(quality=100.0, width=1, height=1, model_id="a" * 64),
        "65535 wide, mode RGBA;16": _header(width=65535, height=4096, mode="RGBA;16"),
        "a 4-D stream of a 16M dimension, a 0-size one": replace(_base(), streams=(_stream((1, 2**24, 1, 256)), _stream((0,), "y.escape"))),
    }.items():
        files[label] = write_container(container)
    out_of_order = build.container(build.HEAD_OK, build.SCRC_OK, (b"eXIf", b"e"), (b"zzZZ", b"?"), build.BITS_OK,
                                   (b"iCCP", b"i"), (b"BITS", build.bits(b"z")), (b"ALPH", b"a"), build.AEND_OK)
    files["chunks out of order, an unknown ancillary one"] = out_of_order
    expected = [write_container(read_container(data)) for data in files.values()]
    (actual,) = run_node(adapter, [("rewriteEach", [list(files.values())])])
    assert_same_outcomes(list(files), [{"value": e} for e in expected], [{"value": a} for a in actual["value"]])
    assert expected[-1] != out_of_order  # the writer put it in canonical order


def _refused() -> dict[str, Container]:
    """Containers write_container refuses, several with two faults (the first checked wins)."""
    base = _base()
    streams = base.streams
    return {
        "model id in capitals": _header(model_id="Hyperprior"),
        "model id empty": _header(model_id=""),
        "model id of 65 characters": _header(model_id="a" * 65),
        "model id not a str": _header(model_id=7),
        "model id with an accent": _header(model_id="modèle"),
        "model id with a zero-width space and a quote": _header(model_id="it's\u200b"),
        "model id with a tab, a newline and an emoji": _header(model_id="a\tb\nc\U0001F600"),
        "mode with a space": _header(mode="RGB A"),
        "mode of 9 characters": _header(mode="RGBARGBAX"),
        "mode None": _header(mode=None),
        "hash of 7 bytes": _header(weights_sha256_prefix=bytes([0, 9, 10, 39, 92, 127, 200])),
        "hash None": _header(weights_sha256_prefix=None),
        "hash a str": _header(weights_sha256_prefix="01234567"),
        "width 0": _header(width=0),
        "height 65536": _header(height=65536),
        "2^28 + 1 pixels": _header(width=16385, height=16384),
        "width 1.5": _header(width=1.5),
        "height True": _header(height=True),
        "quality 0.5": _header(quality=0.5),
        "quality 100.01": _header(quality=100.01),
        "quality 0": _header(quality=0),
        "quality 1e-05": _header(quality=1e-05),
        "quality 5e-07": _header(quality=5e-07),
        "quality nan": _header(quality=float("nan")),
        "quality -inf": _header(quality=float("-inf")),
        "quality None": _header(quality=None),
        "quality a str": _header(quality="50"),
        "quality True": _header(quality=True),
        "format 2.0": _header(format_version=(2, 0)),
        "format 1.1": _header(format_version=(1, 1)),
        "format 2.0 and a bad hash": _header(format_version=(2, 0), weights_sha256_prefix=b""),
        "a bad quality and a bad model id": _header(quality=101.5, model_id="X"),
        "a bad model id and a bad mode": _header(model_id="X", mode=""),
        "a bad size and a bad quality": _header(width=0, quality=0.5),
        "no streams": replace(base, streams=()),
        "no streams and a bad CRC": replace(base, streams=(), symbol_crc=-1),
        "a bad header and no streams": replace(_header(width=0), streams=()),
        "duplicate stream names": replace(base, streams=(*streams, streams[0])),
        "a duplicate name of a bad shape": replace(base, streams=(*streams, _stream((1, 2, 3, 4, 5), "z"))),
        "stream name with a slash": replace(base, streams=(_stream(name="y/z"),)),
        "stream name of 33 characters": replace(base, streams=(_stream(name="s" * 33),)),
        "stream name empty": replace(base, streams=(_stream(name=""),)),
        "stream name not a str": replace(base, streams=(_stream(name=5),)),
        "shape of 5 dimensions": replace(base, streams=(_stream((1, 2, 3, 4, 5)),)),
        "shape of 0 dimensions": replace(base, streams=(_stream(()),)),
        "a dimension of 2^24 + 1": replace(base, streams=(_stream((2**24 + 1,)),)),
        "a dimension of -1": replace(base, streams=(_stream((3, -1)),)),
        "2^32 + 2^16 elements": replace(base, streams=(_stream((2**16, 2**16 + 1)),)),
        "a dimension of 2.5": replace(base, streams=(_stream((3, 2.5)),)),
        "payload a str": replace(base, streams=(_stream(payload="abc"),)),
        "payload None": replace(base, streams=(_stream(payload=None),)),
        "symbol CRC -1": replace(base, symbol_crc=-1),
        "symbol CRC 2^32": replace(base, symbol_crc=2**32),
        "symbol CRC 1.5": replace(base, symbol_crc=1.5),
        "symbol CRC None": replace(base, symbol_crc=None),
        "alpha a str": replace(base, alpha="abc"),
        "EXIF a list": replace(base, exif=[1, 2]),
        "a bad CRC and a bad alpha": replace(base, symbol_crc=2**32, alpha="abc"),
        "4097 chunks, the last SCRC": replace(base, streams=tuple(_stream(name=f"s{index}") for index in range(4095))),
        "4097 chunks, the last AEND": replace(base, streams=tuple(_stream(name=f"s{index}") for index in range(4094))),
    }


def _special_floats(container: dict) -> dict:
    """NaN and infinities as the adapter's ``$float`` tag (JSON has no literal for them)."""
    quality = container["header"]["quality"]
    if isinstance(quality, float) and not np.isfinite(quality):
        container["header"]["quality"] = {"$float": str(quality).replace("inf", "Infinity").replace("nan", "NaN")}
    return container


def test_the_writer_refuses_what_python_refuses_with_its_message(adapter):
    cases = _refused()
    expected = [python_outcome(write_container, container, errors=ValueError) for container in cases.values()]
    assert all("error" in outcome for outcome in expected)
    accepted = {"4096 chunks": replace(_base(), streams=tuple(_stream(name=f"s{index}") for index in range(4093)))}
    expected += [python_outcome(write_container, container) for container in accepted.values()]
    containers = [_special_floats(_js_container(container)) for container in [*cases.values(), *accepted.values()]]
    actual = _python_names(run_node(adapter, [("writeEach", [containers])])[0]["value"])
    assert_same_outcomes([*cases, *accepted], expected, actual)


# --- quantization, the entropy encoder and whole files -----------------------------------


# (width, height, quality, seed): a 1×1 latent, odd grids, quality 1 (the dead zone's
# strongest) and 5 (a weaker one), a quality in thousandths (coded as its hundredths), a
# natural y.escape (96×80 at 100), two h_s tiles and two context blocks across (1040 wide).
PHOTOS = [
    (16, 16, 60, 0),
    (33, 47, 95, 2),
    (48, 32, 1, 3),
    (17, 95, 33.333, 4),
    (80, 48, 5, 5),
    (96, 80, 100, 5),
    (1040, 32, 40, 9),
]
VARIANTS = ("v7", "one pass")  # the shipped model, and it less its context model (see `encoded`)


@pytest.fixture(scope="module")
def codec():
    return assembly.load_codec(CONTEXT_MODEL_ID)


@pytest.fixture(scope="module")
def model(codec) -> dict:
    return entropy_model(zoo.load_arrays(CONTEXT_MODEL_ID), codec.hyper_channels, codec.latent_channels)


def _header_json(header: Header) -> dict:
    return _js_container(Container(header, (), 0))["header"]


@pytest.fixture(scope="module")
def encoded(adapter, codec, model) -> dict:
    """Each photo through Python's encoder and the JS one, from the same float latent and z,
    with the shipped model ("v7") and with it less its context model ("one pass": y coded in
    one pass with the bins of h_s, the path of a model trained without one; on the photos of
    one h_s tile); and the cases of :func:`_symbol_cases`. One Node run.

    Returns:
        "v7" and "one pass": per photo, aecodec.compress's file, Python's header,
        QuantizedLatents and coded streams, and what the JS gave back (its quantized symbols,
        coded streams, file); "symbols": the symbol cases and the JS outcome of each.
    """
    one_pass = copy.copy(codec)
    one_pass.context = None
    card = json.loads((zoo.onnx_dir(CONTEXT_MODEL_ID) / GAINS).read_text())
    photos = []
    for width, height, quality, seed in PHOTOS:
        rgb = synthetic_photo(width, height, seed=seed)
        compressed = aecodec.compress(rgb, quality=quality, model=CONTEXT_MODEL_ID)
        header = read_container(compressed).header
        latent = codec.analyze(pipeline._pad(rgb, codec.stride))
        gained = latent * interpolate_gain(codec.log_gain, codec.rate_parameter(header.quality))
        photos.append({"label": f"{width}x{height} q{quality}", "compressed": compressed, "header": header, "latent": latent,
                       "js": {"latent": latent, "shape": list(latent.shape), "quality": quality, "gained": gained,
                              "z": codec.transforms.hyper_analysis(gained).astype(np.float32), "header": _header_json(header)}})
    variants = dict(zip(VARIANTS, ((codec, photos), (one_pass, [photo for photo in photos if photo["latent"].shape[2] <= 64]))))
    results = {}
    for name, (variant, chosen) in variants.items():
        results[name] = []
        for photo in chosen:
            quantized = variant.quantize(photo["latent"], photo["header"].quality)
            results[name].append({**photo, "quantized": quantized, "coded": variant.encode(quantized)})
    symbols = _symbol_cases(codec, [case["quantized"] for case in results["v7"] if case["latent"].shape[2] <= 64])
    calls = [("useModel", [model])]
    calls += [("encodeImages", [card, [photo["js"] for photo in chosen], variant.context is not None]) for variant, chosen in variants.values()]
    calls += [("encodeSymbolsEach", [[arguments for arguments, _ in symbols.values()]])]
    _, *images, symbol_outcomes = run_node(adapter, calls)
    for name, outcome in zip(variants, images):
        assert "value" in outcome, outcome
        results[name] = [{**case, "js": js} for case, js in zip(results[name], outcome["value"])]
    results["symbols"] = (symbols, symbol_outcomes["value"])
    return results


def test_quantize_refuses_a_latent_or_hyper_latent_not_of_its_shape(adapter):
    card = json.loads((zoo.onnx_dir(CONTEXT_MODEL_ID) / GAINS).read_text())
    cases = {
        "255 channels": ([np.zeros(255, np.float32), [255, 1, 1], 96], "latent of 255 values, shape (255, 1, 1), for a card of 256 channels"),
        "a value short": ([np.zeros(511, np.float32), [256, 1, 2], 96], "latent of 511 values, shape (256, 1, 2), for a card of 256 channels"),
        "z a row short": ([np.zeros(256 * 5 * 2, np.float32), [256, 5, 2], 96], "hyper-analysis gave 96 values for shape (96, 2, 1)"),
    }
    (actual,) = run_node(adapter, [("quantizeRefusals", [card, [arguments for arguments, _ in cases.values()]])])
    assert_same_outcomes(list(cases), [{"error": ["RangeError", message]} for _, message in cases.values()], actual["value"])


def _quantization_differences(python: QuantizedLatents, js: dict) -> list[str]:
    problems = []
    for key, array in (("zHat", python.z_hat), ("ySymbols", python.y_symbols), ("bins", python.bins)):
        got = np.frombuffer(js[key], dtype=np.uint8) if isinstance(js[key], bytes) else js[key]
        if not (got.shape == (array.size,) and np.array_equal(got, array.ravel())):
            wrong = np.flatnonzero(got != array.ravel()) if got.shape == (array.size,) else "all"
            problems.append(f"{key} differs at {len(wrong)} of {array.size} elements")
    if js["mean"].tobytes() != np.ascontiguousarray(python.mean, dtype="<f8").tobytes():  # the sign of zero included
        problems.append("mean differs")
    if [js["zShape"], js["yShape"]] != [list(python.z_hat.shape), list(python.y_symbols.shape)]:
        problems.append(f"shapes {js['zShape']}, {js['yShape']}")
    return problems


def _coded(coded) -> dict:
    """Coded latents as the JS returns them: streams (name, shape, payload) and the CRC."""
    return {"streams": [{"name": s.name, "shape": list(s.shape), "payload": s.payload} for s in coded.streams], "symbolCrc": coded.symbol_crc}


def _assert_quantized_alike(cases: list[dict]) -> None:
    wrong = {case["label"]: problems for case in cases if (problems := _quantization_differences(case["quantized"], case["js"]["quantized"]))}
    assert not wrong, wrong


def test_quantize_gives_pythons_symbols_means_and_bins_from_the_same_latent(encoded):
    """The gained latent y_g is Python's bit for bit (the adapter's h_a checks every value),
    and so are ẑ, every symbol, mean and bin: the float32 and float64 steps are numpy's."""
    for variant in VARIANTS:
        _assert_quantized_alike(encoded[variant])
    shapes = [case["quantized"].y_symbols.shape for case in encoded["v7"]]
    assert (1, 1) in [shape[1:] for shape in shapes] and max(shape[2] for shape in shapes) > 64
    one_pass_bins = [case["quantized"].bins for case in encoded["one pass"]]
    assert any(not np.array_equal(bins, case["quantized"].bins) for bins, case in zip(one_pass_bins, encoded["v7"]))


def test_the_entropy_encoder_writes_pythons_streams_escapes_and_crc(encoded):
    for variant in VARIANTS:
        wrong = [case["label"] for case in encoded[variant] if _coded(case["coded"]) != case["js"]["coded"]]
        assert not wrong, variant
    assert any(len(case["js"]["coded"]["streams"]) > 2 for case in encoded["v7"])  # a natural escape stream


def test_the_js_written_file_is_aecodec_compress_s_and_decodes_to_its_pixels(encoded):
    for case in encoded["v7"]:
        assert case["js"]["file"] == case["compressed"], case["label"]
        pixels = np.asarray(aecodec.decompress(case["js"]["file"]))
        assert np.array_equal(pixels, np.asarray(aecodec.decompress(case["compressed"]))), case["label"]
    for case in encoded["one pass"]:  # no installed model decodes these; the bytes are Python's
        coded = case["coded"]
        assert case["js"]["file"] == write_container(Container(case["header"], coded.streams, coded.symbol_crc)), case["label"]


def _at_limits(codec, quantized: QuantizedLatents) -> tuple[np.ndarray, np.ndarray]:
    """ẑ and y of ``quantized`` with values at the limits, outside every table: escapes in
    both streams, values no encoder choice makes."""
    z_hat, y_symbols = quantized.z_hat.copy(), quantized.y_symbols.copy()
    z_hat[0, 0, 0], z_hat[1, 0, -1] = codec.hyper.input_max, -codec.hyper.input_max
    y_symbols[3, 0, 0], y_symbols[4, 0, -1], y_symbols[5, -1, -1] = LATENT_SYMBOL_MAX, -LATENT_SYMBOL_MAX, 40_000
    return z_hat, y_symbols


def _symbol_cases(codec, quantized: list[QuantizedLatents]) -> dict[str, tuple[list, dict]]:
    """``(arguments of encodeSymbols, Python's outcome)`` of Python's ẑ and y, of them with
    values at the limits, and of shapes and ẑ the JS refuses."""
    cases = {}
    for index, latents in enumerate(quantized):
        for label, (z_hat, y_symbols) in {"": (latents.z_hat, latents.y_symbols), ", values at the limits": _at_limits(codec, latents)}.items():
            mean, bins, log_scale = codec._entropy_parameters(z_hat, y_symbols.shape)
            codec._refine_non_anchors(y_symbols, mean, bins, log_scale)
            coded = codec.encode(QuantizedLatents(z_hat=z_hat, y_symbols=y_symbols, mean=mean, bins=bins))
            arguments = [z_hat.astype(np.int32), list(z_hat.shape), y_symbols, list(y_symbols.shape)]
            cases[f"latents {index} {y_symbols.shape}{label}"] = (arguments, {"value": _coded(coded)})
    z_hat, y_symbols = (np.zeros(shape, dtype=np.int32) for shape in ((96, 1, 1), (256, 2, 3)))
    unfit = "latent shape {} and hyper-latent shape {} do not fit this model"
    refusals = {
        "hyper-latent of 95 channels": ([z_hat[:95], [95, 1, 1], y_symbols, [256, 2, 3]], unfit.format((256, 2, 3), (95, 1, 1))),
        "latent 5 rows for 1 hyper-latent row": ([z_hat, [96, 1, 1], np.zeros(256 * 5 * 3, np.int32), [256, 5, 3]], unfit.format((256, 5, 3), (96, 1, 1))),
        "a symbol short": ([z_hat, [96, 1, 1], y_symbols.ravel()[:-1], [256, 2, 3]], "1535 latent symbols for shape (256, 2, 3)"),
        "ẑ beyond h_s's range": ([np.full(96, codec.hyper.input_max + 1, np.int32), [96, 1, 1], y_symbols, [256, 2, 3]],
                                 "hyper-latent outside the range the integer network is exact for"),
    }
    for label, (arguments, message) in refusals.items():
        cases[label] = (arguments, {"error": ["RangeError", message]})
    return cases


def test_encode_symbols_computes_the_decoders_bins_and_codes_as_python(encoded):
    """From ẑ and y alone, as in a file that was decoded: the bins are recomputed by the
    decoder's h_s and context model. Wrong shapes and ẑ beyond h_s's range are refused."""
    cases, actual = encoded["symbols"]
    assert_same_outcomes(list(cases), [expected for _, expected in cases.values()], actual)
    limits = [expected["value"]["streams"] for label, (_, expected) in cases.items() if "limits" in label]
    assert len(limits) >= 5 and all({"z.escape", "y.escape"} <= {stream["name"] for stream in streams} for streams in limits)


def test_symbols_round_as_round_symbols_does_at_ties_signs_and_limits(adapter):
    ties = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.0, -0.0, 0.49999999999999994, -0.49999999999999994,
                     0.6, -0.6, 0.9, -0.9, 1.0, -1.0, 2**52 + 1.0, 2**20 + 0.5, -(2**20) - 0.5, 2**21, -1e300])
    noise = np.random.default_rng(2).normal(0, 3, 2000).round(1)  # tenths: halves and near-halves of the dead zone
    cases = [(residuals, deadzone) for residuals in (ties, noise) for deadzone in (0.0, 0.1, 0.05, 0.0375, 1e-9)]
    expected = [{"value": round_symbols(residuals.copy(), deadzone)} for residuals, deadzone in cases]
    (actual,) = run_node(adapter, [("roundEach", [[[residuals, deadzone] for residuals, deadzone in cases]])])
    labels = [f"{'ties' if residuals is ties else 'noise'}, dead zone {deadzone}" for residuals, deadzone in cases]
    assert_same_outcomes(labels, expected, [{"value": value} for value in actual["value"]])
