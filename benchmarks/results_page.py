"""Rebuild ``benchmarks/RESULTS.md`` from the measurements in ``benchmarks/results/*.json``.

Usage::

    python benchmarks/results_page.py          # rewrite benchmarks/RESULTS.md
    python benchmarks/results_page.py --check  # exit 1, with one line, when the page is stale

The page is generated so that no figure is typed by hand: each section of ``SECTIONS`` names
its result files, the command that wrote them and the tables drawn from them. Result files no
section reads are listed at the end, so a new measurement is never silently left out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PAGE = HERE / "RESULTS.md"

Row = list[str]
Table = tuple[Row, list[Row]]  # header, rows


@dataclass(frozen=True)
class Section:
    """One heading of the page: the files it reads, how they were made, what it shows."""

    title: str
    pattern: str  # glob under benchmarks/results
    command: Callable[[list[dict]], str]
    tables: Callable[[list[dict]], list[Table]]
    picture: str | None = None  # a file under benchmarks/results
    note: str = ""


def number(value: float | None, digits: int = 2) -> str:
    """``value`` to ``digits`` decimals with a typographic minus; an en dash for a missing value."""
    return "–" if value is None else f"{value:.{digits}f}".replace("-", "−")


def signed_percent(value: float) -> str:
    """A percentage with its sign, to one decimal (BD-rates are read by their sign)."""
    return f"{value:+.1f} %".replace("-", "−")


def anchor_or_percent(value: float | None) -> str:
    """A BD-rate, or "anchor" for the codec the rates are measured against (which has none)."""
    return "anchor" if value is None else signed_percent(value)


def milliseconds(seconds: float) -> str:
    """Seconds as whole milliseconds, or to a tenth below 100 ms."""
    return number(1000 * seconds, 0 if seconds >= 0.1 else 1)


def rd_tables(documents: list[dict]) -> list[Table]:
    """A ``benchmarks/rd.py`` file: every codec against JPEG, aecodec against the others, aecodec's curve."""
    (doc,) = documents
    bd = doc["bd_rate"]
    overview = (
        ["codec", "setup", "BD-rate vs JPEG (PSNR-RGB)", "BD-rate vs JPEG (MS-SSIM)", "PSNR @ 0.25 / 0.5 / 1 bpp (dB)", "encode / decode (ms, median)"],
        [
            [
                codec["name"],
                codec["description"].rsplit(";", 1)[0],  # the last part names the data set
                *(anchor_or_percent(bd[metric]["jpeg"].get(codec["name"])) for metric in ("psnr-rgb", "ms-ssim-rgb")),
                " / ".join(number(psnr) for psnr in doc["psnr_at_bpp"][codec["name"]].values()),
                " / ".join(milliseconds(statistics.median(codec["results"][key])) for key in ("encoding_time", "decoding_time")),
            ]
            for codec in doc["codecs"]
        ],
    )
    anchors = (
        ["codec", "against", "BD-rate (PSNR-RGB)", "BD-rate (MS-SSIM)"],
        [
            [name, anchor, signed_percent(value), signed_percent(bd["ms-ssim-rgb"][anchor][name])]
            for anchor, codecs in bd["psnr-rgb"].items()
            if anchor != "jpeg"
            for name, value in codecs.items()
        ],
    )
    curves = (
        ["codec", "quality", "bpp", "PSNR-RGB (dB)", "MS-SSIM"],
        [
            [codec["name"], str(quality), number(bpp, 3), number(psnr), number(ssim, 4)]
            for codec in doc["codecs"]
            if codec["name"].startswith("aecodec")
            for quality, bpp, psnr, ssim in zip(codec["qualities"], *(codec["results"][key] for key in ("bpp", "psnr-rgb", "ms-ssim-rgb")), strict=True)
        ],
    )
    return [overview, anchors, curves]


def rd_command(documents: list[dict]) -> str:
    """The ``rd.py`` command line that writes this file: its data set and its codecs."""
    (doc,) = documents
    codecs = ",".join(codec["name"] for codec in doc["codecs"])
    return f"python benchmarks/rd.py ../shared/data/{doc['dataset']} --out benchmarks/results --codecs {codecs}"


