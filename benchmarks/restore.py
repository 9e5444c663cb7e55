"""Restoration benchmark: denoising, JPEG-artefact removal and colorization on a photo folder.

Usage::

    python benchmarks/restore.py ../shared/data/val [--out benchmarks/results] [--cbm3d-every 3]

All methods run in the same process, one after another, on the same inputs:

* **Denoising** at σ = 15, 25, 50 (standard protocol: per-image seeded N(0, σ²) noise added
  to the float image *without clipping*; every output clipped and rounded to 8 bits; RGB
  PSNR, mean over images). Methods: the noisy input; OpenCV ``fastNlMeansDenoisingColored``
  (needs 8-bit input, so it gets the clipped, rounded noisy image; h = hColor = σ,
  7×7 template, 21×21 search); CBM3D (the ``bm3d`` package, given the true σ; it is slow,
  so it runs on every ``--cbm3d-every``-th image, a fixed subset named in the results, and
  aecodec is reported on that subset too); aecodec blind (σ estimated) and aecodec given
  the true σ. Seconds per image are medians.
* **JPEG artefacts** at Pillow quality 10, 20, 30, 40 (4:2:0): PSNR of the JPEG input and
  of aecodec's restoration (blind).
* **Colorization**: RGB PSNR of aecodec and of the gray baseline (the same luminance, no
  colour), and mean Hasler–Süsstrunk colourfulness of the output and of the truth.

Writes ``restore-<folder>.json`` and ``.csv`` to ``--out``, plus ``restore-<folder>.png``, a
side-by-side picture (input / aecodec / reference / truth) of one image per task.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from aecodec import restoration
from aecodec.assembly import load_head
from aecodec.heads import chroma
from aecodec.imageio import to_u8
from aecodec.metrics import colourfulness, psnr
from aecodec.train.degrade import jpeg

PHOTO_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}
PICTURE_CROP = 192


def _noise(index: int, sigma: float, shape: tuple[int, ...]) -> np.ndarray:
    """The seeded noise of image ``index`` at ``sigma``: the same for every method and run."""
    return np.random.default_rng([index, int(round(sigma * 10))]).normal(0.0, sigma, shape)


def _timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def _nlm(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.fastNlMeansDenoisingColored(to_u8(noisy), None, sigma, sigma, 7, 21)


def _cbm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return to_u8(bm3d.bm3d_rgb(noisy / 255.0, sigma / 255.0) * 255.0)


def available_baselines() -> dict[str, bool]:
    """Which optional baselines are installed (``pip install ".[bench]"`` adds both)."""
    return {"nlm": importlib.util.find_spec("cv2") is not None, "cbm3d": importlib.util.find_spec("bm3d") is not None}


class _Table:
    """Per-method lists of PSNRs and seconds for one setting."""

    def __init__(self) -> None:
        self.psnr: dict[str, list[float]] = {}
        self.seconds: dict[str, list[float]] = {}

    def add(self, method: str, value: float, seconds: float | None = None) -> None:
        self.psnr.setdefault(method, []).append(value)
        if seconds is not None:
            self.seconds.setdefault(method, []).append(seconds)

    def summary(self) -> dict:
        return {
            method: {
                "psnr": float(np.mean(values)),
                "images": len(values),
                **({"seconds_median": statistics.median(self.seconds[method])} if method in self.seconds else {}),
            }
            for method, values in self.psnr.items()
        }


def denoising(photos: list[np.ndarray], sigmas: Sequence[float], cbm3d_every: int, backend: str, pictures: dict) -> dict:
    """Denoising results per σ; CBM3D and an aecodec row on CBM3D's subset every ``cbm3d_every`` images."""
    head = load_head("denoise", backend)
    baselines = available_baselines()
    results = {}
    for sigma in sigmas:
        table = _Table()
        for index, clean in enumerate(photos):
            noisy = clean.astype(np.float64) + _noise(index, sigma, clean.shape)
            table.add("noisy", psnr(to_u8(noisy), clean))
            (blind, _), seconds = _timed(restoration.denoise_array, noisy.astype(np.float32), head, None)
            table.add("aecodec", psnr(blind, clean), seconds)
            (informed, _), seconds = _timed(restoration.denoise_array, noisy.astype(np.float32), head, sigma)
            table.add("aecodec_true_sigma", psnr(informed, clean), seconds)
            if baselines["nlm"]:
                output, seconds = _timed(_nlm, noisy, sigma)
                table.add("opencv_nlm", psnr(output, clean), seconds)
            if baselines["cbm3d"] and index % cbm3d_every == 0:
                output, seconds = _timed(_cbm3d, noisy, sigma)
                table.add("cbm3d", psnr(output, clean), seconds)
                table.add("aecodec_on_cbm3d_subset", psnr(blind, clean), table.seconds["aecodec"][-1])
                if index == 0 and sigma == 25:
                    pictures["denoise sigma=25"] = (to_u8(noisy), blind, output, clean, "CBM3D")
            elif index == 0 and sigma == 25:
                pictures["denoise sigma=25"] = (to_u8(noisy), blind, None, clean, "")
        results[f"sigma{sigma:g}"] = table.summary()
    return results


