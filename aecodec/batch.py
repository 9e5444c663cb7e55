"""Whole folders: ``aecodec compress|decompress|restore DIR [-o OUTDIR]``.

A folder run walks the input tree, mirrors it under the output folder (default: the input
folder itself, outputs beside their sources), and names each output as a single-file run
would (``photo.png`` → ``photo.aec`` → ``photo.decoded.png``), never as its source. It skips
outputs that exist unless ``--force``, and never takes a file named like its own outputs
(``photo.restored.png``) as an input, so an interrupted batch resumes where it stopped; runs ``--jobs N`` files at a time in worker
processes; and returns one :class:`Outcome` per file, so one bad file never stops the batch
and the summary can say what failed and why.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aecodec.errors import AecodecError, InputError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".ppm", ".pgm", ".pbm", ".qoi", ".jp2", ".avif"})
CONTAINER_SUFFIXES = frozenset({".aec"})


@dataclass(frozen=True)
class Job:
    """One file of a batch: where it comes from and where its result goes."""

    source: Path
    output: Path


@dataclass(frozen=True)
class Outcome:
    """What happened to one job.

    Attributes:
        status: ``done``, ``skipped`` (the output existed) or ``failed``.
        reason: Why it failed (one line), else empty.
    """

    job: Job
    status: str
    bytes_in: int = 0
    bytes_out: int = 0
    reason: str = ""


def plan(source_dir: Path, output_dir: Path | None, suffixes: frozenset[str], output_suffix: str) -> list[Job]:
    """Jobs for every file below ``source_dir`` whose suffix is in ``suffixes``, in path order.

    Outputs that a previous run wrote are never taken as inputs: neither files below a
    separate output folder inside the input tree, nor files whose names end in
    ``output_suffix`` (``photo.restored.png`` beside ``photo.png``).

    Raises:
        InputError: ``source_dir`` is not a folder, or two inputs would write the same output
            (``a.png`` and ``a.jpg`` both → ``a.aec``).
    """
    if not source_dir.is_dir():
        raise InputError(f"{source_dir} is not a folder")
    output_dir = output_dir or source_dir
    excluded = output_dir.resolve() if output_dir.resolve() != source_dir.resolve() else None
    jobs, claimed = [], {}
    for path in sorted(source_dir.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in suffixes or path.name.endswith(output_suffix):
            continue
        if excluded is not None and excluded in path.resolve().parents:
            continue
        relative = path.relative_to(source_dir)
        output = output_dir / relative.parent / (relative.stem + output_suffix)
        if output in claimed:
            raise InputError(f"{path} and {claimed[output]} would both write {output}; rename one")
        claimed[output] = path
        jobs.append(Job(path, output))
    return jobs


def attempt(work: Callable[[Job, bool], int], job: Job, force: bool) -> Outcome:
    """Run one job; every failure becomes a ``failed`` outcome with a one-line reason."""
    if job.output.exists() and not force:
        return Outcome(job, "skipped")
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        bytes_out = work(job, force)
        return Outcome(job, "done", job.source.stat().st_size, bytes_out)
    except AecodecError as exc:
        return Outcome(job, "failed", reason=str(exc))
    except MemoryError:
        return Outcome(job, "failed", reason="out of memory")
    except OSError as exc:
        return Outcome(job, "failed", reason=f"{exc.strerror or exc}")
    except Exception as exc:  # a bug must not cost the user the rest of the batch
        return Outcome(job, "failed", reason=f"internal error {type(exc).__name__}: {exc}")


def _limit_threads(threads: int) -> None:
    """Worker initializer: share the cores between workers instead of oversubscribing them."""
    os.environ["AECODEC_ONNX_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


def run(work: Callable[[Job, bool], int], jobs: list[Job], force: bool, workers: int) -> Iterator[Outcome]:
    """Outcomes of ``jobs`` in completion order; ``workers`` > 1 runs them in processes.

    Args:
        work: Module-level function (it is pickled for the workers) that writes
            ``job.output`` and returns its size in bytes.
    """
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield attempt(work, job, force)
        return
    # Imported here: a single-file command never starts workers and need not pay for these.
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_limit_threads, initargs=(threads,)) as pool:
        futures = [pool.submit(attempt, work, job, force) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def _written_size(path: Path) -> int:
    return path.stat().st_size


def compress_file(job: Job, force: bool, quality: float, model: str | None, backend: str, target, refine_steps: int) -> int:
    """Work of ``aecodec compress DIR``: one image → one .aec file."""
    from aecodec import pipeline
    from aecodec.files import write_atomic

    data = pipeline.encode(job.source, quality=quality, model=model, backend=backend, target=target, refine_steps=refine_steps).data
    write_atomic(job.output, lambda handle: handle.write(data), force)
    return len(data)


def decompress_file(job: Job, force: bool, backend: str) -> int:
    """Work of ``aecodec decompress DIR``: one .aec file → one PNG."""
    from aecodec import pipeline
    from aecodec.files import image_writer, read_bytes, write_atomic

    image = pipeline.decompress(read_bytes(job.source), backend=backend)
    write_atomic(job.output, image_writer(image, "PNG"), force)
    return _written_size(job.output)


def restore_file(job: Job, force: bool, task: str, sigma: float | None, backend: str) -> int:
    """Work of ``aecodec restore DIR``: one image → one restored PNG."""
    from aecodec.files import image_writer, write_atomic
    from aecodec.restoration import restore

    image, _ = restore(job.source, task=task, sigma=sigma, backend=backend)
    write_atomic(job.output, image_writer(image, "PNG"), force)
    return _written_size(job.output)


def summary(outcomes: list[Outcome], compression: bool = False) -> list[str]:
    """Lines of the end-of-batch report: counts, bytes in and out, then each failure.

    Args:
        compression: The outputs are compressed files, so the report adds the compression
            ratio (bytes in over bytes out); for decoded or restored images it would mean
            nothing.
    """
    done = [o for o in outcomes if o.status == "done"]
    skipped = sum(o.status == "skipped" for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    bytes_in, bytes_out = sum(o.bytes_in for o in done), sum(o.bytes_out for o in done)
    ratio = f", ratio {bytes_in / bytes_out:.2f}:1" if compression and bytes_out else ""
    files = "file" if len(outcomes) == 1 else "files"
    lines = [
        f"{len(outcomes)} {files}: {len(done)} done, {skipped} skipped (output exists; --force redoes them), {len(failed)} failed",
        f"bytes in {bytes_in:,}, bytes out {bytes_out:,}{ratio}",
    ]
    lines += [f"failed: {o.job.source}: {o.reason}" for o in failed]
    return lines
