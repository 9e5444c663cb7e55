"""The ``aecodec`` command: a thin layer over the Python API.

Conventions: every domain error prints one line ``Error: …`` and exits 1; usage
errors exit 2 (click); outputs are derived from the input name, written atomically, and
never replace an existing file without ``--force``; warnings print as ``Warning: …``.

Default output names never collide with the input a file was made from: ``photo.png`` →
``photo.aec`` → ``photo.decoded.png``, so a round trip leaves the original untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from aecodec import batch
from aecodec.cli_batch import jobs_option, run_folder
from aecodec.cli_export import export_command
from aecodec.cli_inspect import inspect_command
from aecodec.cli_release import release_command
from aecodec.cli_restore import colorize_command, restore_command
from aecodec.cli_support import FiniteFloatRange, backend_option, check_output, handles_errors, output_format
from aecodec.codecs.quality import DEFAULT_QUALITY
from aecodec.errors import InputError
from aecodec.files import derived_output, image_writer, is_stdio, read_input, write_output
from aecodec.train.cli import main as train_command

CONTAINER_SUFFIX = ".aec"
DECODED_SUFFIX = ".decoded"
"""Put before the image extension of a decoded file: ``photo.aec`` → ``photo.decoded.png``."""
FORMAT_EXTENSIONS = {"png": ".png", "webp": ".webp", "tiff": ".tiff", "jpeg": ".jpg"}


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the installed version, read only when asked for (see ``aecodec.__version__``)."""
    if not value or ctx.resilient_parsing:
        return
    import aecodec

    click.echo(f"aecodec, version {aecodec.__version__}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version, help="Show the version and exit.")
def main() -> None:
    """Learned image compression: .aec files smaller than JPEG at the same quality."""


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path),
    help="Output file (default: SOURCE with .aec; - for standard output); for a folder SOURCE, an output folder (default: SOURCE).",
)
@click.option(
    "-q", "--quality", type=FiniteFloatRange(1, 100), default=None,
    help=f"1 (smallest) to 100 (best); fractions allowed.  [default: {DEFAULT_QUALITY:g}]",
)
@click.option("--bpp", type=FiniteFloatRange(0, min_open=True), default=None, help="Find the quality giving this many bits per pixel.")
@click.option("--size", default=None, help="Find the best quality whose file is at most this size, e.g. 40KB, 1.5MB, 64KiB, 40000.")
@click.option("--psnr", type=FiniteFloatRange(0, min_open=True), default=None, help="Find the smallest file whose PSNR-RGB is at least this many dB.")
@click.option(
    "--refine", "refine_steps", type=click.IntRange(0), default=0, metavar="STEPS",
    help="Refine the latent for this image with STEPS gradient steps (needs torch): fewer bits at the same PSNR, for a much slower encode.  [default: 0]",
)
@click.option("--model", default=None, help="Model id (see `aecodec models`; default: the default model).")
@backend_option
@jobs_option
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@handles_errors
def compress(
    source: Path, output: Path | None, quality: float | None, bpp: float | None, size: str | None, psnr: float | None,
    refine_steps: int, model: str | None, backend: str, jobs: int, force: bool, quiet: bool,
) -> None:
    """Compress an image (anything Pillow opens; - reads standard input) to an .aec file.

    Give a quality, or one target (--bpp, --size or --psnr) and the quality is searched.
    SOURCE may be a folder: every image below it is compressed into a mirrored tree.
    """
    from aecodec import pipeline

    target = _rate_target(quality, bpp, size, psnr)
    if source.is_dir():
        run_folder(
            source, output, batch.IMAGE_SUFFIXES, CONTAINER_SUFFIX, batch.compress_file, force, jobs, quiet,
            quality=DEFAULT_QUALITY if quality is None else quality, model=model, backend=backend, target=target, refine_steps=refine_steps,
        )
        return
    output = output or derived_output(source, CONTAINER_SUFFIX)
    check_output(source, output, force)
    result = pipeline.encode(
        source, quality=DEFAULT_QUALITY if quality is None else quality, model=model, backend=backend, target=target, refine_steps=refine_steps,
    )
    write_output(output, lambda handle: handle.write(result.data), force)
    if not quiet:
        report = f"{source} → {output}: {len(result.data):,} bytes, {result.bpp:.3f} bpp (quality {result.quality:g})"
        if result.target:
            report += "\n" + _target_line(result.target.target, result.target.reached)
        click.echo(report, err=is_stdio(output))  # never mixed into piped image data


def _rate_target(quality: float | None, bpp: float | None, size: str | None, psnr: float | None):
    """The one rate target given on the command line, or ``None`` for a plain quality."""
    from aecodec.ratecontrol.targets import RateTarget, parse_size

    given = {name: value for name, value in (("bpp", bpp), ("size", size), ("psnr", psnr)) if value is not None}
    if len(given) + (quality is not None) > 1:
        raise click.UsageError("give only one of --quality, --bpp, --size and --psnr")
    if not given:
        return None
    kind, value = given.popitem()
    return RateTarget(kind, parse_size(value) if kind == "size" else value)


