"""The browser decoder end to end (export/web/decoder.js on onnxruntime-web) decodes as Python does.

decodeAec runs the whole chain of export/web on a model loaded (model.js) from nothing but
the model's `aecodec export` folder, with the exact integer graphs and the synthesis on
onnxruntime-web's WebAssembly backend, one thread. For the golden file and for files wide and
tall enough for two tiles of every tiled stage (synthesis, h_s, context model), and for a
file of the tests' one-pass codec (no context graph), it must give Python's symbols exactly
and its pixels within ±1, tile by tile as Python synthesizes; for damaged files and files of
other weights, Python's error class and message. All files go through one Node process,
which loads each model once.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from tests_support import CONTEXT_MODEL_ID, ONE_PASS_MODEL_ID, installed_weights
from web_support import ONNX_ADAPTER, WEB_DIR, adapter_module, npm_installed, python_outcome, run_node

import aecodec
from aecodec import assembly, zoo
from aecodec.bitstream import read_container, write_container
from aecodec.codecs.frozen import SYNTHESIS_MARGIN, SYNTHESIS_TILE
from aecodec.codecs.streams import CodedLatents
from aecodec.codecs.tiling import spans
from aecodec.transforms.geometry import STRIDE

GOLDEN = Path(__file__).resolve().parent / "expected" / "sample-crop-q50-hyperprior-v7.aec"

ADAPTER = ONNX_ADAPTER + """
import { decodeAec } from "WEB/decoder.js";
import { loadModel } from "WEB/model.js";

export async function decodeFiles(batches) {
  const outcomes = [];
  for (const [folder, files] of batches) {
    const model = await loadModel(exportFiles(folder), ort);
    for (const data of files) {
      const progress = [];
      outcomes.push(await outcome(async () => {
        const image = await decodeAec(data, model, { onProgress: (done, total) => progress.push([done, total]) });
        const { zHat, ySymbols } = image.symbols;
        return { width: image.width, height: image.height, mode: image.mode, rgb: image.rgb, zHat, ySymbols, progress };
      }));
    }
  }
  return outcomes;
}

export async function loadChanged(folder, changes) {
  const outcomes = [];
  for (const [name, contents] of changes) {
    const files = exportFiles(folder);
    if (contents === null) files.delete(name);
    else files.set(name, contents);
    outcomes.push(await outcome(async () => (await loadModel(files, ort)).modelId));
  }
  return outcomes;
}
"""


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    npm_installed(WEB_DIR, "onnxruntime-web")
    return adapter_module(tmp_path_factory.mktemp("web-decode"), ADAPTER)


def _rewritten(data: bytes, **changes) -> bytes:
    """``data`` with container fields (``header``, ``symbol_crc``, ...) replaced, under valid chunk CRCs."""
    return write_container(replace(read_container(data), **changes))


def _with_header(data: bytes, **changes) -> bytes:
    container = read_container(data)
    return write_container(replace(container, header=replace(container.header, **changes)))


def _flipped(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x10
    return bytes(changed)


def _python(codec, data: bytes) -> dict:
    """Python's outcome: the pixels and symbols of aecodec.decompress, or its error."""
    def decoded(data: bytes) -> dict:
        rgb = np.asarray(aecodec.decompress(data))
        container = read_container(data)
        symbols = codec.decode_symbols(CodedLatents(container.streams, container.symbol_crc))
        return {"rgb": rgb, "zHat": symbols.z_hat, "ySymbols": symbols.y_symbols}
    return python_outcome(decoded, data)


