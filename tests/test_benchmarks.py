"""The benchmark scripts: codec wrappers and a whole rate-distortion run on tiny images."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image
from tests_support import loaded_script, write_photos

from aecodec.metrics import psnr

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
    status = rd_module.main([str(images), "--codecs", "aecodec,aecodec-refined,jpeg", "--qualities", "5,30,60,90", "--out", str(out)])
    assert status == 0
    rows = list(csv.DictReader((out / "rd-images.csv").open()))
    aecodec_rows = [r for r in rows if r["codec"] == "aecodec"]
    assert [float(r["quality"]) for r in aecodec_rows] == [5, 30, 60, 90]
    bpps = [float(r["bpp"]) for r in aecodec_rows]
    assert bpps == sorted(bpps) and bpps[0] > 0
    document = json.loads((out / "rd-images.json").read_text())
    assert "aecodec" in document["bd_rate"]["psnr-rgb"]["jpeg"]
    refined_rows = [r for r in rows if r["codec"] == "aecodec-refined"]
    assert [float(r["quality"]) for r in refined_rows] == [5, 30, 60, 90]  # the encoders share the sweep
    assert "aecodec-refined" in document["bd_rate"]["psnr-rgb"]["jpeg"]
    assert Image.open(out / "rd-images.png").size[0] > 100


@pytest.fixture
def jxl_codec(rd_module):
    """The JPEG XL codec class; the test is skipped where imagecodecs/libjxl is not installed."""
    codec_cls = rd_module.CODECS["jxl"]
    if reason := codec_cls.missing():
        pytest.skip(f"JPEG XL unavailable: {reason}")
    return codec_cls


def test_jpeg_xl_codec_round_trips_lossy_8_bit_rgb_at_effort_7(jxl_codec):
    import imagecodecs

    image = Image.fromarray(synthetic_photo(40, 24))
    pixels = np.asarray(image)
    codec = jxl_codec()
    assert codec.qualities[0] <= 10 and codec.qualities[-1] >= 90
    low, high = codec.encode(image, 10), codec.encode(image, 90)
    assert low[:2] == high[:2] == b"\xff\x0a"  # a bare JPEG XL codestream
    assert len(low) < len(high)
    # Exactly libjxl at cjxl's quality mapping and effort 7, lossy (lossless is imagecodecs' default).
    assert high == bytes(imagecodecs.jpegxl_encode(pixels, level=90, effort=7, lossless=False, numthreads=1))
    assert high != bytes(imagecodecs.jpegxl_encode(pixels, level=90, effort=3, lossless=False, numthreads=1))
    decoded_low, decoded_high = codec.decode(low), codec.decode(high)
    for decoded in (decoded_low, decoded_high):
        assert decoded.size == image.size and decoded.mode == "RGB"
        assert np.asarray(decoded).dtype == np.uint8
    assert not np.array_equal(np.asarray(decoded_high), pixels)  # lossy, not lossless
    assert 30.0 < psnr(pixels, np.asarray(decoded_high)) < 60.0
    assert psnr(pixels, np.asarray(decoded_low)) < psnr(pixels, np.asarray(decoded_high))


def test_rd_benchmark_reports_aecodec_against_every_classical_codec_including_jpeg_xl(rd_module, jxl_codec, tmp_path):
    images = tmp_path / "kodak"
    write_photos(images, count=2, size=(96, 64))
    out = tmp_path / "results"
    status = rd_module.main([str(images), "--codecs", "aecodec,jpeg,webp,avif,jxl", "--qualities", "5,30,60,90", "--out", str(out)])
    assert status == 0
    rows = list(csv.DictReader((out / "rd-kodak.csv").open()))
    jxl_rows = [r for r in rows if r["codec"] == "jxl"]
    assert [int(r["quality"]) for r in jxl_rows] == list(jxl_codec.qualities)
    assert all(float(r["encode_ms"]) > 0 and float(r["decode_ms"]) > 0 for r in jxl_rows)
    document = json.loads((out / "rd-kodak.json").read_text())
    for metric in ("psnr-rgb", "ms-ssim-rgb"):
        bd = document["bd_rate"][metric]
        assert set(bd["jpeg"]) == {"aecodec", "webp", "avif", "jxl"}
        for anchor in ("jpeg", "webp", "avif", "jxl"):
            assert isinstance(bd[anchor]["aecodec"], float)
    assert [c["name"] for c in document["codecs"]] == ["aecodec", "jpeg", "webp", "avif", "jxl"]


def test_rd_benchmark_leaves_out_jpeg_xl_with_a_note_where_it_is_not_installed(rd_module, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # `import imagecodecs` now raises ImportError
    reason = rd_module.CODECS["jxl"].missing()
    assert reason and "imagecodecs" in reason
    monkeypatch.setattr(rd_module, "DEFAULT_CODECS", ("jpeg", "webp", "jxl"))  # the default run, less aecodec
    images = tmp_path / "images"
    write_photos(images, count=1, size=(48, 32))
    out = tmp_path / "results"

    assert rd_module.main([str(images), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if "jxl" in line]
    assert notes == [f"note: jxl left out: {reason}"]
    assert {row["codec"] for row in csv.DictReader((out / "rd-images.csv").open())} == {"jpeg", "webp"}
    assert "| jxl |" not in captured.out and "| webp |" in captured.out

    with pytest.raises(SystemExit) as exit_info:  # named explicitly, it is an error, not a silent gap
        rd_module.main([str(images), "--out", str(out), "--codecs", "jpeg,jxl"])
    assert exit_info.value.code == 2
    assert "jxl cannot run here" in capsys.readouterr().err


SPEED_SCRIPT = BENCHMARKS / "speed.py"


def test_speed_benchmark_smoke_run_writes_csv_json_and_profile(tmp_path, capsys):
    images = tmp_path / "images"
    write_photos(images, count=2, size=(80, 64))
    out = tmp_path / "results"
    with loaded_script(SPEED_SCRIPT, "speed_benchmark", siblings=("rd", "rd_codecs", "rd_report")) as module:
        # One sample per configuration: medians of several would not add up exactly under load.
        status = module.main([str(images), "--images", "1", "--repeats", "1", "--rounds", "1", "--size", "64x48", "--out", str(out)])
        configs = list(module.CONFIGS)
    assert status == 0
    rows = list(csv.DictReader((out / "speed.csv").open()))
    assert [r["config"] for r in rows] == configs
    assert all(float(r["decode_ms"]) > 0 and float(r["peak_rss_mb"]) > 0 and float(r["bpp"]) > 0 for r in rows)
    baseline = next(r for r in rows if r["config"] == "aecodec-torch-2t")
    assert float(baseline["decode_speedup"]) == 1.0
    for row in (r for r in rows if r["codec"] == "aecodec"):
        parts = float(row["entropy_ms"]) + float(row["synthesis_ms"]) + float(row["rest_ms"])
        assert parts == pytest.approx(float(row["decode_ms"]), rel=1e-6) and float(row["rest_ms"]) >= 0
        assert row["torch_imported"] == str(row["backend"] == "torch")
    document = json.loads((out / "speed.json").read_text())
    assert document["settings"]["size"] == "64x48" and document["settings"]["baseline"] == "aecodec-torch-2t"
    measured = document["results"]
    fastest = min(r["decode_ms"] for r in measured if r["codec"] == "aecodec")
    avif = next(r["decode_ms"] for r in measured if r["config"] == "avif")
    assert document["targets"]["fastest_aecodec_decode_ms"] == fastest
    assert document["targets"]["over_avif_decode"] == pytest.approx(fastest / avif)
    assert "aecodec decode profile" in capsys.readouterr().out


def test_speed_cli_rows_compare_the_whole_command_with_the_same_command_warm(tmp_path):
    with loaded_script(SPEED_SCRIPT, "speed_benchmark", siblings=("rd", "rd_codecs", "rd_report")) as module:
        arguments = module.cli_arguments(tmp_path, 75)
        samples = {"decompress": {"ms": [300.0, 100.0, 200.0], "cpu_ms": [90.0], "warm_ms": [50.0, 40.0], "warm_cpu_ms": [30.0]}}
        (row,) = module.cli_rows(samples)
    compress, decompress = arguments["compress"], arguments["decompress"]
    assert list(arguments) == ["compress", "decompress"]  # compress writes the file decompress reads
    assert compress[compress.index("-o") + 1] == decompress[1] and "--force" in decompress
    assert row["command"] == "aecodec decompress" and row["ms"] == 200.0 and row["warm_ms"] == 45.0
    assert row["ratio"] == pytest.approx(200 / 45) and row["cpu_ratio"] == 3.0


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


def test_learning_curve_chains_a_lineage_and_reads_psnr_at_fixed_rates(tmp_path):
    """Each run's CPU-hours continue the previous run's; fixed-rate PSNR interpolates in log(bpp)."""
    runs = []
    for name, psnr_offset in (("parent", 0.0), ("child", 1.0)):
        run = tmp_path / name
        run.mkdir()
        lines = [
            {
                "step": step, "cpu_hours": hours,
                "points": [{"t": 0.0, "bpp": 0.2, "psnr": 25.0 + psnr_offset}, {"t": 7.0, "bpp": 0.8, "psnr": 31.0 + psnr_offset}],
            }
            for step, hours in ((1000, 0.5), (2000, 1.0))
        ]
        (run / "curve.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
        runs.append(run)
    with loaded_script(BENCHMARKS / "learning_curve.py", "learning_curve") as module:
        assert module.main([*map(str, runs), "--out", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader((tmp_path / "out" / "learning-curve.csv").open()))
    assert [(row["run"], float(row["cpu_hours"])) for row in rows] == [("parent", 0.5), ("parent", 1.0), ("child", 1.5), ("child", 2.0)]
    assert float(rows[0]["psnr_at_0.5bpp"]) == pytest.approx(25.0 + 6.0 * np.log(0.5 / 0.2) / np.log(4.0))
    assert float(rows[0]["psnr_at_0.25bpp"]) == pytest.approx(25.0 + 6.0 * np.log(0.25 / 0.2) / np.log(4.0))
    assert float(rows[2]["psnr_at_0.25bpp"]) == pytest.approx(float(rows[0]["psnr_at_0.25bpp"]) + 1.0)
    assert rows[0]["psnr_at_1bpp"] == ""  # outside the validated rates
    assert (tmp_path / "out" / "learning-curve.png").stat().st_size > 0


def test_capacity_benchmark_compares_quality_100_with_the_unquantized_autoencoder(tmp_path):
    images = tmp_path / "images"
    write_photos(images, count=2, size=(80, 64))
    out = tmp_path / "results"
    with loaded_script(BENCHMARKS / "capacity.py", "capacity_benchmark") as module:
        module.main([str(images), "--backend", "torch", "--out", str(out)])
        from aecodec import assembly, zoo

        codec = assembly.load_codec(zoo.default_model_id(), "torch")
        rgb = synthetic_photo(48, 32, seed=4)
        unquantized = module.unquantized_rgb(codec, rgb)
    assert unquantized.shape == rgb.shape and psnr(rgb, unquantized) > 25
    summary = json.loads((out / f"capacity-{zoo.default_model_id()}.json").read_text())
    assert summary["images"] == 2 and summary["mean_bpp_q100"] > 0.5
    # quantization is the only difference: without it the autoencoder does at least as well
    assert summary["mean_psnr_unquantized"] >= summary["mean_psnr_q100"] - 0.05
    assert summary["mean_gap_db"] == summary["mean_psnr_unquantized"] - summary["mean_psnr_q100"]
    rows = list(csv.DictReader((out / f"capacity-{zoo.default_model_id()}.csv").open()))
    assert [row["image"] for row in rows] == sorted(path.name for path in images.iterdir())


def test_latent_priors_fit_predicts_its_photos_and_records_the_weights(tmp_path, monkeypatch):
    from aecodec import assembly, zoo

    train, val = tmp_path / "train", tmp_path / "val"
    write_photos(train, count=3, size=(96, 64))
    write_photos(val, count=2, size=(80, 64), seed=7)
    weights = tmp_path / "weights"  # a copy of the manifest beside the shipped weights file
    weights.mkdir()
    model_id = zoo.default_model_id()
    (weights / zoo.entry(model_id).file.name).symlink_to(zoo.entry(model_id).file)
    (weights / zoo.MANIFEST_NAME).write_text((zoo.weights_dir() / zoo.MANIFEST_NAME).read_text())
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(weights))
    out = tmp_path / "results"
    with loaded_script(BENCHMARKS / "latent_priors.py", "latent_priors_benchmark") as module:
        module.main(["--train", str(train), "--photos", "3", "--val", str(val), "--backend", "torch", "--out", str(out), "--write-manifest"])
    result = json.loads((out / f"latent-priors-{model_id}.json").read_text())
    assert result["fitted_on"]["photos"] == ["photo0.png", "photo1.png", "photo2.png"] and result["validation_photos"] == 2
    recorded = json.loads((weights / zoo.MANIFEST_NAME).read_text())["models"][model_id]["latent_priors"]
    zoo._read_manifest.cache_clear()
    channels = assembly.load_codec(model_id, "torch").latent_channels
    for kind, fits_within in (("psnr", 0.5), ("bits", 0.1)):  # dB, |log ratio| on the photos it was fitted on
        fitted = np.array(result[kind]["channel_weights"])
        assert fitted.shape == (channels,) and (fitted >= 0).all() and result[kind]["channels_used"] > 0
        assert result[kind]["training_error"]["median_abs"] < fits_within
        assert recorded[kind]["channel_weights"] == {str(c): w for c, w in enumerate(fitted) if w > 0}
        assert np.array_equal(zoo.latent_prior_weights(model_id, kind, channels), fitted)


def test_train_speed_times_every_precision_thread_and_process_setting_of_a_recipe(tmp_path):
    """One process on one and two threads in both precisions, flush-to-zero off, and two
    data-parallel processes: each timed on the recipe's own model, the machine named."""
    recipe = tmp_path / "tiny.toml"
    recipe.write_text('train_dir = "t"\nval_dir = "v"\ncrop = 64\nbatch = 2\n[model]\nn = 8\nm = 8\nknots = 2\n')
    with loaded_script(BENCHMARKS / "train_speed.py", "train_speed") as module:
        module.main(["--config", str(recipe), "--steps", "1", "--json", str(tmp_path / "speed.json")])
    table = json.loads((tmp_path / "speed.json").read_text())
    assert table["machine"] and table["batch"] == 2 and table["crop"] == 64
    settings = [(row["processes"], row["threads"], row["precision"], row["flush_denormal"]) for row in table["rows"]]
    assert settings[:4] == [(1, 1, "fp32", True), (1, 1, "bf16", True), (1, 2, "fp32", True), (1, 2, "bf16", True)]
    assert settings[4][:2] == (1, 2) and not settings[4][3] and settings[5][:2] == (2, 1)
    assert all(row["seconds"] > 0 for row in table["rows"])


