"""File-system conventions: derived names, no clobbering, atomic writes, clear read errors.

A command never leaves a half-written file behind and never replaces an existing file
unless asked to with ``--force``: output is written to a temporary file in the target's
folder and then moved into place in one step (``os.replace`` with ``--force``, otherwise
``os.link``, which fails if the target appeared in the meantime). A new output gets the
permissions any new file gets under the user's umask; a replaced one keeps its own. Every OS
error becomes a one-line :class:`~aecodec.errors.InputError` naming the cause. ``-`` stands
for standard input or output, so commands work in pipes.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from aecodec.errors import InputError

STDIO = Path("-")
"""The path that means standard input (for an input) or standard output (for an output)."""


def is_stdio(path: Path | None) -> bool:
    """Whether ``path`` is ``-``."""
    return path == STDIO


def derived_output(source: Path, suffix: str) -> Path:
    """Default output path: the input's name with a new suffix, in the input's folder.

    Reading standard input, the default output is standard output, so pipes need no ``-o``.
    """
    return STDIO if is_stdio(source) else source.with_suffix(suffix)


def read_input(path: Path) -> bytes:
    """All bytes of an input file, or of standard input for ``-``."""
    return sys.stdin.buffer.read() if is_stdio(path) else read_bytes(path)


def write_output(path: Path, write: Callable[[BinaryIO], None], force: bool) -> None:
    """Like :func:`write_atomic`, and ``-`` writes to standard output.

    Standard output gets the bytes only once ``write`` has produced all of them, so a
    failure midway never sends half a file down a pipe.
    """
    if not is_stdio(path):
        write_atomic(path, write, force)
        return
    buffer = io.BytesIO()
    write(buffer)
    sys.stdout.buffer.write(buffer.getvalue())
    sys.stdout.buffer.flush()


def _describe(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"no space left on device while writing {path}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied: cannot write {path}"
    if exc.errno == errno.ENOENT:
        return f"folder does not exist: {path.parent}"
    return f"cannot write {path}: {exc.strerror or exc}"


def write_atomic(path: Path, write: Callable[[BinaryIO], None], force: bool) -> None:
    """Create ``path`` with ``write(handle)``; all or nothing.

    Raises:
        InputError: If ``path`` exists and ``force`` is false, or on any OS error (the
            message names the cause: permissions, a full disk, a missing folder).
    """
    if path.exists() and not force:
        raise InputError(f"{path} already exists (use --force to overwrite)")
    if path.is_dir():
        raise InputError(f"{path} is a directory")
    tmp_name = None
    try:
        handle, tmp_name = _create_temporary(path, force)
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(tmp_name, path)
        else:
            os.link(tmp_name, path)
            os.unlink(tmp_name)
        tmp_name = None
    except FileExistsError as exc:
        raise InputError(f"{path} already exists (use --force to overwrite)") from exc
    except OSError as exc:
        raise InputError(_describe(exc, path)) from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _create_temporary(path: Path, force: bool) -> tuple[int, str]:
    """Open a new temporary file beside ``path`` for writing: its descriptor and name.

    It is created with mode 0666 less the umask, as any tool creates a new file (unlike
    ``tempfile.mkstemp``, whose private 0600 would carry over to the output); with ``force``
    and an existing ``path`` it takes that file's permissions, as a file written over would.
    """
    while True:
        name = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue  # a name another writer drew: draw again
    if force and path.exists():
        try:
            os.fchmod(handle, stat.S_IMODE(path.stat().st_mode))
        except OSError:
            os.close(handle)
            os.unlink(name)
            raise
    return handle, name


def read_bytes(path: Path) -> bytes:
    """Read a whole input file; OS errors become one-line InputErrors."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"is a directory: {path}") from exc
    except PermissionError as exc:
        raise InputError(f"permission denied: {path}") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


# Save options per output format: decoded pixels are final, so avoid a second lossy step.
SAVE_OPTIONS = {"PNG": {"optimize": False}, "WEBP": {"lossless": True}, "JPEG": {"quality": 95}, "TIFF": {"compression": "tiff_deflate"}}


def image_writer(image, image_format: str) -> Callable:
    """A writer for :func:`aecodec.files.write_output` that saves ``image`` losslessly where it can.

    The ICC profile and EXIF go into the output file: Pillow only writes what is passed to
    save() for most formats (JPEG and WebP drop the ICC profile otherwise, every format
    drops EXIF).
    """
    options = dict(SAVE_OPTIONS.get(image_format, {}))
    for key in ("icc_profile", "exif"):
        if image.info.get(key):
            options[key] = image.info[key]

    def save(handle) -> None:
        try:
            image.save(handle, format=image_format, **options)
        except OSError as exc:
            if exc.errno is not None:
                raise  # a real I/O failure (disk full, ...): write_atomic names the cause
            raise InputError(f"cannot save a {image.mode} image as {image_format}: {exc}") from exc
        except (ValueError, KeyError) as exc:
            raise InputError(f"cannot save a {image.mode} image as {image_format}: {exc}") from exc

    return save
