"""The browser's entropy decoder (export/web/entropy_decoder.js) decodes what Python decodes.

entropy_decoder.js chains the container's streams, the range decoder and the integer
networks into the twin of FrozenHyperprior.decode_symbols. On real files of the shipped
model (with a context model) and of the tests' one-pass codec it must give every ẑ, symbol,
mean and scale bin exactly: odd grids, a 1×1 latent, files wide and tall enough for two h_s
tiles and two context blocks, qualities 1 to 100, escapes in both streams. On files damaged
under valid chunk CRCs it must raise the same error class with the same message, which also
means that it makes the same check first. All files of one model go through one Node process.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import synthetic_photo
from tests_support import CONTEXT_MODEL_ID, ONE_PASS_MODEL_ID, installed_weights
from web_support import adapter_module, entropy_model, python_outcome, run_node

import aecodec
from aecodec import assembly, pipeline, zoo
from aecodec.bitstream import Stream, read_container, write_container
from aecodec.codecs.rounding import LATENT_SYMBOL_MAX
from aecodec.codecs.streams import CodedLatents, QuantizedLatents

ADAPTER = """
import { readContainer } from "WEB/container.js";
import { EntropyDecoder } from "WEB/entropy_decoder.js";

function outcomes(files, run) {
  return files.map((data) => {
    try {
      return { value: run(readContainer(data)) };
    } catch (error) {
      return { error: [error.name, error.message] };
    }
  });
}

export function decodeFiles(model, files) {
  const decoder = new EntropyDecoder(model);
  return outcomes(files, (container) => decoder.decodeSymbols(container.streams, container.symbolCrc));
}

export function checkShapes(model, files) {
  const decoder = new EntropyDecoder(model);
  return outcomes(files, (container) => decoder.checkStreamShapes(container.header, container.streams));
}
"""

# (width, height, quality, seed): odd grids, a 1×1 latent, two h_s tiles and two context
# blocks across (1040 wide) and down (1040 high), a natural y.escape (96×80 at quality 100).
V7_PHOTOS = [
    (16, 16, 60, 0),
    (1, 1, 88, 1),
    (33, 47, 95, 2),
    (48, 32, 5, 3),
    (17, 95, 50, 4),
    (80, 48, 12.34, 5),
    (200, 40, 1, 6),
    (130, 70, 25, 7),
    (64, 64, 100, 8),
    (96, 80, 100, 5),
    (1040, 48, 40, 9),
    (48, 1040, 70, 10),
]
ONE_PASS_PHOTOS = [(16, 16, 50, 0), (33, 47, 95, 1), (1040, 24, 30, 2), (70, 50, 100, 3)]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return adapter_module(tmp_path_factory.mktemp("web-entropy"), ADAPTER)


def _rewritten(data: bytes, streams=None, symbol_crc=None, header=None) -> bytes:
    """``data`` with some of its container's fields replaced, under valid chunk CRCs."""
    container = read_container(data)
    changes = {"streams": streams, "symbol_crc": symbol_crc, "header": header}
    return write_container(replace(container, **{key: value for key, value in changes.items() if value is not None}))


def _streams(data: bytes) -> dict[str, Stream]:
    return {stream.name: stream for stream in read_container(data).streams}


def _with_streams(data: bytes, **changes) -> bytes:
    """``data`` with streams (keyword ``y_escape`` for "y.escape") replaced or added (a
    Stream, given that name), renamed (a str) or dropped (None)."""
    streams = _streams(data)
    changes = {name.replace("_", "."): change for name, change in changes.items()}
    renamed = {change: replace(streams.pop(name), name=change) for name, change in changes.items() if isinstance(change, str)}
    for name, change in changes.items():
        if change is None:
            streams.pop(name)
        elif isinstance(change, Stream):
            streams[name] = replace(change, name=name)
    streams.update(renamed)
    return _rewritten(data, streams=tuple(streams.values()))


def _payload(data: bytes, name: str, change) -> bytes:
    stream = _streams(data)[name]
    return _with_streams(data, **{name.replace(".", "_"): replace(stream, payload=change(stream.payload))})


def _shape(data: bytes, name: str, shape: tuple) -> bytes:
    stream = _streams(data)[name]
    return _with_streams(data, **{name.replace(".", "_"): replace(stream, shape=shape)})


def _escapes(values) -> Stream:
    """An escape stream of ``values`` (named by :func:`_with_streams`)."""
    return Stream("unnamed", (len(values),), np.asarray(values, dtype=">i4").tobytes())


def _flipped(payload: bytes, position: int, bit: int = 0x04) -> bytes:
    changed = bytearray(payload)
    changed[position] ^= bit
    return bytes(changed)