def deblocking(photos: list[np.ndarray], qualities: Sequence[int], backend: str, pictures: dict) -> dict:
    """PSNR of JPEG inputs and of their blind restoration, per JPEG quality."""
    head = load_head("denoise", backend)
    results = {}
    for quality in qualities:
        table = _Table()
        for index, clean in enumerate(photos):
            compressed = jpeg(clean, quality)
            table.add("jpeg", psnr(compressed, clean))
            (restored, _), seconds = _timed(restoration.denoise_array, compressed, head, None)
            table.add("aecodec", psnr(restored, clean), seconds)
            if index == 0 and quality == qualities[0]:
                pictures[f"JPEG q{quality}"] = (compressed, restored, None, clean, "")
        results[f"jpeg{quality}"] = table.summary()
    return results


def colorization(photos: list[np.ndarray], backend: str, pictures: dict) -> dict:
    """PSNR against the gray baseline and colourfulness against the truth."""
    head = load_head("colorize", backend)
    table = _Table()
    colourful: dict[str, list[float]] = {"aecodec": [], "truth": []}
    for index, clean in enumerate(photos):
        luminance = chroma.luminance_u8(clean)
        gray = np.repeat(luminance[..., None], 3, axis=-1)
        table.add("gray", psnr(gray, clean))
        colour, seconds = _timed(restoration.colorize_array, luminance, head)
        table.add("aecodec", psnr(colour, clean), seconds)
        colourful["aecodec"].append(colourfulness(colour))
        colourful["truth"].append(colourfulness(clean))
        if index == 0:
            pictures["colorize"] = (gray, colour, None, clean, "")
    summary = table.summary()
    for method, values in colourful.items():
        summary.setdefault(method, {})["colourfulness"] = float(np.mean(values))
    summary["colourfulness_ratio"] = summary["aecodec"]["colourfulness"] / summary["truth"]["colourfulness"]
    summary["temperature"] = head.temperature
    return summary


def _crop(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    side = min(PICTURE_CROP, height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


def side_by_side(pictures: dict, path: Path) -> None:
    """One row per task: input | aecodec | reference method (if any) | truth, centre crops."""
    label_height, gap = 18, 4
    rows = list(pictures.items())
    side = min(min(_crop(images[0]).shape[:2]) for _, images in rows)
    canvas = Image.new("RGB", (4 * side + 3 * gap, len(rows) * (side + label_height + gap)), "white")
    draw = ImageDraw.Draw(canvas)
    for row, (task, (degraded, ours, reference, truth, reference_name)) in enumerate(rows):
        top = row * (side + label_height + gap)
        cells = [(f"{task}: input", degraded), ("aecodec", ours), (reference_name, reference), ("truth", truth)]
        for column, (label, image) in enumerate(cells):
            left = column * (side + gap)
            draw.text((left + 2, top + 2), label if image is not None else "", fill="black")
            if image is not None:
                canvas.paste(Image.fromarray(_crop(image)[:side, :side]), (left, top + label_height))
    canvas.save(path)


def _csv_rows(document: dict) -> list[dict]:
    rows = []
    for task in ("denoise", "jpeg"):
        for setting, methods in document[task].items():
            for method, numbers in methods.items():
                rows.append({
                    "task": task, "setting": setting, "method": method, "psnr": f"{numbers['psnr']:.3f}", "images": numbers["images"],
                    "seconds_median": f"{numbers.get('seconds_median', float('nan')):.3f}",
                })
    for method in ("gray", "aecodec"):
        numbers = document["colorize"][method]
        rows.append({
            "task": "colorize", "setting": f"colourfulness {numbers['colourfulness']:.1f}" if "colourfulness" in numbers else "", "method": method,
            "psnr": f"{numbers['psnr']:.3f}", "images": numbers["images"], "seconds_median": f"{numbers.get('seconds_median', float('nan')):.3f}",
        })
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="Folder of clean photos.")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="Results folder.")
    parser.add_argument("--sigmas", default="15,25,50", help="Comma-separated noise σ (0–255 scale).")
    parser.add_argument("--jpeg", default="10,20,30,40", help="Comma-separated JPEG qualities.")
    parser.add_argument("--cbm3d-every", type=int, default=3, help="Run CBM3D on every N-th image (it takes tens of seconds per photo).")
    parser.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    if not paths:
        print(f"Error: no photos in {args.folder}", file=sys.stderr)
        return 1
    try:
        sigmas = [float(s) for s in args.sigmas.split(",")]
        qualities = [int(q) for q in args.jpeg.split(",")]
    except ValueError:
        print("Error: --sigmas and --jpeg take comma-separated numbers", file=sys.stderr)
        return 2
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    pictures: dict = {}
    document = {
        "dataset": args.folder.name,
        "images": [p.name for p in paths],
        "baselines_installed": available_baselines(),
        "cbm3d_subset": [p.name for i, p in enumerate(paths) if i % args.cbm3d_every == 0],
        "protocol": (
            "noise: seeded N(0, σ²) per image, added without clipping; outputs clipped and rounded to 8 bits; "
            "RGB PSNR, mean over images; seconds: median per image"
        ),
        "denoise": denoising(photos, sigmas, args.cbm3d_every, args.backend, pictures),
        "jpeg": deblocking(photos, qualities, args.backend, pictures),
        "colorize": colorization(photos, args.backend, pictures),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"restore-{args.folder.name}"
    (args.out / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    rows = _csv_rows(document)
    with open(args.out / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    side_by_side(pictures, args.out / f"{stem}.png")
    for row in rows:
        print(f"{row['task']:>9} {row['setting']:>18} {row['method']:>24} {row['psnr']:>8} dB  {row['seconds_median']:>7} s  ({row['images']} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
