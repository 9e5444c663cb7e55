"""Speed and peak memory of aecodec (torch and onnxruntime, 1 and 2 threads) against JPEG, WebP and AVIF.

Every configuration codes the same photos, each scaled to cover one size (768×512 by
default) and centre-cropped to it: median encode and decode milliseconds per image, peak
resident memory, bits per pixel and PSNR, and speed ratios against a baseline
configuration. aecodec's decode is also profiled: entropy decoding (``decode_symbols``:
range decoding plus the exact integer hyper-decoder, shown separately), the synthesis
transform, and the rest (container parsing, dequantization and gains, conversion to a PIL
image).

Usage::

    python benchmarks/speed.py [DIR] [--images 4] [--repeats 5] [--rounds 3] [--size 768x512] [--quality 75]
                               [--configs aecodec-torch-1t,...,avif] [--baseline aecodec-torch-2t]
                               [--cli] [--out benchmarks/results]

DIR defaults to ``../shared/data/val`` beside the repository; ``--images`` photos are picked
evenly from its sorted listing. Each configuration runs in a fresh Python process, so its
peak RSS (``ru_maxrss``) is its own: runtime, model and buffers. Its thread count caps
torch (``torch.set_num_threads``), onnxruntime (intra-op threads, ``AECODEC_ONNX_THREADS``)
and numpy's BLAS (the integer hyper-decoder) alike; Pillow's codecs run single-threaded
(JPEG quality Q; WebP method 6; AVIF speed 6 with ``max_threads=1``: the settings of
``rd_codecs.py``). Every image is coded once untimed (model loading, session creation,
caches), then ``--repeats`` times timed. The configurations run in turn, ``--rounds`` times
over, and each one's timings are pooled over its rounds, so that a burst of load on the
shared host slows every configuration a little rather than one of them a lot.

``--cli`` also times the whole command, file to file: ``python -m aecodec compress
photo.png -o photo.aec`` and ``python -m aecodec decompress photo.aec -o photo.decoded.png``
(the first photo, default model, ``--quality``, 2 threads), each a fresh process, against
the same two commands run warm in one process (``aecodec.cli.main``); each side runs once
untimed first, and bytecode is compiled as an installed package has it. Per round each
command runs ``--repeats`` times: the median milliseconds of each side, their ratio (what
start-up costs), and the same in CPU time (user + system), which a loaded host inflates
less than wall time.

Writes ``speed.csv`` and ``speed.json`` to ``--out`` and prints Markdown tables (progress
goes to stderr). Running it as a script puts this folder on ``sys.path``, which is how the
sibling modules ``rd`` and ``rd_codecs`` are found.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from PIL import Image

# Run as a script from a checkout: benchmark *this* tree's aecodec, not an installed one.
_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from rd import list_images, load_rgb  # noqa: E402
from rd_codecs import CODECS  # noqa: E402

from aecodec.metrics import bpp, psnr  # noqa: E402
from aecodec.processor import cpu_kind  # noqa: E402
from aecodec.runtime.onnx_backend import THREADS_VARIABLE  # noqa: E402

DEFAULT_FOLDER = _REPO_ROOT.parent / "shared" / "data" / "val"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", THREADS_VARIABLE)
PROFILE_PARTS = ("entropy_ms", "hyper_decoder_ms", "synthesis_ms", "rest_ms")
DECODE_TARGET_MS = 100.0  # whole decode of a 768×512 photo on 2 threads of an AVX-512 CPU (issue 25)
AVIF_RATIO_TARGET = 20.0  # fastest aecodec decode over Pillow's AVIF decode, same run, any CPU (issue 25)
CLI_THREADS = 2  # threads of the whole-command timing (issue 25's setting)
CLI_RATIO_TARGET = 1.5  # whole command over the same command warm in-process


@dataclass(frozen=True)
class Config:
    """One measured configuration.

    Attributes:
        name: Its name in ``--configs``, the tables and the files.
        codec: "aecodec" or a Pillow codec of ``rd_codecs.CODECS``.
        backend: aecodec's backend ("torch" or "onnx"); None for Pillow codecs.
        threads: Threads the process may use.
    """

    name: str
    codec: str
    backend: str | None = None
    threads: int = 1


CONFIGS = {
    config.name: config
    for config in (
        *(Config(f"aecodec-{backend}-{threads}t", "aecodec", backend, threads) for backend in ("torch", "onnx") for threads in (1, 2)),
        *(Config(name, name) for name in ("jpeg", "webp", "avif")),
    )
}
DEFAULT_BASELINE = "aecodec-torch-2t"

# Encode, decode, and the decode profile's clock (None for codecs that are not profiled).
RoundTrip = tuple[Callable[[Image.Image], bytes], Callable[[bytes], Image.Image], "dict[str, float] | None"]


# --------------------------------------------------------------------------------------
# Measuring (in the child process of one configuration)
# --------------------------------------------------------------------------------------


class _Timed:
    """Stands in for a callable, adding the time of each call to ``clock``; attributes pass through."""

    def __init__(self, target: Callable, clock: dict[str, float], part: str) -> None:
        self._target, self._clock, self._part = target, clock, part

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._target(*args, **kwargs)
        finally:
            self._clock[self._part] += time.perf_counter() - start

    def __getattr__(self, name: str):
        return getattr(self._target, name)


def _instrument(codec) -> dict[str, float]:
    """Time ``codec``'s entropy decoding, integer hyper-decoder and synthesis; returns the clock.

    The codec is the cached instance ``aecodec.decompress`` uses, so the parts are timed
    inside the same calls as the whole decode.
    """
    clock = dict.fromkeys(PROFILE_PARTS, 0.0)
    codec.decode_symbols = _Timed(codec.decode_symbols, clock, "entropy_ms")
    codec.hyper = _Timed(codec.hyper, clock, "hyper_decoder_ms")
    codec.transforms.synthesis = _Timed(codec.transforms.synthesis, clock, "synthesis_ms")
    return clock


def _aecodec_round_trip(backend: str, threads: int, quality: int) -> RoundTrip:
    """Encode and decode functions of aecodec on ``backend``, and its profiling clock."""
    import aecodec
    from aecodec import assembly, zoo

    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    clock = _instrument(assembly.load_codec(zoo.default_model_id(), backend))

    def encode(image: Image.Image) -> bytes:
        return aecodec.compress(image, quality=quality, backend=backend)

    def decode(data: bytes) -> Image.Image:
        return aecodec.decompress(data, backend=backend)

    return encode, decode, clock


def _pillow_round_trip(name: str, quality: int) -> RoundTrip:
    codec = CODECS[name]()
    return (lambda image: codec.encode(image, quality)), codec.decode, None


def measure(config: Config, images: np.ndarray, repeats: int, quality: int) -> dict:
    """Time ``repeats`` round trips of every image (after one untimed) and score the last.

    Returns:
        Per-sample milliseconds (``encode_ms``, ``decode_ms`` and, for aecodec, the profile
        parts with ``rest_ms`` = decode − entropy − synthesis), per-image bpp and PSNR, the
        process's peak RSS in MB, and whether torch was imported.
    """
    if config.codec == "aecodec":
        encode, decode, clock = _aecodec_round_trip(config.backend, config.threads, quality)
    else:
        encode, decode, clock = _pillow_round_trip(config.codec, quality)
    samples: dict[str, list[float]] = {key: [] for key in ("encode_ms", "decode_ms", *(PROFILE_PARTS if clock else ()))}
    scores: dict[str, list[float]] = {"bpp": [], "psnr": []}
    for rgb in images:
        image = Image.fromarray(rgb)
        decode(encode(image))
        for _ in range(repeats):
            start = time.perf_counter()
            data = encode(image)
            if clock:
                clock.update(dict.fromkeys(clock, 0.0))  # the encoder runs the hyper-decoder too
            encoded = time.perf_counter()
            decoded = decode(data)
            finished = time.perf_counter()
            samples["encode_ms"].append(1000 * (encoded - start))
            samples["decode_ms"].append(1000 * (finished - encoded))
            if clock:
                _add_profile(samples, clock, finished - encoded)
        scores["bpp"].append(bpp(len(data), image.width, image.height))
        scores["psnr"].append(psnr(rgb, np.asarray(decoded.convert("RGB"))))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {**samples, **scores, "peak_rss_mb": peak_mb, "torch_imported": "torch" in sys.modules}


def _add_profile(samples: dict[str, list[float]], clock: dict[str, float], decode_seconds: float) -> None:
    """Append one decode's profile; the hyper-decoder runs inside entropy decoding."""
    if clock["entropy_ms"] == 0.0 or clock["synthesis_ms"] == 0.0:
        raise RuntimeError("the profile hooks were not reached: aecodec.decompress used another codec instance")
    for part in ("entropy_ms", "hyper_decoder_ms", "synthesis_ms"):
        samples[part].append(1000 * clock[part])
    samples["rest_ms"].append(1000 * (decode_seconds - clock["entropy_ms"] - clock["synthesis_ms"]))