RESULTS_PAGE = BENCHMARKS / "RESULTS.md"


@pytest.fixture(scope="module")
def results_page():
    """benchmarks/results_page.py loaded as the script it is."""
    with loaded_script(BENCHMARKS / "results_page.py", "results_page") as module:
        yield module


def test_results_page_is_current_with_the_result_files(results_page):
    assert RESULTS_PAGE.read_text() == results_page.render(), "benchmarks/RESULTS.md is stale: run python benchmarks/results_page.py"


def test_results_page_check_reports_a_stale_page_in_one_line_and_a_rebuild_cures_it(results_page, tmp_path, monkeypatch, capsys):
    page = tmp_path / "RESULTS.md"
    page.write_text("# an old page\n")
    monkeypatch.setattr(results_page, "PAGE", page)
    assert results_page.main(["--check"]) == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and "stale" in message and "results_page.py" in message
    assert results_page.main([]) == 0
    assert results_page.main(["--check"]) == 0
    assert page.read_text() == results_page.render()


def test_results_page_tables_every_result_file_or_lists_it(results_page):
    page = RESULTS_PAGE.read_text()
    for path in sorted((BENCHMARKS / "results").glob("*.json")):
        assert f"`results/{path.name}`" in page, path.name
    for section in results_page.SECTIONS:
        assert f"## {section.title}" in page


def test_every_figure_the_readme_quotes_is_on_the_results_page():
    """A measured figure in the README's prose or tables (code left out) must appear, as written, on RESULTS.md."""
    readme = (BENCHMARKS.parent / "README.md").read_text()
    prose = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", readme, flags=re.S))
    figures = re.findall(r"(?<![\w.±])([+−-]?\d+(?:\.\d+)?)\s?(?:%|dB|ms|bpp|MiB|MB|×(?!\d))", prose)  # not 768×512
    assert len(figures) >= 10  # the README quotes its results table and its honest comparison
    page = RESULTS_PAGE.read_text()
    for figure in figures:
        figure = figure.replace("-", "−")
        assert re.search(rf"(?<![\d.]){re.escape(figure)}(?!\d|\.\d)", page), figure
