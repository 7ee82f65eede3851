"""Typed results of a run: one :class:`RoundRecord` per round and the final :class:`Result`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Timing:
    """Seconds spent in one round: loss/gradient evaluation, optimal transport (weights), min-norm, and in all."""

    gradients: float = 0.0
    transport: float = 0.0
    min_norm: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class RoundRecord:
    """What one round saw and decided.

    Attributes:
        step: round index (0-based).
        losses: (n, m) loss matrix C[i, j] = L_i(θ_j) of the given objectives at the round's start.
        weights: (n', m) objective weights used (Γ for MosT; n' > n for MosT-E's expanded objectives).
        sparsity: fraction of zero entries of ``weights``.
        weights_kl: symmetric KL between this round's and the previous round's weights (None in round 0).
        lambdas: per solution, the (n',) min-norm weights λ (zeros for inactive objectives).
        seconds: time split of the round.
    """

    step: int
    losses: np.ndarray
    weights: np.ndarray
    sparsity: float
    weights_kl: float | None
    lambdas: tuple[np.ndarray, ...]
    seconds: Timing


@dataclass
class Result:
    """The m solutions a run found and how it got there.

    Attributes:
        solutions: (m, d) final parameters.
        assignment: (n', m) final objective weights (Γ for MosT).
        losses: (n, m) loss matrix of the given objectives at the final solutions.
        history: per-round records.
        method: registered name of the method.
        config: the method's config.
        steps_done: rounds completed (less than asked when a run was resumed or stopped).
    """

    solutions: torch.Tensor
    assignment: torch.Tensor
    losses: torch.Tensor
    history: list[RoundRecord] = field(default_factory=list)
    method: str = ""
    config: Any = None
    steps_done: int = 0

    def best_losses(self) -> torch.Tensor:
        """(n,) best-of-m loss per objective: min_j L_i(θ_j)."""
        return self.losses.min(dim=1).values

    def worst_loss(self) -> float:
        """max_i min_j L_i(θ_j): how badly the least-served objective is served."""
        return float(self.best_losses().max())

    def mean_loss(self) -> float:
        """mean_i min_j L_i(θ_j)."""
        return float(self.best_losses().mean())

    def seconds(self) -> Timing:
        """Time summed over rounds."""
        h = self.history
        return Timing(
            gradients=sum(r.seconds.gradients for r in h),
            transport=sum(r.seconds.transport for r in h),
            min_norm=sum(r.seconds.min_norm for r in h),
            total=sum(r.seconds.total for r in h),
        )