def campaign_tables(documents: list[dict]) -> list[Table]:
    """Checkpoints of a training campaign, each an ``rd.py`` file named after its checkpoint: one row each."""
    header = ["file", "BD-rate (PSNR-RGB) vs JPEG / WebP / AVIF", "PSNR @ 0.25 / 0.5 / 1 bpp (dB)", "quality 100"]
    rows = []
    for doc in documents:
        (aecodec,) = (codec for codec in doc["codecs"] if codec["name"] == "aecodec")
        bd = doc["bd_rate"]["psnr-rgb"]
        top = aecodec["results"]
        rows.append(
            [
                doc["file"],
                " / ".join(signed_percent(bd[anchor]["aecodec"]) for anchor in ("jpeg", "webp", "avif")),
                " / ".join(number(psnr) for psnr in doc["psnr_at_bpp"]["aecodec"].values()),
                f"{number(top['psnr-rgb'][-1])} dB at {number(top['bpp'][-1], 3)} bpp",
            ]
        )
    return [(header, rows)]


SPEED_COLUMNS = ("encode_ms", "decode_ms", "synthesis_ms", "entropy_ms", "hyper_decoder_ms", "peak_rss_mb")


def speed_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/speed.py``: times and peak memory per configuration, then the settings and machine."""
    (doc,) = documents
    header = ["configuration", "backend", "threads", *(key.removesuffix("_ms").replace("_", " ") + " (ms)" for key in SPEED_COLUMNS[:-1]), "peak RSS (MB)"]
    rows = [[r["config"], r["backend"] or "–", str(r["threads"]), *(number(r[key], 1) for key in SPEED_COLUMNS)] for r in doc["results"]]
    machine = (["setting", "value"], [[key, str(value)] for key, value in {**doc["settings"], **doc["machine"]}.items() if key not in ("configs", "images")])
    return [(header, rows), machine]


def web_speed_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/web_speed.py``: the page's and Python's medians at one size, and their ratio."""
    (doc,) = documents
    python, page = doc["results"]["python"], doc["results"]["page"]
    rows = [
        ["Python aecodec", number(python["decode_ms"], 1), number(python["encode_ms"], 1)],
        [f"page, headless Chromium, WebAssembly, {page['threads']} thread(s)", number(page["decode_ms"], 1), number(page["encode_ms"], 1)],
        ["page / Python", f"{doc['ratios']['decode_ms']:.2f}×", f"{doc['ratios']['encode_ms']:.2f}×"],
    ]
    settings = {**doc["settings"], "cpu": doc["cpu"], "model": doc["model"]}
    return [(["", "decode (ms)", "encode (ms)"], rows), (["setting", "value"], [[key, str(value)] for key, value in settings.items()])]


MEMORY_STEPS = ("compress", "decompress", "reference_decompress", "restore")


def memory_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/memory.py``: time and peak RSS of each command per image size."""
    (doc,) = documents
    header = ["megapixels", "width × height", "bytes", *(f"{step.replace('_', ' ')} (s / MiB)" for step in MEMORY_STEPS)]
    rows = [
        [
            number(r["megapixels"]),
            f"{r['width']} × {r['height']}",
            str(r["bytes"]),
            *(f"{number(r[f'{step}_seconds'], 1)} / {number(r[f'{step}_peak_mib'], 0)}" for step in MEMORY_STEPS),
        ]
        for r in doc["rows"]
    ]
    return [(header, rows)]


def rate_control_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/rate_control.py``: how close each target lands and what the search costs."""
    (doc,) = documents
    header = ["target", "searches", "unreachable", "median error", "worst error", "misses", "time / plain compress (median)"]

    def error(target: str, value: float) -> str:
        return f"{number(value, 3)} dB" if target.startswith("psnr") else f"{number(100 * value, 2)} %"

    rows = [
        [
            target,
            str(s["measured"]),
            str(s["unreachable"]),
            error(target, s["median_error"]),
            error(target, s["worst_error"]),
            str(s["misses"]),
            f"{number(s['median_time_ratio'])}×",
        ]
        for target, s in doc["summary"].items()
    ]
    return [(header, rows)]