def cli_arguments(scratch: Path, quality: int) -> dict[str, list[str]]:
    """The ``aecodec`` arguments of the two timed commands, on the photo ``scratch/photo.png``.

    Compress runs first: it writes the .aec file that decompress reads.
    """
    photo, coded, decoded = (scratch / name for name in ("photo.png", "photo.aec", "photo.decoded.png"))
    return {
        "compress": ["compress", str(photo), "-o", str(coded), "--quality", str(quality), "--force", "--quiet"],
        "decompress": ["decompress", str(coded), "-o", str(decoded), "--force", "--quiet"],
    }


def _cli_environment(scratch: Path) -> dict[str, str]:
    """The thread caps of :data:`CLI_THREADS`, this tree's aecodec first on the path, and
    bytecode written to (and read from) a scratch cache, as an installed package has it
    compiled: with ``PYTHONDONTWRITEBYTECODE`` set, every changed module would be compiled
    again in every timed process."""
    path = os.pathsep.join(filter(None, (str(_REPO_ROOT), os.environ.get("PYTHONPATH"))))
    environment = {**_child_environment(CLI_THREADS), "PYTHONPATH": path, "PYTHONPYCACHEPREFIX": str(scratch / "pycache")}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def time_commands(arguments: dict[str, list[str]], scratch: Path, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU milliseconds of each command as a fresh ``python -m aecodec`` process,
    after one untimed run of each (bytecode compiled, files in the page cache)."""
    samples = {name: {"ms": [], "cpu_ms": []} for name in arguments}
    for args in arguments.values():
        subprocess.run([sys.executable, "-m", "aecodec", *args], check=True, env=_cli_environment(scratch))
    for _ in range(repeats):
        for name, args in arguments.items():
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run([sys.executable, "-m", "aecodec", *args], check=True, env=_cli_environment(scratch))
            finished, after = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            samples[name]["ms"].append(1000 * (finished - start))
            samples[name]["cpu_ms"].append(1000 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
    return samples


def time_warm_commands(arguments: dict[str, list[str]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU milliseconds of each command run in this process by ``aecodec.cli.main``,
    after one untimed run of each (imports, weights, sessions and first runs paid)."""
    from aecodec.cli import main as aecodec_main

    def run(args: list[str]) -> None:
        aecodec_main(args, standalone_mode=False)

    for args in arguments.values():
        run(args)
    samples = {name: {"ms": [], "cpu_ms": []} for name in arguments}
    for _ in range(repeats):
        for name, args in arguments.items():
            cpu, start = time.process_time(), time.perf_counter()
            run(args)
            samples[name]["ms"].append(1000 * (time.perf_counter() - start))
            samples[name]["cpu_ms"].append(1000 * (time.process_time() - cpu))
    return samples


def measure_cli(scratch: Path, repeats: int, quality: int) -> dict[str, dict[str, list[float]]]:
    """Samples of every command, whole process (``ms``, ``cpu_ms``) and warm (``warm_ms``,
    ``warm_cpu_ms``); the warm runs are in a fresh interpreter of this script, under the
    same thread caps."""
    arguments = cli_arguments(scratch, quality)
    command = [sys.executable, str(Path(__file__).resolve()), "--cli-child", str(scratch), "--repeats", str(repeats), "--quality", str(quality)]
    result = subprocess.run(command, capture_output=True, text=True, env=_cli_environment(scratch))
    if result.returncode != 0:
        raise RuntimeError(f"the warm CLI run failed:\n{result.stderr}")
    warm = json.loads(result.stdout)
    whole = time_commands(arguments, scratch, repeats)
    return {name: {**whole[name], "warm_ms": warm[name]["ms"], "warm_cpu_ms": warm[name]["cpu_ms"]} for name in arguments}


def cli_rows(samples: dict[str, dict[str, list[float]]]) -> list[dict]:
    """One row per command: medians, and whole process over warm in wall and CPU time."""
    rows = []
    for name, measured in samples.items():
        row = {"command": f"aecodec {name}", **{key: statistics.median(values) for key, values in measured.items()}}
        row["ratio"], row["cpu_ratio"] = row["ms"] / row["warm_ms"], row["cpu_ms"] / row["warm_cpu_ms"]
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------
# Running every configuration (in the parent)
# --------------------------------------------------------------------------------------


def fit(image: Image.Image, width: int, height: int) -> np.ndarray:
    """``image`` scaled (Lanczos) to cover ``width`` × ``height``, then centre-cropped to it."""
    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    resized = image.resize(size, Image.Resampling.LANCZOS)
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)))


