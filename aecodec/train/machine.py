"""The machine a training run executes on: device, precision, threads, and its name for costing.

A recipe does not fix the precision, because the right one depends on the CPU: bf16 autocast
is faster than float32 on native bf16 instructions (AVX512-BF16) and slower where it is
emulated (AVX2-only CPUs; benchmarks/TRAINING.md, "Step time per CPU"). ``"auto"`` therefore
takes bf16 exactly where the hardware has it.
"""

from __future__ import annotations

import torch

from aecodec.codecs.refine import native_bf16
from aecodec.errors import InputError
from aecodec.processor import cpu_kind

PRECISIONS = ("auto", "bf16", "fp32")


def resolve_device(name: str) -> torch.device:
    """The torch device called ``name`` ("cpu", "cuda", "cuda:1"), checked to exist here.

    Raises:
        InputError: The name is not a device, or this machine has no such GPU.
    """
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise InputError(f"unknown device {name!r}: use cpu or cuda") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: this machine has no CUDA GPU that torch can use")
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device {name!r}: use cpu or cuda")
    return device


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Whether to run the networks under bf16 autocast on ``device``.

    Args:
        precision: ``"bf16"``, ``"fp32"``, or ``"auto"``: bf16 where the hardware computes it
            natively (a CUDA GPU that supports it; a CPU with AVX512-BF16), float32 elsewhere.
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision is one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return native_bf16()


def flush_subnormals() -> None:
    """Flush subnormal numbers to zero in this process, for a training run's whole life.

    Trained GDN weights hold thousands of subnormal entries; CPUs without flush-to-zero take
    a slow path for every product with one (:func:`aecodec.layers.gdn.flush_subnormal_gammas`
    explains the inference side). The setting is per process and has no getter, so only the
    command that runs a training process sets it, never a function a caller may return from.
    """
    torch.set_flush_denormal(True)


def machine_kind(device: torch.device) -> str:
    """A short name of the processor that does the work, the key of a run's hours.

    For a CPU: :func:`aecodec.processor.cpu_kind` (the speed of a step depends on its vector
    instructions). For a GPU: its name.
    """
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_kind()
