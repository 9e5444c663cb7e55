"""The benchmark scripts: codec wrappers and a whole rate-distortion run on tiny images."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import synthetic_photo
from aecodec.metrics import psnr
from tests_support import write_photos

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RD_SCRIPT = BENCHMARKS / "rd.py"


@pytest.fixture(scope="module")
def rd_module():
    """benchmarks/rd.py loaded by path, with its folder on sys.path as when run as a script.

    rd.py imports its sibling modules (rd_codecs, rd_report) from that folder; they are
    dropped from sys.modules again afterwards so that nothing else sees them.
    """
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("rd_benchmark", RD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in (spec.name, "rd_codecs", "rd_report"):
            sys.modules.pop(name, None)


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_benchmark_codec_round_trip(rd_module, name):
    image = Image.fromarray(synthetic_photo(40, 24))
    codec = rd_module.CODECS[name]()
    assert len(codec.qualities) >= 6
    data = codec.encode(image, codec.qualities[len(codec.qualities) // 2])
    assert isinstance(data, bytes) and len(data) > 0
    decoded = codec.decode(data)
    assert decoded.size == image.size
    assert decoded.mode == "RGB"
    assert psnr(np.asarray(image), np.asarray(decoded)) > 20.0


def test_rd_benchmark_end_to_end_writes_csv_json_plot_and_bd_rates(rd_module, tmp_path):
    images = tmp_path / "images"
    write_photos(images, count=2, size=(80, 64))
    out = tmp_path / "results"
    status = rd_module.main([str(images), "--codecs", "aecodec,jpeg", "--qualities", "5,30,60,90", "--out", str(out)])
    assert status == 0
    rows = list(csv.DictReader((out / "rd-images.csv").open()))
    aecodec_rows = [r for r in rows if r["codec"] == "aecodec"]
    assert [float(r["quality"]) for r in aecodec_rows] == [5, 30, 60, 90]
    bpps = [float(r["bpp"]) for r in aecodec_rows]
    assert bpps == sorted(bpps) and bpps[0] > 0
    document = json.loads((out / "rd-images.json").read_text())
    assert "aecodec" in document["bd_rate"]["psnr-rgb"]["jpeg"]
    assert Image.open(out / "rd-images.png").size[0] > 100