def pick(paths: Sequence[Path], count: int) -> list[Path]:
    """``count`` paths spread evenly over ``paths``, so the photos are not all from one source."""
    return [paths[index * len(paths) // count] for index in range(min(count, len(paths)))]


def _child_environment(threads: int) -> dict[str, str]:
    return {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}


def run_config(config: Config, images_file: Path, repeats: int, quality: int) -> dict:
    """Measure ``config`` in a fresh interpreter running this script; returns its measurements."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", config.name, "--images-file", str(images_file)]
    command += ["--repeats", str(repeats), "--quality", str(quality)]
    result = subprocess.run(command, capture_output=True, text=True, env=_child_environment(config.threads))
    if result.returncode != 0:
        raise RuntimeError(f"{config.name} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def pool(earlier: dict | None, later: dict) -> dict:
    """Two runs of one configuration as one: timings pooled, the larger peak RSS.

    The host is shared, so a burst of someone else's load can slow one run; running every
    configuration in each of several rounds, in turn, spreads such bursts over all of them
    instead of handing them to whichever configuration was running.
    """
    if earlier is None:
        return later
    pooled = dict(earlier)
    for key in ("encode_ms", "decode_ms", *PROFILE_PARTS):
        if key in later:
            pooled[key] = earlier[key] + later[key]
    pooled["peak_rss_mb"] = max(earlier["peak_rss_mb"], later["peak_rss_mb"])
    return pooled


def summarise(config: Config, measured: dict) -> dict:
    """One result row: medians of the timings, means of bpp and PSNR."""
    row = {"config": config.name, "codec": config.codec, "backend": config.backend or "", "threads": config.threads}
    for key in ("encode_ms", "decode_ms", *PROFILE_PARTS):
        row[key] = statistics.median(measured[key]) if key in measured else None
    row.update(
        peak_rss_mb=measured["peak_rss_mb"],
        torch_imported=measured["torch_imported"],
        bpp=statistics.fmean(measured["bpp"]),
        psnr=statistics.fmean(measured["psnr"]),
    )
    return row


def add_ratios(rows: list[dict], baseline: str) -> None:
    """Speedups over the baseline row (baseline ms / row ms: above 1 is faster), in place."""
    reference = next(row for row in rows if row["config"] == baseline)
    for row in rows:
        row["encode_speedup"] = reference["encode_ms"] / row["encode_ms"]
        row["decode_speedup"] = reference["decode_ms"] / row["decode_ms"]


def targets(rows: list[dict]) -> dict:
    """Issue 25's decode targets: the fastest aecodec decode, alone and as a multiple of AVIF's."""
    decodes = [row["decode_ms"] for row in rows if row["codec"] == "aecodec"]
    fastest = min(decodes) if decodes else None
    avif = next((row["decode_ms"] for row in rows if row["config"] == "avif"), None)
    return {
        "fastest_aecodec_decode_ms": fastest,
        "decode_ms_limit": DECODE_TARGET_MS,
        "over_avif_decode": None if fastest is None or avif is None else fastest / avif,
        "over_avif_limit": AVIF_RATIO_TARGET,
    }


def target_summary(found: dict) -> str:
    """The targets as one sentence, for the printed report."""
    fastest, over_avif = found["fastest_aecodec_decode_ms"], found["over_avif_decode"]
    return (
        f"Targets: fastest aecodec decode {'not measured' if fastest is None else f'{fastest:.1f} ms'} "
        f"(need ≤ {found['decode_ms_limit']:g} ms at 768×512 on 2 threads of an AVX-512 CPU); "
        f"{'not measured' if over_avif is None else f'{over_avif:.1f}×'} Pillow's AVIF decode (need ≤ {found['over_avif_limit']:g}×)."
    )


def _versions() -> dict[str, str]:
    found = {}
    for package in ("aecodec", "torch", "onnxruntime", "pillow", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


def markdown(rows: list[dict], columns: Sequence[str]) -> str:
    """A Markdown table of ``columns`` of ``rows``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_format(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    """``768x512`` → (768, 512), width first."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 768x512, got {text!r}") from exc
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return width, height


def parse_configs(text: str) -> list[str]:
    """``--configs jpeg,aecodec-onnx-1t``: known names, duplicates dropped."""
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in CONFIGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown configuration(s) {unknown or text!r}; choose from {', '.join(CONFIGS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The command line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=DEFAULT_FOLDER, metavar="DIR", help="folder of photos (default: %(default)s)")
    parser.add_argument("--images", type=int, default=4, metavar="N", help="photos to use, spread over the folder (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, metavar="N", help="timed round trips per photo (default: %(default)s)")
    parser.add_argument(
        "--rounds", type=int, default=3, metavar="N", help="runs of every configuration, taken in turn (default: %(default)s)"
    )
    parser.add_argument("--size", type=parse_size, default=(768, 512), metavar="WxH", help="photo size (default: 768x512)")
    parser.add_argument("--quality", type=int, default=75, metavar="Q", help="quality of every codec (default: %(default)s)")
    parser.add_argument("--configs", type=parse_configs, default=list(CONFIGS), help=f"comma-separated (default: {','.join(CONFIGS)})")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="configuration the ratios are against (default: %(default)s)")
    parser.add_argument("--cli", action="store_true", help="also time the whole aecodec compress and decompress commands against the same work warm")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="output folder (default: %(default)s)")
    parser.add_argument("--cli-child", type=Path, help=argparse.SUPPRESS)  # internal: the warm CLI runs, in this folder
    parser.add_argument("--child", choices=list(CONFIGS), help=argparse.SUPPRESS)  # internal: measure one configuration
    parser.add_argument("--images-file", type=Path, help=argparse.SUPPRESS)
    return parser


def _child_main(args: argparse.Namespace) -> int:
    images = np.load(args.images_file)
    print(json.dumps(measure(CONFIGS[args.child], images, args.repeats, args.quality)))
    return 0


def _cli_child_main(args: argparse.Namespace) -> int:
    print(json.dumps(time_warm_commands(cli_arguments(args.cli_child, args.quality), args.repeats)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every configuration, write the result files and print the tables.

    Args:
        argv: command-line arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status (0; argument errors exit through ``parser.error``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.child:
        return _child_main(args)
    if args.cli_child:
        return _cli_child_main(args)
    if min(args.images, args.repeats, args.rounds) < 1:
        parser.error("--images, --repeats and --rounds must be at least 1")
    if args.baseline not in args.configs:
        parser.error(f"--baseline {args.baseline} is not among the measured configurations")
    if not args.folder.is_dir():
        parser.error(f"not a folder: {args.folder}")
    paths = pick(list_images(args.folder), args.images)
    if not paths:
        parser.error(f"no images in {args.folder}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    width, height = args.size
    with tempfile.TemporaryDirectory() as scratch:
        images_file = Path(scratch) / "images.npy"
        np.save(images_file, np.stack([fit(load_rgb(path), width, height) for path in paths]))
        measured: dict[str, dict] = {}
        cli_samples: dict[str, dict[str, list[float]]] = {}
        for round_number in range(1, args.rounds + 1):
            for name in args.configs:
                started = time.perf_counter()
                measured[name] = pool(measured.get(name), run_config(CONFIGS[name], images_file, args.repeats, args.quality))
                log(f"round {round_number}/{args.rounds}, {name}: {time.perf_counter() - started:.1f} s")
            if args.cli:
                if round_number == 1:
                    Image.fromarray(np.load(images_file)[0]).save(Path(scratch) / "photo.png")
                started = time.perf_counter()
                for name, samples in measure_cli(Path(scratch), args.repeats, args.quality).items():
                    cli_samples[name] = {key: cli_samples.get(name, {}).get(key, []) + values for key, values in samples.items()}
                log(f"round {round_number}/{args.rounds}, cli: {time.perf_counter() - started:.1f} s")
        rows = [summarise(CONFIGS[name], measured[name]) for name in args.configs]
    add_ratios(rows, args.baseline)
    document = {
        "name": "speed",
        "description": __doc__.split("\n\n")[0],
        "settings": {
            "folder": str(args.folder),
            "images": [path.name for path in paths],
            "size": f"{width}x{height}",
            "repeats": args.repeats,
            "rounds": args.rounds,
            "quality": args.quality,
            "baseline": args.baseline,
            "cli": args.cli,
            "configs": [asdict(CONFIGS[name]) for name in args.configs],
        },
        "machine": {"cpu": cpu_kind(), "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(), **_versions()},
        "results": rows,
        "targets": targets(rows),
    }
    if args.cli:
        document["cli"] = cli_rows(cli_samples)
        document["targets"]["cli_ratio_limit"] = CLI_RATIO_TARGET
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "speed.csv", rows)
    (args.out / "speed.json").write_text(json.dumps(document, indent=2) + "\n")
    log(f"wrote {args.out / 'speed.csv'} and {args.out / 'speed.json'}")

    print(f"## Speed at {width}×{height}: {len(paths)} photo(s), quality {args.quality}, median of {args.repeats} repeat(s) × {args.rounds} round(s)\n")
    print(f"Speedups are against {args.baseline} (its ms / the configuration's ms).\n")
    print(markdown(rows, ("config", "threads", "encode_ms", "decode_ms", "encode_speedup", "decode_speedup", "peak_rss_mb", "bpp", "psnr")))
    print("\n### aecodec decode profile (ms; the hyper-decoder is part of entropy decoding)\n")
    print(markdown([row for row in rows if row["codec"] == "aecodec"], ("config", "decode_ms", *PROFILE_PARTS)))
    if args.cli:
        print(f"\n### Whole command vs the same command warm in-process ({CLI_THREADS} threads; file to file; need ≤ {CLI_RATIO_TARGET}×)\n")
        print(markdown(document["cli"], ("command", "ms", "warm_ms", "ratio", "cpu_ms", "warm_cpu_ms", "cpu_ratio")))
    print("\n" + target_summary(document["targets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