def _model_id(codec) -> str:
    return CONTEXT_MODEL_ID if codec.context is not None else ONE_PASS_MODEL_ID


def _with_both_escapes(codec, rgb: np.ndarray, quality: float) -> bytes:
    """A valid file whose ẑ and y hold values at the limits, outside every table: escapes in
    both streams, values no encoder choice makes. Its entropy parameters are computed as the
    encoder's are, so Python decodes it back exactly."""
    quantized = codec.quantize(codec.analyze(rgb.transpose(2, 0, 1).astype(np.float32) / 255), quality)
    z_hat = quantized.z_hat.copy()
    limit = codec.hyper.input_max
    z_hat[0, 0, 0], z_hat[1, 0, -1] = limit, -limit
    mean, bins, log_scale = codec._entropy_parameters(z_hat, quantized.y_symbols.shape)
    y_symbols = quantized.y_symbols.copy()
    y_symbols[3, 0, 0], y_symbols[4, 0, 1], y_symbols[5, 1, 1] = LATENT_SYMBOL_MAX, -LATENT_SYMBOL_MAX, 40_000
    if codec.context is not None:
        codec._refine_non_anchors(y_symbols, mean, bins, log_scale)
    coded = codec.encode(QuantizedLatents(z_hat=z_hat, y_symbols=y_symbols, mean=mean, bins=bins))
    data = _rewritten(aecodec.compress(rgb, quality=quality, model=_model_id(codec)), streams=coded.streams, symbol_crc=coded.symbol_crc)
    assert {"z.escape", "y.escape"} <= set(_streams(data))
    return data


