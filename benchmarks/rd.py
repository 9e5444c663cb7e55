"""Rate–distortion benchmark of aecodec (plain and refined encoder) against JPEG, WebP, AVIF and JPEG XL.

Every image of a folder is coded by every codec at a sweep of quality settings, entirely in
memory; rate is the length of the whole encoded file, distortion is PSNR-RGB and MS-SSIM on
the decoded RGB image. Per codec and quality the numbers are averaged over images (times:
medians), then summarised as Bjøntegaard delta rates and PSNR at fixed rates.

Usage::

    python benchmarks/rd.py DIR [--out benchmarks/results] [--qualities 1 10 25 ...]
                                [--limit N] [--codecs aecodec,aecodec-refined,jpeg,webp,avif,jxl]

Writes ``rd-<DIR name>.csv``, ``rd-<DIR name>.json`` (CompressAI results layout) and
``rd-<DIR name>.png`` to ``--out`` and prints a Markdown summary table to stdout (progress
goes to stderr). ``--codecs jpeg,webp,avif`` runs without the aecodec runtime;
``aecodec-refined`` (encoder-side latent refinement, 40 steps) needs torch and takes a few
seconds per encode of a validation photo. ``jxl`` (JPEG XL, libjxl effort 7) needs
``imagecodecs`` (the ``bench`` extra): where it is missing, a default run leaves it out with a
one-line note on stderr, and naming it in ``--codecs`` is an error.

The codecs live in ``rd_codecs.py`` and the averaging, summaries and writers in
``rd_report.py`` beside this script; running it as a script puts this folder on ``sys.path``,
which is how those sibling modules are found.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

# Run as a script from a checkout: benchmark *this* tree's aecodec, not an installed one.
_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from rd_codecs import CODECS, AecodecCodec, Codec  # noqa: E402
from rd_report import (  # noqa: E402
    Measurement,
    average,
    bd_table,
    curves,
    is_aecodec,
    markdown_table,
    results_document,
    write_csv,
    write_json,
    write_plot,
)

from aecodec.metrics import bpp, ms_ssim, psnr  # noqa: E402

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".avif"})
DEFAULT_CODECS = ("aecodec", "aecodec-refined", "jpeg", "webp", "avif", "jxl")


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """Image files directly in ``folder``, sorted by name, at most ``limit`` of them."""
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return paths[:limit] if limit is not None else paths


def load_rgb(path: Path) -> Image.Image:
    """The image at ``path`` as a fully loaded RGB image (alpha and palettes dropped)."""
    with Image.open(path) as image:
        return image.convert("RGB")


def measure(codec: Codec, image: Image.Image, reference: np.ndarray, quality: int, image_name: str) -> Measurement:
    """Round-trip ``image`` through ``codec`` in memory and score the result."""
    start = time.perf_counter()
    data = codec.encode(image, quality)
    encoded = time.perf_counter()
    decoded = codec.decode(data)
    decode_s = time.perf_counter() - encoded
    if decoded.size != image.size:
        raise RuntimeError(f"{codec.name} q={quality} decoded {image_name} at {decoded.size}, expected {image.size}")
    result = np.asarray(decoded, dtype=np.uint8)
    return Measurement(
        codec=codec.name,
        quality=quality,
        image=image_name,
        bpp=bpp(len(data), image.width, image.height),
        psnr=psnr(reference, result),
        ms_ssim=ms_ssim(reference, result),
        encode_s=encoded - start,
        decode_s=decode_s,
    )


def run(codecs: Sequence[Codec], paths: Sequence[Path], log: Callable[[str], None]) -> list[Measurement]:
    """Every image through every codec at every one of its qualities."""
    measurements = []
    for index, path in enumerate(paths, 1):
        image = load_rgb(path)
        reference = np.asarray(image, dtype=np.uint8)
        for codec in codecs:
            for quality in codec.qualities:
                measurements.append(measure(codec, image, reference, quality, path.name))
        log(f"[{index}/{len(paths)}] {path.name} {image.width}x{image.height}")
    return measurements


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def parse_codecs(text: str) -> list[str]:
    """``--codecs jpeg,webp``: registered codec names, lower-cased, duplicates dropped.

    Raises:
        argparse.ArgumentTypeError: a name is not in :data:`CODECS`, or none is given.
    """
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CODECS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown codec(s) {unknown or text!r}; choose from {', '.join(CODECS)}")
    return list(dict.fromkeys(names))


def runnable_codecs(requested: Sequence[str] | None, log: Callable[[str], None]) -> list[str]:
    """The codecs to run: ``requested`` as given, or (None) :data:`DEFAULT_CODECS` less those
    that cannot run here, each of which is left out with a one-line note through ``log``.

    Raises:
        ValueError: a codec named in ``requested`` cannot run here (the message says why).
    """
    if requested is not None:
        for name in requested:
            if reason := CODECS[name].missing():
                raise ValueError(f"{name} cannot run here: {reason}")
        return list(requested)
    names = []
    for name in DEFAULT_CODECS:
        if reason := CODECS[name].missing():
            log(f"note: {name} left out: {reason}")
        else:
            names.append(name)
    return names


def parse_qualities(values: Sequence[str]) -> list[int]:
    """``--qualities 1 10 25`` or ``--qualities 1,10,25``."""
    qualities = [int(part) for value in values for part in value.split(",") if part.strip()]
    if not qualities or any(not 0 <= q <= 100 for q in qualities):
        raise argparse.ArgumentTypeError("qualities must be integers in 0..100")
    return qualities


def build_parser() -> argparse.ArgumentParser:
    """The command line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of test images (png, jpg, webp, …)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="output folder (default: %(default)s)")
    parser.add_argument(
        "--qualities",
        nargs="+",
        metavar="Q",
        help=f"aecodec quality settings, space- or comma-separated (default: {' '.join(map(str, AecodecCodec.qualities))})",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N images (sorted by name)")
    parser.add_argument(
        "--codecs",
        type=parse_codecs,
        help=f"comma-separated codecs to run (default: {','.join(DEFAULT_CODECS)}; those not installed are left out)",
    )
    return parser


def make_codecs(names: Sequence[str], aecodec_qualities: Sequence[int] | None) -> list[Codec]:
    """Instances of the named codecs; only aecodec's encoders take ``aecodec_qualities`` (None: their default)."""
    return [CODECS[name](aecodec_qualities if is_aecodec(name) else None) for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write its files and print the summary table.

    Args:
        argv: command-line arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status (0; argument errors exit through ``parser.error``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        qualities = parse_qualities(args.qualities) if args.qualities else None
    except (argparse.ArgumentTypeError, ValueError) as exc:
        parser.error(f"--qualities: {exc}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if not args.folder.is_dir():
        parser.error(f"not a folder: {args.folder}")
    paths = list_images(args.folder, args.limit)
    if not paths:
        parser.error(f"no images in {args.folder}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        names = runnable_codecs(args.codecs, log)
    except ValueError as exc:
        parser.error(f"--codecs: {exc}")
    codecs = make_codecs(names, qualities)

    dataset = args.folder.resolve().name
    measurements = run(codecs, paths, log)
    by_codec = curves(average(measurements))
    bd = bd_table(by_codec)

    args.out.mkdir(parents=True, exist_ok=True)
    outputs = [args.out / f"rd-{dataset}.{ext}" for ext in ("csv", "json", "png")]
    write_csv(outputs[0], by_codec)
    write_json(outputs[1], results_document(dataset, [p.name for p in paths], codecs, by_codec, bd))
    write_plot(outputs[2], by_codec, f"{dataset} ({len(paths)} images)")
    for path in outputs:
        log(f"wrote {path}")

    print(f"## Rate–distortion on {dataset} ({len(paths)} images)\n")
    print(markdown_table(by_codec, bd, measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
