"""Lowest rates: extrapolated gains against a rounding dead zone, on the default codec.

Usage::

    python benchmarks/low_rate.py [FOLDER] [--images 12] [--rates 0,-0.5,-1,-1.5] [--deadzones 0,0.05,0.1,0.15,0.2]
                                  [--out benchmarks/results]

Below the first gain knot (rate parameter t < 0) a model can reach lower rates in two ways:
extrapolate the gains further (what ``lowest_rate_parameter`` does), or round the latent with
a dead zone δ, s = sign(r)·floor(|r| + 0.5 − δ) (what
:func:`aecodec.codecs.rounding.low_rate_deadzone` does). For every (t, δ) pair this codes the
photos (``--images`` picked evenly from FOLDER's sorted listing, default ../shared/data/val)
and reports the mean ideal bits per pixel of the symbols (the range coder adds a few bytes
per stream and the container ~120 bytes per file, the same for every pair) and the mean
PSNR-RGB of the decoded images. The pairs that give most PSNR per bit are the ones to ship.

Writes ``low-rate.json`` to ``--out`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from rd import list_images, load_rgb  # noqa: E402

from aecodec import assembly, zoo  # noqa: E402
from aecodec.codecs.quality import QUALITY_MIN  # noqa: E402
from aecodec.imageio import pad_edges, to_u8  # noqa: E402
from aecodec.metrics import psnr  # noqa: E402


def floats(text: str) -> list[float]:
    """"0,-0.5" → [0.0, -0.5]."""
    return [float(value) for value in text.split(",") if value.strip()]


def measure(codec, image: np.ndarray, pairs: list[tuple[float, float]]) -> dict[tuple[float, float], tuple[float, float]]:
    """(bits per pixel, PSNR-RGB) of one (H, W, 3) uint8 image at every (t, δ) pair."""
    height, width = image.shape[:2]
    latent = codec.analyze(np.ascontiguousarray(pad_edges(image, codec.stride).transpose(2, 0, 1)))
    results = {}
    for t, deadzone in pairs:
        at_t = copy.copy(codec)
        at_t.lowest_rate_parameter = t  # quality 1 now selects exactly t
        quantized = at_t.quantize(latent, QUALITY_MIN, deadzone=deadzone)
        bits = sum(part.sum() for part in at_t.symbol_bits(quantized))
        decoded = to_u8(255 * at_t.reconstruct(quantized, QUALITY_MIN)[:, :height, :width].transpose(1, 2, 0))
        results[(t, deadzone)] = (bits / (height * width), psnr(image, decoded))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=_REPO_ROOT.parent / "shared" / "data" / "val")
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--rates", type=floats, default=floats("0,-0.5,-1,-1.5"))
    parser.add_argument("--deadzones", type=floats, default=floats("0,0.05,0.1,0.15,0.2"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    paths = list_images(args.folder)
    paths = [paths[round(i * len(paths) / args.images)] for i in range(min(args.images, len(paths)))]
    codec = assembly.load_codec(zoo.default_model_id(), "torch")
    pairs = [(t, deadzone) for t in args.rates for deadzone in args.deadzones]
    totals = {pair: np.zeros(2) for pair in pairs}
    for number, path in enumerate(paths, 1):
        print(f"[{number}/{len(paths)}] {path.name}", file=sys.stderr)
        for pair, values in measure(codec, np.asarray(load_rgb(path)), pairs).items():
            totals[pair] += values
    rows = [{"t": t, "deadzone": deadzone, "bpp": bpp / len(paths), "psnr": quality / len(paths)} for (t, deadzone), (bpp, quality) in totals.items()]
    args.out.mkdir(parents=True, exist_ok=True)
    document = {"model": zoo.default_model_id(), "folder": str(args.folder), "images": [path.name for path in paths], "rows": rows}
    (args.out / "low-rate.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"| t \\ δ | {' | '.join(f'{d:g}' for d in args.deadzones)} |")
    print(f"|---|{'---|' * len(args.deadzones)}")
    for t in args.rates:
        cells = [f"{row['bpp']:.4f} / {row['psnr']:.2f}" for row in rows if row["t"] == t]
        print(f"| {t:g} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
