"""Rate–distortion benchmark of aecodec against JPEG, WebP and AVIF.

Every image of a folder is coded by every codec at a sweep of quality settings, entirely in
memory; rate is the length of the whole encoded file, distortion is PSNR-RGB and MS-SSIM on
the decoded RGB image. Per codec and quality the numbers are averaged over images (times:
medians), then summarised as Bjøntegaard delta rates and PSNR at fixed rates.

Usage::

    python benchmarks/rd.py DIR [--out benchmarks/results] [--qualities 1 10 25 ...]
                                [--limit N] [--codecs aecodec,jpeg,webp,avif]

Writes ``rd-<DIR name>.csv``, ``rd-<DIR name>.json`` (CompressAI results layout) and
``rd-<DIR name>.png`` to ``--out`` and prints a Markdown summary table to stdout (progress
goes to stderr). ``--codecs jpeg,webp,avif`` runs without the aecodec runtime.
"""

from __future__ import annotations

import abc
import argparse
import csv
import io
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Run as a script from a checkout: benchmark *this* tree's aecodec, not an installed one.
_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from aecodec.metrics import bd_rate, bpp, ms_ssim, psnr  # noqa: E402

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".avif"})
DEFAULT_CODECS = ("aecodec", "jpeg", "webp", "avif")
TARGET_BPPS = (0.25, 0.5, 1.0)
ANCHOR = "jpeg"
# aecodec is additionally compared with the strongest classical codecs.
AECODEC_EXTRA_ANCHORS = ("webp", "avif")
PLOT_MAX_BPP = 2.5


# --------------------------------------------------------------------------------------
# Codecs
# --------------------------------------------------------------------------------------


class Codec(abc.ABC):
    """One image codec under test: a name, a quality sweep and an in-memory round trip.

    Adding a codec (e.g. JPEG XL) is one subclass decorated with :func:`register`; the sweep
    should span roughly 0.1–3 bpp on natural images so that BD-rates have a wide overlap.
    """

    name: str = ""
    description: str = ""
    qualities: tuple[int, ...] = ()

    def __init__(self, qualities: Sequence[int] | None = None) -> None:
        if qualities is not None:
            self.qualities = tuple(qualities)

    @abc.abstractmethod
    def encode(self, image: Image.Image, quality: int) -> bytes:
        """The complete file the codec would write for ``image`` at ``quality``."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> Image.Image:
        """The RGB image decoded from ``data`` (fully decoded, not lazily)."""


CODECS: dict[str, type[Codec]] = {}


def register(cls: type[Codec]) -> type[Codec]:
    """Make a codec selectable with ``--codecs <cls.name>``."""
    CODECS[cls.name] = cls
    return cls


class PillowCodec(Codec):
    """A codec Pillow can write and read; subclasses give the format and its save options."""

    format: str = ""

    def save_options(self, quality: int) -> dict[str, object]:
        """Keyword arguments for ``Image.save`` at this quality."""
        return {"quality": quality}

    def encode(self, image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=self.format, **self.save_options(quality))
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image.Image:
        with Image.open(io.BytesIO(data)) as decoded:
            return decoded.convert("RGB")  # convert() forces the full decode


@register
class JpegCodec(PillowCodec):
    """Baseline JPEG (libjpeg-turbo) with optimised Huffman tables and 4:2:0 chroma.

    The sweep stops at 90: many test sets (BSDS, and our val set's ``bsds_*`` images) are
    decoded JPEGs saved at about quality 95, and re-encoding them at 95 lands on the same
    quantisers — ~54 dB at 3 bpp, a re-compression artefact that would bend the anchor curve
    and flatter JPEG in every BD-rate. Quality 90 already reaches ~2.5 bpp.
    """

    name = "jpeg"
    description = "JPEG via Pillow/libjpeg-turbo, optimize=True, 4:2:0"
    format = "JPEG"
    qualities = (5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90)

    def save_options(self, quality: int) -> dict[str, object]:
        # 4:2:0 is libjpeg's default; spelled out so the anchor cannot change under us.
        return {"quality": quality, "optimize": True, "subsampling": "4:2:0"}


@register
class WebPCodec(PillowCodec):
    """Lossy WebP (libwebp, VP8) at its slowest, best-compressing method."""

    name = "webp"
    description = "WebP via Pillow/libwebp, lossy, method=6"
    format = "WEBP"
    qualities = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)

    def save_options(self, quality: int) -> dict[str, object]:
        return {"quality": quality, "method": 6}


@register
class AvifCodec(PillowCodec):
    """AVIF (AV1 intra) through Pillow's built-in AvifImagePlugin.

    Pillow 13's plugin reads ``quality`` (0–100, default 75), ``speed`` (0–10, default 6),
    ``subsampling`` (default "4:2:0"), ``max_threads`` (default: all cores), ``codec``,
    ``range``, ``tile_rows``/``tile_cols``/``autotiling`` and ``advanced`` from the save
    keywords. We fix ``max_threads=1`` so timings compare with the single-threaded JPEG and
    WebP encoders (and leave the other cores to whatever else runs). The quality sweep starts
    at 10 because below that libavif's rate barely drops any further.
    """

    name = "avif"
    description = "AVIF via Pillow/libavif, quality=q, speed=6, 4:2:0, max_threads=1"
    format = "AVIF"
    qualities = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95)

    def save_options(self, quality: int) -> dict[str, object]:
        return {"quality": quality, "speed": 6, "subsampling": "4:2:0", "max_threads": 1}


@register
class AecodecCodec(Codec):
    """The learned codec of this repository, through its public ``compress``/``decompress``."""

    name = "aecodec"
    description = "aecodec learned image codec (aecodec.compress / aecodec.decompress)"
    qualities = (1, 10, 25, 45, 65, 85, 100)

    def __init__(self, qualities: Sequence[int] | None = None) -> None:
        super().__init__(qualities)
        try:
            import aecodec
        except ImportError as exc:  # pragma: no cover - depends on the checkout
            raise RuntimeError(f"cannot import aecodec ({exc}); run with --codecs jpeg,webp,avif") from exc
        if not (hasattr(aecodec, "compress") and hasattr(aecodec, "decompress")):
            raise RuntimeError(
                "aecodec has no compress()/decompress() yet; run with --codecs jpeg,webp,avif to skip it"
            )
        self._api = aecodec

    def encode(self, image: Image.Image, quality: int) -> bytes:
        return self._api.compress(image, quality=quality)

    def decode(self, data: bytes) -> Image.Image:
        return self._api.decompress(data).convert("RGB")


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One image coded by one codec at one quality."""

    codec: str
    quality: int
    image: str
    bpp: float
    psnr: float
    ms_ssim: float
    encode_s: float
    decode_s: float


@dataclass(frozen=True)
class Point:
    """One point of a codec's averaged RD curve (one quality setting over all images)."""

    codec: str
    quality: int
    num_images: int
    bpp: float
    psnr: float
    ms_ssim: float
    encode_ms: float
    decode_ms: float

    @property
    def ms_ssim_db(self) -> float:
        return ms_ssim_to_db(self.ms_ssim)


def ms_ssim_to_db(value: float) -> float:
    """``−10·log10(1 − MS-SSIM)``: spreads out the crowded top of the [0, 1] scale."""
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)


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


