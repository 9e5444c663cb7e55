"""Seconds per training step of the codec for a few widths, precisions and thread counts.

Used to pick the training recipe on a CPU (benchmarks/TRAINING.md): one Adam step of the
variable-rate hyperprior on a batch of random crops, timed after two warm-up steps, median
of the rest. Run it on an otherwise idle machine:

    python benchmarks/train_speed.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.train.losses import rate_distortion

CANDIDATES = [  # (n, m, bf16, channels_last)
    (128, 192, True, True),
    (128, 192, False, False),
    (128, 192, True, False),
    (96, 160, True, True),
    (64, 128, True, True),
]


def seconds_per_step(n: int, m: int, bf16: bool, channels_last: bool, crop: int, batch: int, steps: int) -> float:
    """Median wall-clock seconds of one training step."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = MeanScaleHyperprior(HyperpriorConfig(n, m)).to(memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    x = torch.rand(batch, 3, crop, crop).contiguous(memory_format=memory_format)
    t = torch.rand(batch) * (model.config.knots - 1)
    timings = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x, t)
        loss, _, _ = rate_distortion(out, x, torch.full((batch,), 0.01))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| threads | N | M | precision | layout | s/step |")
    print("|---|---|---|---|---|---|")
    for n, m, bf16, channels_last in CANDIDATES:
        seconds = seconds_per_step(n, m, bf16, channels_last, args.crop, args.batch, args.steps)
        print(f"| {args.threads} | {n} | {m} | {'bf16' if bf16 else 'fp32'} | {'channels_last' if channels_last else 'NCHW'} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
