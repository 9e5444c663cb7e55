"""Learning curve of a training run: validation PSNR and bpp against CPU-hours.

Training appends one JSON line per validation to ``RUN_DIR/curve.jsonl``::

    {"step": 8000, "cpu_hours": 0.85, "points": [{"t": 0.0, "bpp": 0.25, "psnr": 25.7}, ...]}

(the EMA weights at a few rate parameters ``t``; bpp estimated from the likelihoods on centre
crops of the validation photos). This script tabulates and plots those lines.

Usage::

    python benchmarks/learning_curve.py RUN_DIR [RUN_DIR ...] [--out benchmarks/results]

Several run folders form a lineage (each run started from the weights the previous one
released, ``init_from``): their CPU-hours are chained, so the curve shows what the shipped
model cost in total. Writes ``learning-curve.csv`` (run, step, cpu_hours, then ``bpp_t<t>``
and ``psnr_t<t>`` for every rate parameter, empty where a line lacks that ``t``, then
``psnr_at_<r>bpp``: PSNR at the fixed rates r, interpolated) and ``learning-curve.png`` (PSNR
and bpp per ``t``, and PSNR at the fixed rates, against CPU-hours; runs separated by dashed
lines) to ``--out``. The fixed-rate PSNR is the one number per validation that rate–distortion
progress can be read from: a run that saves bits at equal PSNR raises it, and it compares
runs whose rate parameters stand for different λ. Reading ``curve.jsonl`` while training is
still appending to it is fine: an unfinished last line is skipped with a warning.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

FIXED_RATES = (0.25, 0.5, 1.0)  # bpp
CURVE_FILE = "curve.jsonl"
CSV_NAME = "learning-curve.csv"
PLOT_NAME = "learning-curve.png"


@dataclass(frozen=True)
class RatePoint:
    """Validation result of one rate parameter at one step."""

    t: float
    bpp: float
    psnr: float


@dataclass(frozen=True)
class Record:
    """One line of ``curve.jsonl``: a validation of the EMA weights at one training step."""

    step: int
    cpu_hours: float
    points: tuple[RatePoint, ...]
    run: str = ""

    def at(self, t: float) -> RatePoint | None:
        """The point of rate parameter ``t``, or None if this validation did not include it."""
        return next((p for p in self.points if p.t == t), None)


def parse_record(line: str) -> Record:
    """Parse one line of ``curve.jsonl``.

    Args:
        line: a JSON object with ``step``, ``cpu_hours`` and a list of ``points`` (``t``,
            ``bpp``, ``psnr``).

    Returns:
        The record, its points in the order given.

    Raises:
        ValueError: the line is not valid JSON or lacks one of those fields.
    """
    try:
        data = json.loads(line)
        points = tuple(RatePoint(float(p["t"]), float(p["bpp"]), float(p["psnr"])) for p in data["points"])
        return Record(int(data["step"]), float(data["cpu_hours"]), points)
    except (KeyError, TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"not a learning-curve record ({type(exc).__name__}: {exc})") from exc


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def read_curve(path: Path, warn: Callable[[str], None] = _to_stderr) -> list[Record]:
    """All records of a ``curve.jsonl``, ordered by step.

    Blank lines are ignored. A malformed *last* line is taken to be one that training is still
    writing and is skipped with a warning; a malformed line anywhere else is an error. If a
    step occurs more than once (a resumed run that validated it again), the later line wins.

    Args:
        path: the ``curve.jsonl`` file.
        warn: called with a message for a skipped last line.

    Returns:
        The records in increasing step order.

    Raises:
        ValueError: a line other than the last is malformed.
    """
    lines = [(number, text) for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text.strip()]
    by_step: dict[int, Record] = {}
    for index, (number, text) in enumerate(lines):
        try:
            record = parse_record(text)
        except ValueError as exc:
            if index == len(lines) - 1:
                warn(f"{path}:{number}: skipped unfinished last line: {exc}")
                continue
            raise ValueError(f"{path}:{number}: {exc}") from exc
        by_step[record.step] = record
    return [by_step[step] for step in sorted(by_step)]


def chain(runs: Sequence[tuple[str, Sequence[Record]]]) -> list[Record]:
    """One curve from a lineage of runs: each run's CPU-hours start where the previous run's ended.

    Args:
        runs: ``(run name, records)`` in lineage order, each non-empty.

    Returns:
        All records, tagged with their run, CPU-hours counted from the first run's start.
    """
    chained, offset = [], 0.0
    for name, records in runs:
        chained += [replace(record, run=name, cpu_hours=record.cpu_hours + offset) for record in records]
        offset = chained[-1].cpu_hours
    return chained


def psnr_at(record: Record, bpp: float) -> float | None:
    """PSNR at ``bpp``, linear in log(bpp) between the two validated rates around it; None outside them."""
    points = sorted(record.points, key=lambda p: p.bpp)
    for low, high in zip(points, points[1:]):
        if low.bpp <= bpp <= high.bpp and low.bpp < high.bpp:
            fraction = math.log(bpp / low.bpp) / math.log(high.bpp / low.bpp)
            return low.psnr + fraction * (high.psnr - low.psnr)
    return None


def rate_parameters(records: Sequence[Record]) -> list[float]:
    """Every rate parameter ``t`` that occurs in ``records``, ascending."""
    return sorted({p.t for record in records for p in record.points})


def latest(records: Sequence[Record], t: float) -> RatePoint | None:
    """The point of ``t`` in the last record that has one, or None if none has."""
    return next((p for p in (r.at(t) for r in reversed(records)) if p is not None), None)


def write_csv(path: Path, records: Sequence[Record], ts: Sequence[float]) -> None:
    """One row per record: step, CPU-hours, then bpp and PSNR of each rate parameter.

    Args:
        path: the CSV file to write.
        records: the learning curve, in the order the rows should have.
        ts: the rate parameters, one ``bpp_t<t>``/``psnr_t<t>`` column pair each.
    """
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        fixed = [f"psnr_at_{rate:g}bpp" for rate in FIXED_RATES]
        writer.writerow(["run", "step", "cpu_hours", *(f"{name}_t{t:g}" for t in ts for name in ("bpp", "psnr")), *fixed])
        for record in records:
            cells = [record.run, str(record.step), f"{record.cpu_hours:.4f}"]
            for t in ts:
                point = record.at(t)
                if point is None:
                    cells += ["", ""]
                else:
                    cells += [f"{point.bpp:.6f}", f"{point.psnr:.4f}"]
            cells += ["" if (value := psnr_at(record, rate)) is None else f"{value:.4f}" for rate in FIXED_RATES]
            writer.writerow(cells)


def write_plot(path: Path, records: Sequence[Record], ts: Sequence[float], title: str) -> None:
    """PSNR and estimated bpp per rate parameter, and PSNR at :data:`FIXED_RATES`, against CPU-hours.

    Each PSNR line is labelled with the latest bpp of its ``t``, so the legend reads as the
    operating points the run has reached.

    Args:
        path: the PNG file to write.
        records: the learning curve, in step order.
        ts: the rate parameters to draw.
        title: the figure title.
    """
    import matplotlib  # imported here: only plotting needs it, and it is slow to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_psnr, ax_bpp, ax_fixed) = plt.subplots(1, 3, figsize=(18, 5.2))
    for t in ts:
        hours, bpps, psnrs = [], [], []
        for record in records:
            point = record.at(t)
            if point is not None:
                hours.append(record.cpu_hours)
                bpps.append(point.bpp)
                psnrs.append(point.psnr)
        last = latest(records, t)
        style = {"marker": "o", "markersize": 3.5, "linewidth": 1.6}
        (line,) = ax_psnr.plot(hours, psnrs, label=f"t={t:g} (latest {last.bpp:.3f} bpp)", **style)
        ax_bpp.plot(hours, bpps, color=line.get_color(), label=f"t={t:g}", **style)
    for rate in FIXED_RATES:
        kept = [(record.cpu_hours, value) for record in records if (value := psnr_at(record, rate)) is not None]
        ax_fixed.plot([h for h, _ in kept], [v for _, v in kept], marker="o", markersize=3.5, linewidth=1.6, label=f"{rate:g} bpp")
    starts = [record for previous, record in zip([None, *records], records) if previous is not None and previous.run != record.run]
    axes = ((ax_psnr, "PSNR-RGB [dB]"), (ax_bpp, "estimated bits per pixel"), (ax_fixed, "PSNR-RGB at a fixed rate [dB], interpolated"))
    for ax, ylabel in axes:
        for start in starts:
            ax.axvline(start.cpu_hours, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(start.run, (start.cpu_hours, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=8)
        ax.set_xlabel("CPU-hours")
        ax.set_ylabel(ylabel)
        ax.set_xlim(left=0.0)
        ax.grid(True, alpha=0.3)
    ax_psnr.legend(loc="lower right")
    ax_bpp.legend(loc="upper left")
    ax_fixed.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    """The command line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help=f"training run folders holding {CURVE_FILE}, in lineage order")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="output folder (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Read the runs' learning curves, write the CSV and the plot, report them on stderr.

    Args:
        argv: command-line arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status (0; errors exit through ``parser.error``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    runs = []
    for run_dir in args.run_dirs:
        curve_path = run_dir / CURVE_FILE
        if not curve_path.is_file():
            parser.error(f"no {CURVE_FILE} in {run_dir}")
        try:
            run_records = read_curve(curve_path)
        except (OSError, ValueError) as exc:
            parser.error(str(exc))
        if not run_records:
            parser.error(f"{curve_path} has no records yet")
        runs.append((run_dir.resolve().name, run_records))
    records = chain(runs)
    ts = rate_parameters(records)

    last = records[-1]
    run_name = " → ".join(name for name, _ in runs)
    title = f"{run_name}: EMA validation, step {last.step}, {last.cpu_hours:.2f} CPU-hours in all"
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, plot_path = args.out / CSV_NAME, args.out / PLOT_NAME
    write_csv(csv_path, records, ts)
    write_plot(plot_path, records, ts, title)
    for path in (csv_path, plot_path):
        _to_stderr(f"wrote {path}")
    summary = ", ".join(f"t={t:g}: {p.bpp:.3f} bpp {p.psnr:.2f} dB" for t in ts if (p := last.at(t)) is not None)
    print(f"{run_name} step {last.step} ({last.cpu_hours:.2f} CPU-hours): {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