def average(measurements: Iterable[Measurement]) -> list[Point]:
    """Per codec and quality: mean bpp/PSNR/MS-SSIM over images, median times in ms.

    The mean of per-image PSNR (not PSNR of the mean MSE) is what CompressAI reports.
    """
    groups: dict[tuple[str, int], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.codec, m.quality), []).append(m)
    return [
        Point(
            codec=codec,
            quality=quality,
            num_images=len(group),
            bpp=statistics.fmean(m.bpp for m in group),
            psnr=statistics.fmean(m.psnr for m in group),
            ms_ssim=statistics.fmean(m.ms_ssim for m in group),
            encode_ms=1000.0 * statistics.median(m.encode_s for m in group),
            decode_ms=1000.0 * statistics.median(m.decode_s for m in group),
        )
        for (codec, quality), group in groups.items()
    ]


def curves(points: Iterable[Point]) -> dict[str, list[Point]]:
    """Points grouped by codec (in first-seen order), each curve in quality order."""
    by_codec: dict[str, list[Point]] = {}
    for p in points:
        by_codec.setdefault(p.codec, []).append(p)
    return {codec: sorted(curve, key=lambda p: p.quality) for codec, curve in by_codec.items()}


# --------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------

QUALITY_METRICS: dict[str, Callable[[Point], float]] = {
    # BD-rate on MS-SSIM uses the dB scale, as RD plots of learned codecs do.
    "psnr-rgb": lambda p: p.psnr,
    "ms-ssim-rgb": lambda p: p.ms_ssim_db,
}


def bd_pairs(codec_names: Sequence[str]) -> list[tuple[str, str]]:
    """(anchor, tested) pairs: every codec against JPEG, and aecodec against WebP and AVIF."""
    pairs = [(ANCHOR, name) for name in codec_names if name != ANCHOR and ANCHOR in codec_names]
    if "aecodec" in codec_names:
        pairs += [(anchor, "aecodec") for anchor in AECODEC_EXTRA_ANCHORS if anchor in codec_names]
    return pairs


