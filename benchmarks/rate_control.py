"""Rate-control benchmark: how close ``--bpp`` / ``--size`` / ``--psnr`` land, and what it costs.

Usage::

    python benchmarks/rate_control.py [FOLDER] [--images 8] [--repeats 3] [--backend auto] [--out benchmarks/results]

For each photo (``FOLDER`` defaults to ../shared/data/val) it times a plain compress at
quality 75 and a compress for every target, each the median of ``--repeats`` runs in the same
process (the model is loaded and warmed up first), and checks the result:

* bpp targets (0.25, 0.5, 1.0): relative error of the file's bpp (promise: within ±3 %);
* size targets (the bytes of 0.4 and 0.8 bpp for that image): the file must not exceed the
  target; the shortfall is reported (promise: within 3 % below);
* PSNR targets (28 and 32 dB): the decoded PSNR-RGB must reach the target; the excess in dB
  is reported.

Writes ``rate-control.csv`` (one row per image and target) and ``rate-control.json`` (the
summary per target: median and worst error, misses, median time ratio to plain compress).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = REPO.parent / "shared" / "data" / "val"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}


def targets_for(pixels: int) -> list[tuple[str, float]]:
    """The (kind, value) targets tried on an image of ``pixels`` pixels."""
    sizes = [("size", round(bpp * pixels / 8)) for bpp in (0.4, 0.8)]
    return [("bpp", 0.25), ("bpp", 0.5), ("bpp", 1.0), *sizes, ("psnr", 28.0), ("psnr", 32.0)]


def median_seconds(function, repeats: int) -> tuple[float, object]:
    """Median wall time of ``function()`` over ``repeats`` calls, and its last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def error_of(kind: str, goal: float, data: bytes, image: np.ndarray, decode) -> tuple[float, bool]:
    """(error, met): relative bpp error, size shortfall, or PSNR excess, and whether the promise holds."""
    from aecodec.metrics import psnr

    height, width = image.shape[:2]
    if kind == "bpp":
        error = 8 * len(data) / (height * width) / goal - 1
        return error, abs(error) <= 0.03
    if kind == "size":
        shortfall = 1 - len(data) / goal
        return shortfall, 0 <= shortfall <= 0.03
    excess = psnr(image, np.asarray(decode(data).convert("RGB"))) - goal
    return excess, excess >= 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--images", type=int, default=8, help="How many photos (sorted by name) to use.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    import aecodec
    from aecodec.errors import InputError

    paths = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[: args.images]
    if not paths:
        parser.error(f"no images in {args.folder}")
    rows = []
    for path in paths:
        with Image.open(path) as opened:
            image = np.asarray(opened.convert("RGB"))
        aecodec.compress(image, quality=75, backend=args.backend)  # load and warm up
        plain, _ = median_seconds(lambda image=image: aecodec.compress(image, quality=75, backend=args.backend), args.repeats)
        for kind, goal in targets_for(image.shape[0] * image.shape[1]):
            try:
                seconds, data = median_seconds(
                    lambda image=image, kind=kind, goal=goal: aecodec.compress(image, backend=args.backend, **{kind: goal}), args.repeats
                )
            except InputError as exc:  # e.g. 0.25 bpp below what quality 1 gives this image
                rows.append({"image": path.name, "kind": kind, "target": goal, "reachable": False, "note": str(exc)})
                continue
            error, met = error_of(kind, goal, data, image, lambda d: aecodec.decompress(d, backend=args.backend))
            rows.append(
                {
                    "image": path.name, "kind": kind, "target": goal, "reachable": True, "quality": aecodec.info(data)["quality"],
                    "bytes": len(data), "error": error, "met": met, "seconds": seconds, "plain_seconds": plain, "time_ratio": seconds / plain,
                }
            )
    summary = summarise(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    fields = ["image", "kind", "target", "reachable", "quality", "bytes", "error", "met", "seconds", "plain_seconds", "time_ratio", "note"]
    with open(args.out / "rate-control.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    (args.out / "rate-control.json").write_text(json.dumps({"backend": args.backend, "images": len(paths), "summary": summary}, indent=2) + "\n")
    print(f"{'target':<12} {'n':>3} {'unreach.':>8} {'median err':>10} {'worst err':>10} {'misses':>6} {'time ×plain':>11}")
    for label, row in summary.items():
        print(
            f"{label:<12} {row['measured']:>3} {row['unreachable']:>8} {row['median_error']:>10.4f} {row['worst_error']:>10.4f} "
            f"{row['misses']:>6} {row['median_time_ratio']:>11.2f}"
        )


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per target kind and value: error statistics, promise misses and the median time ratio.

    Size targets differ per image, so they are grouped by kind only.
    """
    groups: dict[str, list[dict]] = {}
    for row in rows:
        label = "size" if row["kind"] == "size" else f"{row['kind']} {row['target']:g}"
        groups.setdefault(label, []).append(row)
    summary = {}
    for label, members in groups.items():
        measured = [r for r in members if r["reachable"]]
        errors = [r["error"] for r in measured] or [float("nan")]
        summary[label] = {
            "measured": len(measured),
            "unreachable": len(members) - len(measured),
            "median_error": statistics.median(errors),
            "worst_error": max(errors, key=abs),
            "misses": sum(not r["met"] for r in measured),
            "median_time_ratio": statistics.median([r["time_ratio"] for r in measured]) if measured else float("nan"),
        }
    return summary


if __name__ == "__main__":
    main()
