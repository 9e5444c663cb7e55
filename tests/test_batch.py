"""Folder mode: mirrored trees, skipping finished files, parallel jobs, summaries, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from PIL import Image

from aecodec import batch
from aecodec.cli import main
from aecodec.errors import InputError


@pytest.fixture
def tree(tmp_path):
    """in/a.png, in/sub/b.jpg, in/sub/deeper/c.webp, a corrupt in/sub/bad.png and a text file."""
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(synthetic_photo(48, 40, seed=1)).save(root / "a.png")
    Image.fromarray(synthetic_photo(40, 32, seed=2)).save(root / "sub" / "b.jpg", quality=95)
    Image.fromarray(synthetic_photo(33, 17, seed=3)).save(root / "sub" / "deeper" / "c.webp", lossless=True)
    (root / "sub" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (root / "notes.txt").write_text("not an image")
    return tmp_path


def test_plan_mirrors_the_tree_and_refuses_colliding_outputs(tree):
    jobs = batch.plan(tree / "in", tree / "out", batch.IMAGE_SUFFIXES, ".aec")
    relative = sorted(str(job.output.relative_to(tree / "out")) for job in jobs)
    assert relative == ["a.aec", "sub/b.aec", "sub/bad.aec", "sub/deeper/c.aec"]
    Image.fromarray(synthetic_photo(8, 8)).save(tree / "in" / "a.jpg")
    with pytest.raises(InputError, match="would both write"):
        batch.plan(tree / "in", tree / "out", batch.IMAGE_SUFFIXES, ".aec")


def test_an_output_folder_inside_the_input_is_not_read_back(tree):
    (tree / "in" / "out").mkdir()
    Image.fromarray(synthetic_photo(8, 8)).save(tree / "in" / "out" / "old.png")
    jobs = batch.plan(tree / "in", tree / "in" / "out", batch.IMAGE_SUFFIXES, ".aec")
    assert all("old" not in job.source.name for job in jobs) and len(jobs) == 4


def test_folder_round_trip_with_a_bad_file_skips_and_summary(tree):
    runner = CliRunner()
    result = runner.invoke(main, ["compress", str(tree / "in"), "-o", str(tree / "out"), "-q", "90"])
    assert result.exit_code == 1  # one file failed, after all the others were done
    assert "4 files: 3 done, 0 skipped" in result.output and "1 failed" in result.output
    assert "failed: " in result.output and "bad.png" in result.output and "ratio" in result.output
    assert (tree / "out" / "sub" / "deeper" / "c.aec").is_file() and not (tree / "out" / "sub" / "bad.aec").exists()
    first = (tree / "out" / "a.aec").stat().st_mtime_ns
    result = runner.invoke(main, ["compress", str(tree / "in"), "-o", str(tree / "out"), "--quiet"])
    assert "3 skipped" in result.output and (tree / "out" / "a.aec").stat().st_mtime_ns == first
    (tree / "in" / "sub" / "bad.png").unlink()
    result = runner.invoke(main, ["compress", str(tree / "in"), "-o", str(tree / "out"), "--force", "--quiet"])
    assert result.exit_code == 0 and result.output == ""
    result = runner.invoke(main, ["decompress", str(tree / "out"), "-o", str(tree / "decoded"), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert "3 files: 3 done" in result.output
    for source, decoded in (("a.png", "a.decoded.png"), ("sub/deeper/c.webp", "sub/deeper/c.decoded.png")):
        original = np.asarray(Image.open(tree / "in" / source).convert("RGB"))
        assert np.asarray(Image.open(tree / "decoded" / decoded).convert("RGB")).shape == original.shape


def test_folder_input_rejects_a_file_as_output_folder(tree):
    (tree / "file.txt").write_text("x")
    result = CliRunner().invoke(main, ["compress", str(tree / "in"), "-o", str(tree / "file.txt")])
    assert result.exit_code == 2 and "output must be a folder" in result.output


def test_restore_a_folder(tree):
    (tree / "in" / "sub" / "bad.png").unlink()
    result = CliRunner().invoke(main, ["restore", str(tree / "in"), "-o", str(tree / "clean"), "--task", "denoise"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tree / "clean").rglob("*.png")) == ["a.restored.png", "b.restored.png", "c.restored.png"]


def test_a_folder_round_trip_in_place_leaves_the_originals_untouched(tree):
    (tree / "in" / "sub" / "bad.png").unlink()
    originals = {path: path.read_bytes() for path in (tree / "in").rglob("*") if path.is_file()}
    runner = CliRunner()
    assert runner.invoke(main, ["compress", str(tree / "in"), "-q", "20", "--quiet"]).exit_code == 0
    result = runner.invoke(main, ["decompress", str(tree / "in")])
    assert result.exit_code == 0, result.output
    assert "3 files: 3 done, 0 skipped" in result.output
    assert all(path.read_bytes() == data for path, data in originals.items())
    decoded = sorted(str(p.relative_to(tree / "in")) for p in (tree / "in").rglob("*.decoded.png"))
    assert decoded == ["a.decoded.png", "sub/b.decoded.png", "sub/deeper/c.decoded.png"]


def test_a_folder_run_never_takes_its_own_outputs_as_inputs(tree):
    Image.fromarray(synthetic_photo(8, 8)).save(tree / "in" / "a.restored.png")
    jobs = batch.plan(tree / "in", None, batch.IMAGE_SUFFIXES, ".restored.png")
    assert "a.restored.png" not in {job.source.name for job in jobs} and len(jobs) == 4
