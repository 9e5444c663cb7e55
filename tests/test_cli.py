"""Tests of the ``aecodec`` command line (click's CliRunner, files in tmp_path).

One 96×80 PNG is compressed once per module (``coded``); every other test reuses its bytes,
so only the tests about compressing itself (--force, atomic writes) run the encoder again.
"""

from __future__ import annotations

import errno
import functools
import inspect
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from shlex import quote as shlex_quote

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from PIL import Image

from aecodec import assembly, zoo
from aecodec.bitstream import SIGNATURE
from aecodec.cli import main
from aecodec.metrics import psnr

WIDTH, HEIGHT = 96, 80
CAMERA = "aecodec test camera"
REPO = Path(__file__).resolve().parent.parent


def _runner() -> CliRunner:
    # click < 8.2 mixes stderr into stdout unless told not to; later versions always keep
    # ``result.stderr`` separate (and removed the parameter).
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)
    return CliRunner()


def run(*args):
    result = _runner().invoke(main, [str(a) for a in args])
    # A clean exit or sys.exit(); any other exception is a crash the CLI failed to report.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"aecodec {' '.join(map(str, args))} crashed") from result.exception
    return result


def assert_error(result, *fragments: str) -> str:
    """Exit 1, nothing on stdout, exactly one line ``Error: …`` on stderr; returns it."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert len(lines[0]) > len("Error: ")
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
    return lines[0]


@functools.cache
def _icc_profile() -> bytes:
    # Cached: the profile embeds its creation time, so two calls can differ.
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    return synthetic_photo(WIDTH, HEIGHT, seed=11)


@pytest.fixture(scope="module")
def coded(tmp_path_factory, original):
    """``aecodec compress -q 90 photo.png`` (default output name), run once."""
    folder = tmp_path_factory.mktemp("coded")
    source = folder / "photo.png"
    exif = Image.Exif()
    exif[0x010F] = CAMERA
    Image.fromarray(original).save(source, icc_profile=_icc_profile(), exif=exif.tobytes())
    result = run("compress", "-q", "90", source)
    return {"source": source, "output": folder / "photo.aec", "result": result, "folder": folder}


@pytest.fixture(scope="module")
def aec_bytes(coded) -> bytes:
    assert coded["result"].exit_code == 0, coded["result"].output
    return coded["output"].read_bytes()


@pytest.fixture
def aec_file(tmp_path, aec_bytes) -> Path:
    path = tmp_path / "in.aec"
    path.write_bytes(aec_bytes)
    return path


# ---------------------------------------------------------------------------------------
# compress / decompress / info: the happy path
# ---------------------------------------------------------------------------------------


def test_compress_default_output_and_report(coded, aec_bytes):
    result = coded["result"]
    assert result.exit_code == 0
    assert result.stderr == ""
    assert coded["output"].is_file()
    assert aec_bytes.startswith(SIGNATURE)
    assert sorted(p.name for p in coded["folder"].iterdir()) == ["photo.aec", "photo.png"]  # no temp file
    line = result.stdout.strip()
    assert "\n" not in line
    match = re.search(r"([\d,]+) bytes, ([\d.]+) bpp", line)
    assert match, line
    assert int(match.group(1).replace(",", "")) == len(aec_bytes)
    assert float(match.group(2)) == pytest.approx(8 * len(aec_bytes) / (WIDTH * HEIGHT), abs=5e-4)
    assert "quality 90" in line


def test_decompress_default_output_name(tmp_path, aec_bytes, original):
    source = tmp_path / "x.aec"
    source.write_bytes(aec_bytes)
    result = run("decompress", source)
    assert result.exit_code == 0, result.output
    out = tmp_path / "x.decoded.png"
    assert out.is_file()
    assert f"{WIDTH}×{HEIGHT}" in result.stdout
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH, HEIGHT) and image.mode == "RGB"
        assert psnr(np.asarray(image), original) > 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.aec", "x.decoded.png"]


def test_the_default_round_trip_leaves_the_original_untouched(tmp_path, coded):
    # photo.png → photo.aec → photo.decoded.png: no default name is the original's, and no
    # message, --force included, leads to writing over it.
    source = tmp_path / "photo.png"
    shutil.copy(coded["source"], source)
    before = source.read_bytes()
    assert run("compress", source, "--quiet").exit_code == 0
    result = run("decompress", tmp_path / "photo.aec")
    assert result.exit_code == 0, result.output
    assert "photo.decoded.png" in result.stdout
    assert_error(run("decompress", tmp_path / "photo.aec"), "photo.decoded.png already exists", "--force")
    assert run("decompress", tmp_path / "photo.aec", "--force", "--format", "WEBP").exit_code == 0
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.aec", "photo.decoded.png", "photo.decoded.webp", "photo.png"]
    with Image.open(tmp_path / "photo.decoded.webp") as image:
        assert image.format == "WEBP"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_output_is_never_its_own_input(tmp_path, coded, aec_bytes, force):
    source = tmp_path / "photo.png"
    shutil.copy(coded["source"], source)
    before = source.read_bytes()
    assert_error(run("restore", source, "-o", source, *force), "is the input file")
    assert source.read_bytes() == before
    container = tmp_path / "photo.aec"
    container.write_bytes(aec_bytes)
    assert_error(run("compress", container, *force), "is the input file")  # its default output is itself
    assert container.read_bytes() == aec_bytes


def test_explicit_output_path(tmp_path, aec_file):
    out = tmp_path / "sub" / "decoded.png"
    out.parent.mkdir()
    result = run("decompress", aec_file, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_info_text(aec_file, aec_bytes):
    result = run("info", aec_file)
    assert result.exit_code == 0, result.output
    text = result.stdout
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    assert fields["model"] == zoo.default_model_id()
    assert fields["mode"] == "RGB"
    assert float(fields["quality"]) == 90
    assert fields["size"] == f"{WIDTH}×{HEIGHT}"
    assert int(fields["bytes"].replace(",", "")) == len(aec_bytes)
    bpp = float(fields["bpp"])
    assert round(bpp, 4) == round(8 * len(aec_bytes) / (WIDTH * HEIGHT), 4)
    assert "HEAD" in text and "BITS" in text and "AEND" in text


def test_info_json(aec_file, aec_bytes):
    result = run("info", "--json", aec_file)
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert details["model"] == zoo.default_model_id()
    assert (details["width"], details["height"]) == (WIDTH, HEIGHT)
    assert details["mode"] == "RGB"
    assert details["quality"] == 90
    assert details["bytes"] == len(aec_bytes)
    assert details["bpp"] == pytest.approx(8 * details["bytes"] / (details["width"] * details["height"]), rel=1e-12)
    assert details["chunks"][0]["type"] == "HEAD" and details["chunks"][-1]["type"] == "AEND"


def test_reference_prints_psnr(tmp_path, aec_file, coded):
    result = run("decompress", aec_file, "-o", tmp_path / "out.png", "--reference", coded["source"])
    assert result.exit_code == 0, result.output
    match = re.search(r"PSNR\S*\s+([\d.]+)\s*dB", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) > 20
    assert "MS-SSIM" in result.stdout


@pytest.mark.parametrize("side", [1, 8])
def test_reference_of_an_image_too_small_for_ms_ssim_notes_it_and_writes_the_output(tmp_path, side):
    source, coded, target = tmp_path / "tiny.png", tmp_path / "tiny.aec", tmp_path / "out.png"
    Image.fromarray(synthetic_photo(side, side)).save(source)
    assert run("compress", source, "-o", coded).exit_code == 0
    result = run("decompress", coded, "-o", target, "--reference", source)
    assert result.exit_code == 0, result.output
    with Image.open(target) as decoded:
        assert decoded.size == (side, side)
    assert re.search(r"PSNR-RGB (inf|[\d.]+) dB", result.stdout), result.stdout
    assert "MS-SSIM skipped" in result.stdout


# ---------------------------------------------------------------------------------------
# Output formats and metadata
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decoded_png(tmp_path_factory, aec_bytes) -> np.ndarray:
    folder = tmp_path_factory.mktemp("png")
    (folder / "in.aec").write_bytes(aec_bytes)
    assert run("decompress", folder / "in.aec").exit_code == 0
    with Image.open(folder / "in.decoded.png") as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize(
    ("suffix", "pillow_format", "lossless"),
    [(".png", "PNG", True), (".webp", "WEBP", True), (".tiff", "TIFF", True), (".jpg", "JPEG", False)],
)
def test_decompress_formats(tmp_path, aec_file, decoded_png, suffix, pillow_format, lossless):
    out = tmp_path / f"out{suffix}"
    result = run("decompress", aec_file, "-o", out)
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.format == pillow_format
        assert image.size == (WIDTH, HEIGHT)
        pixels = np.asarray(image.convert("RGB"))
        icc = image.info.get("icc_profile")
        camera = image.getexif().get(0x010F)
    if lossless:  # decoded pixels are final: no second lossy step
        np.testing.assert_array_equal(pixels, decoded_png)
    else:
        assert psnr(pixels, decoded_png) > 35
    # The source's ICC profile and EXIF travel through the .aec file into the output.
    assert icc == _icc_profile()
    assert camera == CAMERA


def test_decompress_unknown_extension(tmp_path, aec_file):
    result = run("decompress", aec_file, "-o", tmp_path / "out.xyz")
    assert_error(result, ".xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.aec"]


@pytest.mark.parametrize(
    "model_id, release", [("hyperprior-v1", "0.1.0"), ("hyperprior-v4", "0.2.0"), ("hyperprior-v2", "0.5.0"), ("hyperprior-v5", "0.5.0")]
)
def test_a_file_of_a_retired_model_names_the_release_that_decodes_it(tmp_path, model_id, release):
    """Retired models left the weights to keep them small; their files get a one-line pointer."""
    result = run("decompress", REPO / "tests" / "expected" / f"retired-{model_id}.aec", "-o", tmp_path / "out.png")
    assert_error(result, f"model '{model_id}' is no longer shipped; files written with it decode with aecodec {release}")
    assert list(tmp_path.iterdir()) == []


def test_decompress_rgba_to_jpeg_is_an_error_without_debris(tmp_path):
    rgba = np.dstack([synthetic_photo(32, 32, seed=2), np.full((32, 32), 128, np.uint8)])
    import aecodec

    source = tmp_path / "a.aec"
    source.write_bytes(aecodec.compress(rgba, quality=50))
    result = run("decompress", source, "-o", tmp_path / "a.jpg")
    assert_error(result, "RGBA", "JPEG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.aec"]


# ---------------------------------------------------------------------------------------
# Overwriting
# ---------------------------------------------------------------------------------------


def test_compress_refuses_to_overwrite_without_force(tmp_path, coded):
    source = tmp_path / "x.png"
    shutil.copy(coded["source"], source)
    target = tmp_path / "x.aec"
    target.write_bytes(b"precious")
    result = run("compress", source)
    assert_error(result, "--force", "already exists")
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.aec", "x.png"]

    result = run("compress", source, "--force", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert target.read_bytes().startswith(SIGNATURE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.aec", "x.png"]


def test_decompress_refuses_to_overwrite_without_force(tmp_path, aec_file):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    assert_error(run("decompress", aec_file, "-o", target), "--force")
    assert target.read_bytes() == b"precious"
    result = run("decompress", aec_file, "-o", target, "--force")
    assert result.exit_code == 0, result.output
    with Image.open(target) as image:
        assert image.size == (WIDTH, HEIGHT)


# ---------------------------------------------------------------------------------------
# Bad inputs: one line "Error: …", exit 1, no output file
# ---------------------------------------------------------------------------------------


def _flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x5A
    return bytes(out)


def _offset_in_bits_payload(data: bytes) -> int:
    """An offset inside the payload of the largest BITS chunk."""
    import aecodec

    chunks = [c for c in aecodec.info(data)["chunks"] if c["type"] == "BITS"]
    largest = max(chunks, key=lambda c: c["length"])
    return largest["offset"] + 8 + largest["length"] // 2


def _future_version(data: bytes) -> bytes:
    out = bytearray(data)
    head_length = int.from_bytes(out[8:12], "big")
    assert out[12:16] == b"HEAD"
    out[16] = 2  # format major
    crc_at = 16 + head_length
    out[crc_at : crc_at + 4] = zlib.crc32(bytes(out[12:crc_at])).to_bytes(4, "big")
    return bytes(out)


BAD_FILES = {
    "empty": (lambda d: b"", "empty"),
    "truncated": (lambda d: d[: len(d) // 2], "truncated"),
    "flipped in HEAD length": (lambda d: _flip(d, 9), ""),
    "flipped in HEAD data": (lambda d: _flip(d, 20), "checksum"),
    "flipped in BITS payload": (lambda d: _flip(d, _offset_in_bits_payload(d)), "checksum"),
    "flipped near the end": (lambda d: _flip(d, len(d) - 2), "checksum"),
    "flipped in signature": (lambda d: _flip(d, 1), "signature"),
    "trailing byte": (lambda d: d + b"\x00", "trailing"),
    "future version": (_future_version, "upgrade"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_decompress_bad_file(tmp_path, aec_bytes, case):
    mutate, fragment = BAD_FILES[case]
    source = tmp_path / "bad.aec"
    source.write_bytes(mutate(aec_bytes))
    assert_error(run("decompress", source), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.aec"]


@pytest.mark.parametrize("case", ["empty", "flipped in HEAD data", "future version"])
def test_info_bad_file(tmp_path, aec_bytes, case):
    mutate, fragment = BAD_FILES[case]
    source = tmp_path / "bad.aec"
    source.write_bytes(mutate(aec_bytes))
    assert_error(run("info", source), fragment)


def test_decompress_png_renamed_aec(tmp_path, coded):
    source = tmp_path / "photo.aec"
    shutil.copy(coded["source"], source)
    assert_error(run("decompress", source), "not an .aec file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.aec"]


@pytest.mark.parametrize("command, missing, folder", [("decompress", "missing.aec", "folder.aec"), ("compress", "missing.png", "pictures")])
def test_missing_input_and_an_empty_folder(tmp_path, command, missing, folder):
    assert_error(run(command, tmp_path / missing), "no such file")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / folder).mkdir()
    result = run(command, tmp_path / folder)  # a folder is a batch: with nothing in it, nothing is done
    assert result.exit_code == 0 and "0 files" in result.output and "no files to process" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]


def test_compress_text_file(tmp_path):
    source = tmp_path / "notes.png"
    source.write_text("not a picture\n" * 10)
    assert_error(run("compress", source), "not an image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png"]


def test_info_missing_input(tmp_path):
    assert_error(run("info", tmp_path / "missing.aec"), "no such file")


# ---------------------------------------------------------------------------------------
# Usage errors, help, version, models
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["compress", "-q", "0", "x.png"],
        ["compress", "-q", "101", "x.png"],
        ["compress", "--quality", "abc", "x.png"],
        ["compress", "--no-such-option", "x.png"],
        ["compress"],
        ["decompress", "--no-such-option", "x.aec"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "Usage:" in result.stderr or "Error:" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_models_lists_the_defaults():
    result = run("models")
    assert result.exit_code == 0, result.output
    marked = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("*")}
    assert marked == {zoo.default_model_id(), zoo.default_head_id("denoise"), zoo.default_head_id("colorize")}
    assert "denoise head" in result.stdout and "colorize head" in result.stdout


def test_version():
    import aecodec

    result = run("--version")
    assert result.exit_code == 0
    assert "aecodec" in result.stdout and aecodec.__version__ in result.stdout


def test_decompressing_a_file_loads_only_what_it_runs(aec_file, tmp_path):
    """A command pays at start-up only for what it runs (issue 25): decoding one file on
    onnxruntime imports neither torch, nor the package metadata (``--version`` reads it), nor
    the worker pool of folder runs, nor every Pillow plugin; it inflates none of the weights
    the graphs hold and never creates the analysis graphs' sessions."""
    output = tmp_path / "out.png"
    code = f"""
import json, sys
from aecodec.cli import main
main(["decompress", {str(aec_file)!r}, "-o", {str(output)!r}, "--backend", "onnx", "--quiet"], standalone_mode=False)
from aecodec import assembly, zoo
model = zoo.default_model_id()
unneeded = ("torch", "importlib.metadata", "concurrent.futures", "multiprocessing", "PIL.PdfImagePlugin", "aecodec.train.loop", "aecodec.onnx_build")
print(json.dumps({{
    "imported": [name for name in unneeded if name in sys.modules],
    "sessions": sorted(assembly.load_codec(model, "onnx").transforms.created_sessions),
    "inflated": sorted(zoo.load_arrays(model).inflated),
}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["imported"] == []
    assert loaded["sessions"] == sorted({"synthesis.onnx", "hyper_decoder.onnx", "context.onnx"})
    floats = [name for name in loaded["inflated"] if name.startswith("float.") and not name.startswith("float.gain.")]
    assert floats == [] and [name for name in loaded["inflated"] if name.endswith((".weight", ".bias"))] == []
    assert "y_tables.pmf" in loaded["inflated"]
    assert Image.open(output).size == (WIDTH, HEIGHT)


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["compress", "-h"], ["decompress", "--help"], ["info", "-h"]])
def test_help(args):
    result = run(*args)
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    if args[0] == "compress":
        assert "--quality" in result.stdout and "--force" in result.stdout


def test_python_dash_m_help():
    completed = subprocess.run(
        [sys.executable, "-m", "aecodec", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert completed.returncode == 0, completed.stderr
    for command in ("compress", "decompress", "info", "models"):
        assert command in completed.stdout


# ---------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------


def _disk_full_save(self, fp, *args, **kwargs):
    fp.write(b"\x89PNG half an image")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_decompress_disk_full_leaves_nothing(tmp_path, aec_file, monkeypatch):
    monkeypatch.setattr(Image.Image, "save", _disk_full_save)
    result = run("decompress", aec_file, "-o", tmp_path / "out.png")
    line = assert_error(result, "no space")
    assert "out.png" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.aec"]


def test_decompress_disk_full_with_force_keeps_the_old_file(tmp_path, aec_file, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old contents")
    monkeypatch.setattr(Image.Image, "save", _disk_full_save)
    assert_error(run("decompress", aec_file, "-o", target, "--force"), "no space")
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.aec", "out.png"]


def test_compress_disk_full_leaves_nothing(tmp_path, coded, monkeypatch):
    source = tmp_path / "x.png"
    shutil.copy(coded["source"], source)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    assert_error(run("compress", source), "no space")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_output_folder_missing(tmp_path, aec_file):
    assert_error(run("decompress", aec_file, "-o", tmp_path / "nope" / "out.png"), "nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.aec"]


def test_bad_reference_fails_without_leaving_output(tmp_path, aec_file):
    target = tmp_path / "out.png"
    result = run("decompress", aec_file, "-o", target, "--reference", tmp_path / "missing.png")
    assert_error(result, "missing.png")
    assert not target.exists()


# ---------------------------------------------------------------------------------------
# pipes: - for standard input and output
# ---------------------------------------------------------------------------------------


def test_compress_and_decompress_through_standard_input_and_output(coded, aec_bytes, original):
    runner = CliRunner()
    compressed = runner.invoke(main, ["compress", "-", "-q", "90"], input=coded["source"].read_bytes())
    assert compressed.exit_code == 0, compressed.output
    assert compressed.stdout_bytes.startswith(SIGNATURE) and "bytes," in compressed.stderr  # report kept off the data
    decoded = runner.invoke(main, ["decompress", "-", "-o", "-", "--format", "webp"], input=compressed.stdout_bytes)
    assert decoded.exit_code == 0, decoded.stderr
    with Image.open(io.BytesIO(decoded.stdout_bytes)) as image:
        assert image.format == "WEBP" and image.size == (original.shape[1], original.shape[0])
    info = runner.invoke(main, ["info", "-"], input=compressed.stdout_bytes)
    assert info.exit_code == 0 and "quality:  90" in info.stdout


def test_a_shell_pipeline_round_trips(tmp_path, coded, original):
    command = (
        f"{shlex_quote(sys.executable)} -m aecodec compress - < {shlex_quote(str(coded['source']))} | "
        f"{shlex_quote(sys.executable)} -m aecodec decompress - > out.png"
    )
    result = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "out.png") as image:
        assert psnr(original, np.asarray(image.convert("RGB"))) > 25


def test_bad_data_on_standard_input_is_a_one_line_error():
    result = CliRunner().invoke(main, ["decompress", "-", "-o", "-"], input=b"not an aec file")
    assert result.exit_code == 1 and result.stdout_bytes == b""
    assert result.stderr.startswith("Error:") and result.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------
# Output permissions, terminals
# ---------------------------------------------------------------------------------------


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    """Run the test under this umask (two, so a fixed mode cannot pass for an honoured umask)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_outputs_get_the_mode_the_umask_gives_new_files(tmp_path, coded, aec_bytes, umask):
    expected = 0o666 & ~umask  # what touch, cp or a shell redirection create
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "in.aec").write_bytes(aec_bytes)
    assert run("compress", coded["source"], "-o", tmp_path / "a.aec", "-q", "20", "--quiet").exit_code == 0
    assert run("decompress", tmp_path / "a.aec", "-o", tmp_path / "b.png", "--quiet").exit_code == 0
    assert run("colorize", coded["source"], "-o", tmp_path / "c.png", "--quiet").exit_code == 0
    assert run("decompress", folder, "-o", tmp_path / "decoded", "--quiet").exit_code == 0
    outputs = [tmp_path / name for name in ("a.aec", "b.png", "c.png")] + list((tmp_path / "decoded").iterdir())
    assert len(outputs) == 4
    for path in outputs:
        assert _mode(path) == expected, (path.name, oct(_mode(path)))