def restoration_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/restore.py``: denoising per noise level, deblocking per JPEG quality, colorization."""
    (doc,) = documents

    def grid(groups: dict[str, dict], prefix: str, label: str) -> Table:
        methods = list(next(iter(groups.values())))
        header = ["method", *(f"{label}{key.removeprefix(prefix)} (dB)" for key in groups), "s / photo (median)"]
        rows = []
        for method in methods:
            cells = [groups[key][method] for key in groups]
            seconds = [cell["seconds_median"] for cell in cells if "seconds_median" in cell]
            rows.append(
                [f"{method} ({cells[0]['images']} photos)", *(number(cell["psnr"]) for cell in cells), number(statistics.median(seconds)) if seconds else ""]
            )
        return header, rows

    colorize = doc["colorize"]
    color = (
        ["colorize", "PSNR-RGB (dB)", "colorfulness (Hasler–Süsstrunk)", "s / photo (median)"],
        [
            ["gray input", number(colorize["gray"]["psnr"]), "", ""],
            ["aecodec", number(colorize["aecodec"]["psnr"]), number(colorize["aecodec"]["colourfulness"], 1), number(colorize["aecodec"]["seconds_median"])],
            ["truth", "", number(colorize["truth"]["colourfulness"], 1), ""],
        ],
    )
    return [grid(doc["denoise"], "sigma", "σ = "), grid(doc["jpeg"], "jpeg", "JPEG quality "), color]


def capacity_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/capacity.py``, one row per model: quality 100 against the unquantized autoencoder."""
    header = ["model", "photos", "bpp at quality 100", "PSNR at quality 100 (dB)", "PSNR unquantized (dB)", "gap (dB)"]
    keys = ("mean_bpp_q100", "mean_psnr_q100", "mean_psnr_unquantized", "mean_gap_db")
    return [(header, [[doc["model"], str(doc["images"]), *(number(doc[key], 3) for key in keys)] for doc in documents])]


def latent_prior_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/latent_priors.py``: errors of the predicted PSNR and size curves."""
    header = ["model", "curve", "channels used", "training median / p90", "validation median / p90", "validation curve instead: median / p90"]
    splits = ("training_error", "validation_error", "validation_error_typical_curve")
    rows = [
        [
            doc["model"],
            f"{curve} ({doc['units'][curve]})",
            str(doc[curve]["channels_used"]),
            *(f"{number(doc[curve][s]['median_abs'], 3)} / {number(doc[curve][s]['p90_abs'], 3)}" for s in splits),
        ]
        for doc in documents
        for curve in ("psnr", "bits")
    ]
    return [(header, rows)]


def figure_tables(documents: list[dict]) -> list[Table]:
    """``benchmarks/figures.py``: each codec's file at the equal-size target."""
    (doc,) = documents
    header = ["codec", "quality", "bytes", "bpp", "PSNR-RGB (dB)"]
    return [(header, [[name, str(c["quality"]), str(c["bytes"]), number(c["bpp"], 3), number(c["psnr_rgb"])] for name, c in doc["codecs"].items()])]


def fixed(command: str) -> Callable[[list[dict]], str]:
    """A section's command that does not depend on its files."""
    return lambda _documents: command


RD_NOTE = "The file does not record the aecodec model: it is the default model when it was written."

