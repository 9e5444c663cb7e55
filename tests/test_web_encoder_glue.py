"""The browser's whole encoder (export/web/encoder.js on onnxruntime-web) writes files Python decodes as its own.

encodeAec runs the chain of export/web from RGB pixels to .aec bytes on a model loaded
(model.js, encoder.js) from nothing but the model's `aecodec export` folder: the analysis
in Python's tiles and the hyper-analysis on onnxruntime-web's WebAssembly backend (one
thread), then the quantization, entropy coding and container writing that
tests/test_web_encode.py holds to Python's bytes. For a crop of the sample photo, an odd
size (edge padding both ways) and a photo two analysis tiles wide, aecodec.decompress must
decode the JS file to within ±1 of its decode of aecodec.compress's file, at a size within
1 % of it and with the same header; the float analysis of another runtime may round a few
y symbols the other way, and the tests say how many did. Bad qualities and pixel arrays
get Python's InputError messages; an export folder short of an encoder graph, or a model
of other weights, is refused before any graph loads. One Node process runs every case.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import synthetic_photo
from tests_support import CONTEXT_MODEL_ID
from web_support import ONNX_ADAPTER, WEB_DIR, adapter_module, npm_installed, python_outcome, run_node

import aecodec
from aecodec import assembly, imageio, zoo
from aecodec.bitstream import read_container
from aecodec.codecs.frozen import ANALYSIS_MARGIN, ANALYSIS_TILE
from aecodec.codecs.streams import CodedLatents
from aecodec.codecs.tiling import spans
from aecodec.transforms.geometry import STRIDE

ADAPTER = ONNX_ADAPTER + """
import { encodeAec, encoderFileNames, loadEncoder } from "WEB/encoder.js";
import { loadModel } from "WEB/model.js";

async function loadBoth(files) {
  const model = await loadModel(files, ort);
  return { model, encoder: await loadEncoder(files, ort, model) };
}

// Photos [rgb, width, height, quality] and refusals [width, height, quality, bytes of
// pixels or null for width × height × 3], all with the model of `folder`.
export async function encodeAll(folder, photos, refusals) {
  const { encoder } = await loadBoth(exportFiles(folder, encoderFileNames));
  const encoded = [];
  for (const [rgb, width, height, quality] of photos) {
    const progress = [];
    encoded.push(await outcome(async () => {
      const file = await encodeAec(rgb, width, height, quality, encoder, { onProgress: (done, total) => progress.push([done, total]) });
      return { file, progress };
    }));
  }
  const refused = [];
  for (const [width, height, quality, bytes] of refusals) {
    const rgb = new Uint8Array(bytes ?? 3 * width * height);
    refused.push(await outcome(() => encodeAec(rgb, width, height, quality === "NaN" ? NaN : quality, encoder)));
  }
  return { encoded, refused };
}

