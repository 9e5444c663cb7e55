"""Learning curve of a training run: validation PSNR and bpp against CPU-hours.

Training appends one JSON line per validation to ``RUN_DIR/curve.jsonl``::

    {"step": 8000, "cpu_hours": 0.85, "points": [{"t": 0.0, "bpp": 0.25, "psnr": 25.7}, ...]}

(the EMA weights at a few rate parameters ``t``; bpp estimated from the likelihoods on centre
crops of the validation photos). This script tabulates and plots those lines.

Usage::

    python benchmarks/learning_curve.py RUN_DIR [--out benchmarks/results]

Writes ``learning-curve.csv`` (step, cpu_hours, then ``bpp_t<t>`` and ``psnr_t<t>`` for every
rate parameter; empty where a line lacks that ``t``) and ``learning-curve.png`` (PSNR and bpp
against CPU-hours, one line per ``t``) to ``--out``. Reading ``curve.jsonl`` while training is
still appending to it is fine: an unfinished last line is skipped with a warning.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
        writer.writerow(["step", "cpu_hours", *(f"{name}_t{t:g}" for t in ts for name in ("bpp", "psnr"))])
        for record in records:
            cells = [str(record.step), f"{record.cpu_hours:.4f}"]
            for t in ts:
                point = record.at(t)
                if point is None:
                    cells += ["", ""]
                else:
                    cells += [f"{point.bpp:.6f}", f"{point.psnr:.4f}"]
            writer.writerow(cells)


def write_plot(path: Path, records: Sequence[Record], ts: Sequence[float], title: str) -> None:
    """PSNR (left) and estimated bpp (right) against CPU-hours, one line per rate parameter.

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

    fig, (ax_psnr, ax_bpp) = plt.subplots(1, 2, figsize=(13, 5.2))
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
    for ax, ylabel in ((ax_psnr, "PSNR-RGB [dB]"), (ax_bpp, "estimated bits per pixel")):
        ax.set_xlabel("CPU-hours")
        ax.set_ylabel(ylabel)
        ax.set_xlim(left=0.0)
        ax.grid(True, alpha=0.3)
    ax_psnr.legend(loc="lower right")
    ax_bpp.legend(loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    """The command line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help=f"training run folder holding {CURVE_FILE}")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="output folder (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Read the run's learning curve, write the CSV and the plot, report them on stderr.

    Args:
        argv: command-line arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status (0; errors exit through ``parser.error``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    curve_path = args.run_dir / CURVE_FILE
    if not curve_path.is_file():
        parser.error(f"no {CURVE_FILE} in {args.run_dir}")
    try:
        records = read_curve(curve_path)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    if not records:
        parser.error(f"{curve_path} has no records yet")
    ts = rate_parameters(records)

    last = records[-1]
    run_name = args.run_dir.resolve().name
    title = f"{run_name}: EMA validation, step {last.step}, {last.cpu_hours:.2f} CPU-hours"
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
