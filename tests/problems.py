"""Shared toy problems with known optima for the core tests."""

from __future__ import annotations

import torch

from most.data.clustered import Clustered, clustered, initial_solutions


def two_quadratics(theta: torch.Tensor) -> torch.Tensor:
    """L_1 = ‖θ − e_1‖² / 2, L_2 = ‖θ − e_2‖² / 2 in 2-D: the Pareto set is the segment [e_1, e_2]."""
    targets = torch.eye(2, dtype=theta.dtype)
    return 0.5 * ((theta[None, :] - targets) ** 2).sum(-1)


def small_clustered(seed: int = 0) -> tuple[Clustered, torch.Tensor]:
    """The demo's 5 × 12 clustered problem in 8-D and 5 starting points."""
    problem = clustered(seed=seed)
    return problem, initial_solutions(5, problem.dim, seed=seed)