def _damaged(plain: bytes, escaped: bytes, input_max: int) -> dict[str, bytes]:
    """Files damaged under valid chunk CRCs: ``plain`` has no escapes, ``escaped`` both kinds."""
    streams = _streams(plain)
    z_shape, y_shape = streams["z"].shape, streams["y"].shape
    y_length = len(streams["y"].payload)
    rng = np.random.default_rng(28)
    crc = read_container(plain).symbol_crc
    return {
        "y: a bit flipped": _payload(plain, "y", lambda p: _flipped(p, y_length // 2)),
        "y: a bit flipped near the start": _payload(plain, "y", lambda p: _flipped(p, 2, 0x80)),
        "y: last word cut": _payload(plain, "y", lambda p: p[:-4]),
        "y: a byte cut": _payload(plain, "y", lambda p: p[:-1]),
        "y: empty": _payload(plain, "y", lambda p: b""),
        "y: noise": _payload(plain, "y", lambda p: rng.bytes(len(p))),
        "z: a bit flipped": _payload(plain, "z", lambda p: _flipped(p, 1, 0x10)),
        "z: a byte cut, and y a byte cut": _payload(_payload(plain, "y", lambda p: p[:-1]), "z", lambda p: p[:-1]),
        "z: a word cut": _payload(plain, "z", lambda p: p[:-4]),
        "symbol CRC off by one": _rewritten(plain, symbol_crc=crc ^ 1),
        "z and y payloads swapped": _with_streams(
            plain, z=replace(streams["z"], payload=streams["y"].payload), y=replace(streams["y"], payload=streams["z"].payload)
        ),
        "no y stream": _with_streams(plain, y=None),
        "no z stream": _with_streams(plain, z=None),
        "only the escape streams": _with_streams(escaped, z=None, y=None),
        "no z stream, y renamed": _with_streams(plain, z=None, y="w"),
        "unknown streams": _with_streams(plain, y=None, w=Stream("w", (1,), b"\0" * 4), a_b=Stream("a.b", (0,), b"")),
        "z shape (95, ...)": _shape(plain, "z", (95, *z_shape[1:])),
        "z shape 2-D": _shape(plain, "z", z_shape[:2]),
        "z shape 4-D": _shape(plain, "z", (1, *z_shape)),
        "y shape 1 channel short": _shape(plain, "y", (y_shape[0] - 1, *y_shape[1:])),
        "y shape 4 columns wider": _shape(plain, "y", (y_shape[0], y_shape[1], y_shape[2] + 4)),
        "y shape 1-D": _shape(plain, "y", (y_shape[0],)),
        "y shape and z shape both wrong": _shape(_shape(plain, "y", (7, 1, 1)), "z", (5, 1, 1)),
        "zero-sized latents": _rewritten(_shape(_shape(plain, "y", (y_shape[0], 0, 0)), "z", (z_shape[0], 0, 0)), symbol_crc=0),
        "zero-sized latents, the CRC kept": _shape(_shape(plain, "y", (y_shape[0], 0, 0)), "z", (z_shape[0], 0, 0)),
        "z.escape value extra": _with_streams(plain, z_escape=_escapes([3])),
        "y.escape value extra": _with_streams(plain, y_escape=_escapes([-3])),
        "y.escape at the limit, extra": _with_streams(plain, y_escape=_escapes([-LATENT_SYMBOL_MAX])),
        "z.escape malformed": _with_streams(escaped, z_escape=Stream("z.escape", (3,), b"\0" * 8)),
        "z.escape malformed, and z shape wrong": _shape(_with_streams(escaped, z_escape=Stream("z.escape", (3,), b"\0" * 8)), "z", (1, 1, 1)),
        "y.escape 2-D": _with_streams(escaped, y_escape=Stream("y.escape", (1, 1), b"\0" * 4)),
        "z.escape beyond input_max": _with_streams(escaped, z_escape=_escapes([input_max, -input_max - 1])),
        "z.escape beyond input_max, and y a byte cut": _payload(_with_streams(escaped, z_escape=_escapes([input_max + 1, 0])), "y", lambda p: p[:-1]),
        "z.escape beyond input_max, and z shape wrong": _shape(_with_streams(escaped, z_escape=_escapes([input_max + 1, 0])), "z", (9, 1, 1)),
        "y.escape beyond the symbol limit": _with_streams(escaped, y_escape=_escapes([LATENT_SYMBOL_MAX + 1, 0, 0])),
        "y.escape of -2^31": _with_streams(escaped, y_escape=_escapes([-(2**31), 0, 0])),
        "both escapes beyond their limits": _with_streams(escaped, z_escape=_escapes([input_max + 1, 0]), y_escape=_escapes([2**31 - 1, 0, 0])),
        "y.escape a value short": _with_streams(escaped, y_escape=_escapes(_escape_values(escaped, "y.escape")[:-1])),
        "y.escape dropped": _with_streams(escaped, y_escape=None),
        "z.escape dropped": _with_streams(escaped, z_escape=None),
        "escape streams swapped": _with_streams(escaped, z_escape="y.escape", y_escape="z.escape"),
        "y.escape values reversed": _with_streams(escaped, y_escape=_escapes(_escape_values(escaped, "y.escape")[::-1])),
    }


def _escape_values(data: bytes, name: str) -> list[int]:
    return np.frombuffer(_streams(data)[name].payload, dtype=">i4").tolist()


def _model_files(codec, photos) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Real files of ``photos``, and damaged ones, for the installed ``codec``."""
    model_id = _model_id(codec)
    real = {
        f"{width}x{height} q{quality}": aecodec.compress(synthetic_photo(width, height, seed=seed), quality=quality, model=model_id)
        for width, height, quality, seed in photos
    }
    escaped = _with_both_escapes(codec, synthetic_photo(64, 48, seed=11), 70)
    real["64x48 q70, both escape streams at the limits"] = escaped
    plain = next(data for data in real.values() if "y.escape" not in _streams(data) and _streams(data)["z"].shape[1:] == (1, 1))
    return real, _damaged(plain, escaped, codec.hyper.input_max)


def _python(codec, data: bytes) -> dict:
    container = read_container(data)
    return python_outcome(codec.decode_symbols, CodedLatents(container.streams, container.symbol_crc))


def _decoded(adapter, codec, model_id: str, photos) -> tuple[dict, dict]:
    """Real and damaged files of ``codec``: label → (file, Python's outcome, the JS's), in one Node run."""
    real, damaged = _model_files(codec, photos)
    files = {**real, **damaged}
    model = entropy_model(zoo.load_arrays(model_id), codec.hyper_channels, codec.latent_channels)
    (outcome,) = run_node(adapter, [("decodeFiles", [model, list(files.values())])])
    decoded = {label: (data, _python(codec, data), js) for (label, data), js in zip(files.items(), outcome["value"])}
    return {label: decoded[label] for label in real}, {label: decoded[label] for label in damaged}


@pytest.fixture(scope="module")
def v7(adapter):
    return _decoded(adapter, assembly.load_codec(CONTEXT_MODEL_ID), CONTEXT_MODEL_ID, V7_PHOTOS)


@pytest.fixture(scope="module")
def one_pass(adapter, one_pass_weights):
    with installed_weights(one_pass_weights):
        codec = assembly.load_codec(ONE_PASS_MODEL_ID)
        assert codec.context is None
        return _decoded(adapter, codec, ONE_PASS_MODEL_ID, ONE_PASS_PHOTOS)


def _difference(python: dict, js: dict) -> str | None:
    """Why two outcomes differ (the first differing element of each array), or None."""
    if "error" in python or "error" in js:
        return None if python == js else f"python {python.get('error', 'decoded')}, js {js.get('error', 'decoded')}"
    decoded, got = python["value"], js["value"]
    wanted = {"zHat": decoded.z_hat, "ySymbols": decoded.y_symbols, "mean": decoded.mean, "bins": decoded.bins}
    problems = []
    for key, array in wanted.items():
        actual = np.frombuffer(got[key], dtype=np.uint8) if isinstance(got[key], bytes) else got[key]
        if key == "mean":  # bit for bit, the sign of zero included
            same = actual.dtype == np.float64 and actual.tobytes() == np.ascontiguousarray(array, dtype="<f8").tobytes()
        else:
            same = actual.shape == (array.size,) and np.array_equal(actual, array.ravel())
        if not same and actual.shape == (array.size,):
            problems.append(f"{key} differs first at flat index {np.flatnonzero(actual != array.ravel())[:1].tolist()}")
        elif not same:
            problems.append(f"{key}: python {array.size} values, js {actual.size}")
    for key, array in (("zShape", decoded.z_hat), ("yShape", decoded.y_symbols)):
        if list(got[key]) != list(array.shape):
            problems.append(f"{key} {got[key]} != {array.shape}")
    return "; ".join(problems) or None


def assert_agree(decoded: dict[str, tuple[bytes, dict, dict]]) -> None:
    wrong = {label: problem for label, (_, python, js) in decoded.items() if (problem := _difference(python, js))}
    assert not wrong, f"{len(wrong)} of {len(decoded)} files differ:\n" + "\n".join(f"{label}: {problem}" for label, problem in wrong.items())


def test_real_files_of_the_shipped_model_decode_to_pythons_symbols_means_and_bins(v7):
    real, _ = v7
    assert all("value" in python for _, python, _ in real.values())  # every real file decodes
    assert_agree(real)
    y_shapes = [python["value"].y_symbols.shape for _, python, _ in real.values()]
    z_shapes = [python["value"].z_hat.shape for _, python, _ in real.values()]
    assert max(shape[1] for shape in y_shapes) > 64 and max(shape[2] for shape in y_shapes) > 64  # two blocks each way
    assert max(shape[1] for shape in z_shapes) > 16 and max(shape[2] for shape in z_shapes) > 16  # two h_s tiles each way
    escapes = [label for label, (data, _, _) in real.items() if "y.escape" in _streams(data)]
    assert len(escapes) >= 2 and any("both escape" not in label for label in escapes)  # a natural one too


def test_damaged_files_of_the_shipped_model_give_pythons_error_or_its_symbols(v7):
    """The same check fails first: damage found by a check Python makes later must not be
    reported by an earlier one, or the other way round."""
    _, damaged = v7
    assert_agree(damaged)
    messages = {tuple(python["error"]) for _, python, _ in damaged.values() if "error" in python}
    assert len(messages) >= 14, sorted(messages)
    decoded = [label for label, (_, python, _) in damaged.items() if "value" in python]
    assert decoded == ["zero-sized latents"]


def test_real_and_damaged_files_of_a_one_pass_model_decode_alike(one_pass):
    real, damaged = one_pass
    assert all("value" in python for _, python, _ in real.values())
    assert_agree({**real, **damaged})
    assert sum("error" in python for _, python, _ in damaged.values()) >= len(damaged) - 1


def test_the_stream_shapes_are_checked_against_the_header_as_the_pipeline_does(adapter):
    codec = assembly.load_codec(CONTEXT_MODEL_ID)
    data = aecodec.compress(synthetic_photo(40, 24, seed=4), quality=30)
    header = read_container(data).header
    files = {
        "as written": data,
        "header 9 pixels wider": _rewritten(data, header=replace(header, width=header.width + 9)),
        "header 64 pixels taller": _rewritten(data, header=replace(header, height=header.height + 64)),
        "no y stream": _with_streams(data, y=None),
        "z shape 4-D": _shape(data, "z", (1, 96, 1, 1)),
    }

    def checked(data):
        pipeline._open(data, "auto")  # the checks aecodec.decompress makes before it decodes

    expected = [python_outcome(checked, data) for data in files.values()]
    model = entropy_model(zoo.load_arrays(CONTEXT_MODEL_ID), codec.hyper_channels, codec.latent_channels)
    (outcome,) = run_node(adapter, [("checkShapes", [model, list(files.values())])])
    assert dict(zip(files, expected)) == dict(zip(files, outcome["value"]))
    assert sum("error" in item for item in expected) == 4
