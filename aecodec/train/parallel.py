"""Data-parallel training by several processes on one machine (``torchrun``, gloo).

One process with two threads synchronizes its threads inside every operator, so a step
slows down badly when anything else runs beside it; processes of one thread each
synchronize once per step, when their gradients are averaged (benchmarks/TRAINING.md,
"Step time per CPU"). Started by ``torchrun --nproc_per_node P``, a run becomes a team of P
processes, each on ``batch / P`` crops; without torchrun it is a team of one and nothing
changes.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from aecodec.errors import InputError


@dataclass(frozen=True)
class Team:
    """The processes of one run; rank 0 leads (logs, validates and saves)."""

    rank: int = 0
    size: int = 1

    @property
    def leads(self) -> bool:
        return self.rank == 0

    def share(self, batch: int) -> int:
        """This process's part of a batch of ``batch`` crops.

        Raises:
            InputError: The batch does not split evenly.
        """
        if batch % self.size:
            raise InputError(f"a batch of {batch} crops does not split evenly over {self.size} processes")
        return batch // self.size

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` as this team runs it: averaging gradients across processes when there are several."""
        return torch.nn.parallel.DistributedDataParallel(model) if self.size > 1 else model

    def sum(self, value: float) -> float:
        """``value`` summed over the team (every process must call this at the same step)."""
        if self.size == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(total)
        return float(total)

    def leave(self) -> None:
        """Leave the team once every process is done; drop every wrapped model before calling this.

        A process that tears gloo down while another is still in a collective, or that leaves its
        process group to interpreter shutdown (a DistributedDataParallel wrapper still holding it),
        can abort with "terminate called without an active exception" (SIGABRT; seen once in 30
        runs of benchmarks/train_speed.py on an idle 2-core AMD EPYC). Hence the barrier, and the
        collection of unreachable wrappers before the group goes.
        """
        if self.size > 1:
            dist.barrier()
            gc.collect()
            dist.destroy_process_group()


def join() -> Team:
    """The team torchrun started this process in (``WORLD_SIZE`` > 1), else a team of one."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return Team()
    dist.init_process_group("gloo")
    return Team(dist.get_rank(), size)
