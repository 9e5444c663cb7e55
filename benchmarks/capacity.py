"""Capacity bound of a codec: how far its top quality is from its transforms' own limit.

Usage::

    python benchmarks/capacity.py [FOLDER] [--model ID] [--backend auto] [--out benchmarks/results]

For each photo (``FOLDER`` defaults to ../shared/data/val) it measures PSNR-RGB of

* quality 100, coded and decoded as usual;
* the *unquantized* autoencoder: g_s(g_a(x)) with quality 100's gain and inverse gain but
  no rounding: what the transforms could give at an unlimited rate.

When the two are close, finer quantization (a larger λ, more bits) cannot lift the top of
the rate–distortion curve: only transforms with more capacity can. Writes
``capacity-<model>.csv`` (per photo) and ``capacity-<model>.json`` (means and the gap).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = REPO.parent / "shared" / "data" / "val"


def unquantized_rgb(codec, rgb: np.ndarray) -> np.ndarray:
    """The image g_s returns for g_a's latent, gained and un-gained at quality 100 without rounding."""
    from aecodec.codecs.quality import QUALITY_MAX
    from aecodec.codecs.rounding import interpolate_gain
    from aecodec.imageio import pad_edges

    height, width = rgb.shape[:2]
    latent = codec.analyze(pad_edges(rgb, codec.stride).transpose(2, 0, 1))
    t = codec.rate_parameter(QUALITY_MAX)
    round_trip = interpolate_gain(codec.log_gain, t) * interpolate_gain(codec.log_inverse_gain, t)
    pixels = codec.transforms.synthesis((latent * round_trip).astype(np.float32))
    return np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8).transpose(1, 2, 0)[:height, :width]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--model", default=None, help="Model id (default: the manifest's default).")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    import aecodec
    from aecodec import assembly, zoo
    from aecodec.metrics import bpp, psnr
    from aecodec.train.data import list_photos, load_rgb

    model_id = args.model or zoo.default_model_id()
    codec = assembly.load_codec(model_id, args.backend)
    paths = list_photos(args.folder)
    if not paths:
        parser.error(f"no images in {args.folder}")
    rows = []
    for path in paths:
        rgb = load_rgb(path)
        data = aecodec.compress(rgb, quality=100, model=model_id, backend=args.backend)
        coded = psnr(rgb, np.asarray(aecodec.decompress(data, backend=args.backend).convert("RGB")))
        rows.append({
            "image": path.name,
            "bpp_q100": bpp(len(data), rgb.shape[1], rgb.shape[0]),
            "psnr_q100": coded,
            "psnr_unquantized": psnr(rgb, unquantized_rgb(codec, rgb)),
        })
        print(f"{path.name}: quality 100 {coded:.2f} dB, unquantized {rows[-1]['psnr_unquantized']:.2f} dB", flush=True)
    summary = {
        "model": model_id,
        "images": len(rows),
        **{f"mean_{key}": statistics.fmean(row[key] for row in rows) for key in ("bpp_q100", "psnr_q100", "psnr_unquantized")},
    }
    summary["mean_gap_db"] = summary["mean_psnr_unquantized"] - summary["mean_psnr_q100"]
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / f"capacity-{model_id}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (args.out / f"capacity-{model_id}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"mean: quality 100 {summary['mean_bpp_q100']:.3f} bpp, {summary['mean_psnr_q100']:.2f} dB; "
          f"unquantized {summary['mean_psnr_unquantized']:.2f} dB (gap {summary['mean_gap_db']:.2f} dB)")


if __name__ == "__main__":
    main()
