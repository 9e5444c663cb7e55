"""Restoration heads: the shared backbone, denoising, deblocking, colorization, tiling, CLI.

Quality assertions use a crop of the bundled photo with known degradations, so a head that
stopped working (or a broken pipeline around it) fails them; the benchmark measures the
real numbers on the validation photos.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import aecodec
from aecodec import assembly, restoration, zoo
from aecodec.assembly import load_head
from aecodec.cli import main
from aecodec.errors import InputError, WeightsMismatchError
from aecodec.heads import chroma
from aecodec.heads.backbone import backbone_sha256
from aecodec.heads.noise import estimate_sigma
from aecodec.metrics import colourfulness, psnr
from aecodec.runtime import onnx_files
from aecodec.weights_format import read_meta

TASKS = ("denoise", "colorize")


def _noisy(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    return clean.astype(np.float32) + np.random.default_rng(seed).normal(0, sigma, clean.shape).astype(np.float32)


def _jpeg(clean: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(clean).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


@pytest.fixture(scope="module")
def photo_crop(sample_path) -> np.ndarray:
    """A 160×192 crop of the bundled photo (face, hair, flag: edges and texture)."""
    with Image.open(sample_path) as image:
        return np.asarray(image.convert("RGB"))[40:200, 160:352].copy()


@pytest.fixture(scope="module", params=["torch", "onnx"])
def denoiser(request):
    return load_head("denoise", request.param)


@pytest.fixture(scope="module", params=["torch", "onnx"])
def colorizer(request):
    return load_head("colorize", request.param)


@pytest.mark.parametrize("task", TASKS)
def test_heads_use_the_shipped_codecs_backbone_tensors(task):
    head_id = zoo.default_head_id(task)
    entry = zoo._manifest()["heads"][head_id]
    assert read_meta(zoo.load_arrays(head_id))["backbone"]["sha256"] == entry["backbone"]["sha256"]
    default_codec = zoo.load_arrays(zoo.default_model_id())
    assert backbone_sha256(default_codec) == entry["backbone"]["sha256"], "the default codec's g_a is not the heads' backbone"
    assert load_head(task, "torch").head_id == head_id


def test_a_head_is_refused_when_no_installed_codec_has_its_backbone(monkeypatch):
    original = zoo.load_arrays
    codec_ids = {entry.model_id for entry in zoo.models()}

    def tampered(model_id):
        arrays = dict(original(model_id))
        if model_id in codec_ids:
            name = next(key for key in arrays if key.startswith("float.g_a."))
            arrays[name] = arrays[name] + np.float32(1e-3)
        return arrays

    monkeypatch.setattr(zoo, "load_arrays", tampered)
    load_head.cache_clear()
    try:
        with pytest.raises(WeightsMismatchError, match="no installed codec has that g_a"):
            load_head("denoise", "torch")
    finally:
        load_head.cache_clear()


def test_denoising_removes_most_gaussian_noise(denoiser, photo_crop):
    noisy = _noisy(photo_crop, 25)
    restored, sigma = restoration.denoise_array(noisy, denoiser)
    assert 20 < sigma < 30  # estimated blind
    before = psnr(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), photo_crop)
    assert psnr(restored, photo_crop) > before + 6


def test_deblocking_improves_a_low_quality_jpeg(denoiser, photo_crop):
    compressed = _jpeg(photo_crop, 10)
    restored, _ = restoration.denoise_array(compressed, denoiser)
    assert psnr(restored, photo_crop) > psnr(compressed, photo_crop) + 0.3


def test_a_clean_photo_is_left_nearly_unchanged(denoiser, photo_crop):
    restored, _ = restoration.denoise_array(photo_crop, denoiser, sigma=0.0)
    assert psnr(restored, photo_crop) > 33


def test_colorization_keeps_luminance_exactly_and_adds_colour(colorizer, photo_crop):
    luminance = chroma.luminance_u8(photo_crop)
    color = restoration.colorize_array(luminance, colorizer)
    assert color.shape == photo_crop.shape and color.dtype == np.uint8
    assert np.array_equal(np.asarray(Image.fromarray(color).convert("L")), luminance)
    assert colourfulness(color) > 0.2 * colourfulness(photo_crop)


def test_backends_agree(photo_crop):
    noisy = _noisy(photo_crop, 15, seed=3)
    outputs = [restoration.denoise_array(noisy, load_head("denoise", backend), 15.0)[0] for backend in ("torch", "onnx")]
    assert np.abs(outputs[0].astype(int) - outputs[1].astype(int)).max() <= 1
    luminance = chroma.luminance_u8(photo_crop)
    colours = [restoration.colorize_array(luminance, load_head("colorize", backend)) for backend in ("torch", "onnx")]
    assert np.abs(colours[0].astype(int) - colours[1].astype(int)).max() <= 2


def test_tiles_leave_no_seams(denoiser, photo, monkeypatch):
    """A 3×2-tile run matches the untiled one, and is no worse along the tile borders."""
    clean = np.asarray(Image.fromarray(photo).resize((600, 520), Image.BICUBIC))
    noisy = _noisy(clean, 20, seed=1)
    whole, _ = restoration.denoise_array(noisy, denoiser, 20.0)
    monkeypatch.setattr(restoration, "TILE", 256)
    tiled, _ = restoration.denoise_array(noisy, denoiser, 20.0)
    assert abs(psnr(tiled, clean) - psnr(whole, clean)) < 0.05
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1
    border = np.zeros(clean.shape[:2], dtype=bool)
    for edge in (256, 512):
        border[edge - 4 : edge + 4, :] = True
        border[:, edge - 4 : edge + 4] = True
    error_tiled = np.abs(tiled.astype(float) - clean)[border].mean()
    error_whole = np.abs(whole.astype(float) - clean)[border].mean()
    assert error_tiled <= error_whole + 0.01


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (1000, 1)])
def test_tiny_images_restore_and_colorize(size):
    image = Image.new("RGB", size, (120, 60, 200))
    assert aecodec.restore(image, task="denoise").size == size
    result = aecodec.colorize(image.convert("L"))
    assert result.size == size and result.mode == "RGB"


def test_modes_alpha_and_auto_task(photo_crop):
    rgba = Image.fromarray(photo_crop).convert("RGBA")
    alpha = np.random.default_rng(0).integers(0, 256, photo_crop.shape[:2], dtype=np.uint8)
    rgba.putalpha(Image.fromarray(alpha))
    restored, report = restoration.restore(rgba)
    assert report["task"] == "denoise" and restored.mode == "RGBA"
    assert np.array_equal(np.asarray(restored.getchannel("A")), alpha)
    gray, report = restoration.restore(Image.fromarray(photo_crop).convert("L"))
    assert report["task"] == "colorize" and gray.mode == "RGB"
    _, report = restoration.restore(Image.fromarray(photo_crop), task="colorize")
    assert "luminance" in report["note"]


def test_bad_arguments_are_input_errors(photo_crop):
    with pytest.raises(InputError, match="sigma"):
        aecodec.restore(photo_crop, sigma=80)
    with pytest.raises(InputError, match="task"):
        aecodec.restore(photo_crop, task="sharpen")
    with pytest.raises(InputError, match="NaN"):
        aecodec.restore(np.full((8, 8, 3), np.nan, dtype=np.float32))


def test_noise_estimate_is_close_on_a_real_photo(sample_path):
    with Image.open(sample_path) as image:
        clean = np.asarray(image.convert("RGB"))
    for sigma in (5, 15, 25, 50):
        assert estimate_sigma(_noisy(clean, sigma)) == pytest.approx(sigma, rel=0.15, abs=1.5)


def test_compose_hits_any_luminance_exactly_for_any_chroma():
    rng = np.random.default_rng(0)
    luminance = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    rgb = chroma.compose(luminance, rng.uniform(-0.6, 0.6, (64, 64, 2)))
    assert np.array_equal(chroma.luminance_u8(rgb), luminance)
    truth = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    again = chroma.compose(chroma.luminance_u8(truth), chroma.chroma(truth / 255.0))
    assert np.abs(again.astype(int) - truth).max() <= 4


def test_cli_restore_and_colorize(tmp_path, photo_crop):
    source = tmp_path / "noisy.png"
    Image.fromarray(np.clip(np.rint(_noisy(photo_crop, 25)), 0, 255).astype(np.uint8)).save(source)
    runner = CliRunner()
    result = runner.invoke(main, ["restore", str(source)])
    assert result.exit_code == 0, result.output
    output = tmp_path / "noisy.restored.png"
    assert "denoise, σ" in result.output and output.is_file()
    assert psnr(np.asarray(Image.open(output)), photo_crop) > psnr(np.asarray(Image.open(source)), photo_crop) + 5
    result = runner.invoke(main, ["restore", str(source)])
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(main, ["colorize", str(source), "-o", str(tmp_path / "color.webp"), "--backend", "torch"])
    assert result.exit_code == 0 and "luminance was colorized" in result.output
    result = runner.invoke(main, ["restore", str(tmp_path / "missing.png")])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    result = runner.invoke(main, ["restore", str(tmp_path / "bad.png"), "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 1 and not (tmp_path / "out.png").exists()


def test_cli_restore_in_a_pipe(photo_crop):
    buffer = io.BytesIO()
    Image.fromarray(_jpeg(photo_crop, 15)).save(buffer, format="JPEG")
    result = CliRunner().invoke(main, ["restore", "-", "--quiet"], input=buffer.getvalue())
    assert result.exit_code == 0
    assert Image.open(io.BytesIO(result.stdout_bytes)).size == (photo_crop.shape[1], photo_crop.shape[0])


@pytest.mark.parametrize("task", TASKS)
def test_committed_head_graphs_are_current_and_carry_cards(task):
    head_id = zoo.default_head_id(task)
    assert assembly.onnx_staleness(head_id) is None, "run `aecodec export` and commit weights/onnx/"
    card = onnx_files.read_record(zoo.onnx_dir(head_id))
    assert card["backbone"]["sha256"] == zoo._manifest()["heads"][head_id]["backbone"]["sha256"]
    assert card["backbone"]["model"] == zoo.default_model_id()  # fed by the default codec's analysis.onnx
