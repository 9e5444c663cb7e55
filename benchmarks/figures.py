"""README figures: a crop comparison at equal file size and a bit-allocation map.

Usage::

    python benchmarks/figures.py [IMAGE] [--bpp 0.3] [--crop X Y SIZE] [--out benchmarks/results]

``IMAGE`` defaults to the bundled public-domain sample (aecodec/samples/astronaut.png), so the
figures can be published. Writes to ``--out``:

* ``crops-equal-size.png``: the same crop of the original and of aecodec, JPEG, WebP and AVIF,
  each file as close to the same size as the codec allows without exceeding it (pixels
  only: the ICC profile, which aecodec would carry, is left out for every codec). aecodec is
  compressed with ``--bpp`` as its target; every other codec gets its highest quality whose
  file is not larger than aecodec's. Each tile is labelled with codec, bytes and PSNR-RGB of
  the whole image. Crops are enlarged 2× (nearest neighbour) so the artefacts are visible.
* ``bitmap.png``: aecodec's bit-allocation map of the image at the same file, as
  ``aecodec inspect FILE --map`` draws it.
* ``figures.json``: the numbers in the labels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rd_codecs import AvifCodec, Codec, JpegCodec, WebPCodec

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = REPO / "aecodec" / "samples" / "astronaut.png"
ZOOM = 2
LABEL_HEIGHT = 30


def highest_quality_within(codec: Codec, image: Image.Image, budget: int) -> tuple[int, bytes]:
    """The codec's highest integer quality (1–100) whose file fits ``budget`` bytes (bisection)."""
    low, high = 1, 100
    best = (1, codec.encode(image, 1))
    while low <= high:
        middle = (low + high) // 2
        data = codec.encode(image, middle)
        if len(data) <= budget:
            best, low = (middle, data), middle + 1
        else:
            high = middle - 1
    return best


def labelled_tile(rgb: np.ndarray, box: tuple[int, int, int], label: str) -> Image.Image:
    """The crop ``box`` = (x, y, size) of ``rgb``, enlarged, with ``label`` underneath."""
    x, y, size = box
    crop = Image.fromarray(rgb[y : y + size, x : x + size]).resize((size * ZOOM, size * ZOOM), Image.NEAREST)
    tile = Image.new("RGB", (crop.width, crop.height + LABEL_HEIGHT), "white")
    tile.paste(crop, (0, 0))
    ImageDraw.Draw(tile).multiline_text((4, crop.height + 2), label, fill="black", font=ImageFont.load_default(), spacing=2)
    return tile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--bpp", type=float, default=0.3, help="aecodec's target bits per pixel (the common file size).")
    parser.add_argument("--crop", type=int, nargs=3, default=(176, 96, 160), metavar=("X", "Y", "SIZE"), help="Crop shown from each decode.")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    import aecodec
    from aecodec import pipeline
    from aecodec.heatmap import overlay
    from aecodec.metrics import psnr

    with Image.open(args.image) as opened:
        original = np.asarray(opened.convert("RGB"))
    image = Image.fromarray(original)  # pixels only: no codec carries the ICC profile here
    x, y, size = args.crop
    if x + size > image.width or y + size > image.height:
        parser.error(f"crop {args.crop} does not fit the {image.width}×{image.height} image")
    aec = aecodec.compress(image, bpp=args.bpp)
    decoded = {"aecodec": (len(aec), np.asarray(aecodec.decompress(aec).convert("RGB")), pipeline.info(aec)["quality"])}
    for codec in (JpegCodec(), WebPCodec(), AvifCodec()):
        quality, data = highest_quality_within(codec, image, len(aec))
        decoded[codec.name] = (len(data), np.asarray(codec.decode(data)), quality)

    tiles = [labelled_tile(original, args.crop, f"original\n{image.width}x{image.height}")]
    numbers = {}
    for name, (size_bytes, pixels, quality) in decoded.items():
        bpp = 8 * size_bytes / (image.width * image.height)
        quality_db = psnr(original, pixels)
        numbers[name] = {"bytes": size_bytes, "bpp": bpp, "psnr_rgb": quality_db, "quality": quality}
        tiles.append(labelled_tile(pixels, args.crop, f"{name} q{quality:g}\n{size_bytes:,} B, {quality_db:.2f} dB"))
    strip = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), tiles[0].height), "white")
    left = 0
    for tile in tiles:
        strip.paste(tile, (left, 0))
        left += tile.width + 4

    args.out.mkdir(parents=True, exist_ok=True)
    strip.save(args.out / "crops-equal-size.png", optimize=True)
    bit_map = pipeline.bit_map(aec)
    overlay(bit_map.rgb, bit_map.bits, "bits/pixel").save(args.out / "bitmap.png", optimize=True)
    (args.out / "figures.json").write_text(json.dumps({"image": args.image.name, "target_bpp": args.bpp, "codecs": numbers}, indent=2) + "\n")
    for name, row in numbers.items():
        print(f"{name:<8} q{row['quality']:<6g} {row['bytes']:>7,} B  {row['bpp']:.3f} bpp  {row['psnr_rgb']:.2f} dB")


if __name__ == "__main__":
    main()
