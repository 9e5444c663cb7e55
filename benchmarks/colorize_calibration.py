"""Choose the colorize head's prior correction and temperature on a photo folder.

Usage::

    python benchmarks/colorize_calibration.py RUN_DIR/checkpoint.pt ../shared/data/val \\
        [--strengths 0,0.5,0.7,1] [--temperatures 0.3,0.4,0.6,1] [--out benchmarks/results]

For every (strength, temperature) pair it colorizes the photos' luminance with the
checkpoint's EMA head (prior correction as ``release_head --prior-strength`` folds it in)
and reports the mean RGB PSNR, the gray baseline's PSNR and the mean colourfulness relative
to the truth. The issue's bar is ≥ +0.5 dB over gray with ≥ 50 % of the true colourfulness;
the release takes the pair with the best PSNR among those that clear the colourfulness
bar. Writes ``colorize-calibration.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from aecodec import restoration
from aecodec.assembly import LoadedHead
from aecodec.heads import chroma
from aecodec.heads.config import HeadConfig
from aecodec.metrics import colourfulness, psnr
from aecodec.runtime.torch_backend import TorchHead
from aecodec.train.chroma_prior import bias_adjustment, chroma_prior
from aecodec.train.data import list_photos, load_rgb
from aecodec.weights_format import read_meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--strengths", default="0,0.5,0.7,1")
    parser.add_argument("--temperatures", default="0.3,0.4,0.6,1")
    parser.add_argument("--mix", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    state = torch.load(args.checkpoint, weights_only=False, map_location="cpu")
    train_config = state["config"]
    config = HeadConfig(**train_config["head"])
    with np.load(train_config["backbone"]) as archive:
        codec_arrays = {name: archive[name] for name in archive.files}
    head_arrays = {f"float.{name}": tensor.numpy() for name, tensor in state["ema"].items()}
    network = TorchHead(config, read_meta(codec_arrays)["config"], codec_arrays, head_arrays)
    bias = network.model.head.output.bias
    trained_bias = bias.detach().clone()
    prior = chroma_prior(train_config["train_dir"], config.chroma_bins, config.chroma_range)
    photos = [load_rgb(path) for path in list_photos(args.folder)]
    lumas = [chroma.luminance_u8(photo) for photo in photos]
    gray = float(np.mean([psnr(np.repeat(luma[..., None], 3, axis=-1), p) for luma, p in zip(lumas, photos)]))
    truth = float(np.mean([colourfulness(p) for p in photos]))
    rows = []
    print(f"{len(photos)} photos, step {state['step']}: gray baseline {gray:.2f} dB, true colourfulness {truth:.1f}")
    for strength in (float(s) for s in args.strengths.split(",")):
        with torch.no_grad():
            bias.copy_(trained_bias + torch.from_numpy(bias_adjustment(prior, strength, args.mix)))
        for temperature in (float(t) for t in args.temperatures.split(",")):
            head = LoadedHead("calibration", config, temperature, network, "torch")
            colours = [restoration.colorize_array(luma, head) for luma in lumas]
            row = {
                "strength": strength,
                "temperature": temperature,
                "psnr": float(np.mean([psnr(c, p) for c, p in zip(colours, photos)])),
                "colourfulness_ratio": float(np.mean([colourfulness(c) for c in colours]) / truth),
            }
            rows.append(row)
            print(
                f"strength {strength:.2f} T {temperature:.2f}: {row['psnr']:.2f} dB ({row['psnr'] - gray:+.2f} over gray), "
                f"colourfulness {row['colourfulness_ratio']:.1%} of truth",
                flush=True,
            )
    eligible = [r for r in rows if r["colourfulness_ratio"] >= 0.5]
    best = max(eligible, key=lambda r: r["psnr"]) if eligible else None
    print(f"chosen: {best}" if best else "no pair reaches 50 % colourfulness")
    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "checkpoint_step": state["step"], "folder": str(args.folder), "uniform_mix": args.mix, "gray_psnr": gray, "true_colourfulness": truth,
        "rows": rows, "chosen": best,
    }
    (args.out / "colorize-calibration.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