def curve_bd_rate(anchor: Sequence[Point], tested: Sequence[Point], metric: Callable[[Point], float]) -> float:
    """BD-rate (%) of ``tested`` against ``anchor``; NaN where it is undefined.

    Points with a non-finite quality (a lossless round trip) carry no slope information for the
    interpolation and are left out.
    """

    def usable(curve: Sequence[Point]) -> tuple[list[float], list[float]]:
        kept = [p for p in curve if math.isfinite(metric(p)) and p.bpp > 0]
        return [p.bpp for p in kept], [metric(p) for p in kept]

    try:
        return bd_rate(*usable(anchor), *usable(tested))
    except ValueError:
        return math.nan


def bd_table(by_codec: dict[str, list[Point]]) -> dict[str, dict[str, dict[str, float]]]:
    """``{metric: {anchor: {tested: BD-rate %}}}`` for all :func:`bd_pairs`."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for metric_name, metric in QUALITY_METRICS.items():
        per_anchor = table.setdefault(metric_name, {})
        for anchor, tested in bd_pairs(list(by_codec)):
            per_anchor.setdefault(anchor, {})[tested] = curve_bd_rate(by_codec[anchor], by_codec[tested], metric)
    return table


def psnr_at_bpp(curve: Sequence[Point], target: float) -> float:
    """PSNR of the averaged curve at ``target`` bpp, linear in log-rate; NaN outside the sweep."""
    ordered = sorted(curve, key=lambda p: p.bpp)
    log_rates = np.log([p.bpp for p in ordered])
    values = np.array([p.psnr for p in ordered])
    return float(np.interp(math.log(target), log_rates, values, left=math.nan, right=math.nan))


def median_times_ms(measurements: Sequence[Measurement], codec: str) -> tuple[float, float]:
    """Median encode and decode time over all images and qualities of one codec."""
    mine = [m for m in measurements if m.codec == codec]
    return (
        1000.0 * statistics.median(m.encode_s for m in mine),
        1000.0 * statistics.median(m.decode_s for m in mine),
    )


def _fmt(value: float, spec: str) -> str:
    return "–" if not math.isfinite(value) else format(value, spec)


def markdown_table(
    by_codec: dict[str, list[Point]], bd: dict[str, dict[str, dict[str, float]]], measurements: Sequence[Measurement]
) -> str:
    """The summary table printed at the end of a run (plus aecodec's other BD-rates)."""
    header = [
        "codec",
        "BD-rate vs JPEG (PSNR)",
        "BD-rate vs JPEG (MS-SSIM)",
        *(f"PSNR@{t:g} bpp" for t in TARGET_BPPS),
        "encode ms (median)",
        "decode ms (median)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for codec, curve in by_codec.items():
        if codec == ANCHOR:
            bd_psnr_cell = bd_ssim_cell = "0 % (anchor)"
        else:
            bd_psnr_cell = _fmt(bd["psnr-rgb"].get(ANCHOR, {}).get(codec, math.nan), "+.2f") + " %"
            bd_ssim_cell = _fmt(bd["ms-ssim-rgb"].get(ANCHOR, {}).get(codec, math.nan), "+.2f") + " %"
        encode_ms, decode_ms = median_times_ms(measurements, codec)
        cells = [
            codec,
            bd_psnr_cell,
            bd_ssim_cell,
            *(_fmt(psnr_at_bpp(curve, t), ".2f") for t in TARGET_BPPS),
            _fmt(encode_ms, ".1f"),
            _fmt(decode_ms, ".1f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    extra = [
        f"- BD-rate of aecodec vs {anchor}: PSNR {_fmt(bd['psnr-rgb'][anchor]['aecodec'], '+.2f')} %, "
        f"MS-SSIM {_fmt(bd['ms-ssim-rgb'][anchor]['aecodec'], '+.2f')} %"
        for anchor in AECODEC_EXTRA_ANCHORS
        if "aecodec" in bd["psnr-rgb"].get(anchor, {})
    ]
    return "\n".join(lines + ([""] + extra if extra else []))


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------

CSV_FIELDS = ("codec", "quality", "num_images", "bpp", "psnr_rgb", "ms_ssim_rgb", "ms_ssim_rgb_db", "encode_ms", "decode_ms")


def write_csv(path: Path, by_codec: dict[str, list[Point]]) -> None:
    """One row per codec × quality with the averaged numbers."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for curve in by_codec.values():
            for p in curve:
                writer.writerow(
                    [
                        p.codec,
                        p.quality,
                        p.num_images,
                        f"{p.bpp:.6f}",
                        f"{p.psnr:.4f}",
                        f"{p.ms_ssim:.6f}",
                        f"{p.ms_ssim_db:.4f}",
                        f"{p.encode_ms:.3f}",
                        f"{p.decode_ms:.3f}",
                    ]
                )


def _json_number(value: float) -> float | None:
    """JSON has no NaN/Infinity; undefined numbers become ``null``."""
    return value if math.isfinite(value) else None


def results_document(
    dataset: str,
    image_names: Sequence[str],
    codecs: Sequence[Codec],
    by_codec: dict[str, list[Point]],
    bd: dict[str, dict[str, dict[str, float]]],
) -> dict[str, object]:
    """The JSON document: one CompressAI-style results entry per codec plus the summaries.

    Each ``codecs`` entry is exactly CompressAI's ``{"name", "description", "results"}`` layout
    (so its plotting tools can read it after splitting), with times in seconds as CompressAI
    stores them (medians over images here) and the quality settings alongside.
    """
    descriptions = {c.name: c.description for c in codecs}
    entries = []
    for codec, curve in by_codec.items():
        entries.append(
            {
                "name": codec,
                "description": f"{descriptions.get(codec, codec)}; {dataset}, {len(image_names)} images",
                "qualities": [p.quality for p in curve],
                "results": {
                    "bpp": [p.bpp for p in curve],
                    "psnr-rgb": [_json_number(p.psnr) for p in curve],
                    "ms-ssim-rgb": [p.ms_ssim for p in curve],
                    "encoding_time": [p.encode_ms / 1000.0 for p in curve],
                    "decoding_time": [p.decode_ms / 1000.0 for p in curve],
                },
            }
        )
    return {
        "dataset": dataset,
        "images": list(image_names),
        "codecs": entries,
        "bd_rate": {
            metric: {anchor: {tested: _json_number(v) for tested, v in row.items()} for anchor, row in per_anchor.items()}
            for metric, per_anchor in bd.items()
        },
        "psnr_at_bpp": {
            codec: {f"{t:g}": _json_number(psnr_at_bpp(curve, t)) for t in TARGET_BPPS} for codec, curve in by_codec.items()
        },
        "notes": (
            "bd_rate[metric][anchor][codec]: Bjøntegaard delta rate in percent of codec vs anchor "
            "(negative = fewer bits at equal quality), PCHIP on log-rate; ms-ssim-rgb uses "
            "-10*log10(1-MS-SSIM). Rates are bpp of the whole encoded file; times are medians in seconds. "
            "psnr_at_bpp: linear interpolation of the averaged curve in log-rate, null outside the sweep."
        ),
    }


def write_json(path: Path, document: dict[str, object]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_plot(path: Path, by_codec: dict[str, list[Point]], title: str) -> None:
    """PSNR-RGB and MS-SSIM (dB) against bpp for all codecs, side by side."""
    import matplotlib  # imported here: only plotting needs it, and it is slow to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_psnr, ax_ssim) = plt.subplots(1, 2, figsize=(13, 5.2))
    for codec, curve in by_codec.items():
        ordered = sorted(curve, key=lambda p: p.bpp)
        rates = [p.bpp for p in ordered]
        style = {"marker": "o", "markersize": 3.5, "linewidth": 2.2 if codec == "aecodec" else 1.4, "label": codec}
        ax_psnr.plot(rates, [p.psnr for p in ordered], **style)
        ax_ssim.plot(rates, [p.ms_ssim_db for p in ordered], **style)
    for ax, ylabel in ((ax_psnr, "PSNR-RGB [dB]"), (ax_ssim, "MS-SSIM-RGB [dB]  (−10·log10(1−MS-SSIM))")):
        ax.set_xlim(0.0, PLOT_MAX_BPP)
        ax.set_xlabel("bits per pixel (whole file)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def parse_codecs(text: str) -> list[str]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CODECS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown codec(s) {unknown or text!r}; choose from {', '.join(CODECS)}")
    return list(dict.fromkeys(names))


def parse_qualities(values: Sequence[str]) -> list[int]:
    """``--qualities 1 10 25`` or ``--qualities 1,10,25``."""
    qualities = [int(part) for value in values for part in value.split(",") if part.strip()]
    if not qualities or any(not 0 <= q <= 100 for q in qualities):
        raise argparse.ArgumentTypeError("qualities must be integers in 0..100")
    return qualities


def build_parser() -> argparse.ArgumentParser:
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
        default=list(DEFAULT_CODECS),
        help=f"comma-separated codecs to run (default: {','.join(DEFAULT_CODECS)})",
    )
    return parser


def make_codecs(names: Sequence[str], aecodec_qualities: Sequence[int] | None) -> list[Codec]:
    return [CODECS[name](aecodec_qualities if name == "aecodec" else None) for name in names]


def main(argv: Sequence[str] | None = None) -> int:
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
    try:
        codecs = make_codecs(args.codecs, qualities)
    except RuntimeError as exc:
        parser.error(str(exc))

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

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
