"""The name of the CPU at hand, as benchmarks and training runs record it (torch-free).

Speed depends on the processor model and its widest vector instructions, and the project's
machines change between sessions (an AVX2-only AMD EPYC trains bf16 9× slower than fp32), so
every recorded timing and CPU-hour names the CPU it came from.
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_kind() -> str:
    """The CPU's model name and whether it has AVX-512 with native bf16, AVX-512, or AVX2.

    Read from /proc/cpuinfo (the first processor); elsewhere the platform's processor name.
    """
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    vector = "avx512_bf16" if "avx512_bf16" in flags else "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "no-avx2"
    return f"{model} ({vector})"
