"""Peak memory and time of compress, decompress and restore against image size (1 to 50 megapixels).

Usage::

    python benchmarks/memory.py [PHOTO] [--megapixels 1 12 24 50] [--quality 75] [--backend auto]
                                [--refine STEPS] [--out benchmarks/results]

``PHOTO`` (default: the bundled sample) is resized to each size with the 3:2 aspect of a
camera photo (50 MP is 8660×5774) and saved as a JPEG (quality 95), as a camera would
deliver it. Each ``aecodec compress`` and ``aecodec decompress`` then runs in a fresh Python
process, which reports its own peak resident set size (``ru_maxrss``), so the numbers are
those of one command as a user runs it: interpreter, model loading and all; so do
``aecodec decompress --reference`` (the decode, then PSNR and MS-SSIM against the JPEG) and
``aecodec restore`` (the denoise head) on the same JPEG. Wall time is measured around
that process. ``--refine STEPS`` also measures ``aecodec compress --refine STEPS`` (encoder-side
refinement, torch). Writes ``memory.csv`` and ``memory.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PHOTO = REPO / "aecodec" / "samples" / "astronaut.png"
ASPECT = 3 / 2

# Runs one CLI command in this process and prints its peak RSS in KiB (Linux ru_maxrss).
_CHILD = """
import resource, sys
from aecodec.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def size_for(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 3:2 image with about ``megapixels`` million pixels."""
    height = round(math.sqrt(megapixels * 1e6 / ASPECT))
    return round(height * ASPECT), height


def run_measured(arguments: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``aecodec ARGUMENTS`` in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _CHILD, *arguments], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"aecodec {' '.join(arguments)} failed: {result.stdout}{result.stderr}")
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photo", nargs="?", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1, 12, 24, 50])
    parser.add_argument("--quality", type=float, default=75.0)
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS", help="also measure compress --refine STEPS")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    rows = []
    with Image.open(args.photo) as opened:
        photo = opened.convert("RGB")
    with tempfile.TemporaryDirectory() as scratch:
        for megapixels in args.megapixels:
            width, height = size_for(megapixels)
            source = Path(scratch) / f"photo-{width}x{height}.jpg"
            photo.resize((width, height), Image.LANCZOS).save(source, quality=95)
            coded, decoded = source.with_suffix(".aec"), source.with_suffix(".png")
            common = ["--backend", args.backend, "--force", "--quiet"]
            encode_seconds, encode_mib = run_measured(["compress", str(source), "-o", str(coded), "-q", str(args.quality), *common])
            decode_seconds, decode_mib = run_measured(["decompress", str(coded), "-o", str(decoded), *common])
            compared = ["decompress", str(coded), "-o", str(source.with_suffix(".compared.png")), "--reference", str(source)]
            reference_seconds, reference_mib = run_measured([*compared, *common])
            restore_seconds, restore_mib = run_measured(["restore", str(source), "-o", str(source.with_suffix(".restored.png")), "--task", "denoise", *common])
            row = {
                "megapixels": round(width * height / 1e6, 2), "width": width, "height": height, "bytes": coded.stat().st_size,
                "compress_seconds": encode_seconds, "compress_peak_mib": encode_mib,
                "decompress_seconds": decode_seconds, "decompress_peak_mib": decode_mib,
                "reference_decompress_seconds": reference_seconds, "reference_decompress_peak_mib": reference_mib,
                "restore_seconds": restore_seconds, "restore_peak_mib": restore_mib,
            }
            report = (
                f"{row['megapixels']:>6.2f} MP {width}×{height}: compress {encode_seconds:6.1f} s {encode_mib:7.0f} MiB, "
                f"decompress {decode_seconds:6.1f} s {decode_mib:7.0f} MiB, decompress --reference {reference_seconds:6.1f} s {reference_mib:7.0f} MiB, "
                f"restore {restore_seconds:6.1f} s {restore_mib:7.0f} MiB"
            )
            if args.refine:
                refined = source.with_suffix(".refined.aec")
                row["refined_compress_seconds"], row["refined_compress_peak_mib"] = run_measured(
                    ["compress", str(source), "-o", str(refined), "-q", str(args.quality), "--refine", str(args.refine), *common]
                )
                row["refined_bytes"] = refined.stat().st_size
                report += f", compress --refine {args.refine} {row['refined_compress_seconds']:6.1f} s {row['refined_compress_peak_mib']:7.0f} MiB"
            rows.append(row)
            print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "memory.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (args.out / "memory.json").write_text(
        json.dumps({"backend": args.backend, "quality": args.quality, "refine_steps": args.refine, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