def _tiles(height: int, width: int) -> int:
    """How many tiles Python synthesizes an image of ``height`` × ``width`` pixels in."""
    rows, cols = (spans(-(-side // STRIDE), SYNTHESIS_TILE, SYNTHESIS_MARGIN) for side in (height, width))
    return len(rows) * len(cols)


def _difference(python: dict, js: dict) -> str | None:
    """Why a JS decode disagrees with Python's: other symbols, pixels off by more than 1, the
    wrong tiles, another error; or None."""
    if "error" in python or "error" in js:
        return None if python == js else f"python {python.get('error', 'decoded')}, js {js.get('error', 'decoded')}"
    want, got = python["value"], js["value"]
    height, width, _ = want["rgb"].shape
    if (got["height"], got["width"], got["mode"]) != (height, width, "RGB"):
        return f"js decoded a {got['width']}×{got['height']} {got['mode']} image"
    problems = [f"{key} differ" for key in ("zHat", "ySymbols") if not np.array_equal(got[key], want[key].ravel())]
    rgb = np.frombuffer(got["rgb"], dtype=np.uint8).reshape(height, width, 3)
    worst = np.abs(rgb.astype(int) - want["rgb"]).max()
    if worst > 1:
        problems.append(f"pixels differ by up to {worst}")
    tiles = _tiles(height, width)
    if got["progress"] != [[done, tiles] for done in range(1, tiles + 1)]:
        problems.append(f"progress {got['progress']}, Python synthesizes {tiles} tiles")
    return "; ".join(problems) or None


def assert_agree(decoded: dict[str, tuple[dict, dict]]) -> None:
    wrong = {label: problem for label, (python, js) in decoded.items() if (problem := _difference(python, js))}
    assert not wrong, f"{len(wrong)} of {len(decoded)} files differ:\n" + "\n".join(f"{label}: {problem}" for label, problem in wrong.items())


def _damaged(data: bytes) -> dict[str, bytes]:
    """The golden file damaged where each stage of the decoder catches it."""
    container = read_container(data)
    header, offset = container.header, container.chunks[-1].offset  # the AEND chunk
    return {
        "empty": b"",
        "truncated in the y stream": data[: len(data) // 2],
        "AEND cut off": data[:offset],
        "a y byte flipped (chunk CRC)": _flipped(data, len(data) // 2),
        "symbol CRC off by one": _rewritten(data, symbol_crc=container.symbol_crc ^ 1),
        "y stream a word short": _rewritten(data, streams=tuple(
            replace(s, payload=s.payload[:-4]) if s.name == "y" else s for s in container.streams)),
        "mode CMYK": _with_header(data, mode="CMYK"),
        "declared 9000×8000": _with_header(data, width=9000, height=8000),
        "header 16 pixels wider": _with_header(data, width=header.width + 16),
        "RGBA without an alpha plane": _with_header(data, mode="RGBA"),
        "another model": _with_header(data, model_id="other-model"),
        "other weights of the model": _with_header(data, weights_sha256_prefix=bytes(8)),
    }


@pytest.fixture(scope="module")
def decoded(adapter, one_pass_weights) -> dict[str, dict[str, tuple[dict, dict]]]:
    """Files decoded by Python and by the JS: group → label → (Python's outcome, the JS's).

    "real": the golden file and files with two tiles of each stage across, and down;
    "damaged": the golden file damaged; "one-pass": a file of the one-pass codec.
    """
    golden = GOLDEN.read_bytes()
    groups = {
        "real": {
            "golden 128x128 q50": golden,
            "1041x23 q23.5": aecodec.compress(synthetic_photo(1041, 23, seed=1), quality=23.5),
            "25x1039 q90": aecodec.compress(synthetic_photo(25, 1039, seed=2), quality=90),
        },
        "damaged": _damaged(golden),
    }
    codec = assembly.load_codec(CONTEXT_MODEL_ID)
    python = {group: {label: _python(codec, data) for label, data in files.items()} for group, files in groups.items()}
    batches = [[str(zoo.onnx_dir(CONTEXT_MODEL_ID)), [data for files in groups.values() for data in files.values()]]]
    with installed_weights(one_pass_weights):
        codec = assembly.load_codec(ONE_PASS_MODEL_ID)
        folder = zoo.onnx_dir(ONE_PASS_MODEL_ID)
        assert codec.context is None and not (folder / "context.onnx").exists()
        groups["one-pass"] = {"40x24 q50": aecodec.compress(synthetic_photo(40, 24, seed=3), quality=50, model=ONE_PASS_MODEL_ID)}
        python["one-pass"] = {label: _python(codec, data) for label, data in groups["one-pass"].items()}
        batches.append([str(folder), list(groups["one-pass"].values())])
    (outcome,) = run_node(adapter, [("decodeFiles", [batches])])
    js = iter(outcome["value"])
    return {group: {label: (python[group][label], next(js)) for label in files} for group, files in groups.items()}


def test_real_files_decode_to_pythons_symbols_and_pixels_in_pythons_tiles(decoded):
    real = decoded["real"]
    assert all("value" in python for python, _ in real.values())
    assert_agree(real)
    shapes = [python["value"]["ySymbols"].shape for python, _ in real.values()]
    assert max(shape[2] for shape in shapes) > 64 and max(shape[1] for shape in shapes) > 64  # two context blocks
    assert max(len(js["value"]["progress"]) for _, js in real.values()) >= 2


def test_damaged_files_and_files_of_other_weights_give_pythons_errors(decoded):
    damaged = decoded["damaged"]
    assert_agree(damaged)
    errors = {label: python["error"][0] for label, (python, _) in damaged.items() if "error" in python}
    assert set(errors) == set(damaged)  # none of them decodes
    assert {"FormatError", "ChecksumError", "DesyncError", "WeightsMismatchError"} <= set(errors.values())
    assert errors["another model"] == errors["other weights of the model"] == "WeightsMismatchError"


def test_a_one_pass_model_decodes_from_its_export_without_a_context_graph(decoded):
    assert all("value" in python for python, _ in decoded["one-pass"].values())
    assert_agree(decoded["one-pass"])


def test_the_export_folder_is_checked_before_its_graphs_load(adapter):
    folder = zoo.onnx_dir(CONTEXT_MODEL_ID)
    record = (folder / "export.json").read_text()
    card = (folder / "gains.json").read_text()
    sha256 = zoo.entry(CONTEXT_MODEL_ID).sha256
    changes = [
        ("context.onnx", None),
        ("export.json", record.replace('"layout": 5', '"layout": 4')),
        ("gains.json", card.replace(sha256, "0" * 64)),
    ]
    (outcome,) = run_node(adapter, [("loadChanged", [str(folder), changes])])
    assert outcome["value"] == [
        {"error": ["WeightsMismatchError", f"ONNX graphs of {CONTEXT_MODEL_ID} are incomplete: context.onnx missing"]},
        {"error": ["WeightsMismatchError", f"ONNX graphs of {CONTEXT_MODEL_ID} are from another aecodec export layout (4, this decoder reads 5)"]},
        {"error": ["WeightsMismatchError", f"gains.json was exported for {CONTEXT_MODEL_ID} weights {'0' * 16}…, "
                                           f"export.json names {CONTEXT_MODEL_ID} weights {sha256[:16]}…"]},
    ]