// The encoder of `folder` loaded, case by case, with files left out or replaced ({name:
// null or contents}) after the model loaded, and with fields of the model replaced.
export async function loadChanged(folder, cases) {
  const outcomes = [];
  for (const [fileChanges, modelChanges] of cases) {
    const files = exportFiles(folder, encoderFileNames);
    const model = { ...(await loadModel(files, ort)), ...modelChanges };
    for (const [name, contents] of Object.entries(fileChanges)) {
      if (contents === null) files.delete(name);
      else files.set(name, contents);
    }
    outcomes.push(await outcome(async () => (await loadEncoder(files, ort, model)).modelId));
  }
  return outcomes;
}
"""

# (label, width, height, quality): the sample photo, an odd size padded on both edges at
# the dead zone's quality, and two analysis tiles across at a quality in thousandths.
PHOTOS = [
    ("sample crop 128x128 q50", 128, 128, 50),
    ("37x21 q1", 37, 21, 1),
    ("600x40 q33.333", 600, 40, 33.333),
]
SIZE_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    npm_installed(WEB_DIR, "onnxruntime-web")
    return adapter_module(tmp_path_factory.mktemp("web-encoder-glue"), ADAPTER)


def _photo(label: str, width: int, height: int, sample_crop: np.ndarray) -> np.ndarray:
    if label.startswith("sample crop"):
        assert sample_crop.shape == (height, width, 3)
        return sample_crop
    return synthetic_photo(width, height, seed=width)


def _analysis_tiles(height: int, width: int) -> int:
    """How many tiles Python analyzes an image of ``height`` × ``width`` pixels in."""
    rows, cols = (spans(-(-side // STRIDE) * STRIDE, ANALYSIS_TILE, ANALYSIS_MARGIN) for side in (height, width))
    return len(rows) * len(cols)


def _refusals() -> dict[str, tuple[list, dict]]:
    """(arguments of the adapter's refusal, Python's outcome): bad qualities, no pixels, too
    many, and pixels that are not width × height × 3 bytes (a check only JS needs)."""
    rgb = synthetic_photo(8, 8)
    cases = {f"quality {quality}": ([8, 8, quality, None], python_outcome(aecodec.compress, rgb, float(quality)))
             for quality in (0, 101, 0.999, 100.004, -5, "NaN", 1e300)}
    cases["no pixels"] = ([0, 5, 50, None], python_outcome(aecodec.compress, np.zeros((5, 0, 3), np.uint8), 50))
    # Python refuses these before it reads a pixel, so its check needs no image that big.
    cases["8001x8000 (over 64 megapixels)"] = ([8001, 8000, 50, None], python_outcome(imageio.check_pixels, 8001, 8000))
    cases["a byte short"] = ([4, 3, 50, 35], {"error": ["InputError", "RGB pixels must be 4×3×3 bytes (a Uint8Array), got 35 values of a Uint8Array"]})
    return cases


@pytest.fixture(scope="module")
def encoded(adapter, sample_crop) -> dict:
    """Every photo through aecodec.compress and encodeAec, and the refusals, in one Node run.

    Returns:
        "photos": label → (Python's file, the JS outcome: its file and progress);
        "refusals": label → (Python's outcome, the JS outcome).
    """
    photos = {label: (_photo(label, width, height, sample_crop), quality) for label, width, height, quality in PHOTOS}
    refusals = _refusals()
    arguments = [[rgb, rgb.shape[1], rgb.shape[0], quality] for rgb, quality in photos.values()]
    (outcome,) = run_node(adapter, [("encodeAll", [str(zoo.onnx_dir(CONTEXT_MODEL_ID)), arguments, [case for case, _ in refusals.values()]])])
    assert "value" in outcome, outcome
    js = outcome["value"]
    python_files = {label: aecodec.compress(rgb, quality=quality, model=CONTEXT_MODEL_ID) for label, (rgb, quality) in photos.items()}
    return {
        "photos": {label: (python_files[label], result) for label, result in zip(photos, js["encoded"])},
        "refusals": {label: (python, result) for (label, (_, python)), result in zip(refusals.items(), js["refused"])},
    }


def _symbols(data: bytes):
    container = read_container(data)
    return assembly.load_codec(CONTEXT_MODEL_ID).decode_symbols(CodedLatents(container.streams, container.symbol_crc))


def _comparison(python_file: bytes, js_file: bytes) -> dict:
    """How the JS file compares with Python's: header, size, symbols, pixels decoded by Python."""
    python_symbols, js_symbols = _symbols(python_file), _symbols(js_file)
    python_pixels, js_pixels = (np.asarray(aecodec.decompress(data)).astype(int) for data in (python_file, js_file))
    return {
        "identical file": js_file == python_file,
        "same header": read_container(js_file).header == read_container(python_file).header,
        "size ratio": len(js_file) / len(python_file),
        "z symbols differing": int(np.count_nonzero(js_symbols.z_hat != python_symbols.z_hat)),
        "y symbols differing": int(np.count_nonzero(js_symbols.y_symbols != python_symbols.y_symbols)),
        "y symbols": python_symbols.y_symbols.size,
        "max |Δpixel|": int(np.abs(js_pixels - python_pixels).max()) if js_pixels.shape == python_pixels.shape else math.inf,
    }


def test_js_files_decode_in_python_as_pythons_own_files(encoded):
    comparisons = {}
    for label, (python_file, js) in encoded["photos"].items():
        assert "value" in js, f"{label}: {js}"
        comparisons[label] = _comparison(python_file, js["value"]["file"])
    report = "\n".join(f"{label}: {comparison}" for label, comparison in comparisons.items())
    print(report)  # the y symbols the float analysis rounded the other way, for the record
    wrong = [label for label, c in comparisons.items()
             if not (c["same header"] and c["max |Δpixel|"] <= 1 and abs(c["size ratio"] - 1) <= SIZE_TOLERANCE)]
    assert not wrong, report
    # Another runtime's float analysis moves a latent by a few ulp: at most a few symbols in a thousand.
    assert all(c["y symbols differing"] <= c["y symbols"] // 1000 for c in comparisons.values()), report


def test_progress_is_reported_after_each_of_pythons_analysis_tiles(encoded):
    for label, width, height, _ in PHOTOS:
        tiles = _analysis_tiles(height, width)
        assert encoded["photos"][label][1]["value"]["progress"] == [[done, tiles] for done in range(1, tiles + 1)], label
    assert max(_analysis_tiles(height, width) for _, width, height, _ in PHOTOS) == 2


def test_bad_qualities_and_images_get_pythons_input_errors(encoded):
    refusals = encoded["refusals"]
    wrong = {label: (python, js) for label, (python, js) in refusals.items() if python != js}
    assert not wrong, wrong
    assert all(python["error"][0] == "InputError" for python, _ in refusals.values())


def test_the_encoder_refuses_a_folder_short_of_its_graphs_or_another_models_weights(adapter):
    folder = zoo.onnx_dir(CONTEXT_MODEL_ID)
    sha256 = zoo.entry(CONTEXT_MODEL_ID).sha256
    card = (folder / "hyper_analysis.json").read_text()
    changes = [
        ({"analysis.onnx": None}, {}),
        ({"hyper_analysis.json": card.replace(sha256, "0" * 64)}, {}),
        ({}, {"modelId": "other-model"}),
    ]
    (outcome,) = run_node(adapter, [("loadChanged", [str(folder), changes])])
    assert outcome["value"] == [
        {"error": ["WeightsMismatchError", f"ONNX graphs of {CONTEXT_MODEL_ID} are incomplete: analysis.onnx missing"]},
        {"error": ["WeightsMismatchError", f"hyper_analysis.json was exported for {CONTEXT_MODEL_ID} weights {'0' * 16}…, "
                                           f"export.json names {CONTEXT_MODEL_ID} weights {sha256[:16]}…"]},
        {"error": ["WeightsMismatchError", f"export.json names {CONTEXT_MODEL_ID} weights {sha256[:16]}…, "
                                           f"the decoder's model is other-model weights {sha256[:16]}…"]},
    ]
