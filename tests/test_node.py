"""The Node.js examples in export/node/ agree with aecodec (they need node and npm)."""

from __future__ import annotations

import json
import subprocess
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests_support import CONTEXT_MODEL_ID, ONE_PASS_MODEL_ID, installed_weights, loaded_script
from web_support import npm_installed

from aecodec import restoration, zoo
from aecodec.assembly import load_head
from aecodec.heads.noise import estimate_sigma
from aecodec.runtime import onnx_files

REPO = Path(__file__).resolve().parent.parent
NODE_DIR = REPO / "export" / "node"


@pytest.fixture(scope="module")
def node_ready() -> Path:
    """export/node with its locked packages installed (``npm ci`` once, if missing)."""
    return npm_installed(NODE_DIR, "onnxruntime-node")


@pytest.fixture(scope="module")
def noisy_crop(sample_path) -> np.ndarray:
    with Image.open(sample_path) as image:
        clean = np.asarray(image.convert("RGB"))[40:200, 160:352].astype(np.float64)
    return np.clip(np.rint(clean + np.random.default_rng(5).normal(0, 20, clean.shape)), 0, 255).astype(np.uint8)


def test_node_denoise_matches_python(node_ready, noisy_crop, tmp_path):
    source, output = tmp_path / "noisy.png", tmp_path / "restored.png"
    Image.fromarray(noisy_crop).save(source)
    head_dir = zoo.onnx_dir(zoo.default_head_id("denoise"))
    backbone_dir = zoo.onnx_dir(onnx_files.read_record(head_dir)["backbone"]["model"])
    command = ["node", "restore.js", str(source), str(output), f"--head-dir={head_dir}", f"--backbone-dir={backbone_dir}", "--threads=1"]
    result = subprocess.run(command,
                            cwd=node_ready, check=True, capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    assert report["sigma"] == pytest.approx(estimate_sigma(noisy_crop), rel=1e-5)
    expected, _ = restoration.denoise_array(noisy_crop, load_head("denoise", "onnx"), report["sigma"])
    assert np.abs(np.asarray(Image.open(output)).astype(int) - expected).max() <= 1


@pytest.mark.parametrize("model_id", [ONE_PASS_MODEL_ID, CONTEXT_MODEL_ID])  # one pass of y, and the checkerboard's two
def test_node_codec_round_trip_matches_python(node_ready, model_id, one_pass_weights):
    with installed_weights(one_pass_weights) if model_id == ONE_PASS_MODEL_ID else nullcontext():
        with loaded_script(REPO / "export" / "validate.py", "validate_export") as validate:
            crops = validate._crops(2, np.random.default_rng(0))
            rows = validate.node_rows(model_id, crops, threads=1)
    assert rows and all(row["max |Δpixel|"] <= 1 and row["Δbits (relative)"] <= validate.BITS_TOLERANCE for row in rows)
