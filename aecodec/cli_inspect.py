"""``aecodec inspect``: where the bits of an image go, and which images of a folder stand out.

The bit map is the codec's own surprise: −log2 of the likelihood of every latent element,
so regions unlike what the model learned (noise, corruption, unusual content) cost more
bits. Ranking a folder by bits per pixel against its median spots such outliers.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import click

from aecodec.cli_support import FiniteFloatRange, backend_option, handles_errors
from aecodec.codecs.quality import DEFAULT_QUALITY
from aecodec.errors import AecodecError, InputError
from aecodec.files import write_atomic

OUTLIER_RATIO = 1.5  # flagged when bpp is this many times above (or below) the median


@click.command("inspect")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--map", "map_path", type=click.Path(path_type=Path), help="Write the bit-allocation map over the image to this PNG.")
@click.option("--rank", is_flag=True, help="SOURCE is a folder: list its images by bits per pixel relative to the median.")
@click.option(
    "-q", "--quality", type=FiniteFloatRange(1, 100), default=DEFAULT_QUALITY, show_default=True,
    help="Quality at which images (not .aec files) are coded.",
)
@backend_option
@click.option("--force", is_flag=True, help="Overwrite the --map file if it exists.")
@handles_errors
def inspect_command(source: Path, map_path: Path | None, rank: bool, quality: float, backend: str, force: bool) -> None:
    """Show how many bits each region of an .aec file (or image) costs."""
    if rank:
        if map_path is not None:
            raise InputError("--map draws one file; it cannot be combined with --rank")
        _rank(source, quality, backend)
        return
    if source.is_dir():
        raise InputError(f"{source} is a folder; use --rank to rank the images in it")
    if map_path is not None and map_path.exists() and not force:
        raise InputError(f"{map_path} already exists (use --force to overwrite)")
    import numpy as np

    bit_map = _bit_map(source, quality, backend)
    bits = bit_map.bits
    height, width = bits.shape
    click.echo(f"{source}: {width}×{height}, quality {bit_map.quality:g}, latent bits {bits.sum():,.0f} ({bits.mean():.4f} bpp)")
    click.echo(f"bits per pixel: median {np.median(bits):.4f}, 99th percentile {np.percentile(bits, 99):.4f}, max {bits.max():.4f}")
    if map_path is not None:
        from aecodec.heatmap import overlay

        image = overlay(bit_map.rgb, bits, "bits/pixel")
        write_atomic(map_path, lambda handle: image.save(handle, format="PNG"), force)
        click.echo(f"map → {map_path}")


def _bit_map(source: Path, quality: float, backend: str):
    """:func:`aecodec.pipeline.bit_map` of a file; one that is neither an .aec file nor an
    image is refused with a message that says both were expected."""
    from PIL import UnidentifiedImageError

    from aecodec import pipeline

    try:
        return pipeline.bit_map(source, quality=quality, backend=backend)
    except InputError as exc:
        if isinstance(exc.__cause__, UnidentifiedImageError):  # not an image, and had no .aec signature
            raise InputError(f"{source} is neither an .aec file nor an image Pillow can read") from exc
        raise


def _rank(folder: Path, quality: float, backend: str) -> None:
    """Print every image of ``folder`` (recursively) by bpp relative to the folder's median."""
    if not folder.is_dir():
        raise InputError(f"--rank needs a folder, {folder} is not one")
    rows, failures = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            bit_map = _bit_map(path, quality, backend)
        except AecodecError as exc:
            failures.append((path, str(exc)))
            continue
        rows.append((path, float(bit_map.bits.mean()), bit_map.quality))
    if not rows:
        raise InputError(f"no readable images in {folder}")
    median = statistics.median(bpp for _, bpp, _ in rows)
    if len({q for _, _, q in rows}) > 1:
        click.echo("Warning: the files were coded at different qualities; their bits per pixel are not comparable", err=True)
    click.echo(f"{'rank':>4}  {'bpp':>8}  {'× median':>8}  {'quality':>7}  file")
    for number, (path, bpp, file_quality) in enumerate(sorted(rows, key=lambda row: -row[1]), start=1):
        ratio = bpp / median if median else float("inf")
        flag = "  outlier" if ratio >= OUTLIER_RATIO or ratio <= 1 / OUTLIER_RATIO else ""
        click.echo(f"{number:>4}  {bpp:>8.4f}  {ratio:>8.2f}  {file_quality:>7g}  {path.relative_to(folder)}{flag}")
    click.echo(f"{len(rows)} images, median {median:.4f} bpp" + (f", {len(failures)} skipped:" if failures else ""))
    for path, reason in failures:
        click.echo(f"  {path.relative_to(folder)}: {reason}")
