"""The browser page (export/web/index.html) in a real headless Chromium, used as a person would.

The page is served by export/web/serve.py and driven through its file input by
export/web/drive.mjs (puppeteer-core, pointed at Debian's chromium-headless-shell or
chromium; nothing is downloaded). One browser session covers the cases, in order: the
golden .aec decodes to Python's pixels (±1); a damaged and a truncated file show Python's
error class and message; a photo encodes to an .aec that Python decodes to the page's own
pixels (±1) at the size Python's encoder makes; the JPEG and WebP panels report their size
and PSNR. The screenshot is kept beside the test's files.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests_support import loaded_script
from web_support import WEB_DIR, node_executable, npm_installed

import aecodec
from aecodec.errors import AecodecError

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "expected" / "sample-crop-q50-hyperprior-v7.aec"
DRIVER = WEB_DIR / "drive.mjs"
PHOTO_QUALITY = 60


def browser_executable() -> str:
    """Debian's headless Chromium; fails (never skips) where it is missing, with the install command."""
    with loaded_script(WEB_DIR / "serve.py", "aecodec_web_serve") as serve:
        found = serve.browser_executable()
    assert found, "headless Chromium is needed for the page's test: apt-get install chromium-headless-shell"
    return found


@pytest.fixture(scope="module")
def page_url():
    """The page, served on 127.0.0.1 from export/web/ with the default model's export."""
    npm_installed(WEB_DIR, "puppeteer-core")
    with loaded_script(WEB_DIR / "serve.py", "aecodec_web_serve") as serve:
        server = serve.PageServer(serve.model_folder(None))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.url
        finally:
            server.shutdown()
            server.server_close()


def python_error(data: bytes) -> str:
    """What the page must show for ``data``: Python's error class and message."""
    with pytest.raises(AecodecError) as caught:
        aecodec.decompress(data)
    return f"{type(caught.value).__name__}: {caught.value}"


def rgb_of(result: dict) -> np.ndarray:
    rgba = np.frombuffer(base64.b64decode(result["rgba"]), dtype=np.uint8)
    return rgba.reshape(result["height"], result["width"], 4)[..., :3]


@pytest.fixture(scope="module")
def page_session(page_url, sample_path, tmp_path_factory):
    """Every case through one browser session: (files given, results, screenshot path)."""
    folder = tmp_path_factory.mktemp("page")
    golden = GOLDEN.read_bytes()
    damaged = bytearray(golden)
    damaged[len(golden) // 2] ^= 0x20
    files = {"golden.aec": golden, "damaged.aec": bytes(damaged), "truncated.aec": golden[: len(golden) * 2 // 3]}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with Image.open(sample_path) as image:
        image.convert("RGB").crop((96, 64, 320, 224)).save(folder / "photo.png")  # 224×160: two analysis tiles' worth of detail
    steps = [{"file": str(folder / name)} for name in files] + [{"file": str(folder / "photo.png"), "quality": PHOTO_QUALITY}]
    screenshot = folder / "page.png"
    request = {"url": page_url, "browser": browser_executable(), "steps": steps, "screenshot": str(screenshot)}
    run = subprocess.run([node_executable(), str(DRIVER)], input=json.dumps(request), capture_output=True, text=True, timeout=900, cwd=WEB_DIR)
    assert run.returncode == 0, f"the page driver failed:\n{run.stderr[-4000:]}"
    report = json.loads(run.stdout)
    return files, folder, report, screenshot


def test_the_page_decodes_the_golden_file_to_pythons_pixels(page_session):
    files, _, report, _ = page_session
    result = report["results"][0]
    assert result["state"] == "done", result["error"]
    expected = np.asarray(aecodec.decompress(files["golden.aec"]).convert("RGB")).astype(int)
    assert rgb_of(result).shape == expected.shape
    assert np.abs(rgb_of(result).astype(int) - expected).max() <= 1


@pytest.mark.parametrize(("index", "name"), [(1, "damaged.aec"), (2, "truncated.aec")])
def test_a_bad_file_shows_pythons_error(page_session, index, name):
    files, _, report, _ = page_session
    result = report["results"][index]
    assert result["state"] == "error"
    assert result["error"] == python_error(files[name])


def test_a_photo_encodes_to_a_file_python_decodes_to_the_pages_pixels(page_session):
    _, folder, report, _ = page_session
    result = report["results"][3]
    assert result["state"] == "done", result["error"]
    data = base64.b64decode(result["aec"])
    with Image.open(folder / "photo.png") as image:
        photo = image.convert("RGB")
    photo.info.pop("icc_profile", None)  # the page codes pixels only
    python_file = aecodec.compress(photo, quality=PHOTO_QUALITY)
    decoded = np.asarray(aecodec.decompress(data)).astype(int)
    assert decoded.shape == rgb_of(result).shape == (photo.height, photo.width, 3)
    assert np.abs(decoded - rgb_of(result)).max() <= 1
    # The analysis ran in another runtime's float arithmetic, so a rare symbol may round the
    # other way; the file and its pixels are otherwise Python's.
    assert abs(len(data) - len(python_file)) <= 0.01 * len(python_file)
    assert np.abs(decoded - np.asarray(aecodec.decompress(python_file)).astype(int)).mean() < 0.05
    assert aecodec.info(data)["quality"] == aecodec.info(python_file)["quality"] == PHOTO_QUALITY


def test_the_browser_codecs_are_shown_at_the_same_size_with_their_psnr(page_session):
    _, _, report, screenshot = page_session
    result = report["results"][3]
    aec_bytes = len(base64.b64decode(result["aec"]))
    for codec in ("jpeg", "webp"):
        stats = result["stats"][codec]
        size = int(stats.split(" bytes")[0].replace(",", ""))
        assert 0 < size <= aec_bytes and "dB PSNR" in stats
    assert screenshot.stat().st_size > 10_000 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
