"""The benchmark scripts: codec wrappers and a whole rate-distortion run on tiny images."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import synthetic_photo
from aecodec.metrics import psnr
from tests_support import loaded_script, write_photos

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RD_SCRIPT = BENCHMARKS / "rd.py"


@pytest.fixture(scope="module")
def rd_module():
    """benchmarks/rd.py loaded as the script it is (with its sibling modules)."""
    with loaded_script(RD_SCRIPT, "rd_benchmark", siblings=("rd_codecs", "rd_report")) as module:
        yield module


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


SPEED_SCRIPT = BENCHMARKS / "speed.py"


def test_speed_benchmark_smoke_run_writes_csv_json_and_profile(tmp_path, capsys):
    images = tmp_path / "images"
    write_photos(images, count=2, size=(80, 64))
    out = tmp_path / "results"
    with loaded_script(SPEED_SCRIPT, "speed_benchmark", siblings=("rd", "rd_codecs", "rd_report")) as module:
        status = module.main([str(images), "--images", "1", "--repeats", "1", "--size", "64x48", "--out", str(out)])
        configs = list(module.CONFIGS)
    assert status == 0
    rows = list(csv.DictReader((out / "speed.csv").open()))
    assert [r["config"] for r in rows] == configs
    assert all(float(r["decode_ms"]) > 0 and float(r["peak_rss_mb"]) > 0 and float(r["bpp"]) > 0 for r in rows)
    baseline = next(r for r in rows if r["config"] == "aecodec-torch-2t")
    assert float(baseline["decode_speedup"]) == 1.0
    for row in (r for r in rows if r["codec"] == "aecodec"):
        parts = float(row["entropy_ms"]) + float(row["synthesis_ms"]) + float(row["rest_ms"])
        assert parts == pytest.approx(float(row["decode_ms"]), rel=0.2)
        assert row["torch_imported"] == str(row["backend"] == "torch")
    document = json.loads((out / "speed.json").read_text())
    assert document["settings"]["size"] == "64x48" and document["settings"]["baseline"] == "aecodec-torch-2t"
    assert set(document["targets"]["onnx_over_torch_decode_speedup"]) == {"1", "2"}
    assert "aecodec decode profile" in capsys.readouterr().out


RESTORE_SCRIPT = BENCHMARKS / "restore.py"


def test_restore_benchmark_smoke_run_writes_json_csv_and_picture(tmp_path):
    images = tmp_path / "images"
    write_photos(images, count=2, size=(80, 64))
    out = tmp_path / "results"
    with loaded_script(RESTORE_SCRIPT, "restore_benchmark") as module:
        status = module.main([str(images), "--sigmas", "25", "--jpeg", "10", "--cbm3d-every", "2", "--out", str(out)])
    assert status == 0
    document = json.loads((out / "restore-images.json").read_text())
    sigma = document["denoise"]["sigma25"]
    assert sigma["aecodec"]["psnr"] > sigma["noisy"]["psnr"] + 3 and sigma["aecodec"]["images"] == 2
    assert document["jpeg"]["jpeg10"]["aecodec"]["psnr"] > document["jpeg"]["jpeg10"]["jpeg"]["psnr"]
    colorize = document["colorize"]
    assert colorize["aecodec"]["colourfulness"] > 0 and colorize["truth"]["colourfulness"] > 0
    rows = list(csv.DictReader((out / "restore-images.csv").open()))
    assert {row["task"] for row in rows} == {"denoise", "jpeg", "colorize"}
    assert Image.open(out / "restore-images.png").size[0] > 100