SECTIONS = (
    Section(
        "Rate–distortion on Kodak",
        "rd-kodak.json",
        rd_command,
        rd_tables,
        "rd-kodak.png",
        RD_NOTE,
    ),
    Section(
        "Rate–distortion on the validation photos",
        "rd-val.json",
        rd_command,
        rd_tables,
        "rd-val.png",
        RD_NOTE,
    ),
    Section(
        "Speed",
        "speed.json",
        fixed("python benchmarks/speed.py --rounds 3"),
        speed_tables,
        note="Times are medians; numbers from different machines are not comparable.",
    ),
    Section(
        "Speed in the browser",
        "web-speed.json",
        fixed("python benchmarks/web_speed.py"),
        web_speed_tables,
        note="Both sides in one run on one machine; medians over every photo and repeat.",
    ),
    Section(
        "Memory of large images", "memory.json", fixed("python benchmarks/memory.py"), memory_tables, note="Peak RSS of one command, model loading included."
    ),
    Section(
        "Rate control",
        "rate-control.json",
        fixed("python benchmarks/rate_control.py"),
        rate_control_tables,
        note="Errors are relative (bpp, size) or in dB (PSNR); a size target must not be exceeded.",
    ),
    Section(
        "Restoration",
        "restore-val.json",
        fixed("python benchmarks/restore.py ../shared/data/val --out benchmarks/results"),
        restoration_tables,
        "restore-val.png",
    ),
    Section(
        "Codec training campaign: checkpoints on the validation photos",
        "rd-val-hyperprior-v8*.json",
        fixed("AECODEC_WEIGHTS_DIR=SCRATCH python benchmarks/rd.py ../shared/data/val --codecs aecodec,jpeg,webp,avif"),
        campaign_tables,
        note="Each checkpoint's EMA weights released into a scratch weights folder as its default model (benchmarks/TRAINING.md, the v8 campaign).",
    ),
    Section(
        "Codec training campaign: checkpoints on Kodak",
        "rd-kodak-hyperprior-v8*.json",
        fixed("AECODEC_WEIGHTS_DIR=SCRATCH python benchmarks/rd.py ../shared/data/kodak --codecs aecodec,jpeg,webp,avif"),
        campaign_tables,
        note="Reported only: checkpoints are chosen on the validation photos, never on Kodak.",
    ),
    Section("Capacity at quality 100", "capacity-*.json", fixed("python benchmarks/capacity.py --model ID"), capacity_tables),
    Section("Predicted rate curves", "latent-priors-*.json", fixed("python benchmarks/latent_priors.py --write-manifest"), latent_prior_tables),
    Section("Equal file size crops", "figures.json", fixed("python benchmarks/figures.py"), figure_tables, "crops-equal-size.png"),
)


def markdown_table(table: Table) -> list[str]:
    """A table as Markdown lines, a blank line after it; pipes in cells are escaped."""
    header, rows = table

    def line(cells: Row) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(row) for row in rows), ""]


def render(results: Path = RESULTS) -> str:
    """The whole page, built only from the JSON files in ``results``."""
    lines = ["# Measured results", "", "Generated by `python benchmarks/results_page.py` from `benchmarks/results/*.json`; do not edit by hand.", ""]
    used: set[str] = set()
    for section in SECTIONS:
        paths = sorted(results.glob(section.pattern))
        if not paths:
            continue
        used.update(path.name for path in paths)
        documents = [{"file": path.name, **json.loads(path.read_text())} for path in paths]
        lines += [f"## {section.title}", "", f"`{section.command(documents)}` wrote {', '.join(f'`results/{p.name}`' for p in paths)}.", ""]
        lines += [section.note, ""] if section.note else []
        for note in dict.fromkeys(document["notes"] for document in documents if "notes" in document):  # each distinct note once
            lines += [note, ""]
        for table in section.tables(documents):
            lines += markdown_table(table)
        if section.picture and (results / section.picture).is_file():
            lines += [f"![{section.title}](results/{section.picture})", ""]
    others = sorted(path.name for path in results.glob("*.json") if path.name not in used)
    if others:
        lines += ["## Other result files", "", "Kept for the record, not tabulated: " + ", ".join(f"`results/{name}`" for name in others) + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the page, or with ``--check`` only compare it: 0 when current, 1 (and one line) when stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the page is current")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if not PAGE.is_file() or PAGE.read_text() != page:
            print("benchmarks/RESULTS.md is stale: run python benchmarks/results_page.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
