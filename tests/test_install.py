"""The base install (`pip install aecodec`) works without torch, on onnxruntime alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(*command: str | Path, cwd: Path, expect_ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=1200)
    if expect_ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_base_install_round_trips_without_torch(tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_dir = venv / "bin"
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", REPO, cwd=tmp_path)
    assert _run(bin_dir / "python", "-c", "import torch", cwd=tmp_path, expect_ok=False).returncode != 0
    sample = REPO / "aecodec" / "samples" / "astronaut.png"
    compressed = _run(bin_dir / "aecodec", "compress", sample, "-o", "a.aec", "--psnr", "30", cwd=tmp_path)
    assert "target psnr 30.00 dB: reached" in compressed.stdout
    decoded = _run(bin_dir / "aecodec", "decompress", "a.aec", "-o", "a.png", "--reference", sample, cwd=tmp_path)
    psnr = float(decoded.stdout.split("PSNR-RGB ")[1].split(" dB")[0])
    assert psnr >= 30.0
    inspected = _run(bin_dir / "aecodec", "inspect", "a.aec", "--map", "bits.png", "--backend", "onnx", cwd=tmp_path)
    assert (tmp_path / "bits.png").is_file(), inspected.stdout
    refused = _run(bin_dir / "aecodec", "decompress", "a.aec", "-o", "b.png", "--backend", "torch", cwd=tmp_path, expect_ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("Error:") and "torch" in refused.stderr
    not_refined = _run(bin_dir / "aecodec", "compress", sample, "-o", "r.aec", "--refine", "5", cwd=tmp_path, expect_ok=False)
    assert not_refined.returncode == 1 and not_refined.stderr.startswith("Error: refinement needs torch"), not_refined.stderr
    assert not (tmp_path / "r.aec").exists()
    untrained = _run(bin_dir / "aecodec", "train", "--config", REPO / "weights" / "hyperprior-v7.toml", "--run-dir", "run", cwd=tmp_path, expect_ok=False)
    assert untrained.returncode == 1 and untrained.stderr.startswith("Error: aecodec train needs torch"), untrained.stderr
    assert not (tmp_path / "run").exists()
    restored = _run(bin_dir / "aecodec", "restore", "a.png", "-o", "restored.png", "--sigma", "5", cwd=tmp_path)
    assert "denoise, σ 5.0" in restored.stdout and "onnx" in restored.stdout
    colorized = _run(bin_dir / "aecodec", "colorize", "a.png", "-o", "colour.png", cwd=tmp_path)
    assert "colorize" in colorized.stdout and (tmp_path / "colour.png").is_file()