def _target_line(target, reached: float) -> str:
    """One line saying what a rate target (a ``RateTarget``) asked for and what was reached."""
    return f"target {target.kind} {target.describe()}: reached {target.describe(reached)}"


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path),
    help=(
        f"Output image; the format follows the extension (default: SOURCE with {DECODED_SUFFIX}.png, never the original's name; - for standard output); "
        "for a folder SOURCE, an output folder of such PNGs (default: SOURCE)."
    ),
)
@click.option(
    "--format", "format_name", type=click.Choice(list(FORMAT_EXTENSIONS), case_sensitive=False), default=None,
    help="Output format instead of the extension's (standard output: png by default).",
)
@click.option("--reference", type=click.Path(path_type=Path), help="Original image: print PSNR and MS-SSIM of the result against it.")
@backend_option
@jobs_option
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@handles_errors
def decompress(source: Path, output: Path | None, format_name: str | None, reference: Path | None, backend: str, jobs: int, force: bool, quiet: bool) -> None:
    """Decode an .aec file (- reads standard input) to an image; a folder SOURCE decodes every .aec below it."""
    from aecodec import pipeline

    if source.is_dir():
        if format_name or reference:
            raise InputError("--format and --reference apply to single files; a folder decodes to PNG")
        run_folder(source, output, batch.CONTAINER_SUFFIXES, DECODED_SUFFIX + ".png", batch.decompress_file, force, jobs, quiet, backend=backend)
        return
    output = output or derived_output(source, DECODED_SUFFIX + FORMAT_EXTENSIONS[(format_name or "png").lower()])
    check_output(source, output, force)
    image_format = output_format(output, format_name)
    image = pipeline.decompress(read_input(source), backend=backend)
    # Compare before writing, so a bad reference fails the command without leaving output.
    quality_line = _quality_against(image, reference) if reference is not None else None
    write_output(output, image_writer(image, image_format), force)
    if not quiet:
        click.echo(f"{source} → {output}: {image.width}×{image.height} {image.mode}", err=is_stdio(output))
    if quality_line:
        click.echo(quality_line, err=is_stdio(output))


def _quality_against(image, reference: Path) -> str:
    """One line with PSNR-RGB and MS-SSIM of ``image`` against the ``reference`` file."""
    import numpy as np

    from aecodec import imageio
    from aecodec.metrics import MS_SSIM_MIN_SIDE, ms_ssim, psnr

    original = imageio.prepare(reference).rgb
    decoded = np.asarray(image.convert("RGB"))
    if original.shape != decoded.shape:
        raise InputError(f"reference is {original.shape[1]}×{original.shape[0]}, decoded image is {decoded.shape[1]}×{decoded.shape[0]}")
    line = f"PSNR-RGB {psnr(original, decoded):.2f} dB"
    if min(decoded.shape[:2]) < MS_SSIM_MIN_SIDE:  # a metric that does not apply is noted, never fatal
        return f"{line} against {reference} (MS-SSIM skipped: it needs at least {MS_SSIM_MIN_SIDE}×{MS_SSIM_MIN_SIDE} pixels)"
    return f"{line}, MS-SSIM {ms_ssim(original, decoded):.4f} against {reference}"


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON.")
@handles_errors
def info(source: Path, as_json: bool) -> None:
    """Show what an .aec file contains, without decoding it."""
    from aecodec import pipeline

    details = pipeline.info(read_input(source))
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    rows = [
        ("file", source),
        ("model", details["model"]),
        ("weights", f"sha256 {details['weights_sha256_prefix']}…"),
        ("format", details["format_version"]),
        ("size", f"{details['width']}×{details['height']}"),
        ("mode", details["mode"]),
        ("quality", f"{details['quality']:g}"),
        ("bytes", f"{details['bytes']:,}"),
        ("bpp", f"{details['bpp']:.4f}"),
    ]
    if details["rate_target"]:
        from aecodec.ratecontrol.targets import RateTarget

        record = details["rate_target"]
        rows.append(("target", _target_line(RateTarget(record["kind"], record["target"]), record["reached"]).removeprefix("target ")))
    for label, value in rows:
        click.echo(f"{label + ':':<10}{value}")
    click.echo(f"{'chunks:':<10}type    offset    length")
    for chunk in details["chunks"]:
        click.echo(f"{'':<10}{chunk['type']}  {chunk['offset']:>8}  {chunk['length']:>8}")


@main.command()
@handles_errors
def models() -> None:
    """List the installed codecs and restoration heads (* = default), with the codec each head runs on."""
    from aecodec import zoo

    defaults = {zoo.default_model_id()}
    defaults.update(zoo.default_head_id(entry.task) for entry in zoo.heads())
    for entry in zoo.models() + zoo.heads():
        marker = "*" if entry.model_id in defaults else " "
        kind = _head_kind(entry) if entry.task else entry.architecture
        click.echo(f"{marker} {entry.model_id:<16} {entry.sha256[:16]}  {kind}  {entry.description}")


def _head_kind(entry) -> str:
    """A head's task and the installed codec whose g_a it runs on, as loading it would find it."""
    from aecodec.assembly import HEAD_COMMANDS, backbone_codec

    codec = backbone_codec(entry.model_id)
    where = f"on {codec}'s g_a" if codec else "unusable: no installed codec has its g_a"
    return f"{entry.task} head ({HEAD_COMMANDS[entry.task]}) {where}"


main.add_command(export_command)
main.add_command(inspect_command)
main.add_command(train_command)
main.add_command(release_command)
main.add_command(restore_command)
main.add_command(colorize_command)
