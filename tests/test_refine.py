"""Encoder-side latent refinement: smaller files at the same quality, ordinary files."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from PIL import Image

import aecodec
from aecodec import assembly, pipeline, zoo
from aecodec.cli import main
from aecodec.codecs.refine import REFINE_TILE
from aecodec.errors import InputError
from aecodec.metrics import bpp

QUALITY = 50.0


def _loss(data: bytes, original: np.ndarray) -> float:
    """The codec's training loss of a file, measured on the decoded pixels and the file size."""
    model_id = zoo.default_model_id()
    t = assembly.load_codec(model_id, "torch").rate_parameter(QUALITY)
    decoded = np.asarray(aecodec.decompress(data, backend="torch").convert("RGB"), dtype=np.float64)
    mse = np.mean((decoded - original) ** 2)
    height, width = original.shape[:2]
    return assembly.load_refiner(model_id).trade_off(t) * mse + bpp(len(data), width, height)


@pytest.fixture(scope="module")
def plain_and_refined(sample_crop) -> tuple[bytes, bytes]:
    plain = aecodec.compress(sample_crop, quality=QUALITY, backend="torch")
    refined = aecodec.compress(sample_crop, quality=QUALITY, backend="torch", refine_steps=20)
    return plain, refined


def test_refinement_lowers_the_measured_rate_distortion_loss(sample_crop, plain_and_refined):
    plain, refined = plain_and_refined
    assert plain != refined
    assert _loss(refined, sample_crop) < _loss(plain, sample_crop)


def test_refined_file_is_deterministic_and_decodes_alike_on_both_backends(sample_crop, plain_and_refined):
    _, refined = plain_and_refined
    assert aecodec.compress(sample_crop, quality=QUALITY, backend="torch", refine_steps=20) == refined
    by_torch = np.asarray(aecodec.decompress(refined, backend="torch"), dtype=np.int16)
    by_onnx = np.asarray(aecodec.decompress(refined, backend="onnx"), dtype=np.int16)
    assert np.abs(by_torch - by_onnx).max() <= 1


def test_tiles_cover_the_whole_latent_and_all_improve():
    # 2 × 2 refinement tiles: every latent element is written, and each tile's part moves.
    side = (REFINE_TILE + 8) * 16
    image = synthetic_photo(side, side, seed=3)
    codec = assembly.load_codec(zoo.default_model_id(), "torch")
    x = image.transpose(2, 0, 1)
    latent = codec.analyze(x)
    refined = assembly.load_refiner(zoo.default_model_id()).refine(x, latent, codec.rate_parameter(QUALITY), 3)
    assert refined.shape == latent.shape and np.isfinite(refined).all()
    moved = np.abs(refined - latent).mean(axis=0) > 0
    for rows in (slice(0, REFINE_TILE), slice(REFINE_TILE, None)):
        for cols in (slice(0, REFINE_TILE), slice(REFINE_TILE, None)):
            assert moved[rows, cols].mean() > 0.9


def test_zero_steps_is_the_plain_encoder(sample_crop, plain_and_refined):
    plain, _ = plain_and_refined
    assert aecodec.compress(sample_crop, quality=QUALITY, backend="torch", refine_steps=0) == plain


def test_rate_target_is_met_on_the_refined_latent(sample_crop):
    data = aecodec.compress(sample_crop, bpp=1.0, backend="torch", refine_steps=5)
    reached = pipeline.info(data)["bpp"]
    assert abs(reached - 1.0) <= 0.03


def test_negative_steps_are_refused(sample_crop):
    with pytest.raises(InputError, match="refinement steps"):
        aecodec.compress(sample_crop, quality=QUALITY, refine_steps=-1)


def test_cli_refine_writes_a_file_that_decodes(tmp_path, sample_crop):
    source = tmp_path / "crop.png"
    Image.fromarray(sample_crop).save(source)
    runner = CliRunner()
    result = runner.invoke(main, ["compress", str(source), "-o", str(tmp_path / "crop.aec"), "--refine", "3", "-q", "40"])
    assert result.exit_code == 0, result.output
    assert pipeline.decompress((tmp_path / "crop.aec").read_bytes()).size == (128, 128)
    bad = runner.invoke(main, ["compress", str(source), "-o", str(tmp_path / "bad.aec"), "--refine", "-2"])
    assert bad.exit_code != 0 and not (tmp_path / "bad.aec").exists()


def test_float32_refinement_also_lowers_the_loss(sample_crop, plain_and_refined, monkeypatch):
    # Where the CPU has no bf16 instructions the refiner runs in float32; that path must work too.
    monkeypatch.setattr(assembly.load_refiner(zoo.default_model_id()), "bf16", False)
    plain, _ = plain_and_refined
    refined = aecodec.compress(sample_crop, quality=QUALITY, backend="torch", refine_steps=20)
    assert _loss(refined, sample_crop) < _loss(plain, sample_crop)