def test_an_output_replaced_with_force_keeps_its_mode(tmp_path, aec_file):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    assert run("decompress", aec_file, "-o", target, "--force", "--quiet").exit_code == 0
    assert _mode(target) == 0o640 and target.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("command", ["compress", "decompress"])
def test_binary_data_is_never_written_to_a_terminal(tmp_path, coded, aec_bytes, command):
    import pty

    source = tmp_path / "input"
    source.write_bytes(coded["source"].read_bytes() if command == "compress" else aec_bytes)
    controller, terminal = pty.openpty()
    try:
        with open(source, "rb") as stdin:
            completed = subprocess.run(
                [sys.executable, "-m", "aecodec", command, "-"], stdin=stdin, stdout=terminal, stderr=subprocess.PIPE,
                cwd=REPO, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        os.set_blocking(controller, False)
        try:
            shown = os.read(controller, 1 << 16)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(controller)
        os.close(terminal)
    assert completed.returncode == 1
    assert completed.stderr.decode().splitlines() == ["Error: not writing binary data to a terminal: redirect standard output (> FILE) or give -o FILE"]
    assert shown == b""


# ---------------------------------------------------------------------------------------
# Clear errors: training, models and heads, inspect, folders, usage
# ---------------------------------------------------------------------------------------


def test_train_without_torch_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # ``import torch`` now fails, as in a base install
    for name in ("aecodec.train.loop", "aecodec.train.head_loop"):
        monkeypatch.delitem(sys.modules, name, raising=False)  # imported afresh, so they import torch again
    config = tmp_path / "run.toml"
    config.write_text(f'train_dir = "{tmp_path}"\nval_dir = "{tmp_path}"\n')
    result = run("train", "--config", config, "--run-dir", tmp_path / "run")
    assert_error(result, "aecodec train needs torch", "pip install torch")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("empty", ["train_dir", "val_dir"])
def test_train_without_photos_says_where_it_looked_and_leaves_nothing(tmp_path, empty):
    from tests_support import write_photos

    write_photos(tmp_path / "photos", count=1, size=(32, 32))
    folders = {"train_dir": tmp_path / "photos", "val_dir": tmp_path / "photos", empty: tmp_path / "missing"}
    config = tmp_path / "run.toml"
    tiny = "steps = 1\nwarmup = 0\ncrop = 32\nbatch = 1\nthreads = 1\ncheckpoint_minutes = 0.0\nvalidate_every = 1\n"
    config.write_text("".join(f'{key} = "{folder}"\n' for key, folder in folders.items()) + tiny + "[model]\nn = 8\nm = 8\nknots = 2\n")
    result = run("train", "--config", config, "--run-dir", tmp_path / "run")
    assert_error(result, f"no photos in {tmp_path / 'missing'}", empty)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task", ["denoise", "colorize"])
def test_compress_with_a_head_says_it_is_a_head_and_which_command_runs_it(tmp_path, coded, task):
    head = zoo.default_head_id(task)
    assert_error(
        run("compress", coded["source"], "-o", tmp_path / "x.aec", "--model", head),
        f"{head} is a {task} restoration head",
        f"`{assembly.HEAD_COMMANDS[task]}`",
    )
    assert list(tmp_path.iterdir()) == []


def test_inspect_of_a_file_it_cannot_read_says_what_it_expected(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture\n")
    assert_error(run("inspect", notes), "neither an .aec file nor an image")


@pytest.mark.parametrize("command, name", [("compress", "out.aec"), ("decompress", "out.png"), ("restore", "out.jpg")])
def test_a_folder_input_refuses_a_file_name_as_output(tmp_path, aec_bytes, coded, command, name):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(coded["source"], folder / "photo.png")
    (folder / "photo.aec").write_bytes(aec_bytes)
    result = run(command, folder, "-o", tmp_path / name)
    assert result.exit_code == 2 and "output must be a folder" in result.stderr
    assert not (tmp_path / name).exists()


def test_folder_summaries_count_in_the_singular_and_give_a_ratio_only_for_compress(tmp_path, coded):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(coded["source"], folder / "photo.png")
    compressed = run("compress", folder, "-q", "20")
    assert compressed.exit_code == 0 and "1 file: 1 done" in compressed.stderr and "ratio" in compressed.stderr
    decompressed = run("decompress", folder)
    assert decompressed.exit_code == 0 and "1 file: 1 done" in decompressed.stderr
    assert "ratio" not in decompressed.stderr and ":1" not in decompressed.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["compress", "-q", "nan", "x.png"],
        ["compress", "--bpp", "inf", "x.png"],
        ["compress", "--psnr", "nan", "x.png"],
        ["compress", "-q", "50", "--bpp", "1", "x.png"],
        ["compress", "--size", "4KB", "--psnr", "30", "x.png"],
        ["inspect", "-q", "nan", "x.png"],
        ["restore", "--sigma", "nan", "x.png"],
    ],
)
def test_more_usage_errors_exit_2(tmp_path, args):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Usage:" in result.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------
# What --help and `models` say
# ---------------------------------------------------------------------------------------


