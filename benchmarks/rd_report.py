"""Averaging and reporting for the rate–distortion benchmark (``benchmarks/rd.py``).

Turns per-image :class:`Measurement` records into averaged :class:`Point` curves, summarises
them as Bjøntegaard delta rates and PSNR at fixed rates, and writes the Markdown table, the
CSV, the JSON (CompressAI's results layout) and the plot.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aecodec.metrics import bd_rate
from aecodec.processor import cpu_kind

if TYPE_CHECKING:
    from rd_codecs import Codec

TARGET_BPPS = (0.25, 0.5, 1.0)
# Every codec is compared with JPEG; aecodec's encoders also with every other classical codec.
ANCHOR = "jpeg"
PLOT_MAX_BPP = 2.5


def is_aecodec(name: str) -> bool:
    """Whether a codec name is one of this repository's encoders ("aecodec", "aecodec-refined")."""
    return name == "aecodec" or name.startswith("aecodec-")


# --------------------------------------------------------------------------------------
# Averaging
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
        """MS-SSIM on the dB scale of :func:`ms_ssim_to_db`."""
        return ms_ssim_to_db(self.ms_ssim)


def ms_ssim_to_db(value: float) -> float:
    """``−10·log10(1 − MS-SSIM)``: spreads out the crowded top of the [0, 1] scale."""
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)


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


def extra_anchors(codec_names: Sequence[str]) -> list[str]:
    """The classical codecs other than JPEG in a run (WebP, AVIF, JPEG XL, …), in run order."""
    return [name for name in codec_names if name != ANCHOR and not is_aecodec(name)]


def bd_pairs(codec_names: Sequence[str]) -> list[tuple[str, str]]:
    """(anchor, tested) pairs: every codec against JPEG, and aecodec's encoders against every
    other classical codec of the run (:func:`extra_anchors`)."""
    pairs = [(ANCHOR, name) for name in codec_names if name != ANCHOR and ANCHOR in codec_names]
    for name in filter(is_aecodec, codec_names):
        pairs += [(anchor, name) for anchor in extra_anchors(codec_names)]
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
    """``value`` formatted with ``spec``, or a dash where it is NaN or infinite."""
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
        f"- BD-rate of {name} vs {anchor}: PSNR {_fmt(bd['psnr-rgb'][anchor][name], '+.2f')} %, "
        f"MS-SSIM {_fmt(bd['ms-ssim-rgb'][anchor][name], '+.2f')} %"
        for name in filter(is_aecodec, by_codec)
        for anchor in extra_anchors(list(by_codec))
        if name in bd["psnr-rgb"].get(anchor, {})
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
        "cpu": cpu_kind(),  # the times are this CPU's
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
    """Write ``document`` (from :func:`results_document`) as indented UTF-8 JSON."""
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
        style = {"marker": "o", "markersize": 3.5, "linewidth": 2.2 if is_aecodec(codec) else 1.4, "label": codec}
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
