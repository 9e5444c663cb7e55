"""The README's commands are the product's front door: run them as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from aecodec.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _command_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_readme_gives_install_and_test_commands_and_ci_runs_the_same_commands():
    blocks = [block.strip() for block in _command_blocks()]
    assert len(blocks) >= 3
    install, developer_install, tests = blocks[:3]
    assert "pip install ." in install and "aecodec compress" in install and "aecodec decompress" in install
    assert "torch" not in install  # the base install runs on onnxruntime
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    ci_text = " ".join(ci_lines).replace(" --quiet", "").replace("python -m pip", "pip")
    assert all(step.strip() in ci_text for step in developer_install.split("&&"))
    assert ci_lines[-1] == tests


def test_readme_main_job_runs_and_reports_size_bpp_and_psnr(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    steps = [step.strip() for step in _command_blocks()[0].split("&&")]
    runner = CliRunner()
    outputs = []
    for step in steps:
        words = shlex.split(step)
        if words[0] != "aecodec":
            continue
        words = [str(REPO / w) if w.startswith("aecodec/samples/") else w for w in words]
        result = runner.invoke(main, words[1:])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    text = "".join(outputs)
    assert re.search(r"[\d,]+ bytes, [\d.]+ bpp", text)
    assert re.search(r"PSNR-RGB [\d.]+ dB", text)


def test_every_image_the_readme_links_exists():
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (REPO / target).is_file(), target