def _helps() -> dict[str, str]:
    helps = {"aecodec": run("--help").stdout}
    for name in main.commands:
        helps[name] = run(name, "--help").stdout
    return helps


def test_help_states_no_measurements_and_no_markup():
    for name, text in _helps().items():
        flat = " ".join(text.split())
        assert not re.search(r"\d\s*(%|×)", flat), (name, flat)  # percentages and speed factors belong to the manifest and README
        assert "``" not in text, name


def test_restore_and_colorize_help_name_their_default_outputs_and_folders():
    helps = _helps()
    colorize, restore = (" ".join(helps[name].split()) for name in ("colorize", "restore"))
    assert "SOURCE with .colorized.png" in colorize and "<task>" not in colorize and "folder SOURCE" in colorize
    assert "SOURCE with .restored.png" in restore and "<task>" not in restore


def test_models_says_which_installed_codec_each_head_runs_on():
    from aecodec.assembly import verified_backbone
    from aecodec.weights_format import read_meta

    result = run("models")
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    for entry in zoo.heads():
        codec = verified_backbone(read_meta(zoo.load_arrays(entry.model_id)))[0]
        assert f"{entry.task} head ({assembly.HEAD_COMMANDS[entry.task]}) on {codec}'s g_a" in lines[entry.model_id]
